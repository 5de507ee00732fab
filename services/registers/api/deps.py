"""Dependencies shared by registers' routers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends

from services.registers.domain.knowledge import Knowledge, knowledge
from shared.auth import Principal, practice_access


def today() -> date:
    """The service's notion of today; tests override it through ``app.dependency_overrides``."""
    return date.today()


Today = Annotated[date, Depends(today)]
KnowledgeDep = Annotated[Knowledge, Depends(knowledge)]
RecordsReader = Annotated[Principal, Depends(practice_access("records:read"))]
RecordsWriter = Annotated[Principal, Depends(practice_access("records:write"))]
