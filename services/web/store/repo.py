"""Local users and sign-in sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.web.domain.passwords import hash_password, verify_password
from services.web.domain.users import Role, SignedIn
from services.web.store.models import Session, User
from shared.db import utcnow


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def put_user(session: AsyncSession, username: str, password: str, *, display_name: str, role: Role,
                   practice: str | None = None, icb: str | None = None) -> None:
    """Create the user, or reset their password and organisation."""
    user = await session.get(User, username)
    if user is None:
        user = User(username=username)
        session.add(user)
    user.display_name = display_name
    user.role = role
    user.practice_ods = practice.upper() if practice else None
    user.icb_ods = icb.upper() if icb else None
    user.password_hash = hash_password(password)


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    user = await session.get(User, username.strip().lower())
    # An unknown user costs the same hash as a known one, so timing does not say which names exist.
    stored = user.password_hash if user else hash_password("not-a-user")
    ok = verify_password(password, stored)
    return user if user is not None and ok else None


async def open_session(session: AsyncSession, user: User, hours: float) -> str:
    session_id = secrets.token_urlsafe(32)
    session.add(Session(id_hash=_digest(session_id), username=user.username, csrf=secrets.token_urlsafe(24),
                        expires_at=utcnow() + timedelta(hours=hours)))
    return session_id


async def signed_in(session: AsyncSession, session_id: str, now: datetime | None = None) -> SignedIn | None:
    row = await session.get(Session, _digest(session_id))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=(now or utcnow()).tzinfo)
    if expires <= (now or utcnow()):
        return None
    user = await session.get(User, row.username)
    if user is None:
        return None
    return SignedIn(user.username, user.display_name, user.role, user.practice_ods, user.icb_ods,  # type: ignore[arg-type]
                    row.csrf)


async def close_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(Session).where(Session.id_hash == _digest(session_id)))


async def prune_sessions(session: AsyncSession) -> None:
    await session.execute(delete(Session).where(Session.expires_at < utcnow()))


async def usernames(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(User.username).order_by(User.username)))
