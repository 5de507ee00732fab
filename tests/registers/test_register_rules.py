"""Pure unit tests of the shared register definitions (shared.qof.registers) against QOF_RULES.md §2.1."""

from __future__ import annotations

from datetime import date

import pytest

from shared.codelists import CodelistLibrary, default_library, read_aliases, read_catalogue
from shared.qof.registers import BY_ID, CodeEvent, CompiledRegisters, compile_registers

ON = date(2026, 3, 31)
ADULT = date(1960, 5, 1)

DM, DMRES = "111552007", "315051004"  # DM_COD / DMRES_COD
AST, ASTRES = "195967001", "162660004"  # AST_COD asthma / ASTRES_COD
CKD3, CKD1, CKDRES = "433144002", "431855005", "939211000000104"  # CKD_COD G3 / CKD1AND2_COD / CKDRES_COD
NDH = "700449008"  # NDH_COD
BMI = "60621009"  # BMIVAL_COD body mass index
HYP = "38341003"  # HYP_COD hypertensive disorder
DEM = "52448006"  # DEM_COD dementia


def _asthma_drug() -> str:
    return sorted(default_library().get("ASTTRT_COD").codes)[0]


def ev(code: str, d: date, value: float | None = None) -> CodeEvent:
    return CodeEvent(code, d, value)


@pytest.fixture(scope="module")
def regs() -> CompiledRegisters:
    return compile_registers(default_library())


def test_codes_used_here_are_in_their_clusters():
    lib = default_library()
    for cluster, code in [
        ("DM_COD", DM), ("DMRES_COD", DMRES), ("AST_COD", AST), ("ASTRES_COD", ASTRES), ("CKD_COD", CKD3),
        ("CKD1AND2_COD", CKD1), ("CKDRES_COD", CKDRES), ("NDH_COD", NDH), ("BMIVAL_COD", BMI),
        ("HYP_COD", HYP), ("DEM_COD", DEM),
    ]:
        assert code in lib.get(cluster), (cluster, code)


def test_latest_diagnosis_vs_resolved(regs):
    # resolved after the latest diagnosis: off; a later diagnosis puts the patient back on
    assert "DM_REG" not in regs.evaluate([ev(DM, date(2010, 1, 1)), ev(DMRES, date(2015, 1, 1))], ADULT, ON)
    back = regs.evaluate([ev(DM, date(2010, 1, 1)), ev(DMRES, date(2015, 1, 1)), ev(DM, date(2020, 1, 1))],
                         ADULT, ON)
    assert back["DM_REG"] == date(2010, 1, 1)  # the date of the first diagnosis code
    # resolved on the same day as the latest diagnosis counts as resolved
    assert "DM_REG" not in regs.evaluate([ev(DM, date(2020, 1, 1)), ev(DMRES, date(2020, 1, 1))], ADULT, ON)
    # a resolved code after the achievement date is not seen
    assert "DM_REG" in regs.evaluate([ev(DM, date(2020, 1, 1)), ev(DMRES, date(2026, 4, 1))], ADULT, ON)
    assert "HYP_REG" in regs.evaluate([ev(HYP, date(2012, 1, 1))], ADULT, ON)
    assert "HYP_REG" not in regs.evaluate([ev(HYP, date(2026, 4, 1))], ADULT, ON)  # after the date


def test_age_limits_at_the_boundary_birthday(regs):
    dx = [ev(DM, date(2020, 1, 1))]
    assert "DM_REG" in regs.evaluate(dx, date(2009, 3, 31), ON)  # 17 today
    assert "DM_REG" not in regs.evaluate(dx, date(2009, 4, 1), ON)  # 17 tomorrow
    ckd = [ev(CKD3, date(2024, 1, 1))]
    assert "CKD_REG" in regs.evaluate(ckd, date(2008, 3, 31), ON)
    assert "CKD_REG" not in regs.evaluate(ckd, date(2008, 4, 1), ON)
    ast = [ev(AST, date(2024, 1, 1)), ev(_asthma_drug(), date(2026, 1, 1))]
    assert "AST_REG" in regs.evaluate(ast, date(2020, 3, 31), ON)
    assert "AST_REG" not in regs.evaluate(ast, date(2020, 4, 1), ON)


def test_asthma_drug_in_the_preceding_12_months(regs):
    drug = _asthma_drug()
    dx = ev(AST, date(2015, 1, 1))
    assert "AST_REG" not in regs.evaluate([dx], ADULT, ON)
    # window: from 31/03/2025 exclusive to 31/03/2026 inclusive
    assert "AST_REG" not in regs.evaluate([dx, ev(drug, date(2025, 3, 31))], ADULT, ON)
    assert "AST_REG" in regs.evaluate([dx, ev(drug, date(2025, 4, 1))], ADULT, ON)
    assert "AST_REG" in regs.evaluate([dx, ev(drug, ON)], ADULT, ON)
    assert "AST_REG" not in regs.evaluate([dx, ev(ASTRES, date(2016, 1, 1)), ev(drug, date(2026, 1, 1))],
                                          ADULT, ON)


def test_ckd_latest_stage_1_2_code_takes_the_patient_off(regs):
    assert "CKD_REG" not in regs.evaluate([ev(CKD3, date(2020, 1, 1)), ev(CKD1, date(2023, 1, 1))], ADULT, ON)
    assert "CKD_REG" in regs.evaluate([ev(CKD1, date(2020, 1, 1)), ev(CKD3, date(2023, 1, 1))], ADULT, ON)
    off = regs.evaluate([ev(CKD3, date(2020, 1, 1)), ev(CKDRES, date(2023, 1, 1))], ADULT, ON)
    assert "CKD_REG" not in off


def test_ndh_excluded_when_on_the_diabetes_register(regs):
    assert "NDH_REG" in regs.evaluate([ev(NDH, date(2022, 1, 1))], ADULT, ON)
    both = regs.evaluate([ev(NDH, date(2022, 1, 1)), ev(DM, date(2024, 1, 1))], ADULT, ON)
    assert "DM_REG" in both and "NDH_REG" not in both
    # diabetes resolved: back on NDH_REG
    history = [ev(NDH, date(2022, 1, 1)), ev(DM, date(2023, 1, 1)), ev(DMRES, date(2024, 1, 1))]
    resolved = regs.evaluate(history, ADULT, ON)
    assert "NDH_REG" in resolved and "DM_REG" not in resolved
    assert "NDH_REG" not in regs.evaluate([ev(NDH, date(2022, 1, 1))], date(2008, 4, 1), ON)  # aged 17


def test_obesity_bmi_value_rule(regs):
    assert "OB_REG" in regs.evaluate([ev(BMI, date(2025, 10, 1), 30.0)], ADULT, ON)
    assert "OB_REG" not in regs.evaluate([ev(BMI, date(2025, 10, 1), 29.9)], ADULT, ON)
    # the latest BMI decides
    assert "OB_REG" not in regs.evaluate([ev(BMI, date(2025, 6, 1), 34.0), ev(BMI, date(2026, 1, 1), 28.0)],
                                         ADULT, ON)
    assert "OB_REG" in regs.evaluate([ev(BMI, date(2025, 6, 1), 28.0), ev(BMI, date(2026, 1, 1), 31.0)],
                                     ADULT, ON)
    # only a BMI in the preceding 12 months counts (31/03/2025 is outside)
    assert "OB_REG" not in regs.evaluate([ev(BMI, date(2025, 3, 31), 35.0)], ADULT, ON)
    assert "OB_REG" in regs.evaluate([ev(BMI, date(2025, 4, 1), 35.0)], ADULT, ON)
    assert "OB_REG" not in regs.evaluate([ev(BMI, date(2025, 10, 1), 35.0)], date(2008, 4, 1), ON)  # aged 17
    assert "OB_REG" not in regs.evaluate([ev(BMI, date(2025, 10, 1))], ADULT, ON)  # no value


def test_availability_complete_partial_unavailable():
    full = compile_registers(default_library())
    assert full.available["DM_REG"].status == "complete"
    assert full.available["AST_REG"].status == "complete"
    copd = full.available["COPD_REG"]
    assert copd.status == "partial" and "FEV1FVCL70_COD" in copd.missing
    assert full.available["NDH_REG"].status == "partial"
    assert {"IGT_COD", "PRD_COD"} <= set(full.available["NDH_REG"].missing)
    # without the asthma drug list the drug condition cannot be tested: partial, evaluated without it
    rows = [r for r in read_catalogue() if r.cluster != "DEM_COD"]
    bare = compile_registers(CodelistLibrary(rows))
    ast = bare.available["AST_REG"]
    assert ast.status == "partial" and ast.missing == ("ASTTRT_COD",)
    assert "AST_REG" in bare.evaluate([ev(AST, date(2015, 1, 1))], ADULT, ON)
    # no diagnosis codelist at all: unavailable, never on the register
    assert bare.available["DEM_REG"].status == "unavailable"
    assert "DEM_REG" not in bare.evaluate([ev(DEM, date(2020, 1, 1))], ADULT, ON)
    assert "DEM_REG" in full.evaluate([ev(DEM, date(2020, 1, 1))], ADULT, ON)
    aliased = compile_registers(CodelistLibrary(rows, aliases=read_aliases()))
    assert aliased.available["AST_REG"].status == "complete"
    assert BY_ID["AST_REG"].requires[0].clusters == ("ASTTRT_COD",)


def test_osteoporosis_register_fracture_dates_by_age_and_dxa_said_untested(regs):
    # OST004: "1. Aged 50 or over and who have not attained the age of 75 with a record of a fragility fracture
    # on or after 1 April 2012 and a diagnosis of osteoporosis confirmed on DXA scan, and 2. Aged 75 or over with
    # a record of a fragility fracture on or after 1 April 2014 and a diagnosis of osteoporosis".
    osteo, fracture = "64859006", "443165006"  # OSTEO_COD osteoporosis, FF_COD osteoporotic fracture of bone
    assert osteo in default_library().get("OSTEO_COD") and fracture in default_library().get("FF_COD")
    at_60, at_80 = date(1966, 1, 1), date(1946, 1, 1)

    def on(dob: date, fractured: date | None) -> bool:
        events = [ev(osteo, date(2015, 1, 1))] + ([ev(fracture, fractured)] if fractured else [])
        return "OSTEO_REG" in regs.evaluate(events, dob, ON)

    assert not on(at_60, None)  # osteoporosis alone: no
    assert on(at_60, date(2012, 4, 1)) and not on(at_60, date(2012, 3, 31))
    assert on(at_80, date(2014, 4, 1)) and not on(at_80, date(2013, 6, 1))  # 75+: from 1 April 2014
    assert not on(date(1980, 1, 1), date(2020, 1, 1))  # under 50
    # the fracture counts whenever it was on or after the date, not only in a recent window
    assert on(at_60, date(2012, 5, 1))
    # "confirmed on DXA scan": DXA_COD has no public codelist, so the register says it is not tested
    avail = regs.available["OSTEO_REG"]
    assert avail.status == "partial" and "DXA_COD" in avail.missing
