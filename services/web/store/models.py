"""The web app's own tables: its local users (embedded stack) and sign-in sessions. No patient data, ever:
identities are read from registers at display time with the user's token and never stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import audit_table
from shared.db import service_metadata, utcnow
from shared.events.outbox import event_tables

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class User(Base):
    """A local user: a practice's staff (one practice) or an ICS analyst (one ICB, aggregates only)."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # practice | ics
    practice_ods: Mapped[str | None] = mapped_column(String(10))
    icb_ods: Mapped[str | None] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(300))
    # The identity provider's value of QOF_OIDC_USER_CLAIM (its ``sub`` or e-mail) for this user, if linked.
    oidc_identity: Mapped[str | None] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Session(Base):
    """A signed-in browser: the cookie carries the id; only its SHA-256 is stored."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OidcPending(Base):
    """A sign-in sent to the identity provider and not yet back: its state (also in the browser's cookie),
    nonce and PKCE verifier. Used once, then deleted."""

    __tablename__ = "oidc_pending"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(200))
    next_url: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


events = event_tables(metadata)  # the web app publishes no events; the shape every service has
audit_log = audit_table(metadata)
