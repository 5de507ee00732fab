"""Reports for the practice: summary, CSV export, a letter to a provider and an escalation summary."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter, ValidationError

from services.workload import render
from services.workload.api.deps import ByQ, FromQ, Reader, ToQ, WorkloadDep, Writer, dimensions, period
from services.workload.domain import letters
from services.workload.domain.reports import Report, Tally, aggregate
from services.workload.domain.taxonomy import Status
from services.workload.schemas import GroupOut, ReportOut, StatusIn, TallyOut, TrendOut
from services.workload.service import Workload, change_status
from services.workload.store import repo
from services.workload.store.models import audit_log
from shared.audit import audit
from shared.identifiers import OdsCode
from shared.organisations import organisations
from shared.problems import invalid, not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/workload", tags=["workload reports"])
LETTER_DEFAULT_DAYS = 91
Format = Literal["html", "pdf"]


def _tally(t: Tally) -> dict[str, object]:
    return {
        "items": t.items,
        "minutes": t.minutes,
        "hours": t.hours,
        "cost": t.cost,
        "items_without_time": t.items_without_time,
    }


def _report_out(
    ods: str, report: Report, wl: Workload, period_from: date | None, period_to: date | None
) -> ReportOut:
    return ReportOut(
        practice_ods=ods,
        period_from=period_from,
        period_to=period_to,
        by=list(report.by),
        rates=wl.rates.rates,
        groups=[GroupOut(key=g.key, **_tally(g.tally)) for g in report.groups],  # type: ignore[arg-type]
        total=TallyOut(**_tally(report.total)),  # type: ignore[arg-type]
        trend=[TrendOut(month=p.month, change=p.change, **_tally(p.tally)) for p in report.trend],  # type: ignore[arg-type]
        labels={
            "provider": report.provider_names,
            "category": {c.key: c.label for c in wl.taxonomy.categories},
            "staff_role": wl.rates.labels,
        },
    )


async def _report(
    ods: str,
    principal: Reader,
    rt: RuntimeDep,
    wl: WorkloadDep,
    period_from: date | None,
    period_to: date | None,
    by: str,
    what: str,
) -> tuple[Report, date | None, date | None]:
    dims = dimensions(by)
    period_from, period_to = period(period_from, period_to)
    async with rt.sessions() as session, session.begin():
        facts = await repo.facts(session, [ods.upper()], repo.ItemFilter(period_from, period_to))
        await audit(
            session, audit_log, principal, "report", what, practice=ods.upper(), detail=",".join(dims)
        )
    return aggregate(facts, dims, wl.rates), period_from, period_to


@router.get(
    "/reports/summary",
    response_model=ReportOut,
    summary="Counts, staff hours and cost grouped by provider, month, category, specialty, with trend",
)
async def summary(
    ods: str,
    principal: Reader,
    rt: RuntimeDep,
    wl: WorkloadDep,
    period_from: FromQ = None,
    period_to: ToQ = None,
    by: ByQ = "provider,category",
) -> ReportOut:
    report, start, end = await _report(ods, principal, rt, wl, period_from, period_to, by, "workload_summary")
    return _report_out(ods.upper(), report, wl, start, end)


@router.get(
    "/reports/summary.csv",
    summary="The summary as CSV (one row per group, then a total row)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def summary_csv(
    ods: str,
    principal: Reader,
    rt: RuntimeDep,
    wl: WorkloadDep,
    period_from: FromQ = None,
    period_to: ToQ = None,
    by: ByQ = "provider,month,category,specialty",
) -> Response:
    report, _, _ = await _report(ods, principal, rt, wl, period_from, period_to, by, "workload_summary_csv")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    labels = {"provider": report.provider_names, "category": {c.key: c.label for c in wl.taxonomy.categories}}
    header = []
    for d in report.by:
        header.append(d)
        if d in labels:
            header.append(f"{d}_name")
    writer.writerow([*header, "items", "minutes", "hours", "cost_gbp", "items_without_time"])
    for g in report.groups:
        cells: list[object] = []
        for d in report.by:
            cells.append(g.key[d])
            if d in labels:
                cells.append(labels[d].get(g.key[d], g.key[d]))
        writer.writerow(
            [*cells, g.tally.items, g.tally.minutes, g.tally.hours, g.tally.cost, g.tally.items_without_time]
        )
    t = report.total
    writer.writerow(
        ["total", *[""] * (len(header) - 1), t.items, t.minutes, t.hours, t.cost, t.items_without_time]
    )
    name = f"workload-{ods.upper()}-{'-'.join(report.by)}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _document(body: str | bytes, fmt: str, name: str) -> Response:
    if fmt == "pdf":
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return Response(body, media_type="text/html; charset=utf-8")


@router.get(
    "/letters/{provider_ods}",
    summary="Letter to a provider listing its items and the clauses",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}, 404: {"description": "No items"}},
)
async def provider_letter(
    ods: str,
    provider_ods: str,
    principal: Reader,
    rt: RuntimeDep,
    wl: WorkloadDep,
    period_from: FromQ = None,
    period_to: ToQ = None,
    format: Format = "html",
    include_resolved: bool = False,
) -> Response:
    provider = _provider(provider_ods)
    start, end = period(period_from, period_to, default_days=LETTER_DEFAULT_DAYS)
    assert start and end
    async with rt.sessions() as session, session.begin():
        facts = await repo.facts(session, [ods.upper()], repo.ItemFilter(start, end, provider_ods=provider))
        await audit(
            session,
            audit_log,
            principal,
            "letter",
            f"provider:{provider}",
            practice=ods.upper(),
            detail=format,
        )
    if not include_resolved:
        facts = [f for f in facts if f.status != Status.RESOLVED]
    if not facts:
        raise not_found(f"Open items from provider {provider} received between {start} and {end}")
    org = organisations().get(ods.upper())
    letter = letters.provider_letter(
        facts,
        practice_ods=ods.upper(),
        practice_name=org.practice_name if org else ods.upper(),
        provider_ods=provider,
        period_from=start,
        period_to=end,
        written_on=date.today(),
        taxonomy=wl.taxonomy,
        clauses=wl.clauses,
        rates=wl.rates,
    )
    days = wl.settings.workload_response_days
    body = render.letter_pdf(letter, days) if format == "pdf" else render.letter_html(letter, days)
    return _document(body, format, f"workload-letter-{ods.upper()}-{provider}")


@router.post(
    "/letters/{provider_ods}/raised",
    response_model=TallyOut,
    summary="Mark the provider's logged items in the period as raised with the provider",
)
async def mark_raised(
    ods: str,
    provider_ods: str,
    principal: Writer,
    rt: RuntimeDep,
    period_from: FromQ = None,
    period_to: ToQ = None,
) -> TallyOut:
    provider = _provider(provider_ods)
    start, end = period(period_from, period_to, default_days=LETTER_DEFAULT_DAYS)
    tally = Tally()
    async with rt.sessions() as session, session.begin():
        facts = await repo.facts(
            session,
            [ods.upper()],
            repo.ItemFilter(start, end, provider_ods=provider, status=Status.LOGGED.value),
        )
        for fact in facts:
            await change_status(
                session,
                rt.tables,
                ods.upper(),
                principal,
                fact.item_id,
                StatusIn(status=Status.RAISED.value, note="included in a letter to the provider"),
            )
            tally.items += 1
            tally.minutes += fact.minutes or 0
    rt.events_written()
    return TallyOut(**_tally(tally))  # type: ignore[arg-type]


@router.get(
    "/escalation",
    summary="Escalation summary for the ICB (per provider, no patient data)",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
async def escalation_summary(
    ods: str,
    principal: Reader,
    rt: RuntimeDep,
    wl: WorkloadDep,
    period_from: FromQ = None,
    period_to: ToQ = None,
    format: Annotated[Format, Query()] = "html",
) -> Response:
    start, end = period(period_from, period_to, default_days=LETTER_DEFAULT_DAYS)
    assert start and end
    async with rt.sessions() as session, session.begin():
        facts = await repo.facts(session, [ods.upper()], repo.ItemFilter(start, end))
        await audit(
            session,
            audit_log,
            principal,
            "escalation",
            "workload_escalation",
            practice=ods.upper(),
            detail=format,
        )
    org = organisations().get(ods.upper())
    esc = letters.escalation(
        facts,
        practice_ods=ods.upper(),
        practice_name=org.practice_name if org else ods.upper(),
        icb_ods=org.icb_ods if org else None,
        icb_name=org.icb_name if org else None,
        period_from=start,
        period_to=end,
        written_on=date.today(),
        response_days=wl.settings.workload_response_days,
        taxonomy=wl.taxonomy,
        rates=wl.rates,
    )
    body = render.escalation_pdf(esc) if format == "pdf" else render.escalation_html(esc)
    return _document(body, format, f"workload-escalation-{ods.upper()}")


_ODS = TypeAdapter(OdsCode)


def _provider(value: str) -> str:
    try:
        return _ODS.validate_python(value)
    except ValidationError:
        raise invalid(
            [{"field": "provider_ods", "reason": "an ODS code has 3 to 6 letters or digits"}]
        ) from None
