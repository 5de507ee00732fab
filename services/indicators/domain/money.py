"""Points to pounds (QOF_RULES.md §4.2–4.3).

``£ = points × £/point × CPI × APDF`` for prevalence-adjusted indicators,
``points × £/point × CPI`` otherwise.
CPI = practice list size ÷ national average list size; APDF = (practice register ÷ practice list) ÷ national
prevalence (both on the whole list, not the age-restricted list).
"""

from __future__ import annotations

from .errors import IndicatorsError


def cpi(practice_list_size: float, national_average_list_size: float) -> float:
    if national_average_list_size <= 0:
        raise IndicatorsError("national average list size must be positive")
    return practice_list_size / national_average_list_size


def apdf(register_size: float, practice_list_size: float, national_prevalence: float) -> float:
    """Adjusted practice disease factor; ``national_prevalence`` is a fraction (0.021 for 2.1%)."""
    if practice_list_size <= 0 or national_prevalence <= 0:
        raise IndicatorsError(
            "list size and national prevalence must be positive",
            hint="national prevalence is a fraction, e.g. 0.021 for 2.1%",
        )
    return (register_size / practice_list_size) / national_prevalence


def indicator_value(
    points: float, pound_per_point: float, cpi_value: float, apdf_value: float | None
) -> float:
    """£ for achieved points; ``apdf_value`` None for indicators that are not prevalence-adjusted."""
    return points * pound_per_point * cpi_value * (1.0 if apdf_value is None else apdf_value)


def aspiration_payment(previous_year_unadjusted_achievement: float, aspiration_percent: float) -> float:
    """Annual aspiration total: a percentage of last year's unadjusted achievement payment (paid monthly)."""
    return previous_year_unadjusted_achievement * aspiration_percent / 100


def achievement_payment(total_achievement: float, aspiration_paid: float) -> float:
    """Year-end achievement payment = total achievement £ − aspiration already paid (can be negative)."""
    return total_achievement - aspiration_paid
