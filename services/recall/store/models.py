"""Recall's own tables: what it knows of patients and gaps (from events), clinics, campaigns, invitations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import audit_table
from shared.db import new_id, service_metadata, utcnow
from shared.events.outbox import event_tables

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class RecallPatient(Base):
    """A patient as the ``patient.*`` events describe them (no name, number or contact details)."""

    __tablename__ = "recall_patients"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    date_of_birth: Mapped[date] = mapped_column(Date)
    deregistered_on: Mapped[date | None] = mapped_column(Date)
    died_on: Mapped[date | None] = mapped_column(Date)
    allow_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_email: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_letter: Mapped[bool] = mapped_column(Boolean, default=True)
    preferred: Mapped[str | None] = mapped_column(String(10))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    recall_month: Mapped[int | None] = mapped_column(Integer)
    cohort: Mapped[str | None] = mapped_column(String(30))  # housebound, care-home, palliative, learning-disability
    booked_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Gap(Base):
    """An indicator gap of a patient, kept current from ``patient.gap.changed``."""

    __tablename__ = "recall_gaps"
    __table_args__ = (Index("ix_recall_gaps_practice_open", "practice_ods", "open"),)

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    ruleset: Mapped[str] = mapped_column(String(40), primary_key=True)  # a gap is of one QOF year
    register_id: Mapped[str | None] = mapped_column(String(20))
    open: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str | None] = mapped_column(String(200))
    invitations_this_year: Mapped[int] = mapped_column(Integer, default=0)
    # the invitation dates indicators counts from the record (ISO dates), whoever recorded the codes
    invited_on: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    closed_as: Mapped[str | None] = mapped_column(String(20))  # numerator | pca | excluded | left
    reason: Mapped[str | None] = mapped_column(String(300))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClinicConfig(Base):
    __tablename__ = "recall_clinics"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    registers: Mapped[list[str]] = mapped_column(JSON)
    capacity: Mapped[dict[str, int]] = mapped_column(JSON)  # "1".."12" -> slots


class Campaign(Base):
    __tablename__ = "recall_campaigns"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_ods: Mapped[str] = mapped_column(String(10), index=True)
    name: Mapped[str] = mapped_column(String(100))
    year_start: Mapped[date] = mapped_column(Date)
    strategy: Mapped[str] = mapped_column(String(10))
    templates: Mapped[dict[str, str]] = mapped_column(JSON)  # channel -> Notify template id
    invite_codes: Mapped[dict[str, str]] = mapped_column(JSON)  # register -> SNOMED invitation code
    code_at: Mapped[str] = mapped_column(String(10), default="send")  # send | after
    second_after_days: Mapped[int] = mapped_column(Integer, default=7)
    run_cap: Mapped[int] = mapped_column(Integer, default=500)
    mop_up: Mapped[bool] = mapped_column(Boolean, default=True)
    values: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)  # indicator -> £ per review
    status: Mapped[str] = mapped_column(String(20), default="ready")  # ready | sending
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Invitation(Base):
    """One message to one patient at one stage. ``reference`` (campaign, patient, stage, attempt) is what
    Notify is given, so a restarted run can ask Notify whether a claimed message already went."""

    __tablename__ = "recall_invitations"
    __table_args__ = (
        UniqueConstraint("reference", name="uq_recall_invitations_reference"),
        Index("ix_recall_invitations_campaign_status", "campaign_id", "status"),
        Index("ix_recall_invitations_patient", "practice_ods", "patient_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(String(36))
    practice_ods: Mapped[str] = mapped_column(String(10))
    patient_id: Mapped[str] = mapped_column(String(36))
    stage: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # 2 = letter after a failed SMS/email
    reference: Mapped[str] = mapped_column(String(200))
    clinics: Mapped[list[str]] = mapped_column(JSON)
    registers: Mapped[list[str]] = mapped_column(JSON)
    cohort: Mapped[str] = mapped_column(String(30), default="general")
    appointment_month: Mapped[date] = mapped_column(Date)
    send_month: Mapped[date] = mapped_column(Date)
    not_before: Mapped[date | None] = mapped_column(Date)  # a second invitation: 7 days after the first at least
    value: Mapped[float] = mapped_column(Float, default=0.0)
    # planned -> claimed -> sent -> delivered | failed ; or stopped / skipped with a reason
    status: Mapped[str] = mapped_column(String(20), default="planned")
    reason: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(10))
    notify_id: Mapped[str | None] = mapped_column(String(36), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(30))
    fragments: Mapped[int | None] = mapped_column(Integer)
    cost_pence: Mapped[float | None] = mapped_column(Float)
    codes_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


events = event_tables(metadata)
audit_log = audit_table(metadata)
