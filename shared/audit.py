"""Who read or changed patient data: an append-only audit table each service adds to its metadata."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import BigIntPK, utcnow


def audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("id", BigIntPK, primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False, default=utcnow),
        Column("actor", String(200), nullable=False),
        Column("action", String(40), nullable=False),
        Column("practice_ods", String(10), nullable=True),
        Column("resource", String(200), nullable=False),
        Column("detail", String(500), nullable=True),
        Index("ix_audit_practice_at", "practice_ods", "at"),
    )


async def audit(
    session: AsyncSession,
    table: Table,
    principal: Principal,
    action: str,
    resource: str,
    *,
    practice: str | None = None,
    detail: str | None = None,
) -> None:
    """Record an access; ``resource`` names ids (patient id, job id), never identifying values."""
    await session.execute(
        insert(table).values(
            at=utcnow(),
            actor=principal.subject,
            action=action,
            practice_ods=practice,
            resource=resource,
            detail=detail,
        )
    )
