"""The stored outcomes move to a new day together.

Rule (project principle): "A figure for a date is computed from the dated record as it stood on that date
(registration, death, diagnosis and resolution dates), never from today's state". DM020 counts patients on the
diabetes register "registered at the achievement date". Outcomes are stored for one achievement date (today);
when the day moves on and the first change of the new day arrives for one patient, re-evaluating that patient
alone would leave every other patient's outcome as of the day before under the new date. A patient whose
leaving was recorded in advance (deregistered on 10 December) is counted on 3 December and not on 15 December,
whichever patient the new day's first change is for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import select

from services.indicators.service.jobs import refresh_stale
from services.indicators.store.models import Outcome
from shared.events.schemas import PatientDeregistered
from tests.indicators.service.helpers import (
    HBA1C,
    PRACTICE,
    deliver,
    diabetic,
    indicator,
    indicators_app,
    recorded,
)

BASE = f"/v1/practices/{PRACTICE}"
TODAY, LATER = date(2026, 12, 3), date(2026, 12, 15)


@contextmanager
def moved_to(app: Any, day: date) -> Iterator[None]:
    kernel = app.state.kernel
    was = kernel.today
    kernel.today = lambda: day
    try:
        yield
    finally:
        kernel.today = was


async def _practice(app: Any) -> None:
    await diabetic(app, "stays", 50.0, when=date(2026, 6, 1))
    await diabetic(app, "leaves")
    await deliver(app, PatientDeregistered(practice_ods=PRACTICE, patient_id="leaves", date_of_birth=date(1960, 5, 1),
                                           sex="female", registered_on=date(2010, 1, 1),
                                           deregistered_on=date(2026, 12, 10)))


async def stored_dates(app: Any) -> set[date]:
    async with app.state.runtime.sessions() as s:
        return set((await s.scalars(select(Outcome.achievement_date).where(Outcome.practice_ods == PRACTICE))).all())


async def test_the_first_change_of_a_new_day_moves_every_stored_outcome_to_it(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _practice(app)
        dm = indicator((await client.get(f"{BASE}/achievement", headers=headers)).json(), "DM020")
        assert (dm["denominator"], dm["numerator"]) == (2, 1)  # on 3 December both are registered
        with moved_to(app, LATER):
            await deliver(app, recorded("stays", ("stays-2", HBA1C, date(2026, 12, 14), 52.0)))
            assert await stored_dates(app) == {LATER}
            body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
            gaps = (await client.get(f"{BASE}/indicators/DM020/worklist", headers=headers)).json()
        dm = indicator(body, "DM020")
        assert body["achievement_date"] == LATER.isoformat()
        assert (dm["denominator"], dm["numerator"]) == (1, 1)  # the leaver left on 10 December
        assert gaps["items"] == [] and gaps["denominator"] == 1


async def test_the_hourly_check_moves_a_practice_no_event_has_touched(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _practice(app)
        sessions = app.state.runtime.sessions
        assert await refresh_stale(sessions, app.state.kernel) == 0  # up to date
        with moved_to(app, LATER):
            assert await refresh_stale(sessions, app.state.kernel) == 1
            assert await stored_dates(app) == {LATER}
            assert await refresh_stale(sessions, app.state.kernel) == 0
            dm = indicator((await client.get(f"{BASE}/achievement", headers=headers)).json(), "DM020")
        assert (dm["denominator"], dm["numerator"]) == (1, 1)
