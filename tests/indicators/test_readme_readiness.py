"""The README's per-year table of confirmed, provisional and incomplete indicators is what the API says
(``GET /v1/rulesets`` summaries, from the rule sets compiled against the shipped codelists)."""

from __future__ import annotations

import re
from pathlib import Path

from services.indicators.api.rulesets import summary
from tests.indicators.service.helpers import kernel

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| (\d{4})/(\d{2}) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", re.M)


def test_readme_readiness_table_matches_the_rulesets_api() -> None:
    rows = {f"qof-{m[1]}-{m[2]}": tuple(int(x) for x in m.groups()[2:]) for m in ROW.finditer(README.read_text())}
    assert set(rows) == {"qof-2024-25", "qof-2025-26", "qof-2026-27"}
    k = kernel()
    for rid, figures in rows.items():
        s = summary(k, k.ruleset(rid))
        assert figures == (s.indicators, s.confirmed, s.stand_in, s.provisional, s.incomplete), rid
        assert s.confirmed + s.provisional + s.incomplete == s.indicators
