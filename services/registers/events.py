"""What registers publishes (see shared.events.schemas) and consumes: ``recall.sent``."""

from __future__ import annotations

from shared.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
