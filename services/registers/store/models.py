"""Registers' own tables. Bulk paths (batch ingestion) insert through Core with these tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import audit_table
from shared.db import BigIntPK, new_id, service_metadata, utcnow
from shared.events.outbox import event_tables

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("practice_ods", "nhs_number", name="uq_patients_practice_nhs"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_ods: Mapped[str] = mapped_column(String(10), index=True)
    nhs_number: Mapped[str] = mapped_column(String(10))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    registered_on: Mapped[date] = mapped_column(Date)
    deregistered_on: Mapped[date | None] = mapped_column(Date)
    died_on: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(String(400))
    postcode: Mapped[str | None] = mapped_column(String(10))
    allow_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_email: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_letter: Mapped[bool] = mapped_column(Boolean, default=True)
    preferred_channel: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CodedEntry(Base):
    """One coded entry. Rows are addressed by (practice, sender's entry id); ``id`` is the platform id that
    events carry. Few indexes on purpose: this is the table batch ingestion writes millions of rows to."""

    __tablename__ = "coded_entries"
    __table_args__ = (
        # No index leads with practice_ods: batch lookups filter on a practice and thousands of entry ids, and a
        # planner without fresh statistics would scan the practice's whole record through a practice-led index
        # instead of probing each entry id.
        UniqueConstraint("client_entry_id", "practice_ods", name="uq_entries_client_id_practice"),
        Index("ix_entries_patient_code", "patient_id", "code"),
        Index("ix_entries_code_practice", "code", "practice_ods"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), default=new_id)
    practice_ods: Mapped[str] = mapped_column(String(10))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    client_entry_id: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(18))
    effective_date: Mapped[date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20), default="observation")
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(32))
    known_code: Mapped[bool] = mapped_column(Boolean, default=True)
    # True when the code feeds a register rule, so register recomputes read only these rows.
    register_relevant: Mapped[bool] = mapped_column(Boolean, default=False)
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegisterMember(Base):
    """Current register membership, kept so that changes can be announced as ``register.changed``."""

    __tablename__ = "register_members"
    __table_args__ = (Index("ix_register_members_practice_register", "practice_ods", "register"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    register: Mapped[str] = mapped_column(String(20), primary_key=True)
    practice_ods: Mapped[str] = mapped_column(String(10))
    since: Mapped[date] = mapped_column(Date)


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_ods: Mapped[str] = mapped_column(String(10), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="csv")
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Renewed while a process runs the job; a lapsed lease means that process is gone (shared/jobs.py).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


events = event_tables(metadata)
audit_log = audit_table(metadata)
