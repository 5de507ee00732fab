"""Use cases of the workload service: log items, move their status, and read them back safely.

Routers call these; they hold the checks against reference data so JSON, quick capture and CSV import
give the same answers, and they write the item, its event and the audit record in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.workload import events, refdata
from services.workload.crypto import FieldCipher, cipher_for
from services.workload.domain.clauses import ClauseBook
from services.workload.domain.rates import RateCard
from services.workload.domain.taxonomy import Status, Taxonomy, transition_problem
from services.workload.schemas import ClauseOut, ItemIn, ItemOut, StatusIn
from services.workload.settings import WorkloadSettings
from services.workload.store import repo
from services.workload.store.models import StatusChange, WorkloadItem, audit_log
from shared.audit import audit
from shared.auth import Principal
from shared.db import new_id, utcnow
from shared.events.outbox import EventTables, enqueue
from shared.problems import Problem, invalid, not_found


@dataclass(frozen=True)
class Workload:
    """Reference data, rates and the field cipher of one running service."""

    settings: WorkloadSettings
    taxonomy: Taxonomy
    clauses: ClauseBook
    rates: RateCard
    cipher: FieldCipher

    @classmethod
    def load(cls, settings: WorkloadSettings) -> Workload:
        return cls(
            settings,
            refdata.taxonomy(),
            refdata.clause_book(),
            refdata.rate_card(settings.workload_hourly_rates),
            cipher_for(settings),
        )


def reference_errors(item: ItemIn, wl: Workload) -> list[dict[str, Any]]:
    """Checks against the taxonomy, the contract clauses and the rate card."""
    errors: list[dict[str, Any]] = []
    problem = wl.taxonomy.problem(item.category)
    if problem:
        errors.append({"field": "category", "reason": problem})
    if item.staff_role is not None and (problem := wl.rates.problem(item.staff_role)):
        errors.append({"field": "staff_role", "reason": problem})
    if item.contract_clause is not None:
        try:
            wl.clauses.resolve(item.received_on, item.contract_clause, None)
        except ValueError as exc:
            errors.append({"field": "contract_clause", "reason": str(exc)})
    return errors


def _new_item(item: ItemIn, practice: str, wl: Workload, principal: Principal, source: str) -> WorkloadItem:
    category = wl.taxonomy.get(item.category)
    assert category is not None
    resolution = wl.clauses.resolve(item.received_on, item.contract_clause, category.default_clause)
    now = utcnow()
    return WorkloadItem(
        id=new_id(),
        practice_ods=practice,
        client_ref=item.client_ref,
        received_on=item.received_on,
        provider_ods=item.provider_ods,
        provider_name=refdata.provider_name(item.provider_ods, item.provider_name),
        site=item.site,
        specialty=item.specialty.lower() if item.specialty else None,
        category=item.category,
        taxonomy_version=wl.taxonomy.version,
        contract_year=resolution.year.year,
        clause_key=resolution.clause.key if resolution.clause else None,
        clause_number=resolution.clause.number if resolution.clause else None,
        staff_role=item.staff_role,
        minutes=item.minutes,
        description=item.description,
        nhs_number_token=wl.cipher.encrypt(item.nhs_number) if item.nhs_number else None,
        status=Status.LOGGED.value,
        source=source,
        created_by=principal.subject,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class Logged:
    item: WorkloadItem
    created: bool


async def log_items(
    session: AsyncSession,
    tables: EventTables,
    wl: Workload,
    practice: str,
    principal: Principal,
    items: Sequence[ItemIn],
    *,
    source: str,
    batch: bool = False,
) -> list[Logged]:
    """Validate all, then store all (or nothing); items with a known ``client_ref`` are returned as stored."""
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        for error in reference_errors(item, wl):
            errors.append({"index": index, **error} if batch else error)
    refs = [i.client_ref for i in items if i.client_ref]
    if len(refs) != len(set(refs)):
        errors.append({"field": "client_ref", "reason": "the same client_ref appears more than once"})
    if errors:
        raise invalid(errors)
    known = await repo.by_client_ref(session, practice, refs)
    out: list[Logged] = []
    new_rows: list[WorkloadItem] = []
    for item in items:
        if item.client_ref and item.client_ref in known:
            out.append(Logged(known[item.client_ref], False))
            continue
        row = _new_item(item, practice, wl, principal, source)
        new_rows.append(row)
        out.append(Logged(row, True))
    if new_rows:
        session.add_all(new_rows)
        try:
            await session.flush()
        except IntegrityError:
            raise Problem(
                409,
                "Conflict",
                "An item with the same client_ref was logged at the same time; "
                "send the request again to get the stored item",
                kind="conflict",
            ) from None
        await enqueue(session, tables, [events.transfer_logged(r) for r in new_rows], source=events.SOURCE)
        resource = (
            f"workload_item:{new_rows[0].id}" if len(new_rows) == 1 else f"workload_items:{len(new_rows)}"
        )
        await audit(session, audit_log, principal, "create", resource, practice=practice, detail=source)
    return out


async def change_status(
    session: AsyncSession,
    tables: EventTables,
    practice: str,
    principal: Principal,
    item_id: str,
    change: StatusIn,
) -> WorkloadItem:
    item = await repo.get(session, practice, item_id)
    if item is None:
        raise not_found(f"Workload item {item_id}")
    problem = transition_problem(item.status, change.status)
    if problem:
        kind = "validation" if "unknown status" in problem else "invalid-transition"
        if kind == "validation":
            raise invalid([{"field": "status", "reason": problem}])
        raise Problem(409, "Invalid status change", problem, kind=kind)
    now = utcnow()
    session.add(
        StatusChange(
            item_id=item.id,
            from_status=item.status,
            to_status=change.status,
            note=change.note,
            actor=principal.subject,
            at=now,
        )
    )
    item.status = change.status
    stamp = {Status.RAISED: "raised_at", Status.RESPONDED: "responded_at", Status.RESOLVED: "resolved_at"}
    setattr(item, stamp[Status(change.status)], now)
    item.updated_at = now
    await session.flush()
    await enqueue(session, tables, [events.transfer_logged(item)], source=events.SOURCE)
    await audit(
        session,
        audit_log,
        principal,
        "update",
        f"workload_item:{item.id}",
        practice=practice,
        detail=f"status {change.status}",
    )
    return item


def to_out(item: WorkloadItem, wl: Workload, *, reveal: bool = False) -> ItemOut:
    clause = None
    if item.clause_key:
        year = wl.clauses.year(item.contract_year)
        known = year.clauses.get(item.clause_key) if year else None
        clause = ClauseOut(
            key=item.clause_key,
            number=item.clause_number or "",
            contract_year=item.contract_year,
            title=known.title if known else "",
            verified=bool(known and known.verified),
            latest_edition_used=not (year and year.covers(item.received_on)),
        )
    return ItemOut(
        id=item.id,
        practice_ods=item.practice_ods,
        received_on=item.received_on,
        provider_ods=item.provider_ods,
        provider_name=refdata.provider_name(item.provider_ods, item.provider_name),
        site=item.site,
        specialty=item.specialty,
        category=item.category,
        category_label=wl.taxonomy.label(item.category),
        clause=clause,
        staff_role=item.staff_role,
        minutes=item.minutes,
        cost=wl.rates.cost(item.staff_role, item.minutes),
        description=item.description,
        nhs_number_recorded=item.nhs_number_token is not None,
        nhs_number=wl.cipher.decrypt(item.nhs_number_token) if reveal and item.nhs_number_token else None,
        status=item.status,
        source=item.source,
        client_ref=item.client_ref,
        created_at=item.created_at,
        raised_at=item.raised_at,
        responded_at=item.responded_at,
        resolved_at=item.resolved_at,
    )


def period_problem(period_from: date | None, period_to: date | None) -> None:
    if period_from and period_to and period_from > period_to:
        raise invalid([{"field": "from", "reason": "the start of the period is after its end"}])
