"""Registers' HTTP contract: what clinical-system integrations send and get back."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.identifiers import NHSNumber

Sex = Literal["female", "male", "other", "unknown"]
EntryKind = Literal["observation", "condition", "medication", "immunisation", "procedure"]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr | None = None
    mobile: str | None = Field(
        default=None, pattern=r"^\+?[0-9 ]{10,15}$", description="UK mobile, e.g. 07700 900123"
    )
    address: str | None = Field(default=None, max_length=400)
    postcode: str | None = Field(default=None, max_length=10)
    allow_sms: bool = True
    allow_email: bool = True
    allow_letter: bool = True
    preferred_channel: Literal["sms", "email", "letter", "phone"] | None = None


class PatientIn(BaseModel):
    """A patient as the clinical system knows them; upserted by NHS number within the practice."""

    model_config = ConfigDict(extra="forbid")
    nhs_number: NHSNumber
    given_name: str | None = Field(None, max_length=100)
    family_name: str | None = Field(None, max_length=100)
    date_of_birth: date
    sex: Sex
    registered_on: date
    deregistered_on: date | None = None
    died_on: date | None = None
    contact: ContactIn = Field(default_factory=ContactIn)


class PatientOut(BaseModel):
    id: str
    practice_ods: str
    nhs_number: str
    given_name: str | None
    family_name: str | None
    date_of_birth: date
    sex: Sex
    registered_on: date
    deregistered_on: date | None
    died_on: date | None
    contact: ContactIn


class EntryIn(BaseModel):
    """One coded entry. ``entry_id`` is the sending system's own id: re-sending it is idempotent."""

    model_config = ConfigDict(extra="forbid")
    entry_id: str = Field(min_length=1, max_length=200)
    nhs_number: str = Field(description="Patient's NHS number (10 digits, modulus 11)")
    code: str = Field(description="SNOMED CT concept id (dm+d id for medicines)")
    effective_date: date
    value: float | None = Field(default=None, allow_inf_nan=False)
    unit: str | None = Field(default=None, max_length=40)
    kind: EntryKind = "observation"
    recorded_by: str | None = Field(None, max_length=100, description="Staff id or role, never a name")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[EntryIn] = Field(min_length=1, max_length=50_000)


class EntryFlag(BaseModel):
    index: int
    entry_id: str
    flag: str
    detail: str


class BatchResult(BaseModel):
    received: int
    created: int
    corrected: int
    unchanged: int
    flags: list[EntryFlag] = Field(
        default_factory=list,
        description="Accepted entries worth a look (e.g. a code not in any known codelist)",
    )


class RetractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_ids: list[str] = Field(min_length=1, max_length=10_000, description="Client entry ids")
    reason: str = Field("entered in error", max_length=200)


class RetractResult(BaseModel):
    retracted: int
    already_retracted: int
