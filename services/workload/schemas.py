"""Workload's HTTP contract: what practices and clinical-system integrations send and get back.

Checks that need no reference data live here (types, lengths, identifiers in free text); checks against the
taxonomy, the contract clauses and the rate card are in ``service.py`` so every path (JSON, quick capture,
CSV) reports them the same way.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.workload.domain.privacy import identifier_problem
from shared.identifiers import NHSNumber, OdsCode


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        return None
    problem = identifier_problem(value)
    if problem:
        raise ValueError(problem)
    return value


FreeText = Annotated[str | None, AfterValidator(_clean_text)]
Minutes = Annotated[int, Field(ge=1, le=24 * 60, description="Staff minutes spent on the item")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("received_on", check_fields=False)
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("the date received cannot be in the future")
        return value


class ItemIn(_In):
    """A full log entry, as a practice records it."""

    received_on: date = Field(description="Date the practice received the work")
    provider_ods: OdsCode = Field(description="ODS code of the provider (trust), e.g. RTD")
    provider_name: Annotated[str, Field(min_length=2, max_length=200)]
    site: FreeText = Field(None, max_length=200, description="Hospital or clinic site")
    specialty: FreeText = Field(None, max_length=80, description="Specialty, e.g. cardiology")
    category: str = Field(description="Category key from GET /v1/workload/reference/categories")
    contract_clause: str | None = Field(
        None,
        max_length=40,
        description=(
            "Clause key from GET /v1/workload/reference/clauses; defaults to the category's usual clause"
        ),
    )
    staff_role: str | None = Field(None, description="Role key from GET /v1/workload/reference/rates")
    minutes: Minutes | None = None
    description: FreeText = Field(
        None, max_length=2000, description="What was asked, without patient identifiers"
    )
    nhs_number: NHSNumber | None = Field(None, description="Optional; encrypted at rest, never reported")
    client_ref: str | None = Field(
        None,
        max_length=100,
        pattern=r"^[\w.:-]+$",
        description=(
            "Caller's own id for the item; sending the same one again returns the item already logged"
        ),
    )


class QuickIn(_In):
    """Minimal capture from a clinical-system integration: the rest can be completed later or left empty."""

    provider_ods: OdsCode
    category: str
    received_on: date | None = Field(None, description="Defaults to today")
    provider_name: Annotated[str, Field(min_length=2, max_length=200)] | None = None
    specialty: FreeText = Field(None, max_length=80)
    staff_role: str | None = None
    minutes: Minutes | None = None
    nhs_number: NHSNumber | None = None
    client_ref: str | None = Field(None, max_length=100, pattern=r"^[\w.:-]+$")

    def as_item(self, today: date) -> ItemIn:
        return ItemIn.model_construct(
            received_on=self.received_on or today,
            provider_ods=self.provider_ods,
            provider_name=self.provider_name or self.provider_ods,
            site=None,
            specialty=self.specialty,
            category=self.category,
            contract_clause=None,
            staff_role=self.staff_role,
            minutes=self.minutes,
            description=None,
            nhs_number=self.nhs_number,
            client_ref=self.client_ref,
        )


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(description="raised_with_provider | provider_responded | resolved")
    note: FreeText = Field(None, max_length=1000, description="Without patient identifiers")


class ClauseOut(BaseModel):
    key: str
    number: str
    title: str
    contract_year: str
    verified: bool
    latest_edition_used: bool = Field(description="True when the item's date is outside the editions held")


class ItemOut(BaseModel):
    id: str
    practice_ods: str
    received_on: date
    provider_ods: str
    provider_name: str
    site: str | None
    specialty: str | None
    category: str
    category_label: str
    clause: ClauseOut | None
    staff_role: str | None
    minutes: int | None
    cost: Decimal
    description: str | None
    nhs_number_recorded: bool
    nhs_number: str | None = Field(
        None, description="Only on GET of one item with ?reveal=nhs_number (audited)"
    )
    status: str
    source: str
    client_ref: str | None
    created_at: datetime
    raised_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None


class ImportResult(BaseModel):
    imported: int
    item_ids: list[str]


class TallyOut(BaseModel):
    items: int
    minutes: int
    hours: Decimal
    cost: Decimal
    items_without_time: int


class GroupOut(TallyOut):
    key: dict[str, str]


class TrendOut(TallyOut):
    month: str
    change: int | None


class ReportOut(BaseModel):
    practice_ods: str
    period_from: date | None
    period_to: date | None
    by: list[str]
    currency: str = "GBP"
    rates: dict[str, Decimal]
    groups: list[GroupOut]
    total: TallyOut
    trend: list[TrendOut]
    labels: dict[str, dict[str, str]] = Field(description="Display names for provider and category keys")


class ProtectedGroupOut(BaseModel):
    key: dict[str, str]
    items: int | None
    hours: int | None
    cost: int | None
    suppressed: bool


class AggregateOut(BaseModel):
    icb_ods: str
    period_from: date | None
    period_to: date | None
    by: list[str]
    disclosure_control: str
    practices_in_icb: int
    groups: list[ProtectedGroupOut]
    total: ProtectedGroupOut
