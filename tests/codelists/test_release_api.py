"""The admin API and the live switch: upload a whole release, read its diff (clusters, readiness, each practice's
points and £), apply it, restore the previous one; the CLI applying into the same data folder switches the
running service too. SQLite and PostgreSQL.

Every code is test-only (extension namespace 9999999, term "TEST ONLY"), built here and never shipped."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from services.indicators.service.kernel import Kernel
from shared.testing import bearer
from tests.codelists.test_release_import import HEADER, code
from tests.indicators.service.helpers import PRACTICE, TODAY, diabetic, indicators_app, settings

YEAR = "qof-2025-26"
YEARS = ("qof-2025-26", "qof-2026-27")


def all_clusters() -> list[str]:
    """Every cluster a rule of 2025/26 or 2026/27 reads."""
    kernel = Kernel(today=lambda: TODAY)
    return sorted({c for rid in YEARS for c in kernel.engine(rid).clusters})


async def every_indicator_ready(client, headers) -> dict[str, list[tuple[str, str]]]:
    """Per year (GET /v1/rulesets/{id}), the indicators that are not ready."""
    out = {}
    for rid in YEARS:
        specs = (await client.get(f"/v1/rulesets/{rid}", headers=headers)).json()["indicator_specs"]
        out[rid] = [(i["id"], i["readiness"]) for i in specs if i["readiness"] != "ready"]
    return out


def release_text(clusters: dict[str, list[int]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(HEADER)
    for i, (name, codes) in enumerate(sorted(clusters.items())):
        refset = code(900000 + i)
        for n in codes:
            w.writerow([name, f"{name} TEST ONLY", code(n), "TEST ONLY concept", refset, "QOF TEST"])
    return buf.getvalue().encode()


def upload(text: bytes, version: str) -> dict[str, object]:
    return {"files": {"file": ("release.txt", text)},
            "data": {"version": version, "source": "TEST ONLY release", "date": "2026-04-01"}}


async def test_release_upload_diff_apply_restore_and_cli_switch(database_url: str, tmp_path: Path) -> None:
    names = all_clusters()
    first = {n: [10 * i + 1, 10 * i + 2] for i, n in enumerate(names, start=1)}
    kernel = Kernel(today=lambda: TODAY)
    data_dir = tmp_path / "var"
    async with indicators_app(database_url, compiled=kernel, data_dir=data_dir) as (app, client, headers):
        admin = bearer(settings(database_url), scopes=["admin"])
        for i, a1c in enumerate([50.0, 55.0, 75.0]):
            await diabetic(app, f"d{i}", a1c)
        before = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        assert any(i["readiness"] == "incomplete" for i in before["indicators"])
        assert (await client.post("/v1/codelists/releases", headers=headers, **upload(b"", "x"))).status_code == 403

        r = await client.post("/v1/codelists/releases", headers=admin, **upload(release_text(first), "t1"))
        assert r.status_code == 200, r.text
        diff = r.json()
        assert diff["status"] == "pending" and diff["active"] is None and diff["shape"] == "pcd-content"
        assert {c["cluster"] for c in diff["clusters"]} == set(names)
        became = {c["indicator_id"] for c in diff["readiness"] if c["ruleset"] == YEAR}
        assert {i["indicator_id"] for i in before["indicators"] if i["readiness"] == "incomplete"} <= became
        (effect,) = diff["practices"]
        assert effect["practice"] == PRACTICE
        assert effect["points_before"] == round(sum(i["points"] for i in before["indicators"]), 2)
        # pending: nothing switched yet
        still = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        assert still["indicators"] == before["indicators"]

        r = await client.post("/v1/codelists/releases/t1/apply", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {"active": "t1", "rescored_practices": [PRACTICE]}
        after = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        # "every indicator of 2025/26 ready" with a release carrying every cluster
        assert {i["readiness"] for i in after["indicators"]} == {"ready"}, [
            (i["indicator_id"], i["readiness"]) for i in after["indicators"] if i["readiness"] != "ready"]
        # and every indicator of 2026/27 too
        assert await every_indicator_ready(client, headers) == {rid: [] for rid in YEARS}
        # the preview's £ and points are what applying it gave
        assert effect["points_after"] == round(sum(i["points"] for i in after["indicators"]), 2)
        assert effect["pounds_after"] == round(sum(i["pounds"] or 0 for i in after["indicators"]), 2)

        # a second release adds and removes codes: the diff names exactly those
        second = dict(first)
        changed = names[0]
        second[changed] = [first[changed][0], 7]
        r = await client.post("/v1/codelists/releases", headers=admin, **upload(release_text(second), "t2"))
        assert r.status_code == 200, r.text
        by = {c["cluster"]: c for c in r.json()["clusters"]}
        assert (by[changed]["added"], by[changed]["removed"]) == ([code(7)], [code(first[changed][1])])
        assert all(not c["added"] and not c["removed"] for n, c in by.items() if n != changed)
        assert r.json()["readiness"] == [] and r.json()["active"] == "t1"

        # a truncated file is refused with the line and the reason, and nothing changes
        listed = (await client.get("/v1/codelists/releases", headers=admin)).json()
        text = release_text(second)
        r = await client.post("/v1/codelists/releases", headers=admin, **upload(text[:-15], "t3"))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        err = r.json()["errors"][0]
        assert err["field"] == "file" and err["line"] == text.count(b"\n") and "truncated" in err["reason"]
        assert (await client.get("/v1/codelists/releases", headers=admin)).json() == listed

        r = await client.post("/v1/codelists/releases/t2/apply", headers=admin)
        assert r.json()["active"] == "t2"
        r = await client.post("/v1/codelists/restore", headers=admin)
        assert r.status_code == 200 and r.json()["active"] == "t1"
        assert kernel.library.release == "t1"
        assert (await client.post("/v1/codelists/releases/nope/apply", headers=admin)).status_code == 404

        # the CLI applies into the same data folder: the running service switches on its next request
        f = tmp_path / "cli.txt"
        f.write_bytes(release_text({**first, changed: [5]}))
        out = CliRunner().invoke(__import__("cli.main", fromlist=["app"]).app, [
            "codelist", "import-release", str(f), "--version", "t4", "--source", "TEST ONLY", "--date",
            "2026-05-01", "--apply", "--data-dir", str(data_dir)])
        assert out.exit_code == 0, out.output
        await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)
        assert kernel.library.release == "t4" and kernel.library.get(changed).codes == {code(5)}
        assert await every_indicator_ready(client, headers) == {rid: [] for rid in YEARS}
