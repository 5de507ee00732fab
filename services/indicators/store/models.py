"""Indicators' own tables. Event handlers and the full recompute write them through Core in bulk."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import audit_table
from shared.db import new_id, service_metadata, utcnow
from shared.events.outbox import event_tables

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Patient(Base):
    """Demographics as announced by ``patient.*`` events (internal id only; no NHS number, no name)."""

    __tablename__ = "patients"

    patient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    practice_ods: Mapped[str] = mapped_column(String(10), index=True)
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))  # F | M | U, as the engine reads it
    registered_on: Mapped[date] = mapped_column(Date)
    deregistered_on: Mapped[date | None] = mapped_column(Date)
    died_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodedEvent(Base):
    """One coded entry of a patient; retraction sets ``retracted``. ``relevant``: a rule set reads the code."""

    __tablename__ = "coded_events"
    __table_args__ = (
        Index("ix_coded_events_patient", "patient_id", "relevant"),
        Index("ix_coded_events_practice", "practice_ods", "relevant"),
    )

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    practice_ods: Mapped[str] = mapped_column(String(10))
    patient_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(18))
    effective_date: Mapped[date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    relevant: Mapped[bool] = mapped_column(Boolean, default=True)
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)


class PracticeCode(Base):
    """Each code a practice has recorded, with the date of its earliest live entry: which clusters the practice
    has ever recorded by a date, read on every achievement answer without scanning the practice's record.
    Kept by :mod:`services.indicators.store.recorded` wherever coded entries are written or retracted."""

    __tablename__ = "practice_codes"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    first_date: Mapped[date] = mapped_column(Date)


class RegisterMember(Base):
    """Register membership derived from the dated record at the achievement date of the last evaluation
    (``as_of``), keyed by the registers service's ids: what the stored register sizes are counted from."""

    __tablename__ = "register_members"
    __table_args__ = (Index("ix_register_members_practice", "practice_ods", "register_id"),)

    patient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    register_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    practice_ods: Mapped[str] = mapped_column(String(10))
    as_of: Mapped[date] = mapped_column(Date)


class Outcome(Base):
    """One patient's current outcome on one indicator of the practice's contract."""

    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_practice_indicator", "practice_ods", "ruleset_id", "indicator_id", "status"),)

    patient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    practice_ods: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))  # numerator | denominator_only | pca | excluded
    field: Mapped[str | None] = mapped_column(String(40))  # PCA / exclusion field, e.g. DMPCADEC
    trace: Mapped[dict[str, Any]] = mapped_column(JSON)
    gap: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    deadline: Mapped[date | None] = mapped_column(Date)
    achievement_date: Mapped[date] = mapped_column(Date)


class OutcomeTally(Base):
    """How many of a practice's patients stand in each (rule set, indicator, status, field, date) of their
    stored outcomes: the ``GROUP BY`` every achievement answer needs, kept by the one writer of outcomes
    (:func:`services.indicators.store.state.replace_outcomes`) in the same transaction. ``field`` is '' for
    none (a key column cannot be null)."""

    __tablename__ = "outcome_tallies"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    achievement_date: Mapped[date] = mapped_column(Date, primary_key=True)
    patients: Mapped[int] = mapped_column(Integer)


class Contract(Base):
    """Which rule set a practice is paid on: a QOF year, optionally with a local scheme."""

    __tablename__ = "contracts"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(60))
    local_scheme_id: Mapped[str | None] = mapped_column(String(60))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attestation(Base):
    """Practice-declared evidence for an attestation indicator (QI013, QI014, ...)."""

    __tablename__ = "attestations"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    activity: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    network_meetings: Mapped[list[str]] = mapped_column(JSON, default=list)
    declared_on: Mapped[date | None] = mapped_column(Date)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndicatorState(Base):
    """The last published aggregate per practice and indicator: what ``indicator.updated`` is diffed against."""

    __tablename__ = "indicator_state"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    achievement_date: Mapped[date] = mapped_column(Date)
    register_size: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    numerator: Mapped[int] = mapped_column(Integer)
    pcas: Mapped[int] = mapped_column(Integer)
    achievement_pct: Mapped[float | None] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float)
    pounds: Mapped[float | None] = mapped_column(Float)
    # confirmed | provisional, as last published (null: stored before the standing was kept)
    standing: Mapped[str | None] = mapped_column(String(20), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingRescore(Base):
    """Practices whose outcomes changed since their aggregates were last scored.

    Consumed events re-evaluate their patient at once but only mark the practice here, in the same transaction;
    the consumer re-scores each marked practice once per batch of events. Durable, so a crash between the two
    leaves the mark for the next batch or the start-up sweep.
    """

    __tablename__ = "pending_rescores"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Snapshot(Base):
    """Monthly achievement per indicator (the latest figure of the month), for history and projection."""

    __tablename__ = "snapshots"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    achievement_date: Mapped[date] = mapped_column(Date)
    register_size: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    numerator: Mapped[int] = mapped_column(Integer)
    pcas: Mapped[int] = mapped_column(Integer)
    achievement_pct: Mapped[float | None] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float)
    pounds: Mapped[float | None] = mapped_column(Float)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaleMonthEnds(Base):
    """Stored month ends of a practice that no longer match its record: consumed events changed it with a date
    (an entry's effective date, a registration, deregistration or death date) on or before a closed month
    end, so the month ends from ``since`` on are recomputed from the record when next read. One row per
    reader: ``history`` (every stored month end) and ``baselines`` (the improvement baselines' finals, which
    achievement reads before scoring). Marked in the transaction that applies the events; an earlier date
    only ever moves ``since`` back, and a reader clears only the mark it read (``marked_at``)."""

    __tablename__ = "stale_month_ends"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # history | baselines
    since: Mapped[date] = mapped_column(Date)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecomputeJob(Base):
    __tablename__ = "recompute_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_ods: Mapped[str] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    patients: Mapped[int] = mapped_column(Integer, default=0)
    outcomes: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Renewed while a process runs the job; a lapsed lease means that process is gone (shared/jobs.py).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PracticeFreshness(Base):
    """When the last consumed event of a practice was applied (figures re-scored), and that event's time."""

    __tablename__ = "practice_freshness"

    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingEvents(Base):
    """Events of a practice received by a consumer and not yet applied (one row per practice per batch)."""

    __tablename__ = "pending_events"

    batch_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    practice_ods: Mapped[str] = mapped_column(String(10), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


events = event_tables(metadata)
audit_log = audit_table(metadata)

# Core tables of the models, typed for bulk statements.
PATIENTS = cast(Table, Patient.__table__)
CODED_EVENTS = cast(Table, CodedEvent.__table__)
PRACTICE_CODES = cast(Table, PracticeCode.__table__)
REGISTER_MEMBERS = cast(Table, RegisterMember.__table__)
OUTCOMES = cast(Table, Outcome.__table__)
OUTCOME_TALLIES = cast(Table, OutcomeTally.__table__)
CONTRACTS = cast(Table, Contract.__table__)
ATTESTATIONS = cast(Table, Attestation.__table__)
INDICATOR_STATE = cast(Table, IndicatorState.__table__)
SNAPSHOTS = cast(Table, Snapshot.__table__)
STALE_MONTH_ENDS = cast(Table, StaleMonthEnds.__table__)
PENDING_RESCORES = cast(Table, PendingRescore.__table__)
PRACTICE_FRESHNESS = cast(Table, PracticeFreshness.__table__)
PENDING_EVENTS = cast(Table, PendingEvents.__table__)
