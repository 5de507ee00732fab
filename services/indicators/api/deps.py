"""Dependencies shared by the indicators routers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from services.indicators.service.kernel import Kernel
from services.indicators.service.releases import follow_release
from shared.auth import Principal, practice_access, require_scope
from shared.problems import invalid


async def kernel(request: Request) -> Kernel:
    """The compiled rule sets, switched first if another codelist release has become active."""
    await follow_release(request.app)
    return request.app.state.kernel  # type: ignore[no-any-return]


KernelDep = Annotated[Kernel, Depends(kernel)]


async def read_slot(request: Request) -> AsyncIterator[None]:
    """A turn to score: at most ``reads_at_once`` scoring reads run in an instance at once.

    The consumer shares the instance's event loop with requests, and every statement it awaits comes back only
    after the steps of whatever else is ready. With five readers scoring side by side a consumer batch took
    about 0.4 s, each of its forty statements waiting behind five readers; admitted one at a time, readers
    get as many answers per second (they are CPU-bound) and the consumer waits behind one at most."""
    async with request.app.state.read_slots:
        yield


ScoringRead = Depends(read_slot)
Reader = Annotated[Principal, Depends(practice_access("indicators:read"))]
Writer = Annotated[Principal, Depends(practice_access("indicators:write"))]
Analyst = Annotated[Principal, Depends(require_scope("analytics:read"))]
T = TypeVar("T")
AnyReader = Annotated[Principal, Depends(require_scope("indicators:read"))]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def page_of(items: Sequence[T], offset: int, limit: int) -> tuple[Sequence[T], str | None]:
    """One page of an in-memory list and the cursor of the next page (None on the last)."""
    more = offset + limit < len(items)
    return items[offset : offset + limit], encode_cursor(offset + limit) if more else None


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(raw["o"])
        if offset < 0:
            raise ValueError
        return offset
    except (binascii.Error, ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise invalid(
            [{"field": "cursor", "reason": "not a cursor returned by this list", "location": "query"}],
            "The cursor is not valid",
        ) from None


def require_ruleset(k: Kernel, ruleset_id: str, field: str, location: str = "query") -> None:
    """422 naming the field when the rule set does not exist."""
    try:
        k.engine(ruleset_id)
    except Exception as exc:
        hint = getattr(exc, "hint", "")
        raise invalid(
            [
                {
                    "field": field,
                    "reason": f"no rule set {ruleset_id!r}" + (f" ({hint})" if hint else ""),
                    "location": location,
                }
            ],
            "Unknown rule set",
        ) from None
