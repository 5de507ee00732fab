"""Sending through notifications-python-client to the Notify stand-in, with contacts read from registers."""

from __future__ import annotations

from datetime import timedelta

from shared.identifiers import synthetic_nhs_number
from tests.recall.conftest import OTHER, URL, Clock, campaign, feed, gap


async def test_bad_campaigns_are_problems_and_send_nothing(loop) -> None:  # type: ignore[no-untyped-def]
    client, h, _pids, standin = loop
    bad = [campaign(templates={"sms": "00000000-0000-4000-8000-000000000000"}),
           campaign(practice_ods=OTHER),
           campaign(invite_codes={"DM_REG": "185756006X"})]
    for body in bad:
        r = await client.post(f"{URL}/campaigns", json=body, headers=h)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] in ("templates.sms", "practice_ods", "invite_codes.DM_REG")
    assert (await client.get(f"{URL}/campaigns", headers=h)).json() == []
    assert standin.log() == []


async def test_first_and_second_invitation_by_channel_once_each(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    assert c["plan"]["planned"] == 4  # the deceased patient is never planned

    pre = (await client.get(f"{URL}/campaigns/{c['id']}/preview", headers=h)).json()
    assert pre["channels"] == {"sms": 1, "email": 1, "letter": 1, "none": 1}
    assert pre["sms_fragments"] == 1 and pre["sms_cost_pence"] > 0

    run = (await client.post(f"{URL}/campaigns/{c['id']}/runs?wait=true", headers=h)).json()
    assert run["sent"] == 3 and run["channels"] == {"sms": 1, "email": 1, "letter": 1}
    assert run["skipped"] == {"no usable channel": 1}
    again = (await client.post(f"{URL}/campaigns/{c['id']}/runs?wait=true", headers=h)).json()
    assert again["sent"] == 0
    log = standin.log()
    assert sorted(e["type"] for e in log) == ["email", "letter", "sms"]
    assert len({e["reference"] for e in log}) == 3

    # QOF: "at least 7 days apart" — six days on, nothing is due; seven days on, the second moves them into a PCA
    clock.at += timedelta(days=6)
    assert (await client.get(f"{URL}/campaigns/{c['id']}/preview?stage=2", headers=h)).json()["invitations"] == 0
    clock.at += timedelta(days=1)
    await feed(client, gap(pids[1], "DM020", "DM_REG", open_=False))  # review coded in between
    pre2 = (await client.get(f"{URL}/campaigns/{c['id']}/preview?stage=2", headers=h)).json()
    assert sorted(pre2["moves_into_pca"]) == sorted([pids[0], pids[2]])
    run2 = (await client.post(f"{URL}/campaigns/{c['id']}/runs?stage=2&wait=true", headers=h)).json()
    assert run2["sent"] == 2
    twice = (await client.get(f"{URL}/lists/invited-twice-outstanding", headers=h)).json()
    assert twice["year"] == "2026-27" and sorted(twice["patients"]) == sorted([pids[0], pids[2]])

    found = (await client.get(f"{URL}/lookup", params={"nhs_number": synthetic_nhs_number(1)}, headers=h)).json()
    (p,) = found["patients"]
    assert [(m["stage"], m["channel"]) for m in p["messages"]] == [(1, "sms"), (2, "sms")]
    assert len(standin.log()) == 5


async def test_sms_outside_hours_waits_and_failed_sms_falls_back_to_letter(  # type: ignore[no-untyped-def]
    loop, clock: Clock
) -> None:
    client, h, _pids, standin = loop
    clock.at = clock.at.replace(hour=21)
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    run = (await client.post(f"{URL}/campaigns/{c['id']}/runs?wait=true", headers=h)).json()
    assert run["deferred_sms"] == 1 and "sms" not in run["channels"]
    assert all(e["type"] != "sms" for e in standin.log())
    # a receipt needs Notify's bearer token
    assert (await client.post("/v1/notify/receipts", json={"id": "x", "status": "delivered"})).status_code == 401
