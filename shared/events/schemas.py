"""Every event payload of the platform, versioned.

Topic = event type (``code.recorded``); the CloudEvents ``dataschema`` names the version
(``urn:qof-platform:event:code.recorded:v1``). A breaking change adds a new class with ``version = 2``
and both are published until consumers move; additive optional fields keep the version.

Audience: ``internal`` events cross services inside the platform and use the internal patient id, never
the NHS number, name or contact details (date of birth travels internally because ages decide registers
and cohorts). ``analytics`` events may leave the practice boundary and carry aggregates or non-patient
facts only. ``tests/shared/test_event_privacy.py`` holds every schema to that.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal, Unpack

from pydantic import BaseModel, ConfigDict, Field

Audience = Literal["internal", "analytics"]
_REGISTRY: dict[tuple[str, int], type[EventPayload]] = {}


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    audience: ClassVar[Audience] = "internal"
    description: ClassVar[str] = ""

    practice_ods: str

    def __init_subclass__(cls, **kwargs: Unpack[ConfigDict]) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            _REGISTRY[(cls.event_type, cls.version)] = cls

    @classmethod
    def schema_uri(cls) -> str:
        return f"urn:qof-platform:event:{cls.event_type}:v{cls.version}"

    def partition_key(self) -> str:
        patient_id = getattr(self, "patient_id", None)
        return f"{self.practice_ods}:{patient_id}" if patient_id else self.practice_ods

    def subject(self) -> str | None:
        return getattr(self, "patient_id", None)


def payload_class(event_type: str, dataschema: str) -> type[EventPayload]:
    try:
        version = int(dataschema.rsplit(":v", 1)[1])
        return _REGISTRY[(event_type, version)]
    except (IndexError, ValueError, KeyError):
        raise ValueError(f"unknown event {event_type!r} with schema {dataschema!r}") from None


def all_payload_classes() -> list[type[EventPayload]]:
    return sorted(_REGISTRY.values(), key=lambda c: (c.event_type, c.version))


# --- registers -------------------------------------------------------------------------------------------


class ContactPreferences(BaseModel):
    """Which channels a patient accepts; the contact details themselves stay in registers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sms: bool = True
    email: bool = True
    letter: bool = True
    preferred: Literal["sms", "email", "letter", "phone"] | None = None


class PatientState(EventPayload):
    patient_id: str
    date_of_birth: date
    sex: Literal["female", "male", "other", "unknown"]
    registered_on: date
    deregistered_on: date | None = None
    died_on: date | None = None
    contact: ContactPreferences = Field(default_factory=ContactPreferences)


class PatientRegistered(PatientState):
    event_type: ClassVar[str] = "patient.registered"
    description: ClassVar[str] = "A patient was registered with the practice (first time it is seen)."


class PatientUpdated(PatientState):
    event_type: ClassVar[str] = "patient.updated"
    description: ClassVar[str] = "A patient's demographics or contact preferences changed."


class PatientDeregistered(PatientState):
    event_type: ClassVar[str] = "patient.deregistered"
    description: ClassVar[str] = "A patient left the practice list or died."


class RecordedCode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    entry_id: str = Field(description="Platform id of the coded entry")
    code: str = Field(description="SNOMED CT concept id (dm+d ids for medicines)")
    effective_date: date
    value: float | None = None
    unit: str | None = None
    kind: Literal["observation", "condition", "medication", "immunisation", "procedure"] = "observation"
    correction: bool = Field(False, description="True when this replaces an earlier version of the entry")


class CodeRecorded(EventPayload):
    """All entries accepted for one patient in one request (one event per patient keeps order and volume)."""

    event_type: ClassVar[str] = "code.recorded"
    description: ClassVar[str] = "Coded entries were recorded (or corrected) for a patient."
    patient_id: str
    source: Literal["json", "fhir", "csv", "recall", "synthetic"]
    entries: list[RecordedCode]


class CodeRetracted(EventPayload):
    event_type: ClassVar[str] = "code.retracted"
    description: ClassVar[str] = "Coded entries were retracted as entered in error."
    patient_id: str
    entry_ids: list[str]


class RegisterChanged(EventPayload):
    event_type: ClassVar[str] = "register.changed"
    description: ClassVar[str] = "A patient joined or left a QOF register."
    patient_id: str
    register_id: str = Field(description="Register id, e.g. DM_REG")
    on_register: bool
    as_of: date


# --- indicators ------------------------------------------------------------------------------------------


class IndicatorUpdated(EventPayload):
    event_type: ClassVar[str] = "indicator.updated"
    audience: ClassVar[Audience] = "analytics"
    description: ClassVar[str] = "A practice's achievement on an indicator changed (aggregates only)."
    indicator_id: str
    ruleset: str = Field(description="Rule set id, e.g. qof-2025-26")
    achievement_date: date
    register_size: int
    denominator: int
    numerator: int
    pcas: int
    achievement_pct: float | None
    points: float
    max_points: float
    pounds: float | None = None
    # additive and optional (v1 consumers ignore them; events published before they existed carry neither)
    standing: Literal["confirmed", "provisional"] | None = Field(
        None, description="confirmed, or provisional: scored without the missing_clusters (PCA / invitation steps "
        "only), so achievement, points and £ are a lower bound"
    )
    missing_clusters: list[str] = Field(default_factory=list, description="Clusters a provisional figure was "
                                        "scored without")


class PatientGapChanged(EventPayload):
    event_type: ClassVar[str] = "patient.gap.changed"
    description: ClassVar[str] = (
        "A patient's care gap on an indicator opened or closed, or the invitations counted on an open gap changed."
    )
    patient_id: str
    indicator_id: str
    ruleset: str
    open: bool
    reason: str | None = None
    action: str | None = Field(None, description="What would close the gap, e.g. 'HbA1c test'")
    register_id: str | None = None
    invitations_this_year: int = 0
    deadline: date | None = None
    # additive and optional (events published before they existed carry neither: they parse with the defaults)
    invited_on: list[date] = Field(
        default_factory=list, description="Dates of the invitations the indicator counts so far this QOF year, "
        "from the invitation codes in the record whoever recorded them (recall, a letter coded by the practice): "
        "earliest first, each at least 7 days after the one before (invitations_this_year of them)"
    )
    closed_as: Literal["numerator", "pca", "excluded", "left"] | None = Field(
        None, description="A closed gap: what the patient's outcome became (left: no longer in the indicator's "
        "population, e.g. off the register or the list); reason then says why, from the rule that decided it"
    )


# --- recall ----------------------------------------------------------------------------------------------

Channel = Literal["sms", "email", "letter", "phone"]


class RecallMessage(EventPayload):
    patient_id: str
    recall_id: str
    channel: Channel
    conditions: list[str] = Field(default_factory=list, description="Registers the invitation covers")


class RecallPlanned(RecallMessage):
    event_type: ClassVar[str] = "recall.planned"
    description: ClassVar[str] = "An invitation was planned for a date."
    planned_for: date


class InviteCode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(description="SNOMED CT invitation code, e.g. from DMINVITE_COD")
    register_id: str | None = None


class RecallSent(RecallMessage):
    event_type: ClassVar[str] = "recall.sent"
    description: ClassVar[str] = (
        "An invitation was sent; registers writes its invitation codes into the record."
    )
    sent_at: datetime
    invite_codes: list[InviteCode] = Field(default_factory=list)


class RecallDelivered(RecallMessage):
    event_type: ClassVar[str] = "recall.delivered"
    description: ClassVar[str] = "The channel confirmed delivery."
    delivered_at: datetime


class RecallFailed(RecallMessage):
    event_type: ClassVar[str] = "recall.failed"
    description: ClassVar[str] = "The channel reported a permanent or temporary failure."
    failed_at: datetime
    reason: str


# --- workload --------------------------------------------------------------------------------------------


class WorkloadTransferLogged(EventPayload):
    event_type: ClassVar[str] = "workload.transfer.logged"
    audience: ClassVar[Audience] = "analytics"
    description: ClassVar[str] = "A piece of work transferred from a provider was logged (no patient data)."
    item_id: str
    provider_ods: str
    specialty: str | None = None
    category: str
    contract_clause: str | None = None
    staff_role: str | None = None
    minutes: int | None = None
    received_on: date
    status: str = "logged"

    def partition_key(self) -> str:
        return self.practice_ods

    def subject(self) -> str | None:
        return self.item_id
