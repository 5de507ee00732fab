"""Recall counts the invitations already in the record, whoever coded them (SQLite and PostgreSQL).

QOF_RULES.md §4 (PCAs), reason 3: "Patient did not respond to offers of care. Two invitations recorded with the
disease-specific invite cluster (e.g. DMINVITE_COD, HYPINVITE_COD) at least 7 days apart within the year. Since
2019/20 this PCA is automatic once the second invite is coded"; DM020 rule 8 counts DMINVITE1_DAT, "the earliest
invite on or after the quality service start date", and DMINVITE2_DAT, the earliest invite "at least 7 days after
the first invitation". The 2026/27 reference: "adding a disease invite code twice applies a PCA automatically;
recall must make that visible". So a patient the practice already invited once (a letter, coded in the record)
gets the second invitation next, not a first, and not before 7 days after the first; one invited twice is not
invited again; an invitation stopped because no gap is open says what closed it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services.recall.domain.lifecycle import from_record
from shared.events.schemas import PatientGapChanged
from shared.identifiers import synthetic_nhs_number
from tests.recall.conftest import URL, Clock, StandIn, campaign, feed, gap, person, run, stack


def invited(pid: str, *dates: date, indicator: str = "DM020", register: str = "DM_REG") -> PatientGapChanged:
    """An open gap whose record already holds these invitations, as indicators counts them."""
    return gap(pid, indicator, register).model_copy(
        update={"invited_on": list(dates), "invitations_this_year": len(dates)})


def closed(pid: str, closed_as: str, reason: str) -> PatientGapChanged:
    return gap(pid, "DM020", "DM_REG", open_=False).model_copy(update={"closed_as": closed_as, "reason": reason})


def test_the_record_decides_the_stage_and_the_seven_days() -> None:
    once = from_record({"DM_REG": (date(2026, 10, 1),)}, {"DM_REG"})
    assert (once.stage, once.not_before) == (2, date(2026, 10, 8))  # "at least 7 days after the first"
    twice = from_record({"DM_REG": (date(2026, 9, 1), date(2026, 9, 15))}, {"DM_REG"})
    assert not twice.registers and "invited twice" in twice.twice_text()
    # one register invited once, another never: the invitation is a first (the second for DM comes with it)
    mixed = from_record({"DM_REG": (date(2026, 10, 1),)}, {"DM_REG", "HYP_REG"})
    assert (mixed.stage, mixed.registers) == (1, frozenset({"DM_REG", "HYP_REG"}))


async def test_invitations_coded_outside_recall_are_counted(
    tmp_path: Path, database_url: str, standin: StandIn, clock: Clock
) -> None:
    clock.at = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)  # 11:00 BST, in 2026/27
    people = [person(i, mobile=f"0770090000{i}") for i in range(1, 6)]
    async with stack(tmp_path, database_url, standin, clock, people) as st:
        client, h = st.client, st.headers
        never, once, twice, pca_later, other_gap = st.pids
        await feed(client,
                   invited(once, date(2026, 10, 1)),  # a letter the practice sent and coded
                   invited(twice, date(2026, 9, 1), date(2026, 9, 15)),
                   invited(pca_later, date(2026, 10, 1)),
                   invited(other_gap, date(2026, 10, 1)),
                   gap(other_gap, "HYP010", "HYP_REG"))  # a review no clinic of the campaign covers

        pre = (await client.post(f"{URL}/plan", json={"strategy": "asap"}, headers=h)).json()
        assert pre["planned"] == 4 and pre["second_from_record"] == 3
        assert [u["patient_id"] for u in pre["unplanned"]] == [twice]
        assert "invited twice this year already (DM_REG 2026-09-01, 2026-09-15)" in pre["unplanned"][0]["reason"]

        # the lists count them too: "invited-once (a second invitation would allow the PCA)"
        lists = {n: (await client.get(f"{URL}/lists/{n}", headers=h)).json()["patients"]
                 for n in ("invited-once", "invited-twice-outstanding")}
        assert once in lists["invited-once"] and pca_later in lists["invited-once"]
        assert never not in lists["invited-once"] and lists["invited-twice-outstanding"] == [twice]

        c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
        cid = c["id"]
        # the first-invitation preview and run are for the patient never invited only
        assert (await client.get(f"{URL}/campaigns/{cid}/preview", headers=h)).json()["invitations"] == 1
        assert (await run(client, h, cid))["sent"] == 1
        # the seconds wait for 7 days after the first in the record (1 October): none before 8 October
        assert (await client.get(f"{URL}/campaigns/{cid}/preview?stage=2", headers=h)).json()["invitations"] == 0

        # the PCA closes one gap; another's review is done while a gap on another register stays open
        await feed(client, closed(pca_later, "pca", "Reject patients who chose not to receive diabetes care "
                                                    "(DMPCADEC)"),
                   closed(other_gap, "numerator", "Select patients whose latest IFCC-HbA1c is 58 or less"))

        clock.at += timedelta(days=3)  # 8 October
        pre2 = (await client.get(f"{URL}/campaigns/{cid}/preview?stage=2", headers=h)).json()
        assert pre2["moves_into_pca"] == [once]  # the never-invited patient's first went only 3 days ago
        run2 = await run(client, h, cid, stage=2)
        assert run2["sent"] == 1 and run2["stopped"] == 1
        sent = [e["reference"].split(":")[1:3] for e in standin.log()]
        assert sorted(sent) == sorted([[never, "1"], [once, "2"]])

        async def reasons(i: int) -> list[str | None]:
            found = (await client.get(f"{URL}/lookup", params={"nhs_number": synthetic_nhs_number(i)},
                                      headers=h)).json()
            return [m["reason"] for p in found["patients"] for m in p["messages"] if m["status"] == "stopped"]

        # stopped with the real reason, not "review coded": a PCA, a review done
        assert await reasons(4) == ["personalised care adjustment: DM020, Reject patients who chose not to "
                                    "receive diabetes care (DMPCADEC)"]
        assert await reasons(5) == ["review done: DM020, Select patients whose latest IFCC-HbA1c is 58 or less"]

        # the never-invited patient's second, 7 days after recall's first; the patient invited twice is never sent
        clock.at += timedelta(days=4)
        assert (await run(client, h, cid, stage=2))["sent"] == 1
        assert twice not in {e["reference"].split(":")[1] for e in standin.log()}


async def test_a_first_coded_after_the_plan_makes_the_planned_first_the_second(
    tmp_path: Path, database_url: str, standin: StandIn, clock: Clock
) -> None:
    clock.at = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
    people = [person(i, mobile=f"0770090001{i}") for i in range(1, 3)]
    async with stack(tmp_path, database_url, standin, clock, people) as st:
        client, h = st.client, st.headers
        early, late = st.pids
        c = (await client.post(f"{URL}/campaigns", json=campaign(), headers=h)).json()
        assert c["plan"]["planned"] == 2 and c["plan"]["second_from_record"] == 0
        # the practice then sends letters and codes them: one 15 days ago, one 3 days ago
        await feed(client, invited(early, date(2026, 9, 20)), invited(late, date(2026, 10, 2)))
        pre = (await client.get(f"{URL}/campaigns/{c['id']}/preview", headers=h)).json()
        # early's is now their second ("at least 7 days after the first"): shown as moving them into the PCA;
        # late's waits until 9 October
        assert pre["invitations"] == 1 and pre["moves_into_pca"] == [early]
        assert (await run(client, h, c["id"]))["sent"] == 1
        clock.at += timedelta(days=4)  # 9 October
        assert (await run(client, h, c["id"]))["sent"] == 1
        assert sorted(e["reference"].split(":")[1] for e in standin.log()) == sorted([early, late])
