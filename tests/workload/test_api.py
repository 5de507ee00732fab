"""The workload API over SQLite and PostgreSQL: logging, isolation, reports, letters, errors, ICB data."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import httpx

from services.workload.settings import WorkloadSettings
from shared.testing import bearer
from tests.workload.conftest import NHS_NUMBER, PRACTICE_A, PRACTICE_B, item

BASE_A = f"/v1/practices/{PRACTICE_A}/workload"
BASE_B = f"/v1/practices/{PRACTICE_B}/workload"


async def test_log_an_item_and_read_it_back(client: httpx.AsyncClient, writer_a: dict[str, str]) -> None:
    r = await client.post(f"{BASE_A}/items", json=item(nhs_number=NHS_NUMBER), headers=writer_a)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["clause"]["key"] == "tests_and_results"
    assert body["nhs_number_recorded"] is True and body["nhs_number"] is None
    assert body["specialty"] == "cardiology" and body["status"] == "logged"
    assert body["cost"] == "8.00"  # 15 minutes of an HCA at 32 pounds an hour

    got = await client.get(f"{BASE_A}/items/{body['id']}", headers=writer_a)
    assert got.json()["nhs_number"] is None
    revealed = await client.get(
        f"{BASE_A}/items/{body['id']}", params={"reveal": "nhs_number"}, headers=writer_a
    )
    assert revealed.json()["nhs_number"] == NHS_NUMBER


async def test_practice_a_token_cannot_see_practice_b(
    client: httpx.AsyncClient,
    writer_a: dict[str, str],
    writer_b: dict[str, str],
    wl_settings: WorkloadSettings,
) -> None:
    b_item = (await client.post(f"{BASE_B}/items", json=item(), headers=writer_b)).json()
    for url in (
        f"{BASE_B}/items",
        f"{BASE_B}/items/{b_item['id']}",
        f"{BASE_B}/reports/summary",
        f"{BASE_B}/reports/summary.csv",
        f"{BASE_B}/escalation",
        f"{BASE_B}/letters/RTD",
    ):
        r = await client.get(url, headers=writer_a)
        assert r.status_code == 403, url
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(f"{BASE_B}/items", json=item(), headers=writer_a)
    assert r.status_code == 403
    # The item id of B is not found through A's own path either.
    r = await client.get(f"{BASE_A}/items/{b_item['id']}", headers=writer_a)
    assert r.status_code == 404
    assert (await client.get(f"{BASE_A}/items", headers=writer_a)).json()["items"] == []
    # No token, wrong scope.
    assert (await client.get(f"{BASE_A}/items")).status_code == 401

    reader_only = bearer(
        wl_settings,
        scopes=["workload:read"],
        practices=[PRACTICE_A],
    )
    assert (await client.post(f"{BASE_A}/items", json=item(), headers=reader_only)).status_code == 403


async def test_bad_input_gets_a_clear_problem(client: httpx.AsyncClient, writer_a: dict[str, str]) -> None:
    future = (date.today() + timedelta(days=2)).isoformat()
    r = await client.post(
        f"{BASE_A}/items",
        headers=writer_a,
        json=item(
            received_on=future,
            provider_ods="!!",
            minutes=0,
            nhs_number="1234567890",
            description="patient 943 476 5919 wants results",
        ),
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"].endswith("/validation")
    fields = {e["field"] for e in problem["errors"]}
    assert {"received_on", "provider_ods", "minutes", "nhs_number", "description"} <= fields
    assert "9434765919" not in r.text and "943 476 5919" not in r.text
    reasons = {e["field"]: e["reason"] for e in problem["errors"]}
    assert "NHS number" in reasons["description"]

    r = await client.post(
        f"{BASE_A}/items",
        headers=writer_a,
        json=item(category="gardening", staff_role="wizard", contract_clause="sc99"),
    )
    assert r.status_code == 422
    reasons = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert "phlebotomy_monitoring" in reasons["category"]
    assert "admin" in reasons["staff_role"]
    assert "discharge_summary" in reasons["contract_clause"]

    r = await client.post(f"{BASE_A}/items", headers=writer_a, json=item(surname="Smith"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "surname"
    r = await client.get(f"{BASE_A}/items", params={"cursor": "nonsense"}, headers=writer_a)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    r = await client.get(f"{BASE_A}/reports/summary", params={"by": "postcode"}, headers=writer_a)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "by"
    r = await client.get(
        f"{BASE_A}/reports/summary", params={"from": "2025-05-01", "to": "2025-04-01"}, headers=writer_a
    )
    assert r.status_code == 422


async def test_quick_capture_is_idempotent_by_client_ref(
    client: httpx.AsyncClient, writer_a: dict[str, str]
) -> None:
    body = {
        "provider_ods": "rtd",
        "category": "discharge_summary_late",
        "client_ref": "emis-task-1",
        "minutes": 5,
        "staff_role": "admin",
    }
    first = await client.post(f"{BASE_A}/quick", json=body, headers=writer_a)
    assert first.status_code == 201, first.text
    assert first.json()["provider_ods"] == "RTD"
    assert first.json()["received_on"] == date.today().isoformat()
    assert first.json()["clause"]["number"] == "SC11.5"
    again = await client.post(f"{BASE_A}/quick", json=body, headers=writer_a)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


async def test_status_flow_and_pagination(client: httpx.AsyncClient, writer_a: dict[str, str]) -> None:
    ids = [
        (await client.post(f"{BASE_A}/items", json=item(minutes=n), headers=writer_a)).json()["id"]
        for n in range(1, 6)
    ]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{BASE_A}/items", params=params, headers=writer_a)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))

    url = f"{BASE_A}/items/{ids[0]}/status"
    r = await client.post(
        url, json={"status": "raised_with_provider", "note": "letter sent"}, headers=writer_a
    )
    assert r.status_code == 200 and r.json()["raised_at"]
    r = await client.post(url, json={"status": "logged"}, headers=writer_a)
    assert r.status_code == 409 and r.json()["type"].endswith("/invalid-transition")
    r = await client.post(url, json={"status": "resolved"}, headers=writer_a)
    assert r.json()["status"] == "resolved"
    listed = (await client.get(f"{BASE_A}/items", params={"status": "resolved"}, headers=writer_a)).json()
    assert [i["id"] for i in listed["items"]] == [ids[0]]


def _csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    fields = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def test_csv_import_is_all_or_nothing(client: httpx.AsyncClient, writer_a: dict[str, str]) -> None:
    good = [
        item(category=c, minutes=10 + i) for i, c in enumerate(["results_to_chase", "fit_note_not_issued"])
    ]
    bad = [*good, item(category="unknown"), item(minutes="ten", nhs_number=NHS_NUMBER)]
    headers = {**writer_a, "content-type": "text/csv"}
    r = await client.post(f"{BASE_A}/imports", content=_csv(bad), headers=headers)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {(e["index"], e["row"], e["field"]) for e in errors} == {(2, 4, "category"), (3, 5, "minutes")}
    assert (await client.get(f"{BASE_A}/items", headers=writer_a)).json()["items"] == []

    r = await client.post(
        f"{BASE_A}/imports", headers=writer_a, files={"file": ("log.csv", _csv(good), "text/csv")}
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2

    r = await client.post(f"{BASE_A}/imports", content=b"date,provider\n2025-01-01,RTD\n", headers=headers)
    assert r.status_code == 422
    assert {"received_on", "date"} <= {e["field"] for e in r.json()["errors"]}
    r = await client.post(
        f"{BASE_A}/imports", content=b"{}", headers={**writer_a, "content-type": "application/json"}
    )
    assert r.status_code == 415


async def test_reports_add_up_to_the_logged_items(
    client: httpx.AsyncClient, writer_a: dict[str, str]
) -> None:
    today = date.today()
    logged = [
        item(provider_ods="RTD", category="phlebotomy_monitoring", staff_role="hca", minutes=15),
        item(provider_ods="RTD", category="phlebotomy_monitoring", staff_role="hca", minutes=10),
        item(
            provider_ods="RTD",
            category="clinic_letter_late",
            staff_role="salaried_gp",
            minutes=30,
            specialty="Dermatology",
        ),
        item(
            provider_ods="RR8",
            provider_name="Leeds Teaching Hospitals NHS Trust",
            category="prescribing_request",
            staff_role="pharmacist",
            minutes=20,
            received_on=(today - timedelta(days=40)).isoformat(),
        ),
        item(
            provider_ods="RR8",
            provider_name="Leeds Teaching Hospitals NHS Trust",
            category="other",
            staff_role=None,
            minutes=None,
        ),
    ]
    for body in logged:
        assert (await client.post(f"{BASE_A}/items", json=body, headers=writer_a)).status_code == 201
    for by in ("provider", "provider,month,category,specialty", "category", "month", "staff_role"):
        r = await client.get(f"{BASE_A}/reports/summary", params={"by": by}, headers=writer_a)
        assert r.status_code == 200, r.text
        report = r.json()
        total = report["total"]
        assert total["items"] == 5 and total["minutes"] == 75 and total["items_without_time"] == 1
        assert sum(g["items"] for g in report["groups"]) == 5
        assert sum(g["minutes"] for g in report["groups"]) == 75
        assert sum(float(g["cost"]) for g in report["groups"]) == float(total["cost"])
        assert sum(p["items"] for p in report["trend"]) == 5
    # 25 min HCA at 32/h + 30 min salaried GP at 130/h + 20 min pharmacist at 60/h
    assert float(total["cost"]) == round(25 * 32 / 60, 2) + 65 + 20
    by_provider = (
        await client.get(f"{BASE_A}/reports/summary", params={"by": "provider"}, headers=writer_a)
    ).json()
    assert {g["key"]["provider"]: g["items"] for g in by_provider["groups"]} == {"RTD": 3, "RR8": 2}
    assert by_provider["labels"]["provider"]["RR8"] == "Leeds Teaching Hospitals NHS Trust"

    r = await client.get(
        f"{BASE_A}/reports/summary.csv", params={"by": "provider,category"}, headers=writer_a
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[-1]["provider"] == "total" and rows[-1]["items"] == "5"
    assert sum(int(x["items"]) for x in rows[:-1]) == 5


async def test_letter_and_escalation(client: httpx.AsyncClient, writer_a: dict[str, str]) -> None:
    for category in ("discharge_summary_late", "no_discharge_medication", "fit_note_not_issued"):
        body = item(category=category, nhs_number=NHS_NUMBER, description="Seen on ward <b>7</b>")
        assert (await client.post(f"{BASE_A}/items", json=body, headers=writer_a)).status_code == 201
    r = await client.get(f"{BASE_A}/letters/RTD", headers=writer_a)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "The Densham Surgery" in html and "SC11.5" in html and "SC11.9" in html
    assert "Discharge summaries" in html and NHS_NUMBER not in html and "<b>7</b>" not in html
    pdf = await client.get(f"{BASE_A}/letters/RTD", params={"format": "pdf"}, headers=writer_a)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await client.get(f"{BASE_A}/letters/RR8", headers=writer_a)).status_code == 404

    raised = await client.post(f"{BASE_A}/letters/RTD/raised", headers=writer_a)
    assert raised.json()["items"] == 3
    listed = (
        await client.get(f"{BASE_A}/items", params={"status": "raised_with_provider"}, headers=writer_a)
    ).json()
    assert len(listed["items"]) == 3

    esc = await client.get(f"{BASE_A}/escalation", headers=writer_a)
    assert esc.status_code == 200 and "NHS North East and North Cumbria" in esc.text and "RTD" in esc.text
    assert NHS_NUMBER not in esc.text
    esc_pdf = await client.get(f"{BASE_A}/escalation", params={"format": "pdf"}, headers=writer_a)
    assert esc_pdf.content.startswith(b"%PDF")


async def test_reference_data_routes(client: httpx.AsyncClient, writer_a: dict[str, str]) -> None:
    cats = (await client.get("/v1/workload/reference/categories", headers=writer_a)).json()
    assert len(cats["categories"]) == 17
    clauses = (
        await client.get("/v1/workload/reference/clauses", params={"year": "2025/26"}, headers=writer_a)
    ).json()
    assert {c["key"] for c in clauses["years"][0]["clauses"]} >= {"discharge_summary", "clinic_letter"}
    assert (
        await client.get("/v1/workload/reference/clauses", params={"year": "1999/00"}, headers=writer_a)
    ).status_code == 404
    rates = (await client.get("/v1/workload/reference/rates", headers=writer_a)).json()
    assert {r["role"] for r in rates["rates"]} == {
        "gp_partner",
        "salaried_gp",
        "practice_nurse",
        "hca",
        "pharmacist",
        "admin",
    }
    assert (await client.get("/v1/workload/reference/rates")).status_code == 401


async def test_icb_aggregate_suppresses_small_numbers(
    client: httpx.AsyncClient,
    writer_a: dict[str, str],
    writer_b: dict[str, str],
    analyst: dict[str, str],
    wl_settings: WorkloadSettings,
) -> None:
    for n in range(12):  # 12 phlebotomy items from RTD across two practices -> shown as 10
        headers, base = (writer_a, BASE_A) if n % 2 else (writer_b, BASE_B)
        assert (await client.post(f"{base}/items", json=item(minutes=30), headers=headers)).status_code == 201
    for _ in range(3):  # 3 items -> suppressed
        await client.post(f"{BASE_A}/items", json=item(category="post_op_care", minutes=20), headers=writer_a)
    r = await client.get(
        "/v1/icbs/QHM/workload/aggregate", params={"by": "provider,category"}, headers=analyst
    )
    assert r.status_code == 200, r.text
    body = r.json()
    groups = {g["key"]["category"]: g for g in body["groups"]}
    assert groups["phlebotomy_monitoring"] == {
        "key": {"provider": "RTD", "category": "phlebotomy_monitoring"},
        "items": 10,
        "hours": 5,
        "cost": 190,
        "suppressed": False,
    }
    assert groups["post_op_care"] == {
        "key": {"provider": "RTD", "category": "post_op_care"},
        "items": None,
        "hours": None,
        "cost": None,
        "suppressed": True,
    }
    assert body["total"]["items"] == 15 and body["practices_in_icb"] > 100
    assert "nhs_number" not in r.text and "description" not in r.text

    other_icb = bearer(wl_settings, scopes=["analytics:read"], icb="QWE")
    assert (await client.get("/v1/icbs/QHM/workload/aggregate", headers=other_icb)).status_code == 403
    assert (await client.get("/v1/icbs/QHM/workload/aggregate", headers=writer_a)).status_code == 403
    assert (await client.get("/v1/icbs/QWE/workload/aggregate", headers=other_icb)).json()["total"][
        "suppressed"
    ] is True
