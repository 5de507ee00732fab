"""Local users and sign-in sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.web.domain.oidc import Mapped
from services.web.domain.passwords import hash_password, verify_password
from services.web.domain.users import Role, SignedIn
from services.web.store.models import OidcPending, Session, User
from shared.db import utcnow

NO_PASSWORD = "none"  # not a scrypt hash: verify_password never accepts it
PENDING_MINUTES = 10  # time allowed at the identity provider's sign-in page


def _in_time(expires_at: datetime, now: datetime) -> bool:
    """SQLite hands back naive datetimes (stored as UTC)."""
    return (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=now.tzinfo)) > now


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


async def linked_user(session: AsyncSession, oidc_identity: str) -> User | None:
    return await session.scalar(select(User).where(User.oidc_identity == oidc_identity))


async def put_oidc_user(session: AsyncSession, oidc_identity: str, mapped: Mapped) -> User:
    """Claims mode: the user row of this provider identity, its organisation and name as the ID token says
    today. It has no password (local sign-in never matches it)."""
    user = await linked_user(session, oidc_identity)
    if user is None:
        user = User(username=f"oidc.{hashlib.sha256(oidc_identity.encode()).hexdigest()[:32]}",
                    oidc_identity=oidc_identity, password_hash=NO_PASSWORD)
        session.add(user)
    user.display_name = mapped.display_name
    user.role = mapped.role
    user.practice_ods = mapped.practice
    user.icb_ods = mapped.icb
    return user


async def link_user(session: AsyncSession, username: str, oidc_identity: str | None) -> bool:
    """Linked mode: this local user signs in as the provider's ``oidc_identity`` (None unlinks)."""
    user = await session.get(User, username)
    if user is None:
        return False
    user.oidc_identity = oidc_identity
    return True


async def open_pending(session: AsyncSession, *, state: str, nonce: str, code_verifier: str, next_url: str,
                       minutes: float = PENDING_MINUTES) -> None:
    await session.execute(delete(OidcPending).where(OidcPending.expires_at < utcnow()))
    session.add(OidcPending(state=state, nonce=nonce, code_verifier=code_verifier, next_url=next_url,
                            expires_at=utcnow() + timedelta(minutes=minutes)))


async def take_pending(session: AsyncSession, state: str) -> OidcPending | None:
    """The pending sign-in of this state, once: it is deleted whether or not it is still in time."""
    row = await session.get(OidcPending, state)
    if row is None:
        return None
    await session.delete(row)
    return row if _in_time(row.expires_at, utcnow()) else None


async def open_session(session: AsyncSession, user: User, hours: float) -> str:
    session_id = secrets.token_urlsafe(32)
    session.add(Session(id_hash=_digest(session_id), username=user.username, csrf=secrets.token_urlsafe(24),
                        expires_at=utcnow() + timedelta(hours=hours)))
    return session_id


async def signed_in(session: AsyncSession, session_id: str, now: datetime | None = None) -> SignedIn | None:
    row = await session.get(Session, _digest(session_id))
    if row is None:
        return None
    if not _in_time(row.expires_at, now or utcnow()):
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
