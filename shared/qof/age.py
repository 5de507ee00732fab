"""Age in whole years on a date, as the business rules count it (a birthday on the day counts)."""

from __future__ import annotations

from datetime import date


def age_in_years(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
