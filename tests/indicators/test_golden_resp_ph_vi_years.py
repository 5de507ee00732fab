"""Respiratory, cancer, public health (cervical screening, smoking, BP002 is with the cardiovascular cases) and
vaccination golden cases in every QOF year that has the indicator, and the 2024/25 register and quality
improvement indicators.

Each case quotes its business rule (as transcribed in the rule sets; windows "up to and including PPED").
Clusters with no public copy get test-only codes from a release built in the tests (``golden.test_release``).
"""

from __future__ import annotations

from datetime import date

import pytest

from services.indicators.domain import AttestationEvidence, load_ruleset, score_attestation

from .golden import (
    DEN,
    NUM,
    Case,
    P,
    by_indicator,
    exc,
    failures,
    has,
    invitation_steps,
    item_id,
    newly,
    pca,
    pca_steps,
    window_edges,
)

Y2425 = ("qof-2024-25",)
AST = P(regs=("AST_REG",), age=30)
COPD = P(regs=("COPD_REG",), age=65)
AST_PCAS = [("ASTPCAPU_COD", "12m", "ASTPCAPU"), ("ASTPCADEC_COD", "12m", "ASTPCADEC")]
COPD_PCAS = [("COPDPCAPU_COD", "12m", "COPDPCAPU"), ("COPDPCADEC_COD", "12m", "COPDPCADEC")]
REVIEW = ("ASTRVW_COD", "ASTCONTASS_COD", "ASTEXACB_COD", "WRITPASTP_COD")


def _respiratory() -> list[Case]:
    y = ("qof-2024-25", "qof-2025-26")
    mrc = COPD.plus(("MRC1_COD", "-2m"))
    return [
        *window_edges("AST007", "review with control, exacerbations and a written plan in the 12 months", AST,
                      has(*REVIEW), "12m", y),
        Case("AST007", "a review without the written plan is not enough", AST.plus(
            *((c, "-1m") for c in REVIEW[:3])), DEN, y),
        *pca_steps("AST007", AST, [("ASTMONDEC_COD", "12m", "ASTMONDEC"), *AST_PCAS], y),
        *invitation_steps("AST007", AST, "ASTINVITE_COD", "ASTINVITE1", y),
        *newly("AST007", AST, "AST_COD", "3m", "DIAG1_DAT", "REG1_DAT3", y),
        Case("AST008", "Reject patients aged 20 or over", AST.plus(age=20), exc("PAT_AGEO19"), Y2425),
        *window_edges("AST008", "smoking status or second-hand smoke exposure in the 12 months", AST.plus(age=15),
                      has("SMOKEXPOS_COD"), "12m", Y2425),
        Case("AST008", "no exposure recorded counts too", AST.plus(("NOSMOKEXPOS_COD", "-1m"), age=15), NUM, Y2425),
        *pca_steps("AST008", AST.plus(age=15), [("SMOKSTATDEC_COD", "12m", "SMOKSTDEC"), *AST_PCAS], Y2425),
        *invitation_steps("AST008", AST.plus(age=15), "ASTINVITE_COD", "ASTINVITE1", Y2425),
        *newly("AST008", AST.plus(age=15), "AST_COD", "3m", "DIAG1_DAT", "REG1_DAT3", Y2425),
        *window_edges("COPD010", "review with exacerbations and MRC in the 12 months", COPD,
                      has("COPDRVW_COD", "COPDEXACB_COD", "MRC_COD"), "12m"),
        Case("COPD010", "no MRC score: not enough", COPD.plus(("COPDRVW_COD", "-1m"), ("COPDEXACB_COD", "-1m")), DEN),
        *pca_steps("COPD010", COPD, COPD_PCAS),
        *invitation_steps("COPD010", COPD, "COPDINVITE_COD", "COPDINVITE"),
        *newly("COPD010", COPD, "COPD_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
        Case("COPD014", "Reject patients without an MRC grade 3 or above in the 12 months", COPD,
             exc("MRC1"), Y2425),
        Case("COPD014", "Reject patients who attended pulmonary rehabilitation (ever)", mrc.plus(
            ("PULRHBATT_COD", "-3y")), exc("PULRHBATT"), Y2425),
        *window_edges("COPD014", "referral to pulmonary rehabilitation offered in the 12 months", mrc,
                      has("PULRHBOFF_COD"), "12m", Y2425),
        *pca_steps("COPD014", mrc, [("PULRHBPU_COD", "12m", "PULRHBPU"), ("PULRHBSU_COD", "12m", "PULRHBSU"),
                                    *COPD_PCAS], Y2425),
        *invitation_steps("COPD014", mrc, "COPDINVITE_COD", "COPDINVITE", Y2425),
        *newly("COPD014", mrc, "COPD_COD", "3m", "DIAG1_DAT", "REG1_DAT3", Y2425),
    ]


def _cancer() -> list[Case]:
    can = P(regs=("CAN_REG",))
    dx = can.plus(("CAN_COD", "-14m"))
    pcas = [("CANPCAPU_COD", "12m", "CANPCAPU"), ("CANPCADEC_COD", "12m", "CANPCADEC")]
    return [
        Case("CAN004", "Reject patients first diagnosed before the 24 months", can.plus(("CAN_COD", "-24m")),
             exc("CAN_DAT24M"), Y2425),
        Case("CAN004", "review 12 months after the diagnosis selects", dx.plus(("MDRV_COD", "-14m+12m")), NUM, Y2425),
        Case("CAN004", "review on the diagnosis day selects", dx.plus(("MDRV_COD", "-14m")), NUM, Y2425),
        Case("CAN004", "review later than 12 months does not", dx.plus(("MDRV_COD", "-14m+12m+1d")), DEN, Y2425),
        *pca_steps("CAN004", dx, pcas, Y2425),
        *invitation_steps("CAN004", dx, "CANINVITE_COD", "CANINVITE", Y2425),
        Case("CAN004", "reject (DIAG1_DAT): first diagnosed in the 3 months", can.plus(("CAN_COD", "-3m+1d")),
             pca("DIAG1_DAT"), Y2425),
        Case("CAN004", "reject (REG1_DAT3): registered in the 3 months", dx.plus(since="-3m+1d"), pca("REG1_DAT3"),
             Y2425),
        Case("CAN005", "Reject patients first diagnosed before the 15 months", can.plus(("CAN_COD", "-15m")),
             exc("CANDAT15M"), Y2425),
        Case("CAN005", "support offered 3 months after the diagnosis", can.plus(
            ("CAN_COD", "-10m"), ("CANPCSUPP_COD", "-10m+3m")), NUM, Y2425),
        Case("CAN005", "support offered later than 3 months does not", can.plus(
            ("CAN_COD", "-10m"), ("CANPCSUPP_COD", "-10m+3m+1d")), DEN, Y2425),
        *pca_steps("CAN005", can.plus(("CAN_COD", "-10m")), pcas, Y2425),
    ]


def _cervical() -> list[Case]:
    young, old = P(age=30, sex="F"), P(age=55, sex="F")
    pcas = [("CSDEC_COD", "12m", "CSDEC"), ("CSPU_COD", "12m", "CSPU")]
    return [
        Case("CS005", "aged 24: not in the population", P(age=24, sex="F"), None),
        Case("CS005", "men are not in the population", P(age=30, sex="M"), None),
        Case("CS005", "Reject patients aged 50 or over (CS006 has them)", old, exc("P_AGE25_49")),
        Case("CS005", "Reject patients without a cervix", young.plus(("NOCX_COD", "-5y")), exc("NOCX")),
        *window_edges("CS005", "screening in the 3 years 6 months", young, has("SMEAR_COD"), "3y6m"),
        *pca_steps("CS005", young, [*pcas, ("PREG_COD", "12m", "PREG_DAT")]),
        *invitation_steps("CS005", young, "CSPCAINVITE_COD", "CSPCAINV", count=3),
        *newly("CS005", young, "", "3m", "", "REG1_DAT3"),
        Case("CS006", "aged 65: not in the population", P(age=65, sex="F"), None),
        Case("CS006", "Reject patients aged 49 or under (CS005 has them)", young, exc("P_AGE50_64")),
        *window_edges("CS006", "screening in the 5 years 6 months", old, has("SMEAR_COD"), "5y6m"),
        *pca_steps("CS006", old, pcas),
        *invitation_steps("CS006", old, "CSPCAINVITE_COD", "CSPCAINV", count=3),
        *newly("CS006", old, "", "3m", "", "REG1_DAT3"),
    ]


def _smoking() -> list[Case]:
    smok1 = P(regs=("HYP_REG",))
    smoker = P(age=40, ev=(("LSMOK_COD", "-3y"),))
    pcas = [("SMOKPCAPU_COD", "12m", "SMOKPCAPU"), ("SMOKPCADEC_COD", "12m", "SMOKPCADEC")]
    return [
        Case("SMOK002", "no qualifying condition: not in the population", P(), None),
        *window_edges("SMOK002", "smoking status in the 12 months", smok1, has("SMOK_COD"), "12m"),
        Case("SMOK002", "a never-smoked code counts", smok1.plus(("NSMOK_COD", "-1m")), NUM),
        *pca_steps("SMOK002", smok1, [("SMOKSTATDEC_COD", "12m", "SMOKSTDEC"), *pcas]),
        *invitation_steps("SMOK002", smok1, "SMOKINVITE_COD", "SMOKINVITE"),
        *newly("SMOK002", smok1, "HYP_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
        Case("SMOK004", "aged 14: not in the population", smoker.plus(age=14), None),
        Case("SMOK004", "Reject patients whose latest smoking status is not current smoker", smoker.plus(
            ("EXSMOK_COD", "-1y")), exc("CSMOK")),
        *window_edges("SMOK004", "support and treatment offered in the 24 months", smoker,
                      has("SMOKINGINT_COD"), "24m"),
        Case("SMOK004", "a referral to a stop smoking service counts", smoker.plus(("REFERSSSA_COD", "-1m")), NUM),
        *pca_steps("SMOK004", smoker, pcas),
        *invitation_steps("SMOK004", smoker, "SMOKINVITE_COD", "SMOKINVITE"),
        *newly("SMOK004", smoker, "", "3m", "", "REG1_DAT3"),
        Case("SMOK005", "Reject patients whose latest smoking status is not current smoker", smok1.plus(
            ("LSMOK_COD", "-3y"), ("NSMOK_COD", "-1y")), exc("CSMOK"), Y2425),
        *window_edges("SMOK005", "support and treatment offered in the 12 months", smok1.plus(("LSMOK_COD", "-3y")),
                      has("SMOKINGINT_COD"), "12m", Y2425),
        *pca_steps("SMOK005", smok1.plus(("LSMOK_COD", "-3y")), pcas, Y2425),
        *newly("SMOK005", smok1.plus(("LSMOK_COD", "-3y")), "", "3m", "", "REG1_DAT3", Y2425),
    ]


def _vaccinations() -> list[Case]:
    """VI001 "3 doses of a DTaP/IPV/Hib/HepB vaccine before 8 months" (children reaching 8 months in the year),
    VI002 "1 dose of MMR between the first birthday and 18 months", VI003 "DTaP/IPV booster and 2 doses of MMR
    between 1 and 5 years", VI004 "shingles vaccine between 70 and 80"; the contraindications, the late
    registration PCAs and the shingles declined PCA."""
    b1 = P(dob="-10m", since="-10m")  # reaches 8 months on PPED - 2 months
    doses = (("6IN1VAC_COD", "-10m+2m"), ("6IN1VAC_COD", "-10m+3m"))
    b2 = P(dob="-20m", since="-20m")  # reaches 18 months on PPED - 2 months
    b3 = P(dob="-5y-2m", since="-5y-2m")
    b4 = P(dob="-80y-2m", since="-20y")
    return [
        Case("VI001", "reached 8 months before the year: not in the population", P(dob="-21m", since="-21m"), None),
        Case("VI001", "3 doses before 8 months", b1.plus(*doses, ("6IN1VAC_COD", "-10m+247d")), NUM),
        Case("VI001", "the third dose at 248 days is too late", b1.plus(*doses, ("6IN1VAC_COD", "-10m+248d")), DEN),
        Case("VI001", "a 5-in-1 dose counts", b1.plus(*doses, ("5IN1VAC_COD", "-10m+5m")), NUM),
        Case("VI001", "Reject children with a contraindication before 8 months", b1.plus(("DTPCON_COD", "-10m+1m")),
             pca("DTPCON")),
        Case("VI001", "Reject children registered at 8 months or older", b1.plus(since="-10m+248d"), pca("PCADTP")),
        Case("VI001", "registered at 217 days with at most 2 doses", b1.plus(*doses, since="-10m+217d"),
             pca("PCADTP")),
        Case("VI001", "registered at 155 days with one dose is not a late registration", b1.plus(
            doses[0], since="-10m+155d"), DEN),
        Case("VI002", "1 MMR dose on the first birthday", b2.plus(("MMRVAC1_COD", "-20m+1y")), NUM),
        Case("VI002", "1 MMR dose the day before 18 months", b2.plus(("MMRVAC1_COD", "-20m+18m-1d")), NUM),
        Case("VI002", "a dose before the first birthday does not count", b2.plus(("MMRVAC1_COD", "-20m+1y-1d")), DEN),
        Case("VI002", "a dose at 18 months is too late", b2.plus(("MMRVAC1_COD", "-20m+18m")), DEN),
        Case("VI002", "Reject children with an MMR contraindication", b2.plus(("MMRCON_COD", "-20m+6m")),
             pca("MMRCON")),
        Case("VI002", "Reject children registered at 18 months with no dose", b2.plus(since="-20m+18m"),
             pca("PCAMMR1")),
        Case("VI002", "2026/27: an MMRV dose counts", b2.plus(("MMRVVAC_COD", "-20m+13m")), NUM, ("qof-2026-27",)),
        Case("VI003", "booster and 2 MMR doses", b3.plus(
            ("DTAPIPVVACBOOST_COD", "-5y-2m+40m"), ("MMRVAC1_COD", "-5y-2m+13m"), ("MMRVAC2_COD", "-5y-2m+40m")), NUM),
        Case("VI003", "booster and 1 MMR dose", b3.plus(("DTAPIPVVACBOOST_COD", "-5y-2m+40m"),
                                                     ("MMRVAC1_COD", "-5y-2m+13m")), DEN),
        Case("VI003", "2 MMR doses without the booster", b3.plus(("MMRVAC1_COD", "-5y-2m+13m"),
                                                              ("MMRVAC2_COD", "-5y-2m+40m")), DEN),
        Case("VI003", "Reject children with a DTaP/IPV contraindication", b3.plus(("DTAPIPVCON_COD", "-5y-2m+2y")),
             pca("MMRDTAPCON")),
        Case("VI003", "Reject children registered at 5 years or older", b3.plus(since="-2m"), pca("PCAMMRDTAP")),
        Case("VI004", "shingles vaccine at 75", b4.plus(("SHVACGP_COD", "-80y-2m+75y")), NUM),
        Case("VI004", "a vaccine before 70 does not count", b4.plus(("SHVACGP_COD", "-80y-2m+70y-1d")), DEN),
        Case("VI004", "a vaccine at 80 does not count", b4.plus(("SHVACGP_COD", "-80y-2m+80y")), DEN),
        Case("VI004", "Reject patients with a shingles contraindication", b4.plus(("SHCON_COD", "-5y")), pca("SHCON")),
        Case("VI004", "Reject patients who declined between 70 and 80", b4.plus(("SHDEC_COD", "-80y-2m+72y")),
             pca("SHDECU80")),
        Case("VI004", "aged 79 all year: not in the population", P(dob="-80y+2m"), None),
    ]


# 2024/25 register indicators: "The contractor establishes and maintains a register of patients with ..."
REGISTERS = {
    "AF001": "AFIB_REG", "AST005": "AST_REG", "CAN001": "CAN_REG", "CHD001": "CHD_REG", "CKD005": "CKD_REG",
    "COPD015": "COPD_REG", "DEM001": "DEM_REG", "DM017": "DM_REG", "EP001": "EPIL_REG", "HF001": "HF1_REG",
    "HYP001": "HYP_REG", "LD004": "LD_REG", "MH001": "MH1_REG", "OB003": "OB_REG", "OST004": "OSTEO_REG",
    "PAD001": "PAD_REG", "PC001": "PALCARE_REG", "RA001": "RA_REG", "STIA001": "STIA_REG",
}


def _registers() -> list[Case]:
    out = []
    for ind, reg in REGISTERS.items():
        out.append(Case(ind, f"a patient on {reg} counts", P(regs=(reg,)), NUM, Y2425))
        out.append(Case(ind, f"a patient on no register is not on {reg}", P(), None, Y2425))
    return out


ALL: list[Case] = [*_respiratory(), *_cancer(), *_cervical(), *_smoking(), *_vaccinations(), *_registers()]


@pytest.mark.covers("AST007", "AST008", "COPD010", "COPD014", "CAN004", "CAN005", "CS005", "CS006", "SMOK002",
                    "SMOK004", "SMOK005", "VI001", "VI002", "VI003", "VI004", "AF001", "AST005", "CAN001", "CHD001",
                    "CKD005", "COPD015", "DEM001", "DM017", "EP001", "HF001", "HYP001", "LD004", "MH001", "OB003",
                    "OST004", "PAD001", "PC001", "RA001", "STIA001")
@pytest.mark.parametrize(("ruleset_id", "indicator", "cases"), by_indicator(ALL), ids=item_id)
def test_respiratory_public_health_vaccination_and_register_chains(golden_engines, ruleset_id: str, indicator: str,
                                                                   cases) -> None:
    assert failures(golden_engines[ruleset_id], cases) == []


@pytest.mark.covers("QI013", "QI014", "QI016", "QI017", "QI018", "QI019", year="2024-25")
@pytest.mark.parametrize(("indicator", "meetings"), [("QI013", 0), ("QI014", 2), ("QI016", 0), ("QI017", 0),
                                                     ("QI018", 0), ("QI019", 0)])
def test_quality_improvement_attestations_are_all_or_nothing(indicator: str, meetings: int) -> None:
    """QI (QOF_RULES.md §6): the practice declares the activity and its plan (QI014 also two network meetings in
    the year) before 31 March; all the points or none."""
    rs = load_ruleset("qof-2024-25")
    ind = rs.indicator(indicator)
    days = (date(2024, 5, 1), date(2025, 2, 1))[:meetings]
    full = AttestationEvidence("activity", "plan", days, date(2025, 3, 1))
    assert score_attestation(ind, full, rs.settings, cpi=1.0).points == ind.points.value
    assert score_attestation(ind, AttestationEvidence("", "plan", days), rs.settings, cpi=1.0).points == 0
    assert score_attestation(ind, AttestationEvidence("activity", "", days), rs.settings, cpi=1.0).points == 0
    late = AttestationEvidence("activity", "plan", days, date(2025, 4, 1))
    assert score_attestation(ind, late, rs.settings, cpi=1.0).points == 0
    if meetings:
        short = AttestationEvidence("activity", "plan", days[:-1], date(2025, 3, 1))
        assert score_attestation(ind, short, rs.settings, cpi=1.0).points == 0
        outside = AttestationEvidence("activity", "plan", (date(2024, 3, 31), days[-1]), date(2025, 3, 1))
        assert score_attestation(ind, outside, rs.settings, cpi=1.0).points == 0
