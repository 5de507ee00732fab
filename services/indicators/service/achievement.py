"""The practice's achievement on a date: from the stored outcomes when they are for that date, else live."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.domain import IndicatorsError, PatientRecord, apdf, cpi
from services.indicators.service.evaluation import (
    THREAD_ABOVE,
    Held,
    attestations_of,
    contract_on,
    evaluate,
    periods,
    practice_figures,
)
from services.indicators.service.freshness import Freshness, freshness
from services.indicators.service.kernel import Kernel, Period
from services.indicators.service.scoring import (
    PracticeFigures,
    Result,
    contract_indicators,
    count_outcomes,
    score_all,
)
from services.indicators.store.recorded import recorded_codes
from services.indicators.store.state import (
    ContractChoice,
    contract_of,
    load_patients,
)
from services.indicators.store.tallies import tallied


@dataclass(frozen=True)
class Achievement:
    practice: str
    contract: ContractChoice
    period: Period
    figures: PracticeFigures
    results: list[Result]
    source: str  # stored | live
    freshness: Freshness | None = None  # as of when the stored figures stand, and what is still pending

    def result(self, indicator_id: str) -> Result | None:
        return next((r for r in self.results if r.indicator.id == indicator_id.upper()), None)


async def achievement(
    session: AsyncSession,
    kernel: Kernel,
    practice: str,
    *,
    on: date | None = None,
    view: str = "today",
    contract: ContractChoice | None = None,
    live: bool = False,
    patients: Sequence[PatientRecord] | None = None,
) -> Achievement:
    """``live`` evaluates the stored records even when stored outcomes are for the date (a release preview);
    ``patients``: the practice's records already loaded (scoring several dates on one load)."""
    contract = contract_on(kernel, contract or await contract_of(session, practice, kernel), on or kernel.today())
    period_of = periods(kernel, contract, on=on, view=view)
    period = period_of[contract.ruleset_id]
    stored, counts = await tallied(session, practice)
    held: dict[date, Held] = {}
    if not live and (stored is None or stored == period.achievement_date):
        source = "stored"
    else:
        if patients is None:
            patients = await load_patients(session, practice, kernel)
        if len(patients) > THREAD_ABOVE:
            pairs = await asyncio.to_thread(evaluate, kernel, contract, patients, period_of, held)
        else:
            pairs = evaluate(kernel, contract, patients, period_of, held)
        counts = count_outcomes(pairs)
        source = "live"
    figs = await practice_figures(session, kernel, practice, period.achievement_date, held.get(period.achievement_date))
    indicators = contract_indicators(kernel, practice, contract.ruleset_id, contract.local_scheme_id)
    codes = await recorded_codes(session, practice, period.achievement_date)
    results = score_all(kernel, indicators, counts, figs, await attestations_of(session, practice), codes)
    return Achievement(practice, contract, period, figs, results, source, await freshness(session, practice))


def value_factor(r: Result, figs: PracticeFigures) -> float | None:
    """£ per point for this indicator at this practice (£/point × CPI × APDF where adjusted)."""
    s = r.ruleset.settings
    try:
        factor = s.pound_per_point.value * cpi(figs.list_size, s.national_average_list_size.value)
        if r.indicator.prevalence_adjusted.value:
            group = r.indicator.prevalence_group
            nat = s.national_prevalence.by_group.get(group) if group else None
            if group is None or nat is None:
                return None
            factor *= apdf(figs.register_sizes.get(group, 0), figs.list_size, nat)
        return factor
    except IndicatorsError:
        return None
