"""Nothing identifying reaches the logs or the metrics, whatever the requests carried."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from shared.identifiers import synthetic_nhs_number
from shared.logging import JsonFormatter, redact
from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app


def test_redact_masks_identifiers() -> None:
    text = "nhs 999 000 0115 dob 1960-05-17 mail a.b@example.org tel 07700 900123 at LS1 4AP"
    masked = redact(text)
    for secret in ("999 000 0115", "1960-05-17", "a.b@example.org", "07700 900123", "LS1 4AP"):
        assert secret not in masked
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "patient %s", ("9990000115",), None)
    record.nhs_number = "9990000115"
    record.family_name = "Smith"
    out = json.loads(JsonFormatter().format(record))
    assert out["nhs_number"] == "[redacted]" and "9990000115" not in json.dumps(out)


async def test_requests_leave_no_identifiers_in_logs_or_metrics(sqlite_url: str,
                                                                capfd: pytest.CaptureFixture[str]) -> None:
    person = patient(1, dob=date(1961, 2, 3), given_name="Imogen", family_name="Quayle",
                     contact={"email": "imogen.quayle@example.org", "mobile": "07700 900456",
                              "postcode": "LS1 4AP"})
    nhs = synthetic_nhs_number(1)
    async with registers_app(sqlite_url) as (_app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        assert (await client.put(f"{base}/patients", json={"patients": [person]}, headers=headers)).status_code == 200
        await client.post(f"{base}/records", headers=headers,
                          json={"entries": [entry("ok", 1, code("DM_COD"), date(2020, 1, 1))]})
        # Refused requests echo nothing identifying into logs either.
        await client.post(f"{base}/records", headers=headers,
                          json={"entries": [entry("bad", 1, "123", date(2020, 1, 1))]})
        await client.get(f"{base}/patients", params={"nhs_number": nhs}, headers=headers)
        await client.get(f"{base}/patients", params={"nhs_number": nhs})  # unauthenticated
        metrics = (await client.get("/metrics")).text
    logged = capfd.readouterr().err
    assert logged, "the service logs as JSON on stderr"
    for line in logged.splitlines():
        if line.startswith("{"):
            json.loads(line)
    for secret in (nhs, "Imogen", "Quayle", "1961-02-03", "imogen.quayle@example.org", "900456", "LS1 4AP"):
        assert secret not in logged, secret
        assert secret not in metrics, secret
    assert 'route="/v1/practices/{ods}/records"' in metrics
