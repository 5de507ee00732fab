"""The QOF year of a gap, the run cap counting messages sent, and Notify answering 429 or 500.

Issue: "Gaps come from patient.gap.changed for the practice's current QOF year"; the planner "caps each run";
"Notify's rate limit (3,000 requests a minute) respected; a retried or restarted run never sends a message
twice". Notify's API documentation: a rate-limited key gets 429 ``RateLimitError`` ("Exceeded rate limit for
key type LIVE of 3000 requests per 60 seconds"); a failure of Notify's own is 500 ``Exception``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.recall.conftest import URL, Clock, campaign, feed, gap, run


def patients(log: list[dict[str, str]]) -> list[str]:
    return sorted(e["reference"].split(":")[1] for e in log)


async def test_only_gaps_of_the_current_qof_year_are_invited_for(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop  # clock: 1 April 2026, QOF 2026/27; pids[3] has died
    # pids[0]: this year's review is done; last year's gap was left open when 2025/26 closed
    await feed(client, gap(pids[0], "DM020", "DM_REG", open_=False),
               gap(pids[0], "DM020", "DM_REG", ruleset="qof-2025-26"))
    # pids[2]: last year's gap closing says nothing of this year's, still open
    await feed(client, gap(pids[2], "DM020", "DM_REG", open_=False, ruleset="qof-2025-26"))
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    assert c["plan"]["year"] == "2026-27" and c["plan"]["planned"] == 3  # pids 1, 2 and 4 (no contact)
    first = await run(client, h, c["id"])
    assert first["sent"] == 2 and first["channels"] == {"email": 1, "letter": 1}
    assert patients(standin.log()) == sorted([pids[1], pids[2]])

    # 2026/27 has closed with its second invitations not sent: a gap of a closed year invites no one, even for
    # a patient with a review due in the new year
    clock.at = datetime(2027, 4, 8, 10, 0, tzinfo=UTC)
    await feed(client, gap(pids[1], "DM020", "DM_REG", ruleset="qof-2027-28"))
    second = await run(client, h, c["id"], stage=2)
    assert second["sent"] == 0 and second["stopped"] == 1
    assert len(standin.log()) == 2
    plan = (await client.post(f"{URL}/plan", json={"strategy": "asap"}, headers=h)).json()
    assert plan["year"] == "2027-28" and plan["planned"] == 1  # pids[1] alone has a 2027/28 gap


async def test_run_cap_counts_messages_sent_not_skipped_or_deferred(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    clock.at = clock.at.replace(hour=21)  # 22:00 BST: no SMS now
    await feed(client, gap(pids[4], "DM036", "DM_REG"), gap(pids[0], "DM034", "DM_REG"))
    body = campaign(run_cap=2, values={"DM036": 50.0, "DM034": 30.0, "DM020": 1.0})
    c = (await client.post(f"{URL}/campaigns", json=body, headers=h)).json()
    # worth most: pids[4] (no contact details: skipped), then pids[0] (SMS: deferred); two messages still go
    pre = (await client.get(f"{URL}/campaigns/{c['id']}/preview", headers=h)).json()
    assert pre["invitations"] == 2 and pre["channels"] == {"none": 1, "sms": 1, "email": 1, "letter": 1}
    assert pre["sms_fragments"] == 0  # the SMS waits for the hours: nothing to pay for in this run
    r = await run(client, h, c["id"])
    assert r["skipped"] == {"no usable channel": 1} and r["deferred_sms"] == 1
    assert r["sent"] == 2 and patients(standin.log()) == sorted([pids[1], pids[2]])


async def test_notify_busy_run_backs_off_and_next_run_sends_each_once(loop, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, h, pids, standin = loop
    c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
    try:
        for stage, status in ((1, 429), (2, 500)):
            if stage == 2:
                clock.at += timedelta(days=7)
            standin.refuse(status, 1)
            busy = await run(client, h, c["id"], stage)
            assert busy["retry_later"] == 1 and busy["failed"] == 0  # left for the next run, not a failure
            assert len(standin.log()) == (stage - 1) * 3 + busy["sent"]  # type: ignore[operator]
            again = await run(client, h, c["id"], stage)
            assert busy["sent"] + again["sent"] == 3 and again["retry_later"] == 0  # type: ignore[operator]
            assert (await run(client, h, c["id"], stage))["sent"] == 0
    finally:
        standin.refuse(429, 0)
    log = standin.log()
    per_stage = Counter((e["reference"].split(":")[1], e["reference"].split(":")[2]) for e in log)
    assert set(per_stage.values()) == {1} and len(per_stage) == 6  # three patients, two stages, once each
    assert {p for p, _ in per_stage} == {pids[0], pids[1], pids[2]}
