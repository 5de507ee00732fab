"""Every event schema keeps identifiers off the bus: none carries an NHS number, name or contact detail, and
events that may leave the practice boundary (audience ``analytics``) carry no patient reference at all."""

from __future__ import annotations

from typing import Any

from shared.events.schemas import all_payload_classes

NEVER = {"nhs_number", "given_name", "family_name", "name", "email", "mobile", "phone", "address", "postcode"}
NOT_FOR_ANALYTICS = NEVER | {"patient_id", "date_of_birth", "died_on", "entry_id", "entry_ids", "recall_id"}


def field_names(schema: dict[str, Any]) -> set[str]:
    """Names of the fields that can hold a value (yes/no channel preferences such as ``email: true`` cannot)."""
    names: set[str] = set()
    for model in [schema, *schema.get("$defs", {}).values()]:
        names |= {name for name, prop in model.get("properties", {}).items() if prop.get("type") != "boolean"}
    return names


def test_no_event_carries_identifying_fields() -> None:
    for cls in all_payload_classes():
        assert not field_names(cls.model_json_schema()) & NEVER, cls.event_type


def test_analytics_events_carry_no_patient_reference() -> None:
    analytics = [cls for cls in all_payload_classes() if cls.audience == "analytics"]
    assert {cls.event_type for cls in analytics} == {"indicator.updated", "workload.transfer.logged"}
    for cls in analytics:
        assert not field_names(cls.model_json_schema()) & NOT_FOR_ANALYTICS, cls.event_type
