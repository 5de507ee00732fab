"""Register prevalence of a 10,000-patient practice against the 2020-21 national figures."""

from __future__ import annotations

import math
from datetime import date

import pytest

from shared.codelists import default_library
from shared.synthetic import SyntheticPatient
from shared.synthetic.conditions import national_targets

# Register -> (diagnosis clusters, resolved cluster or None).
REGISTERS = {
    "HYP": (("HYP_COD",), "HYPRES_COD"), "DM": (("DM_COD",), "DMRES_COD"),
    "AST": (("AST_COD",), "ASTRES_COD"), "DEP": (("DEPR_COD",), "DEPRES_COD"),
    "CKD": (("CKD_COD",), "CKDRES_COD"), "CHD": (("CHD_COD",), None), "AF": (("AFIB_COD",), None),
    "COPD": (("COPD_COD",), "COPDRES_COD"), "STIA": (("STRK_COD", "TIA_COD"), None),
    "HF": (("HF_COD",), "HFRES_COD"), "NDH": (("NDH_COD",), None), "DEM": (("DEM_COD",), None),
    "CAN": (("CAN_COD",), None),
}


def _age(dob: str, on: date) -> int:
    born = date.fromisoformat(dob)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _on_register(record: SyntheticPatient, diag: frozenset[str], resolved: frozenset[str]) -> bool:
    last_diag = max((e["effective_date"] for e in record.entries if e["code"] in diag), default=None)
    if last_diag is None:
        return False
    last_res = max((e["effective_date"] for e in record.entries if e["code"] in resolved), default=None)
    return last_res is None or last_res < last_diag


@pytest.mark.parametrize("register", sorted(REGISTERS))
def test_register_prevalence_is_close_to_national(register: str, practice_10k: list[SyntheticPatient],
                                                  as_of: date) -> None:
    lib = default_library()
    clusters, res_cluster = REGISTERS[register]
    diag = frozenset().union(*(lib.get(c).codes for c in clusters))
    resolved = lib.get(res_cluster).codes if res_cluster else frozenset()
    target = national_targets()[register]
    eligible = [r for r in practice_10k if r.patient["deregistered_on"] is None
                and _age(r.patient["date_of_birth"], as_of) >= target.min_age]
    on = sum(_on_register(r, diag, resolved) for r in eligible)
    observed = on / len(eligible)
    expected = target.prevalence
    sd = math.sqrt(expected * (1 - expected) / len(eligible))
    # Sampling noise (4 sd) plus 10% for modelling slack.
    assert abs(observed - expected) <= 4 * sd + 0.1 * expected, (
        f"{register}: {observed:.2%} of {len(eligible)} vs national {expected:.2%}")


def test_comorbidity_clusters(practice_10k: list[SyntheticPatient]) -> None:
    adults = [r for r in practice_10k if _age(r.patient["date_of_birth"], date(2026, 11, 23)) >= 40]
    dm = [r for r in adults if "DM" in r.conditions]
    rate_in_dm = sum("HYP" in r.conditions for r in dm) / len(dm)
    rate_all = sum("HYP" in r.conditions for r in adults) / len(adults)
    assert rate_in_dm > 1.5 * rate_all


def test_obesity_register_is_near_national(practice_10k: list[SyntheticPatient], as_of: date) -> None:
    """OB_REG: "patients aged 18 or over with a BMI >= 30 in the preceding 12 months" (2024/25 and 2025/26
    wording); nationally 6.9% of adults (2020-21), about 5.5% of the whole list."""
    bmi = default_library().get("BMIVAL_COD").codes
    since = date(as_of.year - 1, as_of.month, as_of.day)
    listed = [r for r in practice_10k if r.patient["deregistered_on"] is None]
    adults = [r for r in listed if _age(r.patient["date_of_birth"], as_of) >= 18]

    def obese(r: SyntheticPatient) -> bool:
        recent = sorted((e["effective_date"], e["value"]) for e in r.entries
                        if e["code"] in bmi and since < date.fromisoformat(e["effective_date"]) <= as_of)
        return bool(recent) and recent[-1][1] is not None and recent[-1][1] >= 30

    on = sum(obese(r) for r in adults)
    expected = national_targets()["OB"].prevalence
    assert abs(on / len(adults) - expected) <= 0.25 * expected, f"{on / len(adults):.2%} of adults vs {expected:.2%}"
    assert 0.04 <= on / len(listed) <= 0.07, f"{on / len(listed):.2%} of the list"
