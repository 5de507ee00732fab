"""Queries over workload items. Every query is scoped to a practice (or to an ICB's set of practices)."""

from __future__ import annotations

import base64
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.workload.domain.reports import ItemFacts
from services.workload.refdata import provider_name
from services.workload.store.models import WorkloadItem
from shared.problems import invalid

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class ItemFilter:
    period_from: date | None = None
    period_to: date | None = None
    provider_ods: str | None = None
    category: str | None = None
    status: str | None = None
    specialty: str | None = None

    def apply(self, query: Q) -> Q:
        if self.period_from:
            query = query.where(WorkloadItem.received_on >= self.period_from)
        if self.period_to:
            query = query.where(WorkloadItem.received_on <= self.period_to)
        if self.provider_ods:
            query = query.where(WorkloadItem.provider_ods == self.provider_ods.upper())
        if self.category:
            query = query.where(WorkloadItem.category == self.category)
        if self.status:
            query = query.where(WorkloadItem.status == self.status)
        if self.specialty:
            query = query.where(WorkloadItem.specialty == self.specialty)
        return query


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"wl:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, seq = raw.split(":", 1)
        if prefix != "wl":
            raise ValueError
        return int(seq)
    except (ValueError, UnicodeDecodeError):
        raise invalid([{"field": "cursor", "reason": "not a cursor this service issued"}]) from None


async def page(
    session: AsyncSession, practice: str, flt: ItemFilter, cursor: str | None, limit: int
) -> tuple[list[WorkloadItem], str | None]:
    """Newest first; ``next_cursor`` is ``None`` on the last page."""
    query = flt.apply(select(WorkloadItem).where(WorkloadItem.practice_ods == practice))
    if cursor:
        query = query.where(WorkloadItem.seq < decode_cursor(cursor))
    rows = list((await session.scalars(query.order_by(WorkloadItem.seq.desc()).limit(limit + 1))).all())
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].seq)
    return rows, None


async def get(session: AsyncSession, practice: str, item_id: str) -> WorkloadItem | None:
    return await session.scalar(
        select(WorkloadItem).where(WorkloadItem.practice_ods == practice, WorkloadItem.id == item_id)
    )


async def by_client_ref(
    session: AsyncSession, practice: str, refs: Collection[str]
) -> dict[str, WorkloadItem]:
    if not refs:
        return {}
    rows = await session.scalars(
        select(WorkloadItem).where(
            WorkloadItem.practice_ods == practice, WorkloadItem.client_ref.in_(list(refs))
        )
    )
    return {r.client_ref: r for r in rows if r.client_ref}


_FACT_COLUMNS = (
    WorkloadItem.id,
    WorkloadItem.practice_ods,
    WorkloadItem.received_on,
    WorkloadItem.provider_ods,
    WorkloadItem.provider_name,
    WorkloadItem.site,
    WorkloadItem.specialty,
    WorkloadItem.category,
    WorkloadItem.clause_key,
    WorkloadItem.contract_year,
    WorkloadItem.staff_role,
    WorkloadItem.minutes,
    WorkloadItem.status,
    WorkloadItem.raised_at,
)


async def facts(session: AsyncSession, practices: Collection[str], flt: ItemFilter) -> list[ItemFacts]:
    """The report view of items: selected columns only, never free text or the NHS number token."""
    if not practices:
        return []
    query = select(*_FACT_COLUMNS).where(WorkloadItem.practice_ods.in_(sorted(practices)))
    query = flt.apply(query)
    rows = (await session.execute(query.order_by(WorkloadItem.seq))).all()
    return [
        ItemFacts(
            item_id=r.id,
            practice_ods=r.practice_ods,
            received_on=r.received_on,
            provider_ods=r.provider_ods,
            provider_name=provider_name(r.provider_ods, r.provider_name),
            site=r.site,
            specialty=r.specialty,
            category=r.category,
            clause_key=r.clause_key,
            contract_year=r.contract_year,
            staff_role=r.staff_role,
            minutes=r.minutes,
            status=r.status,
            raised_on=r.raised_at.date() if r.raised_at else None,
        )
        for r in rows
    ]
