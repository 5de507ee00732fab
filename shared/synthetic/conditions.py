"""Long-term conditions: who gets them, calibrated to national QOF prevalence.

Each condition has a relative age curve (knots, interpolated linearly) and a sex ratio; a scale factor is
solved so that the expected prevalence over the England pyramid, among the register's own age list, equals
the 2020-21 national figure in ``shared/reference/national_prevalence_england_2020_21_computed.csv``.
Cardiometabolic conditions share a latent risk (a Gaussian copula) so that HYP, DM, CKD, CHD and friends
cluster in the same patients without moving their marginal prevalence.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from statistics import NormalDist

from shared.synthetic.population import MAX_AGE, Pyramid, england_pyramid

PREVALENCE_FILE = Path(__file__).parents[1] / "reference" / "national_prevalence_england_2020_21_computed.csv"
LIST_TYPE_MIN_AGE = {"TOTAL": 0, "06OV": 6, "16OV": 16, "17OV": 17, "18OV": 18, "50OV": 50}
CARDIOMETABOLIC_RHO = 0.55
_CAP = 0.9
_PHI = NormalDist()


@dataclass(frozen=True)
class Condition:
    key: str  # register group code in the national prevalence file (DM, HYP, ...)
    clusters: tuple[str, ...]  # diagnosis cluster(s) in the codelist library
    knots: tuple[tuple[int, float], ...]  # (age, relative risk)
    male_ratio: float = 1.0  # male:female risk ratio
    cardiometabolic: bool = False
    child_rate: float = 0.0  # rate below the register's age list (not counted in calibration)
    onset_age: int = 0  # earliest plausible age at diagnosis
    resolved_share: float = 0.0  # extra patients whose diagnosis was later resolved

    def relative_risk(self, age: int, sex: str) -> float:
        knots = self.knots
        if age <= knots[0][0]:
            base = knots[0][1] if age == knots[0][0] else 0.0
        elif age >= knots[-1][0]:
            base = knots[-1][1]
        else:
            base = 0.0
            for (a0, r0), (a1, r1) in pairwise(knots):
                if a0 <= age <= a1:
                    base = r0 + (r1 - r0) * (age - a0) / (a1 - a0)
                    break
        root = math.sqrt(self.male_ratio)
        return base * (root if sex == "male" else 1 / root)


CONDITIONS: tuple[Condition, ...] = (
    Condition("HYP", ("HYP_COD",), ((18, 0.005), (30, 0.03), (40, 0.08), (50, 0.18), (60, 0.32), (70, 0.48),
                                   (80, 0.6), (95, 0.62)), 1.1, True, onset_age=18, resolved_share=0.004),
    Condition("DM", ("DM_COD",), ((17, 0.01), (30, 0.02), (40, 0.05), (50, 0.09), (60, 0.15), (70, 0.2),
                                  (80, 0.21), (95, 0.16)), 1.3, True, child_rate=0.002, onset_age=2),
    Condition("AST", ("AST_COD",), ((6, 0.08), (15, 0.09), (30, 0.07), (50, 0.07), (70, 0.08), (95, 0.06)),
              0.9, child_rate=0.02, onset_age=2, resolved_share=0.01),
    Condition("COPD", ("COPD_COD",), ((35, 0.0), (40, 0.005), (50, 0.015), (60, 0.04), (70, 0.07),
                                      (80, 0.09), (95, 0.08)), 1.1, onset_age=35),
    Condition("CHD", ("CHD_COD",), ((30, 0.0), (40, 0.005), (50, 0.02), (60, 0.05), (70, 0.1), (80, 0.16),
                                    (95, 0.18)), 1.8, True, onset_age=30),
    Condition("AF", ("AFIB_COD",), ((30, 0.0), (50, 0.005), (60, 0.02), (70, 0.06), (80, 0.12), (95, 0.16)),
              1.3, True, onset_age=30),
    Condition("STIA", ("STRK_COD", "TIA_COD"), ((30, 0.0), (50, 0.01), (60, 0.02), (70, 0.05), (80, 0.09),
                                                (95, 0.11)), 1.1, True, onset_age=30),
    Condition("HF", ("HF_COD",), ((40, 0.0), (50, 0.003), (60, 0.008), (70, 0.02), (80, 0.045), (95, 0.07)),
              1.3, True, onset_age=40),
    Condition("CKD", ("CKD_COD",), ((18, 0.001), (40, 0.003), (50, 0.01), (60, 0.03), (70, 0.08), (80, 0.18),
                                    (95, 0.25)), 0.8, True, onset_age=18),
    Condition("PAD", ("PAD_COD",), ((40, 0.0), (50, 0.003), (60, 0.008), (70, 0.015), (80, 0.025),
                                    (95, 0.03)), 1.6, True, onset_age=40),
    Condition("DEM", ("DEM_COD",), ((50, 0.0), (60, 0.002), (65, 0.005), (70, 0.015), (75, 0.03), (80, 0.07),
                                    (85, 0.13), (95, 0.2)), 0.8, onset_age=50),
    Condition("DEP", ("DEPR_COD",), ((18, 0.1), (30, 0.13), (45, 0.14), (60, 0.12), (75, 0.1), (95, 0.09)),
              0.55, child_rate=0.01, onset_age=12, resolved_share=0.03),
    Condition("MH", ("MH_COD",), ((15, 0.0), (25, 0.008), (40, 0.012), (60, 0.012), (80, 0.008), (95, 0.006)),
              1.1, onset_age=15),
    Condition("LD", ("LD_COD",), ((0, 0.004), (20, 0.006), (50, 0.006), (70, 0.003), (95, 0.001)), 1.5),
    Condition("NDH", ("NDH_COD",), ((18, 0.005), (40, 0.03), (50, 0.06), (60, 0.09), (70, 0.12), (80, 0.12),
                                    (95, 0.08)), onset_age=18),
    Condition("EP", ("EPIL_COD",), ((18, 0.008), (50, 0.008), (80, 0.007), (95, 0.006)),
              child_rate=0.004, onset_age=1),
    Condition("RA", ("RARTH_COD",), ((16, 0.001), (40, 0.005), (60, 0.012), (75, 0.016), (95, 0.012)), 0.4,
              onset_age=16),
    Condition("OST", ("OSTEO_COD",), ((50, 0.001), (60, 0.004), (70, 0.01), (80, 0.02), (95, 0.03)), 0.2,
              onset_age=50),
    Condition("CAN", ("CAN_COD",), ((20, 0.002), (40, 0.01), (50, 0.025), (60, 0.05), (70, 0.09), (80, 0.13),
                                    (95, 0.14)), 1.0, onset_age=20),
    Condition("PC", ("PALCARE_COD",), ((0, 0.0005), (50, 0.002), (70, 0.008), (80, 0.015), (95, 0.03)),
              onset_age=0),
)


@dataclass(frozen=True)
class Target:
    key: str
    min_age: int
    prevalence: float  # fraction of the register's age list


@lru_cache(maxsize=1)
def national_targets() -> dict[str, Target]:
    with PREVALENCE_FILE.open(newline="") as fh:
        return {r["GROUP_CODE"]: Target(r["GROUP_CODE"], LIST_TYPE_MIN_AGE[r["PATIENT_LIST_TYPE"]],
                                        float(r["prevalence_pct_of_age_list"]) / 100)
                for r in csv.DictReader(fh)}


def _expected(cond: Condition, scale: float, min_age: int, pyramid: Pyramid) -> float:
    num = den = 0.0
    for (sex, age), w in pyramid.weights.items():
        if age >= min_age:
            num += w * min(_CAP, scale * cond.relative_risk(age, sex))
            den += w
    return num / den


def _solve_scale(cond: Condition, target: Target, pyramid: Pyramid) -> float:
    lo, hi = 0.0, 50.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _expected(cond, mid, target.min_age, pyramid) < target.prevalence:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class RiskTable:
    """Diagnosis probability per (condition, sex, age), calibrated once."""

    conditions: tuple[Condition, ...]
    min_age: dict[str, int]
    probability: dict[str, dict[tuple[str, int], float]]

    def draw(self, rng: random.Random, sex: str, age: int) -> list[Condition]:
        shared = rng.gauss(0.0, 1.0)
        spread = math.sqrt(1 - CARDIOMETABOLIC_RHO**2)
        found = []
        for cond in self.conditions:
            p = self.probability[cond.key][(sex, age)]
            if p <= 0.0:
                continue
            if cond.cardiometabolic:
                u = _PHI.cdf(CARDIOMETABOLIC_RHO * shared + spread * rng.gauss(0.0, 1.0))
            else:
                u = rng.random()
            if u < p:
                found.append(cond)
        return found


@lru_cache(maxsize=1)
def risk_table() -> RiskTable:
    pyramid = england_pyramid()
    targets = national_targets()
    probability: dict[str, dict[tuple[str, int], float]] = {}
    min_age: dict[str, int] = {}
    for cond in CONDITIONS:
        target = targets[cond.key]
        scale = _solve_scale(cond, target, pyramid)
        min_age[cond.key] = target.min_age
        probability[cond.key] = {
            (sex, age): (min(_CAP, scale * cond.relative_risk(age, sex)) if age >= target.min_age
                         else (cond.child_rate if age >= cond.onset_age else 0.0))
            for sex in ("male", "female") for age in range(MAX_AGE + 1)
        }
    return RiskTable(CONDITIONS, min_age, probability)
