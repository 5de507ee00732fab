"""CloudEvents 1.0 envelope in Kafka structured mode (``application/cloudevents+json`` value).

The partition key travels as the ``partitionkey`` extension attribute, as the CloudEvents Kafka binding
specifies, and is also the Kafka record key so one patient's events stay in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.db import new_id, utcnow
from shared.events.schemas import EventPayload, payload_class

CONTENT_TYPE = "application/cloudevents+json"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=new_id)
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    partitionkey: str
    data: dict[str, Any]

    @classmethod
    def wrap(cls, payload: EventPayload, *, source: str) -> Envelope:
        return cls(
            source=source,
            type=payload.event_type,
            subject=payload.subject(),
            dataschema=payload.schema_uri(),
            partitionkey=payload.partition_key(),
            data=payload.model_dump(mode="json"),
        )

    def payload(self) -> EventPayload:
        """The typed payload; raises ``ValueError`` for an unknown type/version or invalid data.

        Fields this version of the schema does not know are dropped first: a producer may add optional fields
        without a new version (``shared.events.schemas``), and a consumer deployed before it must still read the
        event rather than send it to the dead-letter topic. Payloads built in code still refuse unknown fields."""
        cls = payload_class(self.type, self.dataschema)
        known = {k: v for k, v in self.data.items() if k in cls.model_fields}
        return cls.model_validate(known)

    @property
    def topic(self) -> str:
        return self.type

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
