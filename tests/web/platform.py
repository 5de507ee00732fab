"""The whole platform with two practices of one ICB loaded, for the web app's tests (one start per module)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from cli.loader import RegistersClient, load
from cli.stack import Stack
from shared.auth import mint_token
from shared.settings import ServiceSettings
from shared.synthetic import SyntheticPractice
from tests.postman.conftest import Platform, start_platform

PRACTICE_A = "A81001"  # the demo practice
PRACTICE_B = "A81002"  # another practice of the same ICB (QHM)
ICB = "QHM"
PASSWORD = "web-test-password-1"


@dataclass(frozen=True)
class Loaded:
    platform: Platform
    patients: dict[str, list[dict[str, object]]]  # practice -> the patients loaded

    @property
    def web(self) -> str:
        return self.platform.urls["web"]


def token(practice: str) -> str:
    return mint_token(ServiceSettings(), subject="web-test-loader", practices=[practice], ttl=timedelta(minutes=30),
                      scopes=["records:read", "records:write", "indicators:read"])


def load_practice(registers: str, ods: str, patients: int, seed: int, first_seq: int) -> list[dict[str, object]]:
    gen = SyntheticPractice(ods, patients, seed=seed, history="recent", first_seq=first_seq)
    people, entries = [], []
    for record in gen:
        people.append(record.patient)
        entries.extend(record.entries)
    client = RegistersClient(registers, token(ods))
    try:
        load(client, ods, people, entries)
    finally:
        client.close()
    return people


def wait_scored(indicators: str, ods: str, timeout: float = 120.0) -> None:
    """Until the indicators service has consumed the practice's events and scored them."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {token(ods)}"}
    last = ""
    while time.monotonic() < deadline:
        r = httpx.get(f"{indicators}/v1/practices/{ods}/achievement", headers=headers, timeout=30)
        if r.status_code == 200:
            body = r.json()
            if body["list_size"] > 0 and not body["freshness"]["provisional"]:
                return
            last = f"list {body['list_size']}, provisional {body['freshness']['provisional']}"
        time.sleep(1)
    raise AssertionError(f"{ods} not scored after {timeout:.0f}s ({last})")


def start_loaded(data_dir: Path, size_a: int = 150, size_b: int = 80) -> tuple[Stack, Loaded]:
    stack, platform = start_platform(data_dir, {"QOF_DEMO_PASSWORD": PASSWORD})
    try:
        reg, ind = platform.urls["registers"], platform.urls["indicators"]
        people = {PRACTICE_A: load_practice(reg, PRACTICE_A, size_a, 1, 1),
                  PRACTICE_B: load_practice(reg, PRACTICE_B, size_b, 2, 50_001)}
        for ods in people:
            wait_scored(ind, ods)
    except BaseException:
        stack.stop()
        raise
    return stack, Loaded(platform, people)
