"""Request and response bodies of recall's routes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Strategy = Literal["birthday", "chosen", "asap"]


class ClinicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=60, description="e.g. 'diabetes and cardiovascular'")
    registers: list[str] = Field(min_length=1, description="Register ids the clinic reviews, e.g. DM_REG")
    capacity: dict[int, int] = Field(description="Slots per calendar month: {\"4\": 40, \"5\": 40, ...}")

    @field_validator("capacity")
    @classmethod
    def _months(cls, v: dict[int, int]) -> dict[int, int]:
        for month, slots in v.items():
            if not 1 <= month <= 12:
                raise ValueError(f"month {month} is not 1 to 12")
            if slots < 0:
                raise ValueError(f"month {month} has negative capacity {slots}")
        return v


class ClinicsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clinics: list[ClinicIn] = Field(min_length=1, max_length=50)


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strategy: Strategy = "birthday"
    mop_up: bool = Field(True, description="Keep January to March for mop-up (birthdays then move to Apr-Jun)")
    values: dict[str, float] = Field(default_factory=dict, description="£ per review by indicator id")


class CampaignIn(PlanIn):
    practice_ods: str | None = Field(None, description="If given, must be the practice of the path")
    name: str = Field(min_length=1, max_length=100)
    templates: dict[Literal["sms", "email", "letter"], str] = Field(
        min_length=1, description="Notify template id per channel"
    )
    invite_codes: dict[str, str] = Field(
        default_factory=dict, description="Register id -> SNOMED invitation code (from its *INVITE_COD cluster)"
    )
    code_at: Literal["send", "after"] = Field(
        "send", description="Record invitation codes when sent, or only after the fact for those outstanding"
    )
    second_after_days: int = Field(7, ge=7, le=180, description="Days between first and second invitation")
    run_cap: int = Field(500, ge=1, le=100_000, description="Most invitations one run sends")


class MonthLoad(BaseModel):
    month: date
    clinic: str
    planned: int
    capacity: int


class PlanOut(BaseModel):
    year: str = Field(description="QOF year, e.g. 2026-27")
    strategy: Strategy
    planned: int
    second_from_record: int = Field(0, description="Planned patients whose record already holds a first "
                                    "invitation on every register due (e.g. a letter the practice coded): theirs "
                                    "is the second invitation, sent by the stage 2 run 7 days after the first")
    load: list[MonthLoad]
    over_capacity: int
    unplanned: list[dict[str, str]]
    vulnerable: list[dict[str, str]] = Field(description="Own cohort: contact individually, never bulk-messaged")


class CampaignOut(BaseModel):
    id: str
    practice_ods: str
    name: str
    year: str
    status: str
    code_at: str
    second_after_days: int
    run_cap: int
    invitations: dict[str, int] = Field(description="Count by stage and status, e.g. '1:sent'")
    plan: PlanOut | None = None
