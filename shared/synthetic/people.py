"""Synthetic names and contact details: obviously invented, never a real person's.

Mobiles come from Ofcom's drama range (07700 900000-900999) and email addresses use ``example.com``
(reserved by RFC 2606), so nothing generated here can reach a real phone or inbox.
"""

from __future__ import annotations

import random
from typing import TypedDict

GIVEN_FEMALE = ("Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Ella", "Emily", "Sophie",
                "Margaret", "Susan", "Patricia", "Jean", "Linda", "Karen", "Helen", "Sarah", "Priya", "Aisha",
                "Fatima", "Zara", "Chloe", "Hannah", "Joan", "Doreen", "Brenda", "Nicola", "Rachel", "Yasmin")
GIVEN_MALE = ("Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Jack", "Oscar", "Charlie", "Thomas",
              "David", "John", "Michael", "Peter", "Robert", "Paul", "Andrew", "Mark", "Stephen", "Mohammed",
              "Ali", "Arjun", "Kwame", "Daniel", "James", "William", "Ronald", "Keith", "Gary", "Darren",
              "Ravi")
FAMILY = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
          "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
          "Clarke", "Khan", "Hussain", "Ahmed", "Singh", "Turner", "Hill", "Moore", "Cooper", "Ward",
          "Okafor", "Mensah", "Kowalski", "Nowak", "Murphy", "Kelly", "Harrison", "Lewis", "Baker", "Shaw")
STREETS = ("Station Road", "Church Street", "Victoria Road", "Mill Lane", "Park Avenue", "The Crescent",
           "Queens Road", "Manor Way", "Chapel Lane", "Meadow Close", "Orchard Drive", "High Street")
# Postcodes are shaped like real ones but use made-up districts.
DISTRICTS = ("AB1", "CD2", "EF3", "GH4", "JK5", "LM6")
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def names(rng: random.Random, sex: str) -> tuple[str, str]:
    pool = GIVEN_FEMALE if sex == "female" else GIVEN_MALE if sex == "male" else GIVEN_FEMALE + GIVEN_MALE
    return rng.choice(pool), rng.choice(FAMILY)


class Contact(TypedDict):
    email: str | None
    mobile: str | None
    address: str
    postcode: str
    allow_sms: bool
    allow_email: bool
    allow_letter: bool
    preferred_channel: str


def contact(rng: random.Random, seq: int, given: str, family: str, age: int) -> Contact:
    has_mobile = rng.random() < (0.95 if 16 <= age < 70 else 0.7 if age >= 70 else 0.0)
    has_email = rng.random() < (0.8 if 16 <= age < 65 else 0.45 if age >= 65 else 0.0)
    allow_sms = has_mobile and rng.random() < 0.97
    allow_email = has_email and rng.random() < 0.9
    if allow_sms and rng.random() < 0.75:
        preferred = "sms"
    elif allow_email and rng.random() < 0.5:
        preferred = "email"
    else:
        preferred = "phone" if rng.random() < 0.15 else "letter"
    inward = f"{rng.randint(1, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
    return {
        "email": f"{given.lower()}.{family.lower()}.{seq}@example.com" if has_email else None,
        "mobile": f"07700 900{rng.randint(0, 999):03d}" if has_mobile else None,
        "address": f"{rng.randint(1, 220)} {rng.choice(STREETS)}",
        "postcode": f"{rng.choice(DISTRICTS)} {inward}",
        "allow_sms": allow_sms,
        "allow_email": allow_email,
        "allow_letter": rng.random() < 0.99,
        "preferred_channel": preferred,
    }
