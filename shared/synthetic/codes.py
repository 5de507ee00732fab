"""The codes the generator writes, drawn from the packaged codelist library.

Diagnoses prefer the everyday concept a clinician would pick (checked against the cluster at load time);
medicines are filtered by product name so a patient gets e.g. "Ramipril 5mg capsules", not a specials
oral solution. Every code returned here is in the library, so it passes the SNOMED CT check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from shared.codelists import CodelistLibrary, default_library

# Everyday diagnosis concepts per register, most common first; must belong to the register's cluster.
PREFERRED_DIAGNOSES: dict[str, tuple[tuple[str, str], ...]] = {
    "HYP": (("HYP_COD", "38341003"), ("HYP_COD", "59621000"), ("HYP_COD", "1201005")),
    "DM": (("DM_COD", "44054006"), ("DM_COD", "73211009")),
    "AST": (("AST_COD", "195967001"),),
    "COPD": (("COPD_COD", "13645005"),),
    "CHD": (("CHD_COD", "53741008"), ("CHD_COD", "194828000"), ("CHD_COD", "22298006"),
            ("CHD_COD", "414545008")),
    "AF": (("AFIB_COD", "49436004"), ("AFIB_COD", "282825002")),
    "STIA": (("STRK_COD", "230690007"), ("STRK_COD", "422504002"), ("TIA_COD", "266257000")),
    "HF": (("HF_COD", "84114007"), ("HF_COD", "42343007")),
    "CKD": (("CKD_COD", "700378005"), ("CKD_COD", "700379002"), ("CKD_COD", "431857002")),
    "PAD": (("PAD_COD", "399957001"), ("PAD_COD", "840580004")),
    "DEM": (("DEM_COD", "52448006"), ("DEM_COD", "26929004"), ("DEM_COD", "56267009")),
    "DEP": (("DEPR_COD", "35489007"), ("DEPR_COD", "370143000")),
    "MH": (("MH_COD", "58214004"), ("MH_COD", "13746004")),
    "LD": (("LD_COD", "110359009"),),
    "NDH": (("NDH_COD", "700449008"),),
    "EP": (("EPIL_COD", "84757009"),),
    "RA": (("RARTH_COD", "69896004"),),
    "OST": (("OSTEO_COD", "64859006"),),
    "PC": (("PALCARE_COD", "103735009"), ("PALCARE_COD", "182964004")),
    "CAN": (("CAN_COD", "254837009"), ("CAN_COD", "254900004"), ("CAN_COD", "269533000"),
            ("CAN_COD", "1090881000000100")),
}

# Cluster of the "resolved" code per register, where the library has one.
RESOLVED: dict[str, str] = {"HYP": "HYPRES_COD", "DM": "DMRES_COD", "AST": "ASTRES_COD", "DEP": "DEPRES_COD",
                            "COPD": "COPDRES_COD", "CKD": "CKDRES_COD", "HF": "HFRES_COD",
                            "EP": "EPILRES_COD"}

# Observations: (cluster, code). The single codes a lab or a template would write.
OBSERVATIONS: dict[str, tuple[str, str]] = {
    "sys": ("SYSBP_COD", "72313002"), "dia": ("DIABP_COD", "1091811000000102"),
    "sys_oe": ("SYSBP_COD", "163030003"), "dia_oe": ("DIABP_COD", "163031004"),
    "home_sys": ("HOMEBP_COD", "413606001"), "home_dia": ("HOMEBP_COD", "413605002"),
    "hba1c": ("IFCCHBAM_COD", "999791000000106"), "chol": ("CHOL2_COD", "1005671000000105"),
    "hdl": ("HDLCCHOL_COD", "1005681000000107"), "trig": ("TRIGLYC_gmsde", "1005691000000109"),
    "egfr": ("EGFR_gmsde", "1011481000000105"), "creat": ("CRE_COD", "1000731000000107"),
    "acr": ("ACR_urine_gmsde", "1023491000000104"), "bmi": ("BMIVAL_COD", "60621009"),
    "qrisk": ("QRISKSCORE_COD", "1085871000000105"), "alcohol": ("ALC_weeklyintake_gmsde", "160573003"),
    "smoker_light": ("LSMOK_COD", "160603005"), "smoker_moderate": ("LSMOK_COD", "160604004"),
    "smoker_heavy": ("LSMOK_COD", "160605003"), "ex_smoker": ("EXSMOK_COD", "1092031000000108"),
    "ex_smoker_light": ("EXSMOK_COD", "266922007"), "never_smoked": ("NSMOK_never_gmsde", "266919005"),
    "med_review": ("MEDRVW_COD", "314530002"), "med_review_pharm": ("MEDRVW_COD", "719329004"),
    "asthma_review": ("REV_COD", "394700004"), "copd_review": ("COPDRVW_COD", "394703002"),
    "dementia_review": ("DEMMEDRVW_COD", "938551000000108"), "dementia_careplan": ("DEMCP_careplan_gmsde",
                                                                                   "736371006"),
    "dm_invite_letter1": ("DMINVITE_COD", "185756006"), "dm_invite_letter2": ("DMINVITE_COD", "185757002"),
    "dm_invite_sms1": ("DMINVITE_COD", "1066911000000100"), "dm_invite_sms2": ("DMINVITE_COD",
                                                                              "1066921000000106"),
    "hyp_invite_letter1": ("HYPINVITE_COD", "185719002"),
    "hyp_invite_letter2": ("HYPINVITE_COD", "185720008"),
    "hyp_invite_sms1": ("HYPINVITE_COD", "1066951000000101"), "hyp_invite_sms2": ("HYPINVITE_COD",
                                                                                 "1066961000000103"),
    "copd_invite_sms1": ("COPDINVITE_COD", "1066821000000101"), "copd_invite_sms2": ("COPDINVITE_COD",
                                                                                    "1066841000000108"),
    "dm_pca_declined": ("DMPCADEC_COD", "716031000000106"), "dm_pca_unsuitable": ("DMPCAPU_COD",
                                                                                 "717421000000100"),
    "hyp_pca_declined": ("HYPPCADEC_COD", "716771000000106"), "hyp_pca_unsuitable": ("HYPPCAPU_COD",
                                                                                    "716821000000100"),
    "blood_test_declined": ("BLDTESTDEC_COD", "116471000119100"), "bp_declined": ("BPDEC_COD", "413123006"),
    "dm_max_therapy": ("DMMAX_COD", "407569005"), "hyp_max_therapy": ("HTMAX_COD", "407567007"),
    "mild_frailty": ("MILDFRAIL_COD", "925791000000100"),
    "moderate_frailty": ("MODFRAIL_COD", "925831000000107"),
    "severe_frailty": ("SEVFRAIL_COD", "925861000000102"), "lvsd": ("HFLVSD_COD", "134401001"),
    "fragility_fracture": ("FF_COD", "443165006"),
    "shingles_vac": ("SHVACGP_COD", "859641000000109"),
    # the asthma review's components (AST007 / AST015): control, exacerbations, a written plan
    "asthma_control": ("ASTCONTASS_COD", "443117005"), "asthma_exacerbations": ("ASTEXACB_COD", "366874008"),
    "asthma_plan": ("WRITPASTP_COD", "527171000000103"),
    "ast_invite_letter1": ("ASTINVITE_COD", "185731000"), "ast_invite_letter2": ("ASTINVITE_COD", "185732007"),
    "ast_invite_sms1": ("ASTINVITE_COD", "1110841000000103"), "ast_invite_sms2": ("ASTINVITE_COD",
                                                                                 "1109921000000106"),
    "dm_education": ("DSEP_COD", "1108731000000100"), "proteinuria": ("PRT_COD", "29738008"),
    "ast_pca_declined": ("ASTPCADEC_COD", "716491000000100"), "ast_pca_unsuitable": ("ASTPCAPU_COD",
                                                                                   "717291000000103"),
}

# Medicines: (cluster, product-name keywords). Keywords pick the common strengths and forms.
MEDICINES: dict[str, tuple[str, tuple[str, ...]]] = {
    "acei": ("ACEI_gmsde", ("Ramipril 2.5mg capsules", "Ramipril 5mg capsules", "Ramipril 10mg capsules",
                            "Lisinopril 10mg tablets", "Perindopril erbumine 4mg tablets")),
    "arb": ("ARB_gmsde", ("Losartan 50mg tablets", "Candesartan 8mg tablets", "Irbesartan 150mg tablets")),
    "ccb": ("CCB_gmsde", ("Amlodipine 5mg tablets", "Amlodipine 10mg tablets")),
    "thiazide": ("ANTIHYP_COD_drugrefset", ("Indapamide 2.5mg tablets", "Indapamide 1.5mg modified-release",
                                            "Bendroflumethiazide 2.5mg tablets")),
    "beta": ("BETABLOCKER_gmsde", ("Bisoprolol 2.5mg tablets", "Bisoprolol 5mg tablets")),
    # STAT_COD is the published NHS drug refset: it leaves out the pre-2020 VMP ids the OpenSAFELY list carries.
    "statin": ("STAT_COD", ("Atorvastatin 20mg tablets", "Atorvastatin 40mg tablets",
                            "Atorvastatin 80mg tablets", "Simvastatin 40mg tablets")),
    "metformin": ("DM_DRUG_METFORMIN_DMD_alexwalker", ("Metformin 500mg tablets",
                                                       "Metformin 500mg modified-release")),
    "sulfonylurea": ("DM_DRUG_SULFONYLUREAS_DMD_alexwalker", ("Gliclazide 80mg tablets",)),
    "sglt2": ("DM_DRUG_SGLT_2_INHIBITORS_DMD_alexwalker", ("Dapagliflozin 10mg tablets",
                                                           "Empagliflozin 10mg tablets")),
    "dpp4": ("DM_DRUG_DPP_4_INHIBITORS_DMD_alexwalker", ("Sitagliptin 100mg tablets", "Linagliptin 5mg")),
    "insulin": ("DM_DRUG_INSULIN_DMD_alexwalker", ("Insulin glargine 100units/ml",
                                                   "Insulin aspart 100units/ml")),
    "saba": ("SABA_SALBUTAMOL_DMD_opensafely", ("Salbutamol 100micrograms/dose inhaler",)),
    "ics": ("ICS_LOWMED_DMD_opensafely", ("Clenil Modulite 100micrograms", "Fostair 100micrograms",
                                          "Symbicort 200/6")),
    "copd_inhaler": ("COPD_DRUGS_DMD_opensafely", ("Trimbow", "Anoro Ellipta", "Spiriva", "Trelegy")),
    "doac": ("DOAC_DMD_opensafely", ("Eliquis 5mg", "Xarelto 20mg", "Lixiana 60mg")),
    "warfarin": ("WARFARIN_DMD_opensafely", ("Warfarin 1mg tablets", "Warfarin 3mg tablets")),
    "antiplatelet": ("ANTIPLATELET_DMD_pincer", ("Aspirin 75mg dispersible tablets",
                                                 "Clopidogrel 75mg tablets")),
    "mra": ("MRAS_DMD_emilyherrett", ("Spironolactone 25mg tablets",)),
}

FLU_VACCINE = ("FLU_COD", ("seasonal influenza vaccination given by other healthcare provider",
                           "Seasonal influenza vaccination given by pharmacist"))


@dataclass(frozen=True)
class CodeBook:
    diagnoses: dict[str, tuple[str, ...]]
    resolved: dict[str, str]
    obs: dict[str, str]
    medicines: dict[str, tuple[str, ...]]
    flu: tuple[str, ...]


def _products(lib: CodelistLibrary, cluster: str, keywords: tuple[str, ...]) -> tuple[str, ...]:
    terms = lib.get(cluster).terms
    wanted = [k.lower() for k in keywords]
    picked = sorted(code for code, term in terms.items() if any(term.lower().startswith(k) for k in wanted))
    if not picked:
        picked = sorted(code for code, term in terms.items() if any(k in term.lower() for k in wanted))
    if not picked:
        picked = sorted(terms)
    if not picked:
        raise LookupError(f"codelist {cluster} is empty")
    return tuple(picked)


def _member(lib: CodelistLibrary, cluster: str, code: str) -> str:
    if code not in lib.get(cluster):
        raise LookupError(f"{code} is not in {cluster}: update shared/synthetic/codes.py")
    return code


@lru_cache(maxsize=1)
def codebook() -> CodeBook:
    lib = default_library()
    return CodeBook(
        diagnoses={k: tuple(_member(lib, c, code) for c, code in v) for k, v in PREFERRED_DIAGNOSES.items()},
        resolved={k: next(iter(sorted(lib.get(c).codes))) for k, c in RESOLVED.items() if lib.has(c)},
        obs={k: _member(lib, c, code) for k, (c, code) in OBSERVATIONS.items()},
        medicines={k: _products(lib, c, kw) for k, (c, kw) in MEDICINES.items()},
        flu=_products(lib, *FLU_VACCINE),
    )
