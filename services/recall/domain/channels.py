"""Which channel an invitation goes by, what an SMS costs, and when SMS may be sent. Pure rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

Channel = Literal["sms", "email", "letter"]
ORDER: tuple[Channel, ...] = ("sms", "email", "letter")
# GSM 03.38 basic characters (and the escaped extension ones, which count as two).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€")


@dataclass(frozen=True)
class Contact:
    mobile: str | None = None
    email: str | None = None
    address: str | None = None
    allow_sms: bool = True
    allow_email: bool = True
    allow_letter: bool = True
    preferred: str | None = None


def usable(contact: Contact) -> list[Channel]:
    """Channels with both consent and the detail needed, preference first."""
    have = {
        "sms": contact.allow_sms and bool(contact.mobile),
        "email": contact.allow_email and bool(contact.email),
        "letter": contact.allow_letter and bool(contact.address),
    }
    ordered = [c for c in ORDER if have[c]]
    if contact.preferred in ordered:
        ordered.remove(contact.preferred)  # type: ignore[arg-type]
        ordered.insert(0, contact.preferred)  # type: ignore[arg-type]
    return ordered


def choose(contact: Contact, *, exclude: frozenset[str] = frozenset()) -> Channel | None:
    options = [c for c in usable(contact) if c not in exclude]
    return options[0] if options else None


def fallback(contact: Contact, failed: str) -> Channel | None:
    """After a failed SMS or email, a letter if the patient can have one (the seeds' 'texts don't work')."""
    if failed == "letter":
        return None
    return "letter" if "letter" in usable(contact) else None


def sms_fragments(text: str) -> int:
    """Fragments Notify bills for: 160 (GSM) or 70 (Unicode) characters alone, 153 or 67 per fragment beyond."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        length = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        return 1 if length <= 160 else math.ceil(length / 153)
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)


# Practices are in England: sending hours are read on UK clocks, BST in summer and GMT in winter.
UK = ZoneInfo("Europe/London")


def uk_time(at: datetime) -> time:
    """The wall-clock time in the UK at ``at`` (a naive ``at`` is taken as UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UK).time()


def sms_allowed(at: datetime, start: time, end: time) -> bool:
    """SMS only between ``start`` and ``end`` UK local time."""
    return start <= uk_time(at) < end
