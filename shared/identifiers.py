"""Identifiers of the field as validated types: NHS number, SNOMED CT concept id, ODS code.

NHS numbers are checked with the ``nhs-number`` package (modulus 11); SNOMED CT ids by their Verhoeff
check digit and partition identifier (digits 2-3 from the right).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

import nhs_number
from pydantic import AfterValidator

# Verhoeff dihedral-group tables.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]

# Partition ids of SNOMED CT components a coded record may carry: concepts (short 00, long 10).
CONCEPT_PARTITIONS = {"00", "10"}
ALL_PARTITIONS = {"00", "01", "02", "10", "11", "12"}
_ODS_PRACTICE = re.compile(r"^[A-Z]\d{5}$")
_ODS_ANY = re.compile(r"^[A-Z0-9]{3,6}$")


def verhoeff_valid(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def verhoeff_check_digit(digits: str) -> str:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return str(_INV[c])


@lru_cache(maxsize=200_000)
def snomed_problem(code: str) -> str | None:
    """Why ``code`` is not a valid SNOMED CT concept id, or ``None`` when it is."""
    if not code.isdigit():
        return "a SNOMED CT id has digits only"
    if not 6 <= len(code) <= 18:
        return "a SNOMED CT id has 6 to 18 digits"
    if code[0] == "0":
        return "a SNOMED CT id does not start with 0"
    partition = code[-3:-1]
    if partition not in ALL_PARTITIONS:
        return f"partition identifier {partition} is not a SNOMED CT partition"
    if partition not in CONCEPT_PARTITIONS:
        return f"partition identifier {partition} marks a description or relationship id, not a concept"
    if not verhoeff_valid(code):
        return "the Verhoeff check digit does not match"
    return None


@lru_cache(maxsize=200_000)
def nhs_number_problem(value: str) -> str | None:
    if not (len(value) == 10 and value.isdigit()):
        return "an NHS number has exactly 10 digits"
    if not nhs_number.is_valid(value):
        return "the modulus 11 check digit does not match"
    return None


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def _nhs(value: str) -> str:
    value = normalise_nhs_number(value)
    problem = nhs_number_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _snomed(value: str | int) -> str:
    value = str(value).strip()
    problem = snomed_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _practice(value: str) -> str:
    value = value.strip().upper()
    if not _ODS_PRACTICE.match(value):
        raise ValueError("a practice ODS code is a letter and five digits, e.g. A81001")
    return value


def _ods(value: str) -> str:
    value = value.strip().upper()
    if not _ODS_ANY.match(value):
        raise ValueError("an ODS code has 3 to 6 letters or digits")
    return value


NHSNumber = Annotated[str, AfterValidator(_nhs)]
SnomedCode = Annotated[str, AfterValidator(_snomed)]
PracticeCode = Annotated[str, AfterValidator(_practice)]
OdsCode = Annotated[str, AfterValidator(_ods)]


def synthetic_nhs_number(seq: int) -> str:
    """A valid NHS number in the 999 range NHS England reserves for testing (never a real patient)."""
    for offset in range(seq * 11, seq * 11 + 11):
        body = f"999{offset % 1_000_000:06d}"
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return body + str(check)
    raise AssertionError("unreachable: one in eleven consecutive bodies has a valid check digit")
