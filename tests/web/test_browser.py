"""The web app in headless Chromium (Debian's ``chromium`` driven by Playwright) over the whole platform with
two practices of ICB QHM loaded: a practice manager's pages, the CSV export, a workload item logged and
reported, the ICS analyst's benchmarks, and that neither sees what is not theirs. Screenshots go to
var/test-artefacts/web/."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from cli.services import ROOT
from services.indicators.domain import load_ruleset
from tests.web.platform import ICB, PASSWORD, PRACTICE_A, PRACTICE_B, Loaded, start_loaded, token

pytestmark = pytest.mark.broker

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "var" / "test-artefacts" / "web"
NHS = re.compile(r"\b999\d{7}\b")
USER_A, USER_B, ANALYST = f"demo.{PRACTICE_A.lower()}", f"demo.{PRACTICE_B.lower()}", f"analyst.{ICB.lower()}"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    data = tmp_path_factory.mktemp("web-platform")
    stack, running = start_loaded(data)
    try:
        subprocess.run([sys.executable, "-m", "cli.main", "user", "add", USER_B, "--practice", PRACTICE_B,
                        "--password", PASSWORD, "--name", f"Practice manager, {PRACTICE_B}"], cwd=ROOT, check=True,
                       capture_output=True, env={"QOF_WEB_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'web.db'}",
                                                 "PATH": "/usr/bin:/bin"})
        yield running
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: bin/test installs it (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def signed_in(browser: Browser, loaded: Loaded, user: str) -> Page:
    page = browser.new_context(base_url=loaded.web, accept_downloads=True,
                               viewport={"width": 1300, "height": 900}).new_page()
    page.goto("/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def people(loaded: Loaded, ods: str) -> tuple[set[str], set[str]]:
    """NHS numbers and names ("Given FAMILY", as the pages show them) of a practice's loaded patients."""
    rows = loaded.patients[ods]
    return ({str(p["nhs_number"]) for p in rows},
            {f"{p['given_name']} {str(p['family_name']).upper()}" for p in rows})


def test_practice_manager_overview_worklist_patient_csv_and_workload(browser: Browser, loaded: Loaded) -> None:
    page = signed_in(browser, loaded, USER_A)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"QOF 2026/27: {PRACTICE_A}")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("polyline.actual")).to_have_count(1)
    expect(chart.locator("polyline.projection")).to_have_count(1)
    expect(page.locator("table.indicators tbody tr").first).to_be_visible()
    expect(page.get_by_text("These figures are")).to_be_visible()
    shot(page, "1-overview")

    # keyboard: the first Tab reaches the skip link; links work with Enter
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    mine, names = people(loaded, PRACTICE_A)
    page.locator("table.indicators a", has_text="worklist").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("worklist")
    first = page.locator("table.worklist tbody tr").first
    nhs = first.locator("th.nhs").inner_text().strip()
    name = first.locator("td a").first.inner_text().strip()
    assert nhs in mine and name in names  # the practice's own patient, identified
    shown = set(NHS.findall(page.locator("table.worklist").inner_text()))
    assert shown and shown <= mine
    shot(page, "2-worklist")

    with page.expect_download() as dl:
        page.get_by_role("link", name=re.compile("Export as CSV")).click()
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    assert rows and {r["NHS number"] for r in rows} <= mine and nhs in {r["NHS number"] for r in rows}
    assert all(r["Action"] for r in rows)

    page.get_by_role("link", name=name).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator("dd.nhs")).to_have_text(nhs)
    statuses = page.locator("table.standing .status").all_inner_texts()
    assert "gap" in statuses
    expect(page.locator("table.standing")).to_contain_text("rule ")
    shot(page, "3-patient")

    # Registers and data quality: the record's findings (registers) beside the scoring's (indicators), so a 0%
    # from codes the practice never records is a coding finding, not a bare figure (issue 8)
    page.goto("/registers")
    expect(page.get_by_role("heading", name="Figures that rest on missing coding")).to_be_visible()
    expect(page.locator("body")).to_contain_text("QOF 2026/27")
    expect(page.locator("body")).not_to_contain_text("Not available now")

    page.goto("/workload")
    page.get_by_label("Provider ODS code").fill("RTD")
    page.get_by_label("What was passed to the practice").select_option("results_to_chase")
    page.get_by_label("Who did it").select_option("practice_nurse")
    page.get_by_label("Minutes spent").fill("25")
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status")).to_contain_text("RTD")
    report = page.locator("table.report")
    expect(report).to_contain_text("RTD")
    expect(report.locator("tr", has_text="RTD").locator("td").first).to_have_text("1")
    shot(page, "4-workload")
    page.get_by_role("link", name="Letter to RTD").click()
    expect(page.locator("body")).to_contain_text("RTD")
    page.context.close()


def test_a_practice_user_sees_nothing_of_another_practice(browser: Browser, loaded: Loaded) -> None:
    theirs, their_names = people(loaded, PRACTICE_B)
    page = signed_in(browser, loaded, USER_A)
    seen = []
    for path in ("/overview", "/worklists", "/registers", "/recall", "/workload"):
        page.goto(path)
        seen.append(page.locator("body").inner_text())
    export = page.context.request.get(f"{loaded.web}/worklists/export.csv")
    assert export.ok
    seen.append(export.text())
    text = "\n".join(seen)
    assert NHS.findall(text) and not set(NHS.findall(text)) & theirs
    # common names recur across practices: only B's names that no patient of A has
    assert not [n for n in their_names - people(loaded, PRACTICE_A)[1] if n in text]
    # a patient of B asked for by id, and B's NHS number at reception, give nothing
    b_patient = httpx.get(f"{loaded.platform.urls['registers']}/v1/practices/{PRACTICE_B}/patients",
                          params={"limit": 1}, headers={"Authorization": f"Bearer {token(PRACTICE_B)}"}).json()
    page.goto(f"/patients/{b_patient['items'][0]['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    page.goto(f"/recall?nhs_number={b_patient['items'][0]['nhs_number']}")
    expect(page.locator("main")).to_contain_text("No patient of the practice has this NHS number")
    page.context.close()
    other = signed_in(browser, loaded, USER_B)
    expect(other.get_by_role("heading", level=1)).to_contain_text(PRACTICE_B)
    other.context.close()


def test_ics_analyst_sees_every_indicator_aggregated_and_no_patient(browser: Browser, loaded: Loaded) -> None:
    page = signed_in(browser, loaded, ANALYST)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"ICB {ICB}")
    table = page.locator("table.bench")
    header = table.locator("thead th").all_inner_texts()
    assert header[:2] == ["Indicator", "ICB total"] and PRACTICE_A in header and PRACTICE_B in header
    expected = [i.id for i in load_ruleset("qof-2026-27").indicators if i.kind != "attestation"]
    assert table.locator("tbody th .code").all_inner_texts() == expected
    expect(table.locator(".suppressed").first).to_be_visible()  # small numbers withheld
    text = page.locator("body").inner_text()
    shot(page, "5-ics-benchmarks")
    page.goto("/ics/workload")
    expect(page.locator("main")).to_contain_text("ICB total")
    text += page.locator("body").inner_text()
    everyone = people(loaded, PRACTICE_A)[0] | people(loaded, PRACTICE_B)[0]
    assert not NHS.findall(text) and not everyone & set(re.findall(r"\d{10}", text))
    for path in ("/overview", "/worklists", "/worklists/export.csv", "/registers"):
        r = page.context.request.get(f"{loaded.web}{path}")
        assert r.status == 403 and not NHS.findall(r.text()), path
    page.context.close()
