"""Load a synthetic practice into registers over its HTTP API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import httpx

PATIENT_CHUNK = 500
ENTRY_CHUNK = 5000
PATIENTS_PATH = "/v1/practices/{ods}/patients"
RECORDS_PATH = "/v1/practices/{ods}/records"


class LoadError(RuntimeError):
    """The demo data could not be loaded; the message says why in plain words."""


@dataclass
class LoadSummary:
    patients: int = 0
    entries: int = 0
    created: int = 0
    flags: int = 0


def chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class RegistersClient:
    def __init__(self, base_url: str, token: str, timeout: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def check_routes(self) -> None:
        """Fail early, with a clear message, when the registers API does not offer the load routes yet."""
        try:
            spec = self.http.get("/openapi.json").json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LoadError(f"cannot read {self.base_url}/openapi.json: {exc}") from None
        paths = spec.get("paths", {})
        wanted = ((PATIENTS_PATH, "put"), (RECORDS_PATH, "post"))
        missing = [f"{method.upper()} {path}" for path, method in wanted if method not in paths.get(path, {})]
        if missing:
            raise LoadError("the registers API does not offer " + " and ".join(missing) + " yet, so the demo "
                            "practice was not loaded; the services are running without data")

    def send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            r = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise LoadError(f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}") from None
        is_problem = "application/problem+json" in r.headers.get("content-type", "")
        if r.status_code in (404, 405) and not is_problem:
            raise LoadError(f"registers has no route {method} {path} yet (HTTP {r.status_code})")
        if r.status_code >= 400:
            raise LoadError(f"{method} {path} answered HTTP {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else {}  # type: ignore[no-any-return]


def load(client: RegistersClient, ods: str, patients: list[dict[str, Any]], entries: list[dict[str, Any]],
         on_patients: Callable[[int], None] = lambda n: None,
         on_entries: Callable[[int], None] = lambda n: None) -> LoadSummary:
    summary = LoadSummary()
    for batch in chunks(patients, PATIENT_CHUNK):
        client.send("PUT", PATIENTS_PATH.format(ods=ods), {"patients": batch})
        summary.patients += len(batch)
        on_patients(len(batch))
    for batch in chunks(entries, ENTRY_CHUNK):
        result = client.send("POST", RECORDS_PATH.format(ods=ods), {"entries": batch})
        summary.entries += len(batch)
        summary.created += int(result.get("created", 0))
        summary.flags += len(result.get("flags", []))
        on_entries(len(batch))
    return summary
