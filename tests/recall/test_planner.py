"""The recall planner against the practice tactics the seeds and ANCHORS §3.2 describe."""

from __future__ import annotations

from datetime import date

from services.recall.domain.planner import Candidate, Clinic, plan

MONTHS = range(1, 13)
DIABETES = Clinic("diabetes and cardiovascular", frozenset({"DM_REG", "CHD_REG", "HYP_REG"}), dict.fromkeys(MONTHS, 10))
RESP = Clinic("respiratory", frozenset({"AST_REG", "COPD_REG"}), dict.fromkeys(MONTHS, 10))


def patient(i: int, month: int, *registers: str, value: float = 1.0, **kw: object) -> Candidate:
    return Candidate(f"p{i:04d}", date(1950, month, 15), frozenset(registers), value, **kw)  # type: ignore[arg-type]


def test_birthdays_bunched_in_one_month_give_a_plan_with_no_month_over_capacity() -> None:
    # "Pinch points": 60 diabetic patients all born in May, 10 slots a month.
    people = [patient(i, 5, "DM_REG", value=float(i % 7)) for i in range(60)]
    result = plan(people, [DIABETES], strategy="birthday", today=date(2026, 4, 1))
    assert result.over_capacity() == []
    assert len(result.planned) == 60 and not result.unplanned
    may = [p for p in result.planned if p.appointment_month == date(2026, 5, 1)]
    assert len(may) == 10
    # when capacity is short, the patients worth most keep their month
    assert min(p.value for p in may) >= max(p.value for p in result.planned if p.moved)


def test_first_invitation_goes_the_month_before_the_birthday_month() -> None:
    # ANCHORS §3.2: "Send the 1st invite the month *before* the birthday month".
    result = plan([patient(1, 8, "DM_REG")], [DIABETES], strategy="birthday", today=date(2026, 4, 10))
    (p,) = result.planned
    assert p.appointment_month == date(2026, 8, 1) and p.send_month == date(2026, 7, 1)


def test_january_to_march_kept_for_mop_up() -> None:
    # "No recalls in Jan–Mar: use those months to mop up, and move Jan–Mar birthdays into Apr–Jun".
    result = plan([patient(1, 2, "AST_REG")], [RESP], strategy="birthday", today=date(2026, 4, 1))
    assert result.planned[0].appointment_month == date(2026, 5, 1)
    routine = plan([patient(i, 12, "AST_REG") for i in range(200)], [RESP], strategy="birthday",
                   today=date(2026, 4, 1))
    assert all(p.appointment_month.month not in (1, 2, 3) for p in routine.planned)
    assert len(routine.unplanned) == 200 - 90  # nine routine months of ten slots; the rest is reported


def test_one_invitation_for_all_due_reviews_across_clinics() -> None:
    result = plan([patient(1, 6, "DM_REG", "HYP_REG", "AST_REG")], [DIABETES, RESP], strategy="birthday",
                  today=date(2026, 4, 1))
    (p,) = result.planned
    assert p.clinics == ("diabetes and cardiovascular", "respiratory")
    assert p.registers == ("AST_REG", "DM_REG", "HYP_REG")
    # a due review no clinic holds (here smoking status) is not part of the invitation
    (q,) = plan([patient(2, 6, "HYP_REG", "SMOK1_REG")], [DIABETES], strategy="birthday",
                today=date(2026, 4, 1)).planned
    assert q.registers == ("HYP_REG",)
    assert result.load[date(2026, 6, 1)] == {"diabetes and cardiovascular": (1, 10), "respiratory": (1, 10)}


def test_chosen_month_and_as_soon_as_due() -> None:
    student = patient(1, 7, "AST_REG", chosen_month=10)
    assert plan([student], [RESP], strategy="chosen", today=date(2026, 4, 1)).planned[0].appointment_month == \
        date(2026, 10, 1)
    assert plan([student], [RESP], strategy="asap", today=date(2026, 6, 3)).planned[0].appointment_month == \
        date(2026, 6, 1)


def test_vulnerable_cohort_is_never_in_the_bulk_plan() -> None:
    people = [patient(1, 5, "DM_REG", vulnerable="housebound"), patient(2, 5, "DM_REG")]
    result = plan(people, [DIABETES], strategy="birthday", today=date(2026, 4, 1))
    assert [p.patient_id for p in result.planned] == ["p0002"]
    assert [v.patient_id for v in result.vulnerable] == ["p0001"]
