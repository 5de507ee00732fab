"""Dependencies shared by recall's routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from shared.auth import Principal, practice_access

RecallReader = Annotated[Principal, Depends(practice_access("recall:read"))]
RecallWriter = Annotated[Principal, Depends(practice_access("recall:write"))]


def now(request: Request) -> datetime:
    """The service clock (tests inject one through ``create_app(now=...)``)."""
    return request.app.state.clock()  # type: ignore[no-any-return]


Now = Annotated[datetime, Depends(now)]
