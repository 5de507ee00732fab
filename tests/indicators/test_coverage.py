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


def test_each_golden_table_has_cases_in_every_year_its_marker_claims() -> None:
    """A ``covers`` marker without a year claims every year that has the indicator: the table must run there."""
    from services.indicators.domain import load_ruleset

    from . import test_golden_cvd_years, test_golden_dm_mh_years, test_golden_resp_ph_vi_years
    from .golden import YEARS, expand

    tables = {test_golden_cvd_years: test_golden_cvd_years.CVD, test_golden_dm_mh_years: test_golden_dm_mh_years.DM_MH,
              test_golden_resp_ph_vi_years: test_golden_resp_ph_vi_years.ALL}
    have = {rid: {i.id for i in load_ruleset(rid).indicators} for rid in YEARS}
    for module, cases in tables.items():
        (cover,) = [c for c in coverage.covers_in(ROOT / module.__file__.split(str(ROOT) + "/")[1], ROOT)
                    if c.year is None]
        claimed = {(rid, i) for i in cover.indicators for rid in YEARS if i in have[rid]}
        assert {(rid, c.indicator) for rid, c in expand(cases)} == claimed, module.__name__


def test_every_indicator_of_the_three_years_has_a_golden_test() -> None:
    """Issue 8 acceptance: "Golden tests exist and pass for every indicator of the three years (a test fails if
    an indicator has none)"."""
    assert coverage.uncovered(ROOT) == []
