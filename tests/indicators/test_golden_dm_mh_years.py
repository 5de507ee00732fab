"""Diabetes, non-diabetic hyperglycaemia, mental health, dementia and depression golden cases in every QOF
year that has the indicator (2024/25, 2025/26, 2026/27).

Each case quotes its business rule (as transcribed in the rule sets; windows "up to and including PPED").
Clusters with no public copy get test-only codes from a release built in the tests (``golden.test_release``).
"""

from __future__ import annotations

import pytest

from .golden import (
    DEN,
    NUM,
    Case,
    P,
    bp,
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

DM = P(regs=("DM_REG",))
DM_PCAS = [("DMPCAPU_COD", "12m", "DMPCAPU"), ("DMPCADEC_COD", "12m", "DMPCADEC")]
Y2425_2526 = ("qof-2024-25", "qof-2025-26")
Y2526_2627 = ("qof-2025-26", "qof-2026-27")


def _frailty(ind: str, excluded_when_frail: bool) -> list[Case]:
    """DM020 / DM036: "Reject patients whose latest frailty code is moderate or severe"; DM021 the reverse."""
    frail = DM.plus(("MODFRAIL_COD", "-2y"))
    recovered = DM.plus(("SEVFRAIL_COD", "-3y"), ("MILDFRAIL_COD", "-1y"))
    if excluded_when_frail:
        return [Case(ind, "latest frailty moderate: excluded", frail, exc("MDSEVFRAIL")),
                Case(ind, "latest frailty severe: excluded", DM.plus(("SEVFRAIL_COD", "-1y")), exc("MDSEVFRAIL")),
                Case(ind, "severe then mild: the latest decides, in", recovered, DEN)]
    return [Case(ind, "not moderately or severely frail: excluded", DM, exc("MDSEVFRAIL")),
            Case(ind, "severe then mild: the latest decides, excluded", recovered, exc("MDSEVFRAIL"))]


def _hba1c(ind: str, target: int, base: P) -> list[Case]:
    """DM020 (<= 58) / DM021 (<= 75): "Select patients whose last IFCC-HbA1c in the 12 months is <= target";
    then the fructosamine, maximum tolerated, unsuitable, declined and invitation rejections."""
    return [
        *window_edges(ind, f"last IFCC-HbA1c <= {target} in the 12 months", base,
                      lambda at: (("IFCCHBAM_COD", at, float(target)),), "12m"),
        Case(ind, f"HbA1c {target + 1} is above target", base.plus(("IFCCHBAM_COD", "-1m", target + 1.0)), DEN),
        Case(ind, "a later out-of-target result overrides an earlier one", base.plus(
            ("IFCCHBAM_COD", "-6m", 40.0), ("IFCCHBAM_COD", "-1m", 90.0)), DEN),
        Case(ind, "Reject patients with no HbA1c but a fructosamine in the service year", base.plus(
            ("SERFRUC_COD", "-2m")), pca("IFCCHBA")),
        Case(ind, "a fructosamine with an HbA1c in the service year does not reject", base.plus(
            ("SERFRUC_COD", "-2m"), ("IFCCHBAM_COD", "-3m", 90.0)), DEN),
        *pca_steps(ind, base, [("DMMAX_COD", "12m", "DMMAX"), ("BLDTESTDEC_COD", "12m", "BLDTESTDEC"), *DM_PCAS]),
        Case(ind, "reject (DMIFINVITE): two invitations after the latest out-of-target result", base.plus(
            ("IFCCHBAM_COD", "-8m", 90.0), ("DMINVITE_COD", "-6m"), ("DMINVITE_COD", "-6m+7d")), pca("DMIFINVITE")),
        Case(ind, "invitations before the latest result do not count", base.plus(
            ("DMINVITE_COD", "-6m"), ("DMINVITE_COD", "-6m+7d"), ("IFCCHBAM_COD", "-5m", 90.0)), DEN),
        *newly(ind, base, "DM_COD", "9m", "DIAG1_DT9M", "REG1_DAT9"),
    ]


def _dm006() -> list[Case]:
    b = DM.plus(("PRT_COD", "-3y"))
    return [
        Case("DM006", "Reject patients without proteinuria or micro-albuminuria ever", DM, exc("PRT_COD")),
        *window_edges("DM006", "ACE-I issued in the 6 months", b, has("ACEI_COD"), "6m"),
        Case("DM006", "an ARB counts", b.plus(("ARB_COD", "-1m")), NUM),
        *pca_steps("DM006", b, [("ACEDEC_COD", "12m", "ACEDEC"), ("AIIDEC_COD", "12m", "ACEDEC"), *DM_PCAS]),
        Case("DM006", "Reject patients contraindicated to both ACE-I and ARB", b.plus(
            ("XACE_COD", "-4y"), ("XAII_COD", "-4y")), pca("XACE")),
        Case("DM006", "an ACE-I contraindication alone does not reject", b.plus(("XACE_COD", "-4y")), DEN),
        *invitation_steps("DM006", b, "DMINVITE_COD", "DMINVITE"),
        *newly("DM006", P(regs=("DM_REG",), ev=(("PRT_COD", "-3y"),)), "DM_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
    ]


def _dm012() -> list[Case]:
    y = Y2425_2526
    return [
        Case("DM012", "Reject patients with a left and a right amputation", DM.plus(
            ("AMPL_COD", "-5y"), ("AMPR_COD", "-4y")), exc("AMPR3_DAT"), y),
        Case("DM012", "one amputation alone stays in", DM.plus(("AMPL_COD", "-5y")), DEN, y),
        *window_edges("DM012", "foot risk classification in the 12 months", DM, has("FRC_COD"), "12m", y),
        *pca_steps("DM012", DM, [("FEDEC_COD", "12m", "FEDEC"), ("FEPU_COD", "12m", "FEPU"), *DM_PCAS], y),
        *invitation_steps("DM012", DM, "DMINVITE_COD", "DMINVITE", y),
        *newly("DM012", DM, "DM_COD", "3m", "DIAG1_DAT", "REG1_DAT3", y),
    ]


def _dm014() -> list[Case]:
    """DM014: newly diagnosed in the 21 months, "referred to a structured education programme within 9 months
    after entry on to the diabetes register"."""
    dx = ("DM_COD", "-15m")
    b = DM.plus(dx)
    return [
        Case("DM014", "Reject patients first diagnosed before the 21 months", DM.plus(("DM_COD", "-21m")),
             exc("DM_DAT2")),
        Case("DM014", "first diagnosed on the 21 months' first day stays", DM.plus(("DM_COD", "-21m+1d")), DEN),
        Case("DM014", "referral 9 months after the diagnosis selects", b.plus(("DSEP_COD", "-15m+9m")), NUM),
        Case("DM014", "referral on the diagnosis day selects", b.plus(("DSEP_COD", "-15m")), NUM),
        Case("DM014", "referral later than 9 months does not", b.plus(("DSEP_COD", "-15m+9m+1d")), DEN),
        Case("DM014", "referral before the diagnosis does not", b.plus(("DSEP_COD", "-15m-1d")), DEN),
        Case("DM014", "Reject patients diagnosed in the 9 months (not yet due)", DM.plus(("DM_COD", "-9m+1d")),
             exc("DM_DAT3")),
        Case("DM014", "reject (DSEPDEC): declined within 279 days of diagnosis", b.plus(("DSEPDEC_COD", "-15m+279d")),
             pca("DSEPDEC")),
        Case("DM014", "declined after 279 days does not reject", b.plus(("DSEPDEC_COD", "-15m+280d")), DEN),
        Case("DM014", "reject (DSEPSU): unsuitable within 279 days", b.plus(("DSEPSU_COD", "-15m+10d")),
             pca("DSEPSU")),
        *pca_steps("DM014", b, [("DSEPPU_COD", "12m", "DSEPPU"), *DM_PCAS]),
        *invitation_steps("DM014", b, "DMINVITE_COD", "DMINVITE"),
        Case("DM014", "reject (REG1_DAT3): registered in the 3 months", b.plus(since="-3m+1d"), pca("REG1_DAT3")),
    ]


STATIN_PCAS = [("CHOLMAX_COD", "12m", "CHOLMAX"), ("XSTAT_COD", "ever", "XSTAT"), ("TXSTAT_COD", "12m", "TXSTAT"),
               *DM_PCAS]


def _statins(ind: str, b: P) -> list[Case]:
    """DM034 / DM035: "Select patients prescribed a statin in the 6 months" (or another lipid-lowering therapy
    where a statin was declined or is contraindicated); then CHOLMAX, both therapies declined, statin
    contraindication or intolerance and the diabetes PCAs."""
    y = Y2526_2627
    return [
        *window_edges(ind, "statin issued in the 6 months", b, has("STAT_COD"), "6m", y),
        Case(ind, "other lipid-lowering therapy where a statin was declined", b.plus(
            ("LLTOTHER_COD", "-1m"), ("STATINDEC_COD", "-2m")), NUM, y),
        Case(ind, "other lipid-lowering therapy alone", b.plus(("LLTOTHER_COD", "-1m")), DEN, y),
        *pca_steps(ind, b, STATIN_PCAS, y),
        Case(ind, "Reject patients who declined a statin and other lipid-lowering therapy in the 12 months", b.plus(
            ("STATINDEC_COD", "-2m"), ("LLTDEC_COD", "-2m")), pca("OLLTCONDEC"), y),
        Case(ind, "a statin declined alone does not reject", b.plus(("STATINDEC_COD", "-2m")), DEN, y),
        *invitation_steps(ind, b, "DMINVITE_COD", "DMINVITE", y),
    ]


def _dm034() -> list[Case]:
    y = Y2526_2627
    b = DM.plus(age=55)
    return [
        Case("DM034", "Reject patients aged 39 or under", DM.plus(age=39), exc("PAT_AGEU39"), y),
        Case("DM034", "Reject moderately or severely frail patients", b.plus(("SEVFRAIL_COD", "-1y")),
             exc("MDSEVFRAIL"), y),
        Case("DM034", "Reject patients with a history of CVD (on the CHD register)", b.plus(regs=("DM_REG", "CHD_REG")),
             exc("CVDHIST"), y),
        Case("DM034", "a stroke code is CVD history too", b.plus(("STRK_COD", "-5y")), exc("CVDHIST"), y),
        Case("DM034", "Reject type 2 patients with a QRISK below 10% in the 3 years", b.plus(
            ("DMTYPE2_COD", "-5y"), ("QRISKSCORE_COD", "-1y", 9.9)), exc("DMTYPE2"), y),
        Case("DM034", "QRISK 10% stays in", b.plus(("DMTYPE2_COD", "-5y"), ("QRISKSCORE_COD", "-1y", 10.0)), DEN, y),
        *_statins("DM034", b),
        *newly("DM034", b, "DM_COD", "3m", "DIAG1_DAT", "REG1_DAT3", y),
    ]


def _dm035() -> list[Case]:
    y = Y2526_2627
    b = DM.plus(regs=("DM_REG", "CHD_REG"))
    return [
        Case("DM035", "Reject patients without a history of CVD", DM, exc("CVDNOHIST"), y),
        Case("DM035", "a TIA is CVD history", DM.plus(("TIA_COD", "-3y")), DEN, y),
        Case("DM035", "Reject patients with a haemorrhagic stroke", b.plus(("HSTRK_COD", "-3y")), exc("HSTRK"), y),
        *_statins("DM035", b),
        *newly("DM035", b, "DM_COD", "3m", "DIAG1_DAT", "REG1_DAT3", y),
    ]


def _dm036() -> list[Case]:
    y = Y2526_2627
    return [
        *_frailty("DM036", True),
        *window_edges("DM036", "last BP <= 140/90 in the 12 months", DM, lambda at: bp(at, 140, 90), "12m", y),
        Case("DM036", "systolic 141 is above target", DM.plus(*bp("-1m", 141, 80)), DEN, y),
        Case("DM036", "home reading <= 135/85", DM.plus(*bp("-1m", 135, 85, home=True)), NUM, y),
        Case("DM036", "home reading 136/85 is above target", DM.plus(*bp("-1m", 136, 85, home=True)), DEN, y),
        *pca_steps("DM036", DM, [("HTMAX_COD", "12m", "HTMAX"), ("BPDEC_COD", "12m", "BPORHBPDEC"), *DM_PCAS], y),
        Case("DM036", "reject (DMBPINVITE): two invitations after the latest reading", DM.plus(
            *bp("-8m", 160, 95), ("DMINVITE_COD", "-6m"), ("DMINVITE_COD", "-6m+7d")), pca("DMBPINVITE"), y),
        *newly("DM036", DM, "DM_COD", "9m", "DIAG1_DT9M", "REG1_DAT9", y),
    ]


def _ndh002() -> list[Case]:
    y = Y2425_2526
    b = P(regs=("NDH_REG",))
    return [
        Case("NDH002", "Reject patients on the diabetes register", b.plus(regs=("NDH_REG", "DM_REG")),
             exc("NDHDMIFCC"), y),
        *window_edges("NDH002", "HbA1c in the 12 months", b, lambda at: (("IFCCHBAM_COD", at, 45.0),), "12m", y),
        Case("NDH002", "a fasting plasma glucose counts", b.plus(("FASPLASGLUC_COD", "-1m", 6.5)), NUM, y),
        *pca_steps("NDH002", b, [("GLUCDEC_COD", "12m", "GLUCDEC"), ("NDHPU_COD", "12m", "NDHPU"),
                                 ("NDHPCADEC_COD", "12m", "NDHPCADEC")], y),
        *invitation_steps("NDH002", b, "NDHINVITE_COD", "NDHINVITE", y),
        *newly("NDH002", b, "NDH_COD", "3m", "DIAG1_DAT", "REG1_DAT3", y),
    ]


MH = P(regs=("MH1_REG",))
MH_PCAS = [("MHPCAPU_COD", "12m", "MHPCAPU"), ("MHPCADEC_COD", "12m", "MHPCADEC")]


def _mh(ind: str, rule: str, success: tuple[str, ...], pcas: list[tuple[str, str, str]], base: P = MH,
        window: str = "12m", years: tuple[str, ...] = ()) -> list[Case]:
    """The MH chain: "Reject patients whose latest mental health code is remission"; the success in the window;
    the indicator's own PCAs, the MH PCAs and invitations; newly diagnosed or registered in the 3 months."""
    return [
        Case(ind, "Reject patients in remission (latest MH code is remission)", base.plus(
            ("MH_COD", "-6y"), ("MHREM_COD", "-2y")), exc("MHREM_DAT"), years),
        Case(ind, "a relapse after remission is back in", base.plus(
            ("MH_COD", "-6y"), ("MHREM_COD", "-2y"), ("MH_COD", "-1y")), DEN, years),
        *window_edges(ind, rule, base, has(*success), window, years),
        *pca_steps(ind, base, [*pcas, *MH_PCAS], years),
        *invitation_steps(ind, base, "MHINVITE_COD", "MHINVITE", years),
        *newly(ind, base, "MH_COD", "3m", "DIAG1_DAT", "REG1_DAT3", years),
    ]


def _mh021() -> list[Case]:
    y = ("qof-2024-25",)
    six = ("SYSBP_COD", "BMIVAL_COD", "ALC_COD", "CHOL2_COD", "GLUC_COD", "SMOK_COD")
    return [
        *window_edges("MH021", "all six physical health checks in the 12 months", MH, has(*six), "12m", y),
        Case("MH021", "five of the six is not enough (no smoking status)", MH.plus(
            *((c, "-1m") for c in six[:-1])), DEN, y),
    ]


def _dep004() -> list[Case]:
    y = ("qof-2024-25",)
    b = P(regs=("DEP1_REG",), age=40)
    dx = b.plus(("DEPR_COD", "-8m"))
    return [
        Case("DEP004", "Reject patients whose first depression diagnosis is before the service year",
             b.plus(("DEPR_COD", "-12m")), exc("DEPR_DAT2"), y),
        Case("DEP004", "review 56 days after the diagnosis selects", dx.plus(("DEPRVW_COD", "-8m+56d")), NUM, y),
        Case("DEP004", "review on the diagnosis day selects", dx.plus(("DEPRVW_COD", "-8m")), NUM, y),
        Case("DEP004", "review on day 57 does not", dx.plus(("DEPRVW_COD", "-8m+57d")), DEN, y),
        *pca_steps("DEP004", dx, [("DEPRPCAPU_COD", "12m", "DEPRPCAPU"), ("DEPRPCADEC_COD", "12m", "DEPRPCADEC")], y),
        *invitation_steps("DEP004", dx, "DEPRINVITE_COD", "DEPRINVITE", y),
        Case("DEP004", "reject (DIAG1_DAT): first diagnosed in the 3 months", b.plus(("DEPR_COD", "-3m+1d")),
             pca("DIAG1_DAT"), y),
        Case("DEP004", "reject (REG1_DAT3): registered in the 3 months", dx.plus(since="-3m+1d"), pca("REG1_DAT3"), y),
        Case("DEP004", "aged 17: not in the population (18 and over)", dx.plus(age=17), None, y),
    ]


DM_MH: list[Case] = [
    *_frailty("DM020", True),
    *_hba1c("DM020", 58, DM),
    *_frailty("DM021", False),
    *_hba1c("DM021", 75, DM.plus(("MODFRAIL_COD", "-2y"))),
    *_dm006(),
    *_dm012(),
    *_dm014(),
    *_dm034(),
    *_dm035(),
    *_dm036(),
    *_ndh002(),
    *_mh("MH002", "care plan in the 12 months", ("MHP_COD",), []),
    *_mh("MH003", "blood pressure in the 12 months", ("BP_COD",), [("BPDEC_COD", "12m", "BPDEC")]),
    *_mh("MH006", "BMI in the 12 months", ("BMIVAL_COD",), [("BMIDEC_COD", "12m", "BMIDEC"),
                                                             ("BMIPU_COD", "12m", "BMIPU")]),
    *_mh("MH007", "alcohol consumption in the 12 months", ("ALC_COD",), [("ALCSCRNDEC_COD", "12m", "ALCDEC")]),
    *_mh("MH011", "cholesterol in the 24 months", ("LDLCCHOL_COD",), [("CHOLDEC_COD", "12m", "CHOLDEC")],
         window="24m"),
    *_mh("MH012", "glucose or HbA1c in the 12 months", ("GLUC_COD",), [("GLUCDEC_COD", "12m", "GLUCDEC")]),
    Case("MH012", "Reject patients on the diabetes register", MH.plus(regs=("MH1_REG", "DM_REG")), exc("DM_DAT4")),
    *_mh021(),
    *window_edges("DEM004", "dementia care plan review in the 12 months", P(regs=("DEM_REG",), age=80),
                  has("DEMCPRVW_COD"), "12m"),
    *pca_steps("DEM004", P(regs=("DEM_REG",), age=80), [
        ("DEMCPDEC_COD", "12m", "DEMCPDEC"), ("DEMCPRVWDEC_COD", "12m", "DEMCPDEC"),
        ("DEMPCAPU_COD", "12m", "DEMPCAPU"), ("DEMPCADEC_COD", "12m", "DEMPCADEC")]),
    *invitation_steps("DEM004", P(regs=("DEM_REG",), age=80), "DEMINVITE_COD", "DEMINVITE"),
    *newly("DEM004", P(regs=("DEM_REG",), age=80), "DEM_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
    *_dep004(),
]


@pytest.mark.covers("DM020", "DM021", "DM006", "DM012", "DM014", "DM034", "DM035", "DM036", "NDH002", "MH002", "MH003",
                    "MH006", "MH007", "MH011", "MH012", "MH021", "DEM004", "DEP004")
@pytest.mark.parametrize(("ruleset_id", "indicator", "cases"), by_indicator(DM_MH), ids=item_id)
def test_diabetes_and_mental_health_chains_in_every_year(golden_engines, ruleset_id: str, indicator: str,
                                                         cases) -> None:
    assert failures(golden_engines[ruleset_id], cases) == []
