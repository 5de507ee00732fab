"""Practices, PCNs and ICBs: NHS Digital's QOF mapping of practice -> PCN -> ICB (ODS codes)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MAPPINGS = Path(__file__).parent / "reference" / "nhsd-qof-metadata" / "QOF_MANUAL_MAPPINGS.csv"


@dataclass(frozen=True)
class Organisation:
    practice_ods: str
    practice_name: str
    pcn_ods: str
    pcn_name: str
    icb_ods: str
    icb_name: str


@lru_cache(maxsize=1)
def organisations() -> dict[str, Organisation]:
    """Practice ODS code -> its names, PCN and ICB (the file's STP columns are today's ICBs)."""
    out: dict[str, Organisation] = {}
    with MAPPINGS.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            code = row["PRACTICE_CODE"].strip().upper()
            out[code] = Organisation(code, row["PRACTICE_NAME"].strip().title(), row["PCN_ODS_CODE"].strip(),
                                     row["PCN_NAME"].strip(), row["STP_ODS_CODE"].strip().upper(),
                                     row["STP_NAME"].strip())
    return out


@lru_cache(maxsize=64)
def practices_in_icb(icb_ods: str) -> tuple[Organisation, ...]:
    """The ICB's practices, ordered by ODS code."""
    icb = icb_ods.strip().upper()
    return tuple(sorted((o for o in organisations().values() if o.icb_ods == icb), key=lambda o: o.practice_ods))
