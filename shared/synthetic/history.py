"""One patient's coded history: diagnoses, reviews, readings, invitations, PCAs, repeat prescriptions.

Dates are handled as proleptic ordinals (ints) in the hot loops and turned into ISO strings once at the
end. Everything is drawn from the patient's own ``random.Random``, so a patient's history depends only
on the seed, the practice and the patient's sequence number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from shared.synthetic.codes import CodeBook
from shared.synthetic.conditions import RiskTable

YEAR = 365.25
HISTORY_DAYS = 3652  # about ten years before the reference date
DIAGNOSIS_LOOKBACK_YEARS = 25
PROBLEM_RATE = 0.01
# a BMI at a routine visit now and then: the obesity register (BMI >= 30 in the last 12 months) is near 7% of
# adults nationally (5.5% of the list), not the fifth of them a BMI at every few visits would give
BMI_AT_VISIT = 0.02
PROBLEM_KINDS = ("resolved_then_medication", "hba1c_without_diagnosis", "implausible_value")
CARDIO = frozenset({"HYP", "DM", "CHD", "STIA", "PAD", "HF", "CKD", "AF"})
FLU_ELIGIBLE = frozenset({"DM", "CHD", "STIA", "HF", "CKD", "COPD", "AST", "LD", "DEM"})
GP = ("gp-1", "gp-2", "gp-3", "gp-4", "gp-5")
NURSE = ("nurse-1", "nurse-2", "nurse-3")
HCA = ("hca-1", "hca-2")
ADMIN = ("admin-1", "admin-2")
PRESCRIBER = (*GP, "pharmacist-1")
LAB = "lab-1"

# (ordinal, code, kind, value, unit, recorded_by)
Row = tuple[int, str, str, float | None, str | None, str]


@dataclass
class Person:
    seq: int
    sex: str
    age: int
    dob: int
    end: int  # last day the practice records anything (reference date, death or deregistration)
    birth_month: int
    channel: str | None


@dataclass
class History:
    rows: list[Row] = field(default_factory=list)
    conditions: dict[str, int] = field(default_factory=dict)  # register key -> diagnosis ordinal
    resolved: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (diagnosis, resolved)
    problem: str | None = None


class HistoryWriter:
    """Writes one patient's history; an instance is cheap and used once."""

    def __init__(self, rng: random.Random, book: CodeBook, risks: RiskTable, person: Person,
                 as_of: int) -> None:
        self.rng = rng
        self.book = book
        self.obs = book.obs
        self.risks = risks
        self.p = person
        self.as_of = as_of
        self.start = max(person.dob, as_of - HISTORY_DAYS)
        self.h = History()
        self.rows = self.h.rows
        self.drugs: dict[str, int] = {}  # drug class -> first issue ordinal
        self.interval = 28 if rng.random() < 0.7 else 56

    # --- small helpers -----------------------------------------------------------------------------------

    def add(self, day: int, key: str, kind: str = "observation", value: float | None = None,
            unit: str | None = None, by: str | None = None) -> None:
        if self.p.dob <= day <= self.p.end:
            self.rows.append((day, self.obs[key], kind, value, unit, by or self.rng.choice(NURSE)))

    def add_code(self, day: int, code: str, kind: str, by: str) -> None:
        if self.p.dob <= day <= self.p.end:
            self.rows.append((day, code, kind, None, None, by))

    def age_at(self, day: int) -> float:
        return (day - self.p.dob) / YEAR

    def bp(self, day: int, sys_mean: float, dia_mean: float, home: bool = False) -> None:
        rng = self.rng
        sys_v = round(rng.gauss(sys_mean, 9))
        dia_v = round(min(sys_v - 25, rng.gauss(dia_mean, 6)))
        if home:
            self.add(day, "home_sys", value=sys_v - 5, unit="mmHg", by="patient")
            self.add(day, "home_dia", value=dia_v - 3, unit="mmHg", by="patient")
        else:
            pair = ("sys", "dia") if rng.random() < 0.7 else ("sys_oe", "dia_oe")
            by = rng.choice(NURSE + HCA)
            self.add(day, pair[0], value=sys_v, unit="mmHg", by=by)
            self.add(day, pair[1], value=dia_v, unit="mmHg", by=by)

    def start_drug(self, drug: str, day: int) -> None:
        if day <= self.p.end and (drug not in self.drugs or day < self.drugs[drug]):
            self.drugs[drug] = day

    # --- the history -------------------------------------------------------------------------------------

    def write(self) -> History:
        rng, p = self.rng, self.p
        self.draw_conditions()
        self.draw_problem()
        self.smoker = rng.random() < (0.0 if p.age < 16 else 0.16 if p.age < 60 else 0.1)
        self.ex_smoker = not self.smoker and p.age >= 25 and rng.random() < 0.3
        self.sys_mean, self.dia_mean = self.bp_profile()
        for key, diag in self.h.conditions.items():
            by = rng.choice(GP)
            self.add_code(diag, rng.choice(self.book.diagnoses[key]), "condition", by)
        if "HF" in self.h.conditions and rng.random() < 0.45:  # reduced ejection fraction (HF003, HF006, HF009)
            self.add(self.h.conditions["HF"] + rng.randint(0, 60), "lvsd", "condition", by=rng.choice(GP))
        if "OST" in self.h.conditions:  # the fracture that led to it: OSTEO_REG needs one (FF_COD)
            self.add(self.h.conditions["OST"] - rng.randint(0, 120), "fragility_fracture", "condition",
                     by=rng.choice(GP))
        if "DM" in self.h.conditions and rng.random() < 0.6:  # structured education referral (DM014)
            referred = self.h.conditions["DM"] + rng.randint(7, 240)
            if referred >= self.start:
                self.add(referred, "dm_education", "procedure")
        for key, (diag, res) in self.h.resolved.items():
            self.add_code(diag, rng.choice(self.book.diagnoses[key]), "condition", rng.choice(GP))
            self.add_code(res, self.book.resolved[key], "condition", rng.choice(GP))
        if self.h.conditions:
            self.prescribing_plan()
        if p.age >= 16:
            self.visits()
            self.health_checks()
        if self.h.conditions:
            self.annual_reviews()
            self.extra_hba1c()
        self.vaccinations()
        self.prescriptions()
        if self.h.problem:
            self.write_problem()
        self.rows.sort(key=lambda r: r[0])
        return self.h

    def draw_conditions(self) -> None:
        rng, p = self.rng, self.p
        for cond in self.risks.draw(rng, p.sex, p.age):
            self.h.conditions[cond.key] = self.diagnosis_day(cond.onset_age, cond.key)
        for cond in self.risks.conditions:
            if cond.resolved_share and cond.key not in self.h.conditions and cond.key in self.book.resolved \
                    and p.age >= cond.onset_age + 2 and rng.random() < cond.resolved_share:
                diag = self.diagnosis_day(cond.onset_age, cond.key)
                res = diag + rng.randint(180, 5 * 365)
                if res < self.as_of:
                    self.h.resolved[cond.key] = (diag, res)

    def diagnosis_day(self, onset_age: int, key: str) -> int:
        rng, p = self.rng, self.p
        span = max(0.0, min(p.age - onset_age, DIAGNOSIS_LOOKBACK_YEARS))
        # Most diagnoses are years old; a few land in the current year (the "newly diagnosed" PCA).
        years_ago = span * rng.random() ** 1.3
        day = int(self.as_of - years_ago * YEAR) - rng.randint(0, 60)
        return max(day, p.dob + int(onset_age * YEAR) + 30, p.dob + 30)

    def draw_problem(self) -> None:
        if self.p.age >= 18 and self.rng.random() < PROBLEM_RATE:
            kind = self.rng.choice(PROBLEM_KINDS)
            if kind != "implausible_value":
                self.h.conditions.pop("DM", None)
                self.h.conditions.pop("NDH", None)
                self.h.resolved.pop("DM", None)
            self.h.problem = kind

    def bp_profile(self) -> tuple[float, float]:
        rng, p = self.rng, self.p
        base_sys = 112 + 0.45 * max(0, p.age - 20)
        if "HYP" in self.h.conditions:
            # About 70% of treated hypertensives sit under target; the rest run high.
            if rng.random() < 0.7:
                return rng.gauss(129, 6), rng.gauss(77, 5)
            return rng.gauss(152, 8), rng.gauss(89, 6)
        return rng.gauss(min(base_sys, 138), 7), rng.gauss(74, 5)

    def visits(self) -> None:
        rng, p = self.rng, self.p
        rate = (1.6 + p.age / 9) / 365
        day = self.start + int(rng.expovariate(rate))
        end = p.end
        while day <= end:
            u = rng.random()
            if u < 0.45 or (p.age >= 40 and u < 0.6):
                self.bp(day, self.sys_mean, self.dia_mean)
            if rng.random() < BMI_AT_VISIT:
                self.add(day, "bmi", value=round(min(60.0, max(15.0, rng.gauss(27.5, 5.0))), 1), unit="kg/m2")
            if rng.random() < 0.25:
                self.smoking_status(day)
            if rng.random() < 0.1:
                self.add(day, "alcohol", value=max(0, round(rng.gauss(9, 8))), unit="units/week")
            day += int(rng.expovariate(rate)) + 1

    def smoking_status(self, day: int) -> None:
        rng = self.rng
        if self.smoker:
            key = rng.choice(("smoker_light", "smoker_moderate", "smoker_heavy"))
        elif self.ex_smoker:
            key = rng.choice(("ex_smoker", "ex_smoker_light"))
        else:
            key = "never_smoked"
        self.add(day, key)

    def bloods(self, day: int, *, hba1c: bool = True, lipids: bool = True, renal: bool = True) -> None:
        rng = self.rng
        if hba1c:
            mean = 37.0 if "NDH" not in self.h.conditions else 44.5
            self.add(day, "hba1c", value=round(rng.gauss(mean, 2.5)), unit="mmol/mol", by=LAB)
        if lipids:
            on_statin = "statin" in self.drugs and self.drugs["statin"] <= day
            chol = rng.gauss(4.2 if on_statin else 5.3, 0.8)
            self.add(day, "chol", value=round(max(2.2, chol), 1), unit="mmol/L", by=LAB)
            self.add(day, "hdl", value=round(max(0.6, rng.gauss(1.4, 0.35)), 1), unit="mmol/L", by=LAB)
            self.add(day, "trig", value=round(max(0.4, rng.gauss(1.6, 0.6)), 1), unit="mmol/L", by=LAB)
        if renal:
            ckd = "CKD" in self.h.conditions and self.h.conditions["CKD"] <= day
            egfr = rng.gauss(45, 8) if ckd else min(120, rng.gauss(95 - 0.5 * max(0, self.p.age - 40), 10))
            self.add(day, "egfr", value=round(max(8, egfr)), unit="mL/min/1.73m2", by=LAB)
            self.add(day, "creat", value=round(max(40, 7000 / max(egfr, 8))), unit="umol/L", by=LAB)

    def health_checks(self) -> None:
        rng, p = self.rng, self.p
        if p.age < 40 or self.h.conditions.keys() & CARDIO:
            return
        day = self.start + rng.randint(0, 5 * 365)
        while day <= p.end:
            if 40 <= self.age_at(day) < 75 and rng.random() < 0.5:
                self.bloods(day)
                qrisk = round(max(1.0, rng.gauss(self.age_at(day) / 5, 4)), 1)
                self.add(day, "qrisk", value=qrisk, unit="%")
                if qrisk >= 10 and rng.random() < 0.4:
                    self.start_drug("statin", day + rng.randint(14, 90))
                self.bp(day, self.sys_mean, self.dia_mean)
                self.add(day, "bmi", value=round(min(60.0, max(15.0, rng.gauss(27.5, 5.0))), 1), unit="kg/m2")
                self.smoking_status(day)
            day += 5 * 365 + rng.randint(-60, 120)

    def prescribing_plan(self) -> None:
        rng, c = self.rng, self.h.conditions
        if "HYP" in c:
            d = c["HYP"]
            first = "acei" if self.p.age < 55 else "ccb"
            if first == "acei" and rng.random() < 0.25:
                first = "arb"
            steps = rng.choices((0, 1, 2, 3), (0.12, 0.45, 0.3, 0.13))[0]
            plan = [first, "ccb" if first != "ccb" else "acei", "thiazide"][:steps]
            for i, drug in enumerate(plan):
                self.start_drug(drug, d + rng.randint(0, 90) + i * rng.randint(365, 3 * 365))
        if "DM" in c:
            d = c["DM"]
            if self.p.age < 35 and rng.random() < 0.6:
                self.start_drug("insulin", d + rng.randint(0, 30))
            elif rng.random() < 0.85:
                self.start_drug("metformin", d + rng.randint(0, 180))
                if rng.random() < 0.45:
                    second = rng.choice(("sglt2", "sulfonylurea", "dpp4"))
                    self.start_drug(second, d + rng.randint(365, 5 * 365))
                if rng.random() < 0.07:
                    self.start_drug("insulin", d + rng.randint(3 * 365, 8 * 365))
            if self.p.age >= 40 and rng.random() < 0.7:
                self.start_drug("statin", d + rng.randint(30, 400))
        for key, statin, anti in (("CHD", 0.9, 0.85), ("STIA", 0.85, 0.8), ("PAD", 0.8, 0.8)):
            if key in c:
                d = c[key]
                if rng.random() < statin:
                    self.start_drug("statin", d + rng.randint(0, 30))
                if rng.random() < anti and "AF" not in c:
                    self.start_drug("antiplatelet", d + rng.randint(0, 14))
        if "CHD" in c and rng.random() < 0.5:
            self.start_drug("beta", c["CHD"] + rng.randint(0, 60))
        if "AF" in c:
            d = c["AF"]
            u = rng.random()
            if u < 0.75:
                self.start_drug("doac", d + rng.randint(0, 30))
            elif u < 0.85:
                self.start_drug("warfarin", d + rng.randint(0, 30))
            if rng.random() < 0.5:
                self.start_drug("beta", d + rng.randint(0, 30))
        if "HF" in c:
            d = c["HF"]
            if rng.random() < 0.8:
                self.start_drug("beta", d + rng.randint(0, 60))
            if rng.random() < 0.75:
                self.start_drug("acei", d + rng.randint(0, 60))
            if rng.random() < 0.35:
                self.start_drug("mra", d + rng.randint(60, 400))
        if "CKD" in c:
            if rng.random() < 0.4:
                self.start_drug("acei", c["CKD"] + rng.randint(0, 180))
            if rng.random() < 0.6:
                self.start_drug("statin", c["CKD"] + rng.randint(0, 180))
        if "AST" in c:
            self.start_drug("saba", c["AST"] + rng.randint(0, 14))
            if rng.random() < 0.6:
                self.start_drug("ics", c["AST"] + rng.randint(0, 365))
        if "COPD" in c:
            self.start_drug("copd_inhaler", c["COPD"] + rng.randint(0, 60))
            if rng.random() < 0.8:
                self.start_drug("saba", c["COPD"] + rng.randint(0, 60))

    def annual_reviews(self) -> None:
        """One review a year in the birthday month, all conditions at one visit; invitations before it."""
        rng, p, c = self.rng, self.p, self.h.conditions
        first_year = date.fromordinal(self.start).year
        last_year = date.fromordinal(self.as_of).year
        pca_year = last_year - rng.randint(0, 2)
        pca = rng.random()
        for year in range(first_year, last_year + 1):
            review = date(year, p.birth_month, 1).toordinal() + rng.randint(0, 27)
            earliest = min(c.values()) + 30
            if review < max(earliest, self.start) or review > p.end:
                continue
            attended = rng.random() < 0.86
            invites = rng.random() < (0.5 if attended else 0.9)
            if invites:
                self.invitations(review - rng.randint(14, 45), two=not attended or rng.random() < 0.2)
            if year == pca_year and pca < 0.04:
                self.pca(review, pca)
                continue
            if not attended:
                continue
            self.review_visit(review)

    def invitations(self, day: int, *, two: bool) -> None:
        rng, c = self.rng, self.h.conditions
        sms = self.p.channel == "sms"
        second = day + rng.randint(7, 35)  # QOF counts a second invitation only if at least 7 days later
        by = rng.choice(ADMIN)
        for key, prefix in (("DM", "dm_invite"), ("HYP", "hyp_invite"), ("COPD", "copd_invite"),
                            ("AST", "ast_invite")):
            if key not in c or (key == "COPD" and not sms):
                continue
            kind = "sms" if sms else "letter"
            self.add(day, f"{prefix}_{kind}1", "procedure", by=by)
            if two:
                self.add(second, f"{prefix}_{kind}2", "procedure", by=by)

    def pca(self, day: int, u: float) -> None:
        c = self.h.conditions
        by = self.rng.choice(GP)
        if "DM" in c:
            key = "dm_pca_declined" if u < 0.015 else "dm_pca_unsuitable" if u < 0.025 else "dm_max_therapy"
            self.add(day, key, by=by)
            if u < 0.01:
                self.add(day, "blood_test_declined", by=by)
        if "HYP" in c:
            key = ("hyp_pca_declined" if u < 0.015 else "hyp_pca_unsuitable" if u < 0.025
                   else "hyp_max_therapy")
            self.add(day, key, by=by)
            if u < 0.01:
                self.add(day, "bp_declined", by=by)
        if "AST" in c:
            self.add(day, "ast_pca_declined" if u < 0.02 else "ast_pca_unsuitable", by=by)

    def review_visit(self, day: int) -> None:
        rng, c = self.rng, self.h.conditions
        active = {k for k, d in c.items() if d <= day}
        if not active:
            return
        if active & CARDIO or "MH" in active:
            self.bp(day, self.sys_mean, self.dia_mean, home=rng.random() < 0.12)
        if "DM" in active:
            self.add(day, "hba1c", value=self.hba1c_value(), unit="mmol/mol", by=LAB)
            self.bloods(day, hba1c=False)
            acr = round(max(0.2, rng.lognormvariate(0.3, 0.9)), 1)
            self.add(day, "acr", value=acr, unit="mg/mmol", by=LAB)
            if acr >= 3 and not getattr(self, "_proteinuria", False) and rng.random() < 0.7:
                self._proteinuria = True  # coded once: the nephropathy population of DM006
                self.add(day, "proteinuria", "condition", by=rng.choice(GP))
            self.add(day, "bmi", value=round(min(60.0, max(15.0, rng.gauss(31, 5))), 1), unit="kg/m2")
        elif active & {"CKD", "CHD", "STIA", "PAD", "HF", "HYP", "MH"}:
            self.bloods(day, hba1c=bool(active & {"NDH", "MH"}), renal=bool(active & {"CKD", "HYP", "HF"}))
        elif "NDH" in active:
            self.bloods(day, lipids=False, renal=False)
        if "AST" in active:
            self.add(day, "asthma_review", "procedure")
            for part, share in (("asthma_control", 0.85), ("asthma_exacerbations", 0.8), ("asthma_plan", 0.65)):
                if rng.random() < share:
                    self.add(day, part, "procedure")
        if "COPD" in active:
            self.add(day, "copd_review", "procedure")
        if "DEM" in active:
            self.add(day, "dementia_review", "procedure", by=rng.choice(GP))
            if rng.random() < 0.5:
                self.add(day, "dementia_careplan", "procedure", by=rng.choice(GP))
        if active & CARDIO or active & {"COPD", "AST", "MH"}:
            self.smoking_status(day)
        if self.drugs:
            self.add(day, "med_review" if rng.random() < 0.6 else "med_review_pharm", "procedure",
                     by=rng.choice(PRESCRIBER))
        if self.age_at(day) >= 65 and rng.random() < 0.25:
            frail = rng.choices(("mild_frailty", "moderate_frailty", "severe_frailty"), (0.6, 0.3, 0.1))[0]
            self.add(day, frail, by=rng.choice(GP))

    def hba1c_value(self) -> int:
        rng = self.rng
        if not hasattr(self, "_hba1c_mean"):
            insulin = "insulin" in self.drugs
            self._hba1c_mean = max(42.0, rng.gauss(66 if insulin else 54, 10))
        return round(max(35, rng.gauss(self._hba1c_mean, 5)))

    def extra_hba1c(self) -> None:
        """Diabetics have HbA1c checked two to four times a year, not only at the review."""
        if "DM" not in self.h.conditions:
            return
        rng = self.rng
        day = max(self.start, self.h.conditions["DM"]) + rng.randint(60, 150)
        while day <= self.p.end:
            if rng.random() < 0.6:
                self.add(day, "hba1c", value=self.hba1c_value(), unit="mmol/mol", by=LAB)
            day += rng.randint(100, 200)

    def vaccinations(self) -> None:
        rng, p = self.rng, self.p
        at_risk = bool(self.h.conditions.keys() & FLU_ELIGIBLE)
        first = date.fromordinal(self.start).year
        code = rng.choice(self.book.flu)
        for year in range(first, date.fromordinal(self.as_of).year + 1):
            day = date(year, 9, 15).toordinal() + rng.randint(0, 90)
            if day < self.start:
                continue
            age = self.age_at(day)
            uptake = 0.75 if age >= 65 else 0.5 if at_risk and age >= 2 else 0.0
            if rng.random() < uptake:
                self.add_code(day, code, "immunisation", rng.choice(NURSE))
        if p.age >= 71 and rng.random() < 0.5:
            day = p.dob + int(70 * YEAR) + rng.randint(30, 700)
            if day >= self.start:
                self.add(day, "shingles_vac", "immunisation")

    def prescriptions(self) -> None:
        """Repeat issues every 28 or 56 days from each drug's start until the record ends."""
        rng, end, rows = self.rng, self.p.end, self.rows
        interval = self.interval
        for drug, started in sorted(self.drugs.items()):
            code = rng.choice(self.book.medicines[drug])
            step = 56 if drug == "saba" else interval
            by = rng.choice(PRESCRIBER)
            day = max(started, self.start)
            if started < self.start:
                day += rng.randint(0, step)
            while day <= end:
                rows.append((day, code, "medication", None, None, by))
                day += step + rng.randint(-3, 4)

    def write_problem(self) -> None:
        rng, p, book = self.rng, self.p, self.book
        day = p.end - rng.randint(150, 500)
        if self.h.problem == "resolved_then_medication":
            diag = day - rng.randint(800, 2000)
            self.add_code(diag, book.diagnoses["DM"][0], "condition", rng.choice(GP))
            self.add_code(day, book.resolved["DM"], "condition", rng.choice(GP))
            code = book.medicines["metformin"][0]
            for k in range(1, 4):
                self.add_code(day + 28 * k, code, "medication", rng.choice(PRESCRIBER))
        elif self.h.problem == "hba1c_without_diagnosis":
            for offset in (0, rng.randint(60, 120)):
                self.add(day + offset, "hba1c", value=rng.randint(50, 64), unit="mmol/mol", by=LAB)
        else:
            # Implausible but physically possible, so ingestion accepts it and data-quality checks flag it.
            key, value, unit = rng.choice((("sys", 275, "mmHg"), ("bmi", 110.0, "kg/m2"),
                                           ("hba1c", 210, "mmol/mol"), ("egfr", 185, "mL/min/1.73m2")))
            self.add(day, key, value=value, unit=unit)
