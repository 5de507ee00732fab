"""Keeping the stored outcomes current: the incremental path (one patient per event) and the full recompute.

Both paths run the same function, ``refresh``: load the patients from storage, evaluate them with the
contract's compiled rule sets, replace their outcome rows, announce gaps that opened or closed
(``patient.gap.changed``), then re-score the practice from one ``GROUP BY`` over the stored outcomes and
announce only the indicators whose aggregates moved (``indicator.updated``, at most one per indicator per
transaction). Every refresh also writes the month's achievement snapshot of the indicators that moved
(all of them on a full recompute).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.domain import AttestationEvidence, Evidence, Finding, Gap, PatientOutcome, PatientRecord, Trace
from services.indicators.service.baselines import improvement_baselines
from services.indicators.service.kernel import Kernel, Period
from services.indicators.service.scoring import (
    STORED_STATUS,
    Counts,
    PracticeFigures,
    Result,
    contract_indicators,
    figures,
    score_all,
)
from services.indicators.store.models import INDICATOR_STATE, PENDING_RESCORES, SNAPSHOTS, Attestation, events
from services.indicators.store.state import (
    ContractChoice,
    contract_of,
    list_size,
    load_patients,
    reflag_relevant,
    register_sizes,
    replace_memberships,
    replace_outcomes,
    stored_outcomes,
)
from services.indicators.store.tallies import tallied, tallied_dates
from shared.db import upsert, utcnow
from shared.events.outbox import enqueue
from shared.events.schemas import EventPayload, IndicatorUpdated, PatientGapChanged
from shared.service import Runtime

SOURCE = "/services/indicators"
THREAD_ABOVE = 500  # evaluate larger batches off the event loop


@dataclass(frozen=True)
class RefreshResult:
    patients: int
    outcomes: int
    gaps_opened: int
    gaps_closed: int
    indicators_updated: int


def evidence_json(ev: Evidence) -> dict[str, Any]:
    return {"cluster": ev.cluster, "code": ev.code, "date": ev.date.isoformat(), "value": ev.value, "term": ev.term}


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "text": f.text,
        "evidence": [evidence_json(e) for e in f.evidence],
        "window_from": f.window_from.isoformat() if f.window_from else None,
        "window_to": f.window_to.isoformat() if f.window_to else None,
    }


def trace_json(t: Trace) -> dict[str, Any]:
    return {
        "rule": t.rule,
        "text": t.text,
        "action": t.action,
        "evidence": None if t.evidence is None else evidence_json(t.evidence),
        "unmet": [finding_json(f) for f in t.unmet],
    }


def gap_json(g: Gap | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {
        "closes": g.closes,
        "invites_so_far": g.invites_so_far,
        "invites_needed": g.invites_needed,
        "one_more_invite_makes_pca": g.one_more_invite_makes_pca,
        "deadline": g.deadline.isoformat() if g.deadline else None,
        "deadline_text": g.deadline_text,
        "why": g.why,
        "invited_on": [d.isoformat() for d in g.invited_on],
    }


def contract_on(kernel: Kernel, contract: ContractChoice, day: date) -> ContractChoice:
    """The contract for the QOF year containing ``day``: on 1 April a practice moves to that year's rule set
    on its own where one exists (a local scheme goes with it only when it covers ``day``). With no rule set
    for that year, the latest year before it, and its period says so (``Kernel.period``)."""
    rid = kernel.qof_ruleset_in_force(day)
    if rid is None or rid == contract.ruleset_id:
        return contract
    local = contract.local_scheme_id
    if local is not None:
        s = kernel.ruleset(local).settings
        local = local if s.start <= day <= s.pped else None
    return ContractChoice(rid, local, contract.stored)


def contract_engines(kernel: Kernel, contract: ContractChoice) -> list[tuple[str, frozenset[str]]]:
    """(rule set id, indicator ids it is paid on) for the contract's QOF year and local scheme."""
    qof = kernel.ruleset(contract.ruleset_id)
    out = []
    replaced: frozenset[str] = frozenset()
    if contract.local_scheme_id:
        local = kernel.ruleset(contract.local_scheme_id)
        replaced = frozenset(local.replaces)
        out.append((local.id, frozenset(i.id for i in local.indicators)))
    out.insert(0, (qof.id, frozenset(i.id for i in qof.indicators) - replaced))
    return out


Held = dict[str, frozenset[str]]  # patient id -> shared register ids on one date


def memberships(kernel: Kernel, patients: Sequence[PatientRecord], day: date) -> Held:
    """Each patient registered on ``day`` with the registers they are on that day, from the dated record."""
    return {p.patient_id: kernel.registers_on(p, day) for p in patients if p.is_registered_on(day)}


def register_counts(held: Held) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for regs in held.values():
        for reg in regs:
            sizes[reg] = sizes.get(reg, 0) + 1
    return sizes


def evaluate(
    kernel: Kernel,
    contract: ContractChoice,
    patients: Sequence[PatientRecord],
    period_of: dict[str, Period],
    held: dict[date, Held] | None = None,
) -> list[tuple[str, PatientOutcome]]:
    """Outcomes under each rule set of the contract, registers derived at its achievement date (``held``
    collects the memberships per date, for the register sizes)."""
    out: list[tuple[str, PatientOutcome]] = []
    by_day: dict[date, Held] = {} if held is None else held
    for rid, wanted in contract_engines(kernel, contract):
        engine, period = kernel.engine(rid), period_of[rid]
        day = period.achievement_date
        on_day = by_day.get(day)
        if on_day is None:
            on_day = by_day[day] = memberships(kernel, patients, day)
        for p in patients:
            regs = on_day.get(p.patient_id)
            if regs is None:  # not registered on the day: no outcome
                continue
            out.extend(
                (rid, o)
                for o in engine.evaluate(p, day, pped=period.pped, registers=regs)
                if o.indicator_id in wanted
            )
    return out


def periods(
    kernel: Kernel, contract: ContractChoice, *, on: date | None = None, view: str = "today"
) -> dict[str, Period]:
    return {rid: kernel.period(kernel.ruleset(rid), on=on, view=view) for rid, _ in contract_engines(kernel, contract)}


async def practice_figures(
    session: AsyncSession, kernel: Kernel, practice: str, day: date, held: Held | None = None
) -> PracticeFigures:
    """List size and register sizes on ``day``: from ``held`` (memberships derived for that day), else from
    the memberships stored at the last evaluation when they are for that day, else derived from the record;
    with the improvement baselines of that day's year."""
    sizes = register_counts(held) if held is not None else await register_sizes(session, practice, day)
    if sizes is None:
        sizes = register_counts(memberships(kernel, await load_patients(session, practice, kernel), day))
    figs = figures(kernel, day, await list_size(session, practice, day), sizes)
    return dataclasses.replace(figs, baselines=await improvement_baselines(session, kernel, practice, day))


async def attestations_of(session: AsyncSession, practice: str) -> dict[tuple[str, str], AttestationEvidence]:
    rows = (await session.execute(select(Attestation).where(Attestation.practice_ods == practice))).scalars()
    return {
        (r.ruleset_id, r.indicator_id): AttestationEvidence(
            r.activity, r.plan, tuple(date.fromisoformat(d) for d in r.network_meetings), r.declared_on
        )
        for r in rows
    }


async def score_counts(
    session: AsyncSession, kernel: Kernel, practice: str, contract: ContractChoice, counts: Counts, day: date
) -> list[Result]:
    indicators = contract_indicators(kernel, practice, contract.ruleset_id, contract.local_scheme_id)
    return score_all(
        kernel,
        indicators,
        counts,
        await practice_figures(session, kernel, practice, day),
        await attestations_of(session, practice),
    )


async def refresh(
    session: AsyncSession,
    kernel: Kernel,
    practice: str,
    patient_ids: Iterable[str] | None,
    *,
    rescore: bool = False,
    defer_aggregates: bool = False,
) -> RefreshResult:
    """Re-evaluate these patients (all when None) and bring outcomes, aggregates and snapshots up to date.

    With ``defer_aggregates`` the practice is only marked for re-scoring (:func:`rescore_pending` does it once
    for a whole batch of consumed events); outcomes and gap events are still written here."""
    ids = None if patient_ids is None else sorted(set(patient_ids))
    contract = contract_on(kernel, await contract_of(session, practice, kernel), kernel.today())
    period_of = periods(kernel, contract)
    if ids is not None and await stored_behind(session, practice, period_of):
        # The stored outcomes are for an earlier day (or another rule set): re-evaluating only these patients
        # would leave the others' outcomes as of that day under today's date, so the day's first change
        # re-evaluates the whole practice.
        ids = None
    if ids is None:  # entries stored before a rule or register definition read their code
        await reflag_relevant(session, practice, kernel.relevant_codes)
    patients = await load_patients(session, practice, kernel, ids)
    held: dict[date, Held] = {}
    if len(patients) > THREAD_ABOVE:
        pairs = await asyncio.to_thread(evaluate, kernel, contract, patients, period_of, held)
    else:
        pairs = evaluate(kernel, contract, patients, period_of, held)
    day = period_of[contract.ruleset_id].achievement_date
    await replace_memberships(session, practice, ids, day, held.get(day) or memberships(kernel, patients, day))
    rows: list[dict[str, Any]] = [
        {
            "patient_id": o.patient_id,
            "ruleset_id": rid,
            "indicator_id": o.indicator_id,
            "practice_ods": practice,
            "status": STORED_STATUS[o.status],
            "field": o.field,
            "trace": trace_json(o.trace),
            "gap": gap_json(o.gap),
            "deadline": o.gap.deadline if o.gap else None,
            "achievement_date": period_of[rid].achievement_date,
        }
        for rid, o in pairs
    ]
    old = await stored_outcomes(session, practice, ids)
    if ids is not None and not rows and not old and not rescore:
        return RefreshResult(len(patients), 0, 0, 0, 0)
    new: dict[tuple[str, str, str], dict[str, Any]] = {
        (r["patient_id"], r["ruleset_id"], r["indicator_id"]): r for r in rows
    }
    payloads: list[EventPayload] = []
    opened = closed = 0
    for key in old.keys() | new.keys():
        event = gap_changed(kernel, practice, key, old.get(key), new.get(key))
        if event is None:
            continue
        payloads.append(event)
        was = key in old and old[key]["status"] == "denominator_only"
        opened += event.open and not was
        closed += not event.open
    await replace_outcomes(session, practice, ids, rows, old)
    if defer_aggregates:
        await upsert(session, PENDING_RESCORES, [{"practice_ods": practice, "marked_at": utcnow()}], ("practice_ods",))
        updated = 0
    else:
        updated = await publish_aggregates(session, kernel, practice, contract, full=ids is None, out=payloads)
    await enqueue(session, events, payloads, source=SOURCE)
    return RefreshResult(len(patients), len(rows), opened, closed, updated)


def gap_changed(
    kernel: Kernel,
    practice: str,
    key: tuple[str, str, str],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> PatientGapChanged | None:
    """The gap event of one (patient, rule set, indicator) outcome: when its gap opened or closed, or when an
    open gap's counted invitations changed (e.g. an invitation the practice coded outside recall). A closed gap
    says what the outcome became and the rule's text (``closed_as``, ``reason``)."""
    was = before is not None and before["status"] == "denominator_only"
    now = after is not None and after["status"] == "denominator_only"
    old_gap = (before or {}).get("gap") or {}
    if not (was or now):
        return None
    if was and now and old_gap.get("invited_on", []) == ((after or {}).get("gap") or {}).get("invited_on", []):
        return None
    pid, rid, iid = key
    src = after if now else before
    assert src is not None
    gap = src.get("gap") or {}
    reason = gap.get("why") or (src.get("trace") or {}).get("text")
    closed_as: Literal["numerator", "pca", "excluded", "left"] | None = None
    if not now:
        closed_as = "left" if after is None else after["status"]
        if after is None:
            reason = f"no longer in {iid}'s population (off its register, outside its ages or off the list)"
        else:
            text = (after.get("trace") or {}).get("text") or ""
            reason = f"{text} ({after['field']})" if after.get("field") else text
    return PatientGapChanged(
        practice_ods=practice,
        patient_id=pid,
        indicator_id=iid,
        ruleset=rid,
        open=now,
        reason=reason,
        action=gap.get("closes"),
        register_id=kernel.ruleset(rid).indicator(iid).register,
        invitations_this_year=int(gap.get("invites_so_far") or 0),
        deadline=date.fromisoformat(gap["deadline"]) if gap.get("deadline") else None,
        invited_on=[date.fromisoformat(d) for d in gap.get("invited_on", [])],
        closed_as=closed_as,
    )


async def stored_behind(session: AsyncSession, practice: str, period_of: dict[str, Period]) -> bool:
    """Whether any stored outcome of the practice is for another date, or another rule set, than ``period_of``
    scores (a new day, a new QOF year, a contract changed)."""
    return any(rid not in period_of or period_of[rid].achievement_date != day
               for rid, day in await tallied_dates(session, practice))


def aggregate_state(r: Result, day: date) -> dict[str, Any]:
    """An indicator's stored aggregates on ``day`` (current state and monthly snapshot rows)."""
    s = r.score
    return {
        "achievement_date": day,
        "register_size": s.register_size,
        "denominator": s.denominator,
        "numerator": s.numerator,
        "pcas": r.pcas_total,
        "achievement_pct": None if s.achievement_pct is None else round(s.achievement_pct, 6),
        "points": round(s.points, 6),
        "pounds": None if r.pounds is None else round(r.pounds, 2),
    }


async def publish_aggregates(
    session: AsyncSession,
    kernel: Kernel,
    practice: str,
    contract: ContractChoice,
    *,
    full: bool,
    out: list[EventPayload],
) -> int:
    """Re-score from the stored outcomes; store and announce the indicators whose aggregates moved."""
    contract = contract_on(kernel, contract, kernel.today())
    day = periods(kernel, contract)[contract.ruleset_id].achievement_date
    results = await score_counts(session, kernel, practice, contract, (await tallied(session, practice))[1], day)
    st = INDICATOR_STATE
    stored = {
        (r.ruleset_id, r.indicator_id): r
        for r in (await session.execute(select(st).where(st.c.practice_ods == practice))).all()
    }
    keep = {(r.ruleset.id, r.indicator.id) for r in results}
    gone = [k for k in stored if k not in keep]
    for rid, iid in gone:
        await session.execute(
            delete(st).where(st.c.practice_ods == practice, st.c.ruleset_id == rid, st.c.indicator_id == iid)
        )
    changed: list[dict[str, Any]] = []
    snaps: list[dict[str, Any]] = []
    for r in results:
        if r.readiness == "incomplete":
            continue
        state = aggregate_state(r, day)
        key = (r.ruleset.id, r.indicator.id)
        before = stored.get(key)
        row = {"practice_ods": practice, "ruleset_id": key[0], "indicator_id": key[1], **state}
        standing: Literal["confirmed", "provisional"] = "provisional" if r.standing == "provisional" else "confirmed"
        # a release that only turns a lower bound into a confirmed figure (or back) is announced too
        moved = before is None or before.standing != standing or any(
            getattr(before, k) != v for k, v in state.items() if k != "achievement_date")
        if moved or full:
            snaps.append({**row, "month": day.strftime("%Y-%m")})
        row["standing"] = standing
        if not moved and before is not None and before.achievement_date == day:
            continue
        changed.append(row)
        if moved:
            out.append(
                IndicatorUpdated(
                    practice_ods=practice,
                    indicator_id=key[1],
                    ruleset=key[0],
                    achievement_date=day,
                    register_size=state["register_size"],
                    denominator=state["denominator"],
                    numerator=state["numerator"],
                    pcas=state["pcas"],
                    achievement_pct=state["achievement_pct"],
                    points=state["points"],
                    max_points=r.score.max_points,
                    pounds=state["pounds"],
                    standing=standing,
                    missing_clusters=list(r.missing_clusters),
                )
            )
    await upsert(session, st, changed, ("practice_ods", "ruleset_id", "indicator_id"))
    await upsert(session, SNAPSHOTS, snaps, ("practice_ods", "ruleset_id", "indicator_id", "month"))
    return sum(1 for p in out if isinstance(p, IndicatorUpdated))


async def rescore_pending(rt: Runtime, kernel: Kernel) -> int:
    """Re-score every practice marked by consumed events; returns the indicators announced as updated."""
    async with rt.sessions() as s:
        practices = [r[0] for r in await s.execute(select(PENDING_RESCORES.c.practice_ods))]
    updated = 0
    for practice in practices:
        async with rt.sessions() as s, s.begin():
            # The mark goes first: one an event adds after this transaction stays for the next round.
            gone = await s.execute(delete(PENDING_RESCORES).where(PENDING_RESCORES.c.practice_ods == practice))
            if not gone.rowcount:  # type: ignore[attr-defined]
                continue
            out: list[EventPayload] = []
            contract = await contract_of(s, practice, kernel)
            updated += await publish_aggregates(s, kernel, practice, contract, full=False, out=out)
            await enqueue(s, events, out, source=SOURCE)
    if updated:
        rt.events_written()
    return updated
