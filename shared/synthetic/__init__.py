"""Synthetic populations for demos, tests and benchmarks: deterministic from a seed, no real people.

``SyntheticPractice(ods, patients, seed=..., history="full"|"recent", as_of=...)`` yields ``PatientIn``- and
``EntryIn``-shaped dicts (see ``services/registers/schemas.py``); ``SyntheticIcs`` spreads patients over
several real practice codes of one ICB. NHS numbers are in the 999 test range. Dates of birth and registration
are fixed (drawn back from a fixed day, ``DEMOGRAPHICS_ANCHOR``, or from ``as_of`` when that is earlier): the demo
practice's patients keep them whatever day it is generated on; coded histories run up to ``as_of``.
"""

from shared.synthetic.practice import (
    SyntheticIcs,
    SyntheticPatient,
    SyntheticPractice,
    practices_in_icb,
    qof_year_start,
)

__all__ = ["SyntheticIcs", "SyntheticPatient", "SyntheticPractice", "practices_in_icb", "qof_year_start"]
