from datetime import date

from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app


async def test_batch_then_register(sqlite_url: str) -> None:
    async with registers_app(sqlite_url) as (_app, client, headers):
        r = await client.put(
            f"/v1/practices/{PRACTICE}/patients", json={"patients": [patient(1)]}, headers=headers
        )
        assert r.status_code == 200, r.text
        r = await client.post(
            f"/v1/practices/{PRACTICE}/records",
            json={"entries": [entry("e1", 1, code("DM_COD"), date(2020, 1, 1))]},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1
        r = await client.get(f"/v1/practices/{PRACTICE}/registers", headers=headers)
        sizes = {x["register_id"]: x["size"] for x in r.json()["registers"]}
        assert sizes["DM_REG"] == 1
