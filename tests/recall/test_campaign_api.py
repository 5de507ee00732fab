"""Campaigns through recall's API, contacts from registers, messages through the Notify stand-in (SQLite and
PostgreSQL): when invitation codes are recorded, fallback letters, who is never messaged, SMS hours, cost,
the QOF lead's lists, response rates and reception's lookup."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from shared.events.schemas import PatientDeregistered
from shared.identifiers import synthetic_nhs_number
from shared.testing import bearer
from tests.recall.conftest import (
    DM_INVITE,
    OTHER,
    PRACTICE,
    URL,
    Clock,
    StandIn,
    campaign,
    feed,
    gap,
    person,
    run,
    sent_events,
    stack,
)


def coded(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    """(patient, code) of every recall.sent that carries an invitation code for the record."""
    return [(e["patient_id"], c["code"]) for e in events for c in e["invite_codes"]]  # type: ignore[attr-defined]


async def test_codes_recorded_after_the_fact_only_for_patients_still_outstanding(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, _standin = loop
    c = (await client.post(f"{URL}/campaigns", json=campaign(code_at="after"), headers=h)).json()
    assert c["code_at"] == "after"
    assert (await run(client, h, c["id"]))["sent"] == 3
    sent = await sent_events(client)
    assert len(sent) == 3 and coded(sent) == []  # sent without codes: nothing written into the record yet
    await feed(client, gap(pids[1], "DM020", "DM_REG", open_=False))  # pids[1] has had the review since

    clock.at += timedelta(days=3)
    r = await client.post(f"{URL}/campaigns/{c['id']}/record-codes", headers=h)
    assert r.json() == {"recorded": 2}
    after = (await sent_events(client))[3:]
    assert sorted(coded(after)) == sorted([(pids[0], DM_INVITE), (pids[2], DM_INVITE)])
    # dated when the invitation went, not when the codes were recorded
    assert {e["sent_at"][:10] for e in after} == {"2026-04-01"}  # type: ignore[index]
    assert (await client.post(f"{URL}/campaigns/{c['id']}/record-codes", headers=h)).json() == {"recorded": 0}


async def test_fallback_letter_after_a_failed_sms_records_one_invitation_per_stage(  # type: ignore[no-untyped-def]
    tmp_path: Path, database_url: str, standin: StandIn, clock: Clock
) -> None:
    # The stand-in fails numbers ending 0002 permanently, as Notify's test numbers do.
    people = [person(1, mobile="07700900002", address="2 Low Road, Leeds", postcode="LS2 2BB")]
    async with stack(tmp_path, database_url, standin, clock, people) as st:
        client, h, (pid,) = st.client, st.headers, st.pids
        c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
        assert (await run(client, h, c["id"]))["channels"] == {"sms": 1}
        (sms,) = standin.log()
        token = {"Authorization": f"Bearer {st.settings.notify_callback_token.get_secret_value()}"}
        r = await client.post("/v1/notify/receipts", headers=token, json={
            "id": sms["id"], "reference": sms["reference"], "status": "permanent-failure",
            "notification_type": "sms"})
        assert r.json() == {"matched": True}
        assert (await run(client, h, c["id"]))["channels"] == {"letter": 1}  # the fallback, same stage
        assert [e["type"] for e in standin.log()] == ["sms", "letter"]
        assert coded(await sent_events(client)) == [(pid, DM_INVITE)]  # the letter adds no second code

        clock.at += timedelta(days=7)
        assert (await run(client, h, c["id"], stage=2))["sent"] == 1
        assert coded(await sent_events(client)) == [(pid, DM_INVITE), (pid, DM_INVITE)]  # one per stage

        found = (await client.get(f"{URL}/lookup", params={"nhs_number": synthetic_nhs_number(1)},
                                  headers=h)).json()
        (p,) = found["patients"]
        assert [(m["stage"], m["channel"], m["status"]) for m in p["messages"]] == [
            (1, "sms", "failed"), (1, "letter", "sent"), (2, "sms", "sent")]
        assert p["messages"][0]["delivery_status"] == "permanent-failure"


async def test_sms_refused_by_notify_falls_back_to_a_letter_coded_once(  # type: ignore[no-untyped-def]
    tmp_path: Path, database_url: str, standin: StandIn, clock: Clock
) -> None:
    # A landline in the mobile field: Notify answers 400 "phone_number Not a UK mobile number".
    people = [person(1, mobile="0113 496 0000", address="3 Mill Lane, Leeds", postcode="LS3 3CC")]
    async with stack(tmp_path, database_url, standin, clock, people) as st:
        client, h, (pid,) = st.client, st.headers, st.pids
        c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
        first = await run(client, h, c["id"])
        assert first["failed"] == 1 and first["sent"] == 0
        assert coded(await sent_events(client)) == []  # nothing went: nothing for the record
        assert (await run(client, h, c["id"]))["channels"] == {"letter": 1}
        assert [e["type"] for e in standin.log()] == ["letter"]
        assert coded(await sent_events(client)) == [(pid, DM_INVITE)]
        assert (await run(client, h, c["id"]))["sent"] == 0  # and no further letter
        msgs = (await client.get(f"{URL}/lookup", params={"nhs_number": synthetic_nhs_number(1)},
                                 headers=h)).json()["patients"][0]["messages"]
        assert [(m["channel"], m["status"]) for m in msgs][-1] == ("letter", "sent")
        assert any("Not a UK mobile number" in (m["reason"] or "") for m in msgs)


async def test_never_messages_opted_out_deregistered_or_deceased_patients(loop) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    assert c["plan"]["planned"] == 4  # pids[3] died before the year began: never planned
    r = await client.put(f"{URL}/patients/{pids[0]}", json={"opted_out": True}, headers=h)
    assert r.status_code == 200, r.text
    await feed(client, PatientDeregistered(practice_ods=PRACTICE, patient_id=pids[1],
                                           date_of_birth=date(1960, 4, 20), sex="female",
                                           registered_on=date(2010, 1, 1), deregistered_on=date(2026, 3, 31)))
    result = await run(client, h, c["id"])
    assert result["sent"] == 1 and result["channels"] == {"letter": 1}
    assert {e["reference"].split(":")[1] for e in standin.log()} == {pids[2]}
    counts = (await client.get(f"{URL}/campaigns/{c['id']}", headers=h)).json()["invitations"]
    assert counts == {"1:sent": 1, "1:skipped": 1, "1:stopped": 2}


async def test_two_runs_at_once_send_each_message_once(loop) -> None:  # type: ignore[no-untyped-def]
    client, h, _pids, standin = loop
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    a, b = await asyncio.gather(run(client, h, c["id"]), run(client, h, c["id"]))
    assert a["sent"] + b["sent"] == 3  # type: ignore[operator]
    refs = [e["reference"] for e in standin.log()]
    assert len(refs) == 3 and len(set(refs)) == 3


async def test_no_sms_outside_hours_in_uk_time_across_the_clock_change(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, _pids, standin = loop
    # Saturday 24 October 2026, 19:30 UTC = 20:30 BST: after the 08:00-20:00 hours
    clock.at = datetime(2026, 10, 24, 19, 30, tzinfo=UTC)
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    assert (await client.get(f"{URL}/campaigns/{c['id']}/preview", headers=h)).json()["sms_allowed_now"] is False
    first = await run(client, h, c["id"])
    assert first["deferred_sms"] == 1 and first["channels"] == {"email": 1, "letter": 1}
    # Sunday 25 October, clocks back to GMT: 19:30 UTC = 19:30 GMT, inside the hours
    clock.at = datetime(2026, 10, 25, 19, 30, tzinfo=UTC)
    assert (await client.get(f"{URL}/campaigns/{c['id']}/preview", headers=h)).json()["sms_allowed_now"] is True
    assert (await run(client, h, c["id"]))["channels"] == {"sms": 1}
    assert sorted(e["type"] for e in standin.log()) == ["email", "letter", "sms"]


async def test_sms_fragments_and_cost_before_sending(  # type: ignore[no-untyped-def]
    tmp_path: Path, database_url: str, standin: StandIn, clock: Clock
) -> None:
    # "Dear ((name)), your annual review at ((practice)) is due in ((month)). Please call us to book.":
    # 84 GSM characters for Pat1 (one fragment); "â" is not in the GSM alphabet, so Siân's text is Unicode,
    # 84 characters over 70: two fragments of 67.
    sian = {**person(2, mobile="07700900022"), "given_name": "Siân"}
    people = [person(1, mobile="07700900011"), sian]
    async with stack(tmp_path, database_url, standin, clock, people) as st:
        c = (await st.client.post(f"{URL}/campaigns", json=campaign(), headers=st.headers)).json()
        pre = (await st.client.get(f"{URL}/campaigns/{c['id']}/preview", headers=st.headers)).json()
        assert pre["year"] == "2026-27" and pre["channels"] == {"sms": 2}
        assert pre["sms_fragments"] == 3
        assert pre["sms_cost_pence"] == 7.92  # 3 x 2.64p (QOF_SMS_FRAGMENT_PENCE)
        assert standin.log() == []  # a preview sends nothing


async def test_lists_invited_once_invited_twice_and_last_years_pcas(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, _standin = loop
    clock.at = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)  # QOF year 2025/26, with the patients' gaps of that year
    await feed(client, *[gap(pid, "DM020", "DM_REG", ruleset="qof-2025-26") for pid in pids])
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    assert (await run(client, h, c["id"]))["sent"] == 4  # pids[3] dies on 1 March 2026: alive in February
    alive = sorted([pids[0], pids[2]])

    async def listed(name: str) -> tuple[str, list[str]]:
        body = (await client.get(f"{URL}/lists/{name}", headers=h)).json()
        return body["year"], sorted(body["patients"])

    await feed(client, gap(pids[1], "DM020", "DM_REG", open_=False, ruleset="qof-2025-26"))
    # invited once and still outstanding: a second invitation would allow the PCA
    assert await listed("invited-once") == ("2025-26", sorted([*alive, pids[3]]))
    clock.at += timedelta(days=7)
    assert (await run(client, h, c["id"], stage=2))["sent"] == 3
    assert await listed("invited-once") == ("2025-26", [])
    assert await listed("invited-twice-outstanding") == ("2025-26", sorted([*alive, pids[3]]))

    clock.at = datetime(2026, 4, 10, 10, 0, tzinfo=UTC)  # a new QOF year: last year's PCAs are to re-check
    assert await listed("pca-last-year") == ("2025-26", alive)  # the patient who has died since is not
    assert await listed("invited-twice-outstanding") == ("2026-27", [])


async def test_response_rates_per_channel_and_cohort(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    await run(client, h, c["id"])
    await feed(client, gap(pids[1], "DM020", "DM_REG", open_=False))  # the emailed patient had the review
    await client.put(f"{URL}/patients/{pids[2]}", json={"booked_on": "2026-04-20"}, headers=h)  # letter: booked
    body = (await client.get(f"{URL}/responses", headers=h)).json()
    assert body["year"] == "2026-27"
    assert {(r["channel"], r["cohort"]): (r["messages"], r["responded"], r["rate"]) for r in body["rates"]} == {
        ("sms", "general"): (1, 0, 0.0), ("email", "general"): (1, 1, 1.0), ("letter", "general"): (1, 1, 1.0)}
    # a week on, only the patient who neither had the review nor booked gets the second invitation
    clock.at += timedelta(days=7)
    assert (await run(client, h, c["id"], stage=2))["sent"] == 1
    assert [e["reference"].split(":")[1:3] for e in standin.log()][-1] == [pids[0], "2"]


async def test_reception_lookup_by_name_or_nhs_number(loop, recall_cfg) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    await run(client, h, c["id"])
    by_name = (await client.get(f"{URL}/lookup", params={"name": "pat3"}, headers=h)).json()
    (p,) = by_name["patients"]
    assert (p["patient_id"], p["given_name"], p["nhs_number"]) == (pids[2], "Pat3", synthetic_nhs_number(3))
    (m,) = p["messages"]
    assert (m["stage"], m["channel"], m["delivery_status"]) == (1, "letter", "created")
    assert m["sent_at"].startswith("2026-04-01")
    (letter,) = [e for e in standin.log() if e["type"] == "letter"]
    token = {"Authorization": f"Bearer {recall_cfg.notify_callback_token.get_secret_value()}"}
    await client.post("/v1/notify/receipts", headers=token, json={"id": letter["id"], "status": "delivered"})
    by_number = (await client.get(f"{URL}/lookup", params={"nhs_number": synthetic_nhs_number(3)},
                                  headers=h)).json()
    assert [m["delivery_status"] for m in by_number["patients"][0]["messages"]] == ["delivered"]
    nobody = await client.get(f"{URL}/lookup", headers=h)
    assert nobody.status_code == 422 and nobody.headers["content-type"] == "application/problem+json"


async def test_bad_input_is_a_problem_and_sends_nothing(loop, recall_cfg) -> None:  # type: ignore[no-untyped-def]
    client, h, _pids, standin = loop
    bad = {"clinics": [{"name": "diabetes", "registers": ["DM_REG"], "capacity": {"4": -3}}]}
    r = await client.put(f"{URL}/clinics", json=bad, headers=h)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert any("capacity" in e["field"] for e in r.json()["errors"])
    # the clinics declared before stand: the plan still has 50 slots in April
    plan = (await client.post(f"{URL}/plan", json={"strategy": "asap"}, headers=h)).json()
    assert {(m["month"], m["capacity"]) for m in plan["load"]} >= {("2026-04-01", 50)}
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    r = await client.post(f"{URL}/campaigns/{c['id']}/runs", params={"stage": 3, "wait": "true"}, headers=h)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    # another practice's path does not reach this practice's campaign, even for a user of both
    both = bearer(recall_cfg, scopes=["recall:read", "recall:write"], practices=[PRACTICE, OTHER])
    r = await client.post(f"/v1/practices/{OTHER}/recall/campaigns/{c['id']}/runs?wait=true", headers=both)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert standin.log() == []


async def test_own_cohort_is_listed_apart_and_never_bulk_messaged(loop) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    r = await client.put(f"{URL}/patients/{pids[0]}", json={"cohort": "housebound"}, headers=h)
    assert r.status_code == 200, r.text
    await feed(client, gap(pids[2], "LD004", "LD_REG"))  # on the learning disability register
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    assert sorted((v["patient_id"], v["cohort"]) for v in c["plan"]["vulnerable"]) == sorted(
        [(pids[0], "housebound"), (pids[2], "learning-disability")])
    assert c["plan"]["planned"] == 2  # pids[1] and pids[4] (no contact details); pids[3] has died
    await run(client, h, c["id"])
    assert {e["reference"].split(":")[1] for e in standin.log()} == {pids[1]}


async def test_run_cap_sends_those_worth_most_first(loop) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    await feed(client, gap(pids[2], "DM036", "DM_REG"))  # a second review due, worth more in all
    c = (await client.post(f"{URL}/campaigns", headers=h,
                           json=campaign(run_cap=1, values={"DM020": 20.0, "DM036": 15.0}))).json()
    assert (await run(client, h, c["id"]))["sent"] == 1
    assert [e["reference"].split(":")[1] for e in standin.log()] == [pids[2]]
    # each next run sends the next one; the patient with no contact details is skipped, not counted in the cap
    runs = [await run(client, h, c["id"]) for _ in range(3)]
    assert [r["sent"] for r in runs] == [1, 1, 0]
    assert sum(sum(r["skipped"].values()) for r in runs) == 1  # type: ignore[attr-defined, misc]
    assert len(standin.log()) == 3
