"""Schemas (shared/events/schemas.py): "additive optional fields keep the version". An event a newer producer
sent with a field this code does not know is read, the field dropped, instead of being refused as poison; a
payload built in code with an unknown field is still refused, so a typo never reaches the broker."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from shared.events.envelope import Envelope
from shared.events.schemas import RegisterChanged


def test_an_event_with_a_field_added_later_is_read_with_the_field_dropped() -> None:
    sent = Envelope.wrap(RegisterChanged(practice_ods="A81001", patient_id="p1", register_id="DM_REG",
                                         on_register=True, as_of=date(2026, 12, 4)), source="/tests")
    newer = sent.model_copy(update={"data": {**sent.data, "added_in_a_later_release": "x"}})
    payload = Envelope.from_bytes(newer.to_bytes()).payload()
    assert isinstance(payload, RegisterChanged)
    assert payload.register_id == "DM_REG" and not hasattr(payload, "added_in_a_later_release")


def test_a_payload_built_with_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        RegisterChanged(practice_ods="A81001", patient_id="p1", register_id="DM_REG", on_register=True,
                        as_of=date(2026, 12, 4), registr_id="typo")  # type: ignore[call-arg]


def test_an_event_missing_a_required_field_is_still_refused() -> None:
    sent = Envelope.wrap(RegisterChanged(practice_ods="A81001", patient_id="p1", register_id="DM_REG",
                                         on_register=True, as_of=date(2026, 12, 4)), source="/tests")
    broken = sent.model_copy(update={"data": {k: v for k, v in sent.data.items() if k != "register_id"}})
    with pytest.raises(ValidationError):
        broken.payload()
