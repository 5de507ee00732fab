"""Cardiovascular golden cases in every QOF year that has the indicator (2024/25, 2025/26, 2026/27): CHD, stroke
and TIA, cholesterol, atrial fibrillation, heart failure, hypertension and BP002.

Each case quotes its business rule (QOF business rules v49-v51 as transcribed in the rule sets; windows "up to
and including PPED"). Clusters with no public copy get test-only codes from a release built in the tests
(``golden.test_release``).
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

CHD = P(regs=("CHD_REG",))
STIA = P(regs=("STIA_REG",), ev=(("STRK_COD", "-6y"),))
AF = P(regs=("AFIB_REG",))
HF1 = P(regs=("HF1_REG",))
HF2 = P(regs=("HF2_REG",))
HYP = P(regs=("HYP_REG",))
Y2425_2526 = ("qof-2024-25", "qof-2025-26")


def _antiplatelet(ind: str, base: P, fields: tuple[str, str, str, str, str], invite: str) -> list[Case]:
    """CHD005 / STIA007: "Select patients who have an antiplatelet or anticoagulant issued in the 12 months up to
    and including PPED"; then the declined, contraindicated, PCA and invitation rejections."""
    saldec, xsal, pcapu, pcadec, inv = fields
    return [
        *window_edges(ind, "antiplatelet issued in the 12 months", base, has("ANTIPLAT_COD"), "12m"),
        Case(ind, "an oral anticoagulant counts as well", base.plus(("ORANTICOAG_COD", "-2m")), NUM),
        Case(ind, "antiplatelet issued after PPED does not count", base.plus(("ANTIPLAT_COD", "+1d")), DEN),
        *pca_steps(ind, base, [("SALDEC_COD", "12m", saldec), (pcapu.replace("PCAPU", "PCAPU_COD"), "12m", pcapu),
                               (pcadec.replace("PCADEC", "PCADEC_COD"), "12m", pcadec)]),
        Case(ind, "Reject patients with a salicylate/anticoagulant/clopidogrel contraindication (ever)",
             base.plus(("XSAL_COD", "-20y")), pca(xsal)),
        Case(ind, "a clopidogrel contraindication rejects too", base.plus(("XCLO_COD", "-1y")), pca(xsal)),
        Case(ind, "success overrides a PCA", base.plus(("ANTIPLAT_COD", "-1m"), ("SALDEC_COD", "-1m")), NUM),
        *invitation_steps(ind, base, invite, inv),
    ]


def _bp_indicator(ind: str, base: P, clinic: tuple[int, int], home: tuple[int, int], age_field: tuple[str, str],
                  pcas: list[tuple[str, str, str]], invite: tuple[str, str], diagnosis: str,
                  years: tuple[str, ...] = Y2425_2526) -> list[Case]:
    """"Select patients whose last blood pressure reading in the 12 months is <= clinic (home/ambulatory <= home)";
    the age split at 79/80, then HTMAX, PCA, BP declined and BP invitations after the latest reading; newly
    diagnosed or registered in the 9 months."""
    s, d = clinic
    hs, hd = home
    field, young = age_field
    b = base.plus(age=70 if young else 85)
    other_age = base.plus(age=85 if young else 70)
    return [
        Case(ind, f"outside the age band: {field}", other_age.plus(*bp("-1m", s, d)), exc(field), years),
        *window_edges(ind, f"last BP <= {s}/{d} in the 12 months", b, lambda at: bp(at, s, d), "12m", years),
        Case(ind, f"systolic {s + 1} is above target", b.plus(*bp("-1m", s + 1, d)), DEN, years),
        Case(ind, f"diastolic {d + 1} is above target", b.plus(*bp("-1m", s, d + 1)), DEN, years),
        Case(ind, f"home reading <= {hs}/{hd}", b.plus(*bp("-1m", hs, hd, home=True)), NUM, years),
        Case(ind, f"home reading {hs + 1}/{hd} is above the home target", b.plus(*bp("-1m", hs + 1, hd, home=True)),
             DEN, years),
        Case(ind, "the latest reading decides", b.plus(*bp("-6m", s - 10, d - 10), *bp("-1m", s + 10, d)), DEN, years),
        *pca_steps(ind, b, pcas, years),
        Case(ind, f"reject ({invite[1]}): two invitations after the latest reading",
             b.plus(*bp("-8m", s + 10, d), (invite[0], "-6m"), (invite[0], "-6m+7d")), pca(invite[1]), years),
        Case(ind, "invitations before the latest reading do not count",
             b.plus((invite[0], "-6m"), (invite[0], "-6m+7d"), *bp("-5m", s + 10, d)), DEN, years),
        *newly(ind, b, diagnosis, "9m", "DIAG1_DT9M", "REG1_DAT9", years),
    ]


def _chol003() -> list[Case]:
    ind, b = "CHOL003", P(regs=("CHD_REG",))
    return [
        Case(ind, "Reject patients on the diabetes register (DMCVDEXC)", b.plus(regs=("CHD_REG", "DM_REG")),
             exc("DMCVDEXC")),
        Case(ind, "Reject haemorrhagic stroke only (no CHD, PAD, CKD or TIA)",
             P(regs=("STIA_REG",), ev=(("HSTRK_COD", "-5y"),)), exc("HSTRK")),
        Case(ind, "haemorrhagic stroke with TIA stays in", P(regs=("STIA_REG",), ev=(("HSTRK_COD", "-5y"),
                                                                                   ("TIA_COD", "-4y"))), DEN),
        *window_edges(ind, "statin issued in the 6 months", b, has("STAT_COD"), "6m"),
        Case(ind, "another lipid-lowering therapy with a statin declined", b.plus(("LLTOTHER_COD", "-1m"),
                                                                                 ("STATINDEC_COD", "-3m")), NUM),
        Case(ind, "another lipid-lowering therapy with a statin contraindication",
             b.plus(("LLTOTHER_COD", "-1m"), ("XSTAT_COD", "-5y")), NUM),
        Case(ind, "another lipid-lowering therapy alone is not enough", b.plus(("LLTOTHER_COD", "-1m")), DEN),
        *pca_steps(ind, b, [("CHOLMAX_COD", "12m", "CHOLMAX"), ("LIPIDTHERADV_COD", "ever", "LLTADV"),
                            ("STATNIND_COD", "12m", "LLTCONNIND"), ("LLTDEC_COD", "12m", "LLTDEC12M")]),
        *invitation_steps(ind, b, "CHOLINVITE_COD", "CHOLINVITE"),
        Case(ind, "Reject patients on the palliative care register", b.plus(regs=("CHD_REG", "PALCARE_REG")),
             pca("PALCARDAT2")),
        *newly(ind, b, "CHD_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
    ]


def _chol004() -> list[Case]:
    ind, b = "CHOL004", P(regs=("CHD_REG",))
    return [
        *window_edges(ind, "latest LDL cholesterol <= 2.0 in the 12 months", b,
                      lambda at: (("LDLCCHOL_COD", at, 2.0),), "12m"),
        Case(ind, "LDL 2.1 is above target", b.plus(("LDLCCHOL_COD", "-1m", 2.1)), DEN),
        Case(ind, "no LDL: non-HDL cholesterol <= 2.6", b.plus(("NONHDLCCHOL_COD", "-1m", 2.6)), NUM),
        Case(ind, "non-HDL 2.7 is above target", b.plus(("NONHDLCCHOL_COD", "-1m", 2.7)), DEN),
        Case(ind, "an LDL result decides over non-HDL", b.plus(("LDLCCHOL_COD", "-1m", 2.5),
                                                               ("NONHDLCCHOL_COD", "-1m", 2.0)), DEN),
        *pca_steps(ind, b, [("CHOLMAX_COD", "12m", "CHOLMAX"), ("CHOLDEC_COD", "12m", "CHOLDEC")]),
        Case(ind, "reject (CHOLINVITE): two invitations after the latest result",
             b.plus(("LDLCCHOL_COD", "-8m", 3.0), ("CHOLINVITE_COD", "-6m"), ("CHOLINVITE_COD", "-6m+7d")),
             pca("CHOLINVITE")),
        *newly(ind, b, "CHD_COD", "9m", "DIAG1_DT9M", "REG1_DAT9"),
        Case(ind, "CKD alone is not in the CHOL2 population", P(regs=("CKD_REG",)), None),
    ]


def _af() -> list[Case]:
    return [
        *window_edges("AF006", "CHA2DS2-VASc score recorded in the 12 months", AF,
                      lambda at: (("CHADVASC_COD", at, 1.0),), "12m",
                      otherwise=DEN),
        Case("AF006", "Reject patients whose latest CHA2DS2-VASc (or CHADS2) score, ever, is 2 or more",
             AF.plus(("CHADVASC_COD", "-3y", 2.0)), exc("CHAD_VAL2")),
        Case("AF006", "a CHADS2 score of 2 excludes too", AF.plus(("CHAD_COD", "-3y", 3.0)), exc("CHAD_VAL2")),
        *pca_steps("AF006", AF, [("AFIBPCAPU_COD", "12m", "AFIBPCAPU"), ("AFIBPCADEC_COD", "12m", "AFIBPCADEC")]),
        *invitation_steps("AF006", AF, "AFIBINVITE_COD", "AFIBINV1"),
        *newly("AF006", AF, "AFIB_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
        Case("AF008", "Reject patients whose latest CHA2DS2-VASc is below 2", AF.plus(("CHADVASC_COD", "-1y", 1.0)),
             exc("CHADVASC")),
        *window_edges("AF008", "DOAC issued in the 6 months", AF.plus(("CHADVASC_COD", "-1y", 3.0)),
                      has("DOAC_COD"), "6m"),
        Case("AF008", "a vitamin K antagonist where a DOAC was declined", AF.plus(
            ("CHADVASC_COD", "-1y", 3.0), ("VITK_COD", "-1m"), ("DOACDEC_COD", "-4m")), NUM),
        Case("AF008", "a vitamin K antagonist alone is not enough", AF.plus(
            ("CHADVASC_COD", "-1y", 3.0), ("VITK_COD", "-1m")), DEN),
        *pca_steps("AF008", AF.plus(("CHADVASC_COD", "-1y", 3.0)), [
            ("ORANTICOAGDEC_COD", "12m", "GENORANTID"), ("XORANTICOAG_COD", "ever", "XGORANTICO"),
            ("TXORANTICOAG_COD", "12m", "TXGORANTIC")]),
        *newly("AF008", AF.plus(("CHADVASC_COD", "-1y", 3.0)), "AFIB_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
    ]


def _hf() -> list[Case]:
    y = Y2425_2526
    return [
        *window_edges("HF003", "ACE-I or ARB issued in the 6 months", HF2, has("ACEI_COD"), "6m", y),
        Case("HF003", "an ARB counts", HF2.plus(("ARB_COD", "-1m")), NUM, y),
        *pca_steps("HF003", HF2, [("ACEDEC_COD", "12m", "ACEDEC"), ("HFPCAPU_COD", "12m", "HFPCAPU"),
                                  ("HFPCADEC_COD", "12m", "HFPCADEC")], y),
        Case("HF003", "Reject patients with both an ACE-I and an ARB contraindication",
             HF2.plus(("XACE_COD", "-5y"), ("XAII_COD", "-5y")), pca("XACE"), y),
        Case("HF003", "one contraindication alone does not reject", HF2.plus(("XACE_COD", "-5y")), DEN, y),
        *invitation_steps("HF003", HF2, "HFINVITE_COD", "HFINVITE", y),
        *newly("HF003", HF2, "HFLVSD_COD", "3m", "DIAG1_DAT", "REG1_DAT3", y),
        *window_edges("HF006", "beta-blocker issued in the 6 months", HF2, has("LBB_COD"), "6m", y),
        *pca_steps("HF006", HF2, [("LBBDEC_COD", "12m", "LBBDEC"), ("XLBB_COD", "ever", "XLBB"),
                                  ("TXLBB_COD", "12m", "TXLBB"), ("HFPCAPU_COD", "12m", "HFPCAPU")], y),
        *invitation_steps("HF006", HF2, "HFINVITE_COD", "HFINVITE", y),
        *newly("HF006", HF2, "REDEJCFRAC_COD", "3m", "DIAG1_DAT", "REG1_DAT3", y),
        *window_edges("HF007", "HF review and medication review in the 12 months", HF1,
                      has("HFRVW_COD", "HFMEDRVW_COD"), "12m"),
        Case("HF007", "a review without the medication review is not enough", HF1.plus(("HFRVW_COD", "-1m")), DEN),
        *pca_steps("HF007", HF1, [("MEDRVWDEC_COD", "12m", "MEDRVWDEC"), ("HFPCAPU_COD", "12m", "HFPCAPU"),
                                  ("HFPCADEC_COD", "12m", "HFPCADEC")]),
        *invitation_steps("HF007", HF1, "HFINVITE_COD", "HFINVITE"),
        *newly("HF007", HF1, "HF_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
        # HF008: "diagnosed on or after 1 April 2023 ... echocardiogram or specialist assessment 3 months before or
        # 6 months after entering on to the register" (read: 6 months before, 3 months after the first diagnosis)
        Case("HF008", "Reject patients first diagnosed before 1 April 2023", HF1.plus(("HF_COD", "2023-03-31")),
             exc("DIAG_DAT23")),
        Case("HF008", "echocardiogram 3 months after the first diagnosis", HF1.plus(
            ("HF_COD", "-8m"), ("ECHO_COD", "-5m")), NUM),
        Case("HF008", "echocardiogram 6 months before the first diagnosis", HF1.plus(
            ("HF_COD", "-8m"), ("ECHO_COD", "-14m")), NUM),
        Case("HF008", "specialist assessment counts too", HF1.plus(("HF_COD", "-8m"), ("HFSPEC_COD", "-7m")), NUM),
        Case("HF008", "an echocardiogram more than 3 months after does not count", HF1.plus(
            ("HF_COD", "-8m"), ("ECHO_COD", "-5m+1d")), DEN),
        Case("HF008", "Reject patients on the palliative care register", HF1.plus(
            ("HF_COD", "-8m"), regs=("HF1_REG", "PALCARE_REG")), pca("PALCARDAT2")),
        Case("HF008", "reject (HFPCAPU6): unsuitable in the 6 months", HF1.plus(
            ("HF_COD", "-8m"), ("HFPCAPU_COD", "-6m+1d")), pca("HFPCAPU6")),
        Case("HF008", "unsuitable before the 6 months does not reject", HF1.plus(
            ("HF_COD", "-8m"), ("HFPCAPU_COD", "-6m")), DEN),
        Case("HF008", "reject (DIAG1_DAT): first diagnosed in the 3 months", HF1.plus(("HF_COD", "-3m+1d")),
             pca("DIAG1_DAT")),
        Case("HF008", "reject (REG1_DAT3): registered in the 3 months", HF1.plus(("HF_COD", "-8m"), since="-3m+1d"),
             pca("REG1_DAT3")),
    ]


def _bp002() -> list[Case]:
    b = P(age=45)
    return [
        Case("BP002", "aged 44: not in the population (45 and over)", P(age=44, ev=bp("-1y", 120, 80)), None),
        *window_edges("BP002", "blood pressure recorded in the 5 years", b, lambda at: bp(at, 150, 95), "5y"),
        Case("BP002", "a general BP code counts", b.plus(("BP_COD", "-4y")), NUM),
        *pca_steps("BP002", b, [("BPDEC_COD", "5y", "BPDEC1")]),
        *newly("BP002", b, "", "3m", "", "REG1_DAT3"),
    ]


CVD: list[Case] = [
    *_antiplatelet("CHD005", CHD, ("SALDEC", "XSAL", "CHDPCAPU", "CHDPCADEC", "CHDINVITE"), "CHDINVITE_COD"),
    *newly("CHD005", CHD, "CHD_COD", "3m", "DIAG1_DAT", "REG1_DAT3"),
    *_antiplatelet("STIA007", STIA, ("SALDIPDEC", "XSALCONTRA", "STIAPCAPU", "STIAPCADEC", "STIAINVITE"),
                   "STIAINVITE_COD"),
    Case("STIA007", "Reject patients with a haemorrhagic stroke only (no TIA, no other stroke)",
         P(regs=("STIA_REG",), ev=(("HSTRK_COD", "-6y"),)), exc("OSTREXCL")),
    Case("STIA007", "a TIA keeps the patient in", P(regs=("STIA_REG",), ev=(("TIA_COD", "-6y"),)), DEN),
    *_bp_indicator("CHD015", CHD, (140, 90), (135, 85), ("PAT_AGEO79", True),
                   [("HTMAX_COD", "12m", "HTMAX"), ("CHDPCAPU_COD", "12m", "CHDPCAPU"),
                    ("BPDEC_COD", "12m", "BPORHBPDEC"), ("CHDPCADEC_COD", "12m", "CHDPCADEC")],
                   ("CHDINVITE_COD", "CHDBPINV"), "CHD_COD"),
    *_bp_indicator("CHD016", CHD, (150, 90), (145, 85), ("PAT_AGEU80", False),
                   [("HTMAX_COD", "12m", "HTMAX"), ("CHDPCADEC_COD", "12m", "CHDPCADEC")],
                   ("CHDINVITE_COD", "CHDBPINV"), "CHD_COD"),
    *_bp_indicator("STIA014", P(regs=("STIA_REG",)), (140, 90), (135, 85), ("PAT_AGEO79", True),
                   [("STIAPCAPU_COD", "12m", "STIAPCAPU"), ("STIAPCADEC_COD", "12m", "STIAPCADEC")],
                   ("STIAINVITE_COD", "STBPINVITE"), "TIA_COD"),
    *_bp_indicator("STIA015", P(regs=("STIA_REG",)), (150, 90), (145, 85), ("PAT_AGEU80", False),
                   [("BPDEC_COD", "12m", "BPORHBPDEC")], ("STIAINVITE_COD", "STBPINVITE"), "STRK_COD"),
    *_bp_indicator("HYP008", HYP, (140, 90), (135, 85), ("PAT_AGEO79", True),
                   [("HYPPCAPU_COD", "12m", "HYPPCAPU"), ("HYPPCADEC_COD", "12m", "HYPPCADEC")],
                   ("HYPINVITE_COD", "HYPBPINV"), "HYP_COD"),
    *_bp_indicator("HYP009", HYP, (150, 90), (145, 85), ("PAT_AGEU80", False),
                   [("HTMAX_COD", "12m", "HTMAX")], ("HYPINVITE_COD", "HYPBPINV"), "HYP_COD"),
    *_chol003(),
    *_chol004(),
    *_af(),
    *_hf(),
    *_bp002(),
]


@pytest.mark.covers("CHD005", "STIA007", "CHD015", "CHD016", "STIA014", "STIA015", "HYP008", "HYP009", "CHOL003",
                    "CHOL004", "AF006", "AF008", "HF003", "HF006", "HF007", "HF008", "BP002")
@pytest.mark.parametrize(("ruleset_id", "indicator", "cases"), by_indicator(CVD), ids=item_id)
def test_cardiovascular_chains_in_every_year(golden_engines, ruleset_id: str, indicator: str, cases) -> None:
    assert failures(golden_engines[ruleset_id], cases) == []
