"""Free text must not identify a patient: catch what looks like an identifier before it is stored."""

from __future__ import annotations

import re

_CHECKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)"),
        "contains something that looks like an NHS number (10 digits); "
        "record the NHS number in the nhs_number "
        "field, where it is encrypted, and describe the work without identifiers",
    ),
    (
        re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
        "contains an e-mail address; describe the work without contact details",
    ),
    (
        re.compile(r"(?<!\d)(?:\+44\s?|0)\d{4}\s?\d{6}(?!\d)|(?<!\d)\d{11}(?!\d)"),
        "contains a phone number; describe the work without contact details",
    ),
    (
        re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"),
        "contains a postcode; describe the work without an address",
    ),
    (
        re.compile(r"(?i)\b(?:dob|d\.o\.b\.?|date of birth)\b"),
        "mentions a date of birth; describe the work without identifiers",
    ),
)


def identifier_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as free text, or ``None`` when it looks free of identifiers."""
    for pattern, reason in _CHECKS:
        if pattern.search(text):
            return reason
    return None
