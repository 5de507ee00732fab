"""Workload's own tables. The NHS number is stored only as a Fernet token (see ``crypto.py``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import audit_table
from shared.db import BigIntPK, new_id, service_metadata, utcnow
from shared.events.outbox import event_tables

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class WorkloadItem(Base):
    """One piece of work a provider passed to the practice."""

    __tablename__ = "workload_items"
    __table_args__ = (
        UniqueConstraint("practice_ods", "client_ref", name="uq_workload_items_practice_client_ref"),
        Index("ix_workload_items_practice_received", "practice_ods", "received_on"),
        Index("ix_workload_items_practice_provider", "practice_ods", "provider_ods"),
    )

    # ``seq`` orders items for cursor pagination; ``id`` is the public identifier.
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    practice_ods: Mapped[str] = mapped_column(String(10))
    client_ref: Mapped[str | None] = mapped_column(String(100))
    received_on: Mapped[date] = mapped_column(Date)
    provider_ods: Mapped[str] = mapped_column(String(6))
    provider_name: Mapped[str] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(200))
    specialty: Mapped[str | None] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(40))
    taxonomy_version: Mapped[str] = mapped_column(String(20))
    contract_year: Mapped[str] = mapped_column(String(7))
    clause_key: Mapped[str | None] = mapped_column(String(40))
    clause_number: Mapped[str | None] = mapped_column(String(80))
    staff_role: Mapped[str | None] = mapped_column(String(30))
    minutes: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    nhs_number_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(30), default="logged")
    source: Mapped[str] = mapped_column(String(10))  # api | quick | csv
    raised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StatusChange(Base):
    """The history of an item's status (logged -> raised with provider -> provider responded -> resolved)."""

    __tablename__ = "workload_status_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    item_id: Mapped[str] = mapped_column(ForeignKey("workload_items.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


events = event_tables(metadata)
audit_log = audit_table(metadata)
