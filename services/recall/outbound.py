"""What recall calls: GOV.UK Notify (through ``notifications-python-client``) and registers' contact route."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import httpx
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from services.recall.domain.channels import Contact
from services.recall.settings import RecallSettings
from shared.auth import mint_token

CHUNK = 200
# httpx logs every request URL at INFO; a lookup by name would put the name in the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)


class NotifyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Notify:
    """Notify's blocking client, run in worker threads."""

    def __init__(self, settings: RecallSettings) -> None:
        self.client = NotificationsAPIClient(
            settings.notify_api_key.get_secret_value(), base_url=settings.notify_base_url, timeout=15
        )

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)  # type: ignore[no-any-return]
        except APIError as exc:
            raise NotifyError(exc.status_code, str(exc.message)) from None

    async def template(self, template_id: str) -> dict[str, Any] | None:
        try:
            return await self._call(self.client.get_template, template_id)
        except NotifyError as exc:
            if exc.status in (400, 404):
                return None
            raise

    async def send(
        self, channel: str, to: str, template_id: str, values: dict[str, str], ref: str
    ) -> tuple[str, str]:
        """Notify's id for the message and the body it rendered."""
        if channel == "sms":
            r = await self._call(self.client.send_sms_notification, to, template_id, values, ref)
        elif channel == "email":
            r = await self._call(self.client.send_email_notification, to, template_id, values, ref)
        else:
            r = await self._call(self.client.send_letter_notification, template_id, values, ref)
        return str(r["id"]), str((r.get("content") or {}).get("body", ""))

    async def sent_with_reference(self, ref: str) -> dict[str, Any] | None:
        """The notification Notify accepted with this reference, if any (how a restarted run avoids resending)."""
        r = await self._call(self.client.get_all_notifications, reference=ref)
        items = r.get("notifications") or []
        return items[0] if items else None


class Person:
    def __init__(self, raw: dict[str, Any]) -> None:
        c = raw["contact"]
        self.id: str = raw["id"]
        self.nhs_number: str = raw["nhs_number"]
        self.given_name: str | None = raw.get("given_name")
        self.family_name: str | None = raw.get("family_name")
        self.contact = Contact(
            mobile=c.get("mobile"),
            email=c.get("email"),
            address=c.get("address"),
            allow_sms=c.get("allow_sms", True),
            allow_email=c.get("allow_email", True),
            allow_letter=c.get("allow_letter", True),
            preferred=c.get("preferred_channel"),
        )
        self.postcode: str | None = c.get("postcode")


class Registers:
    """Registers' ``/contacts`` route with a short-lived ``patients:contact`` token for one practice."""

    def __init__(self, settings: RecallSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport

    def _client(self, practice: str) -> httpx.AsyncClient:
        token = mint_token(self.settings, subject="recall", scopes=["patients:contact"], practices=[practice],
                           ttl=timedelta(minutes=5))
        return httpx.AsyncClient(base_url=self.settings.registers_url, transport=self.transport, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})

    async def people(self, practice: str, **query: Any) -> list[Person]:
        async with self._client(practice) as client:
            r = await client.get(f"/v1/practices/{practice}/contacts", params=query)
            r.raise_for_status()
            return [Person(p) for p in r.json()["items"]]

    async def by_id(self, practice: str, ids: list[str]) -> dict[str, Person]:
        out: dict[str, Person] = {}
        for i in range(0, len(ids), CHUNK):
            for p in await self.people(practice, id=ids[i : i + CHUNK]):
                out[p.id] = p
        return out
