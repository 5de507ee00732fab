"""Register definitions per QOF year (shared.qof.registers.definitions_for), against the rule text.

2026/27 (../shared/reference/qof-2026-27/README.md): AST014/AST015 "renamed because the asthma register now
starts at age 5 (was 6)"; NDH003 "register widened to previous gestational diabetes, aged >= 18"; "obesity
register returns: aged >= 18 with BMI >= 30, or >= 27.5 for specified ethnic groups, in the last 12 months".
Earlier years (QOF_RULES.md §2.1): AST_REG "aged at least 6 years old ... asthma-related drug treatment in
the preceding 12 months"; NDH_REG "aged >= 18 with non-diabetic hyperglycaemia".
"""

from __future__ import annotations

from datetime import date

import pytest

from shared.codelists import Codelist, CodelistLibrary, default_library
from shared.qof.registers import (
    BY_ID,
    QOF_YEARS,
    CodeEvent,
    RegistersByYear,
    compile_registers,
    definitions_for,
    qof_year_of,
)

END_25 = date(2026, 3, 31)  # 2025/26 achievement date
IN_26 = date(2026, 12, 1)  # within 2026/27
AST = "195967001"  # AST_COD asthma
NDH = "700449008"  # NDH_COD
DM = "111552007"  # DM_COD
GDM = "11687002"  # GESTDIAB_COD gestational diabetes mellitus
BMI = "60621009"  # BMIVAL_COD body mass index


def _asthma_drug() -> str:
    return sorted(default_library().get("ASTTRT_COD").codes)[0]


@pytest.fixture(scope="module")
def by_year() -> RegistersByYear:
    return RegistersByYear(default_library())


def test_codes_used_here_are_in_their_clusters():
    lib = default_library()
    for cluster, code in [("AST_COD", AST), ("NDH_COD", NDH), ("DM_COD", DM), ("GESTDIAB_COD", GDM),
                          ("BMIVAL_COD", BMI)]:
        assert code in lib.get(cluster), (cluster, code)


def test_qof_year_runs_1_april_to_31_march():
    assert qof_year_of(date(2026, 3, 31)) == "2025-26"
    assert qof_year_of(date(2026, 4, 1)) == "2026-27"
    assert qof_year_of(date(2027, 3, 31)) == "2026-27"
    assert qof_year_of(date(1999, 4, 1)) == "1999-00"


def test_earlier_years_keep_their_definitions():
    assert definitions_for("2024-25") == definitions_for("2025-26")
    assert {d.id: d for d in definitions_for("2025-26")} == BY_ID
    # a year before the first held uses the earliest definitions; one after the last, the latest
    assert definitions_for("2019-20") == definitions_for("2024-25")
    assert definitions_for("2030-31") == definitions_for("2026-27")
    assert [d.id for d in definitions_for("2026-27")] == [d.id for d in definitions_for("2025-26")]
    assert QOF_YEARS[-1] == "2026-27"
    with pytest.raises(ValueError):
        definitions_for("2026/27")


@pytest.mark.parametrize(
    ("born", "on", "on_register"),
    [
        # 2025/26 "aged at least 6": 5 at the achievement date is not on it, 6 is (birthday on the date)
        (date(2020, 4, 1), END_25, False),  # aged 5
        (date(2020, 3, 31), END_25, True),  # 6 on 31 March 2026
        # 2026/27 "starts at age 5": 5 is on it, 4 is not
        (date(2021, 12, 1), IN_26, True),  # 5 on the date
        (date(2021, 12, 2), IN_26, False),  # 4, turns 5 the next day
        (date(2020, 12, 1), IN_26, True),  # 6
    ],
)
def test_asthma_register_age_by_year(by_year, born, on, on_register):
    drug_date = date(on.year, on.month, 1) if on.month != 12 else date(2026, 11, 1)
    events = [CodeEvent(AST, date(2025, 10, 1)), CodeEvent(_asthma_drug(), drug_date)]
    assert ("AST_REG" in by_year.evaluate(events, born, on)) is on_register


def test_same_five_year_old_on_both_sides_of_1_april(by_year):
    born = date(2020, 6, 1)  # 5 on 31 March 2026 and on 1 April 2026
    events = [CodeEvent(AST, date(2025, 10, 1)), CodeEvent(_asthma_drug(), date(2026, 3, 1))]
    assert "AST_REG" not in by_year.evaluate(events, born, date(2026, 3, 31))  # 2025/26: from 6
    assert "AST_REG" in by_year.evaluate(events, born, date(2026, 4, 1))  # 2026/27: from 5
    assert by_year.for_year("2026-27").definitions[0] is not None
    assert {d.id: d.min_age for d in definitions_for("2026-27")}["AST_REG"] == 5
    assert {d.id: d.min_age for d in definitions_for("2025-26")}["AST_REG"] == 6


def test_ndh_register_widened_to_previous_gestational_diabetes_in_2026_27(by_year):
    adult = date(1990, 1, 1)
    gdm = [CodeEvent(GDM, date(2021, 6, 1))]
    assert "NDH_REG" not in by_year.evaluate(gdm, adult, END_25)  # 2025/26: NDH only
    assert "NDH_REG" in by_year.evaluate(gdm, adult, IN_26)  # 2026/27: previous GDM counts
    assert by_year.evaluate(gdm, adult, IN_26)["NDH_REG"] == date(2021, 6, 1)
    # "not superseded by a diabetes diagnosis": on the diabetes register, off the NDH register
    with_dm = [*gdm, CodeEvent(DM, date(2024, 1, 1))]
    regs = by_year.evaluate(with_dm, adult, IN_26)
    assert "DM_REG" in regs and "NDH_REG" not in regs
    # aged 18 or over
    assert "NDH_REG" not in by_year.evaluate(gdm, date(2008, 12, 2), IN_26)  # 17
    assert "NDH_REG" in by_year.evaluate(gdm, date(2008, 12, 1), IN_26)  # 18 on the date
    # NDH itself counts in both years
    ndh = [CodeEvent(NDH, date(2024, 1, 1))]
    assert "NDH_REG" in by_year.evaluate(ndh, adult, END_25)
    assert "NDH_REG" in by_year.evaluate(ndh, adult, IN_26)
    # a GDM code dated after the date is not seen
    assert "NDH_REG" not in by_year.evaluate([CodeEvent(GDM, date(2026, 12, 2))], adult, IN_26)


def test_gestational_diabetes_codes_are_register_relevant_only_through_2026_27(by_year):
    assert GDM in by_year.relevant_codes
    assert GDM not in by_year.for_year("2025-26").relevant_codes
    assert GDM in by_year.for_year("2026-27").relevant_codes


class _WithTestEthnicity(CodelistLibrary):
    """The default library plus a TEST-ONLY stand-in for one ethnicity cluster (no public copy exists)."""

    CODE = "52448006"  # borrowed valid SNOMED id, meaning nothing here

    def __init__(self) -> None:
        base = default_library()
        self.__dict__.update(base.__dict__)

    def has(self, cluster: str) -> bool:
        return cluster == "ETH2016AI_COD" or super().has(cluster)

    def get(self, cluster: str, version: str | None = None) -> Codelist:
        if cluster == "ETH2016AI_COD":
            return Codelist(cluster, "test", "refset", "test only", {self.CODE: "test"})
        return super().get(cluster, version)


def test_obesity_register_by_year():
    """OBES_REG: "aged 18 years or over with a BMI >= 30 kg/m2 in the preceding 12 months or a BMI >= 27.5
    kg/m2 recorded in the preceding 12 months for patients with a South Asian, Chinese, other Asian, Middle
    Eastern, Black African or African-Caribbean family background"."""
    adult = date(1980, 1, 1)
    bmi_28 = [CodeEvent(BMI, date(2026, 6, 1), 28.0)]
    bmi_31 = [CodeEvent(BMI, date(2026, 6, 1), 31.0)]
    plain = RegistersByYear(default_library())
    # without ethnicity codelists the lower threshold cannot be tested: >= 30 only, and said so
    assert "OB_REG" not in plain.evaluate(bmi_28, adult, IN_26)
    assert "OB_REG" in plain.evaluate(bmi_31, adult, IN_26)
    avail = plain.for_year("2026-27").available["OB_REG"]
    assert avail.status == "partial" and "ETH2016AI_COD" in avail.missing
    assert "ETH2016AI_COD" not in plain.for_year("2025-26").available["OB_REG"].missing
    # with an ethnicity codelist (test-only), 27.5 applies to that background in 2026/27 ...
    eth = RegistersByYear(_WithTestEthnicity())
    coded = [*bmi_28, CodeEvent(_WithTestEthnicity.CODE, date(2001, 1, 1))]
    assert "OB_REG" in eth.evaluate(coded, adult, IN_26)
    assert "OB_REG" not in eth.evaluate([CodeEvent(BMI, date(2026, 6, 1), 27.4),
                                         CodeEvent(_WithTestEthnicity.CODE, date(2001, 1, 1))], adult, IN_26)
    assert "OB_REG" not in eth.evaluate(bmi_28, adult, IN_26)  # no such background coded
    # ... and not under the 2025/26 definition held (BMI >= 30)
    assert "OB_REG" not in eth.evaluate([CodeEvent(BMI, date(2025, 6, 1), 28.0),
                                         CodeEvent(_WithTestEthnicity.CODE, date(2001, 1, 1))], adult, END_25)
    # 12-month window and age limit hold in 2026/27 too
    assert "OB_REG" not in plain.evaluate([CodeEvent(BMI, date(2025, 12, 1), 35.0)], adult, IN_26)
    assert "OB_REG" in plain.evaluate([CodeEvent(BMI, date(2025, 12, 2), 35.0)], adult, IN_26)
    assert "OB_REG" not in plain.evaluate(bmi_31, date(2008, 12, 2), IN_26)  # 17


def test_compile_registers_default_is_the_earlier_definitions():
    lib = default_library()
    assert compile_registers(lib).definitions == definitions_for("2025-26")


def test_indicators_register_evaluator_takes_the_rule_sets_year():
    from services.indicators.domain.registers import RegisterEvaluator, registers_for

    lib = default_library()
    events = [CodeEvent(AST, date(2025, 10, 1)), CodeEvent(_asthma_drug(), date(2026, 3, 1))]
    born = date(2020, 6, 1)  # 5 on both dates
    diagnosed_26 = RegisterEvaluator(lib, qof_year="2026-27").compiled.evaluate(events, born, date(2026, 4, 1))
    diagnosed_25 = RegisterEvaluator(lib, qof_year="2025-26").compiled.evaluate(events, born, date(2026, 4, 1))
    assert "AST_REG" in diagnosed_26 and "AST_REG" not in diagnosed_25
    with pytest.raises(ValueError):
        RegisterEvaluator(lib, rules=definitions_for("2026-27"), qof_year="2026-27")
    from services.indicators.domain.records import CodedEvent

    coded = [CodedEvent(e.code, e.date) for e in events]
    assert "AST_REG" in registers_for(coded, born, date(2026, 4, 1), lib)  # the year containing the date
    assert "AST_REG" not in registers_for(coded, born, date(2026, 3, 31), lib)
