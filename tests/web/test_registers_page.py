"""The registers page says which registers the QOF year scores nothing on (from indicators' data-quality report),
beside the size registers gives: "In 2025/26 all 32 indicators protected in 2024/25 were permanently retired,
including every register indicator [...]. The registers themselves still have to be maintained" (QOF_RULES.md
§1.3). The page stands without indicators, and without the field from an indicators that predates it."""

from __future__ import annotations

from typing import Any

from services.web.api.deps import templates

REGS = {"practice": "A81001", "as_of": "2026-12-04", "qof_year": "2026-27", "list_size": 100,
        "national_year": "2020-21",
        "registers": [{"register_id": r, "name": r, "size": 1, "prevalence_pct": 1.0,
                       "national_prevalence_pct": 0.278, "status": "complete", "missing_clusters": []}
                      for r in ("OSTEO_REG", "DM_REG")]}
QUALITY: dict[str, Any] = {"summary": {}, "findings": [], "recorders": []}
SCORING = {"qof_year": "2026/27", "achievement_date": "2026-12-04", "findings": []}


def row(html: str, register: str) -> str:
    start = html.index(f"<small>{register}</small>")
    return html[start:html.index("</tr>", start)]


def page(scoring: dict[str, Any] | None) -> str:
    return templates.get_template("registers.html").render(
        regs=REGS, quality=QUALITY, scoring=scoring, scoring_error="indicators is down", title="t", user=None,
        request=None)


def test_a_register_no_indicator_of_the_year_reads_is_said_not_scored() -> None:
    html = page({**SCORING, "registers_not_scored": {"OSTEO_REG": "no indicator of QOF 2026/27 reads OSTEO_REG"}})
    assert "not scored in QOF 2026/27" in row(html, "OSTEO_REG")
    assert "not scored" not in row(html, "DM_REG")
    for older in (SCORING, None):  # an indicators without the field, or none at all: the page stands
        assert "not scored" not in row(page(older), "OSTEO_REG")
