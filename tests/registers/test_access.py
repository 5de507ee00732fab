"""Every request is authenticated, and a practice's token reaches that practice only."""

from __future__ import annotations

from datetime import date, timedelta

from shared.testing import bearer
from tests.registers.helpers import OTHER, PRACTICE, code, entry, patient, registers_app, settings


async def test_practice_isolation_and_authentication(database_url: str) -> None:
    async with registers_app(database_url) as (app, client, headers):
        cfg = app.state.settings
        other = bearer(cfg, scopes=["records:read", "records:write"], practices=[OTHER])
        ids = (
            await client.put(
                f"/v1/practices/{PRACTICE}/patients", json={"patients": [patient(1)]}, headers=headers
            )
        ).json()["ids"]
        pid = next(iter(ids.values()))
        a = f"/v1/practices/{PRACTICE}"
        # Practice B's token on practice A's data: refused for reads and writes.
        for method, path, body in [
            ("GET", f"{a}/patients/{pid}", None),
            ("GET", f"{a}/registers", None),
            ("GET", f"{a}/quality", None),
            ("GET", f"{a}/patients", None),
            ("PUT", f"{a}/patients", {"patients": [patient(2)]}),
            ("POST", f"{a}/records", {"entries": [entry("e", 1, code("DM_COD"), date(2024, 1, 1))]}),
        ]:
            r = await client.request(method, path, json=body, headers=other)
            assert r.status_code == 403, (method, path)
            assert r.headers["content-type"] == "application/problem+json"
            unauth = await client.request(method, path, json=body)
            assert unauth.status_code == 401, (method, path)
        # Practice B cannot see A's patient through its own practice path either.
        r = await client.get(f"/v1/practices/{OTHER}/patients/{pid}", headers=other)
        assert r.status_code == 404
        # Scope matters: a read-only token cannot write.
        reader = bearer(cfg, scopes=["records:read"], practices=[PRACTICE])
        r = await client.put(f"{a}/patients", json={"patients": [patient(3)]}, headers=reader)
        assert r.status_code == 403
        # Expired and forged tokens are refused.
        expired = bearer(cfg, scopes=["records:read"], practices=[PRACTICE], ttl=timedelta(seconds=-5))
        assert (await client.get(f"{a}/registers", headers=expired)).status_code == 401
        forged = bearer(
            settings(database_url, jwt_secret="another-key-entirely-000000000000000000"),
            scopes=["records:read"],
            practices=[PRACTICE],
        )
        assert (await client.get(f"{a}/registers", headers=forged)).status_code == 401
        # Health endpoints stay open for orchestration.
        assert (await client.get("/healthz")).status_code == 200


async def test_identities_of_a_page_of_ids_come_from_the_practice_only(sqlite_url: str) -> None:
    async with registers_app(sqlite_url) as (app, client, headers):
        cfg = app.state.settings
        a, b = f"/v1/practices/{PRACTICE}/patients", f"/v1/practices/{OTHER}/patients"
        mine = (await client.put(a, json={"patients": [patient(1), patient(2), patient(3)]}, headers=headers)).json()
        other_headers = bearer(cfg, scopes=["records:read", "records:write"], practices=[OTHER])
        theirs = (await client.put(b, json={"patients": [patient(4)]}, headers=other_headers)).json()
        wanted = [*list(mine["ids"].values())[:2], *theirs["ids"].values()]
        r = await client.get(a, params=[("id", pid) for pid in wanted], headers=headers)
        assert r.status_code == 200, r.text
        found = {p["id"]: p["nhs_number"] for p in r.json()["items"]}
        by_id = {v: k for k, v in mine["ids"].items()}
        # the two of this practice, with their NHS numbers; the other practice's patient is not there
        assert found == {pid: by_id[pid] for pid in wanted[:2]}
        too_many = await client.get(a, params=[("id", str(i)) for i in range(1001)], headers=headers)
        assert too_many.status_code == 422
