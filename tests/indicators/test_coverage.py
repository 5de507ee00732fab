"""Coverage proof: every indicator of 2024/25, 2025/26 and 2026/27 has a golden test naming it with
``@pytest.mark.covers``, and docs/indicator-coverage.md (written by ``qof coverage``) is up to date."""

from __future__ import annotations

from cli import coverage
from cli.services import ROOT


def test_covers_markers_name_real_indicators() -> None:
    assert coverage.unknown_ids(ROOT) == []


def test_committed_coverage_table_is_up_to_date() -> None:
    committed = (ROOT / coverage.OUTPUT).read_text()
    assert committed == coverage.render(ROOT), "run `qof coverage` and commit docs/indicator-coverage.md"
