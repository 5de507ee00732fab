"""Patient input types. Validated on construction so that rule evaluation never meets a malformed record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from .errors import InvalidRecord

Sex = Literal["F", "M", "U"]


@dataclass(frozen=True, slots=True)
class CodedEvent:
    """One active coded entry: a SNOMED CT concept (clinical) or dm+d id (medication), its date and value."""

    code: str
    date: date
    value: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.isdigit():
            raise InvalidRecord(
                f"event code {self.code!r} is not a SNOMED CT / dm+d id",
                hint="pass the concept id as a string of digits",
            )
        if not isinstance(self.date, date):
            raise InvalidRecord(f"event {self.code} has date {self.date!r}", hint="use datetime.date")


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """Everything the rules read about one patient.

    ``registers`` are register ids (e.g. ``{"DM_REG", "HYP_REG"}``) as held by the registers service; use
    :func:`services.indicators.domain.registers.registers_for` to derive them from events instead.
    """

    patient_id: str
    date_of_birth: date
    sex: Sex
    registered_on: date
    deregistered_on: date | None = None
    died_on: date | None = None
    registers: frozenset[str] = field(default_factory=frozenset)
    events: tuple[CodedEvent, ...] = ()

    def __post_init__(self) -> None:
        if self.sex not in ("F", "M", "U"):
            raise InvalidRecord(f"patient {self.patient_id}: sex {self.sex!r}", hint="use 'F', 'M' or 'U'")
        if self.registered_on < self.date_of_birth:
            raise InvalidRecord(
                f"patient {self.patient_id}: registered before birth",
                hint="check registered_on and date_of_birth",
            )
        if not isinstance(self.registers, frozenset):
            object.__setattr__(self, "registers", frozenset(self.registers))
        if not isinstance(self.events, tuple):
            object.__setattr__(self, "events", tuple(self.events))

    def is_registered_on(self, on: date) -> bool:
        if self.registered_on > on:
            return False
        if self.deregistered_on is not None and self.deregistered_on <= on:
            return False
        return self.died_on is None or self.died_on > on
