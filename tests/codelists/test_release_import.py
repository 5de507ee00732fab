"""Whole-release import: every published shape read, a bad line refuses the whole release, the diff is right.

All codes here are test-only (extension namespace 9999999, term "TEST ONLY"), built in the tests."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.codelists import CATALOGUE, DATA_DIR, CodelistLibrary
from shared.codelists.release import ReleaseError, diff_release, read_release
from shared.identifiers import verhoeff_check_digit

HEADER = ["Cluster_ID", "Cluster_Description", "SNOMED_code", "SNOMED_code_description", "PCD_Refset_ID",
          "Service_and_Ruleset"]
REFSET = {"TESTA_COD": "999000011000230102", "TESTB_COD": "999000021000230108",
          "CHOLMAX_COD": "999000031000230105", "LLTDEC_COD": "999000051000230109"}


def code(n: int) -> str:
    body = f"{n}999999910"
    return body + verhoeff_check_digit(body)


def content(path: Path, clusters: dict[str, list[int]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        for name, codes in clusters.items():
            for n in codes:
                row = [name, f"{name} TEST ONLY", code(n), "TEST ONLY concept", REFSET[name], "QOF TEST"]
                w.writerow(row if header is HEADER else ["OUT1", "TEST ONLY output", *row])
    return path


def test_content_file_read_whole(tmp_path: Path) -> None:
    release = read_release(content(tmp_path / "r.txt", {"TESTA_COD": [1, 2], "TESTB_COD": [3]}),
                           version="1", source="test", date="2026-04-01")
    assert release.shape == "pcd-content"
    assert set(release.clusters) == {"TESTA_COD", "TESTB_COD"}
    assert set(release.clusters["TESTA_COD"].terms) == {code(1), code(2)}
    assert release.clusters["TESTB_COD"].refset_id == REFSET["TESTB_COD"]


def test_by_output_variant(tmp_path: Path) -> None:
    header = ["Output_ID", "Output_Description", *HEADER]
    release = read_release(content(tmp_path / "o.txt", {"TESTA_COD": [1, 2]}, header),
                           version="1", source="test", date="2026-04-01")
    assert release.shape == "pcd-by-output"
    assert set(release.clusters["TESTA_COD"].terms) == {code(1), code(2)}


def test_rf2_snapshot_names_clusters_by_refset_id(tmp_path: Path) -> None:
    f = tmp_path / "der2_Refset_SimpleSnapshot.txt"
    rows = ["id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId",
            f"a\t20260401\t1\t999000041000230100\t{REFSET['TESTA_COD']}\t{code(1)}",
            f"b\t20260401\t0\t999000041000230100\t{REFSET['TESTA_COD']}\t{code(2)}"]
    f.write_text("\n".join(rows) + "\n")
    names = {v: k for k, v in REFSET.items()}
    release = read_release(f, version="1", source="test", date="2026-04-01", refset_names=names)
    assert set(release.clusters["TESTA_COD"].terms) == {code(1)}  # inactive member left out
    with pytest.raises(ReleaseError) as err:
        read_release(f, version="1", source="test", date="2026-04-01", refset_names={})
    assert err.value.line == 2 and "refsetId" in err.value.reason


def test_opencodelists_folder(tmp_path: Path) -> None:
    (tmp_path / "TESTA_COD.csv").write_text(f"code,term\n{code(1)},TEST ONLY\n")
    release = read_release(tmp_path, version="1", source="test", date="2026-04-01")
    assert release.shape == "opencodelists" and set(release.clusters["TESTA_COD"].terms) == {code(1)}


def test_truncated_and_bad_lines_refused_with_line(tmp_path: Path) -> None:
    f = content(tmp_path / "r.txt", {"TESTA_COD": [1, 2, 3]})
    text = f.read_text()
    f.write_text(text[: len(text) - 30])
    with pytest.raises(ReleaseError) as err:
        read_release(f, version="1", source="test", date="2026-04-01")
    assert err.value.line == 4 and "truncated" in err.value.reason
    f.write_text(text.replace(code(2), "12345"))
    with pytest.raises(ReleaseError) as err:
        read_release(f, version="1", source="test", date="2026-04-01")
    assert err.value.line == 3 and "SNOMED" in err.value.reason


def test_diff_of_second_release(tmp_path: Path) -> None:
    library = CodelistLibrary([])
    first = read_release(content(tmp_path / "1.txt", {"TESTA_COD": [1, 2]}), version="1", source="t", date="d")
    for name, entry in first.clusters.items():
        library.add_export(name, "1", "code,term\n" + "".join(f"{c},x\n" for c in entry.terms), source="t")
    second = read_release(content(tmp_path / "2.txt", {"TESTA_COD": [2, 3], "TESTB_COD": [4]}),
                          version="2", source="t", date="d")
    by = {d.cluster: d for d in diff_release(library, second)}
    assert by["TESTA_COD"].added == (code(3),) and by["TESTA_COD"].removed == (code(1),)
    assert by["TESTB_COD"].new and by["TESTB_COD"].added == (code(4),)


def test_cli_diff_then_apply_and_truncated_changes_nothing(tmp_path: Path) -> None:
    """Applied releases go to the data folder, never into the tracked codelists; restore goes back."""
    from cli.main import app
    from shared.codelists.active import ReleaseStore

    shipped = CATALOGUE.read_text()
    store = ReleaseStore.in_data_dir(tmp_path / "var")
    f = content(tmp_path / "r.txt", {"TESTA_COD": [1, 2]})
    where = ["--data-dir", str(tmp_path / "var")]
    args = ["codelist", "import-release", str(f), "--version", "t1", "--source", "test", "--date", "2026-04-01",
            *where]
    runner = CliRunner()
    dry = runner.invoke(app, args)
    assert dry.exit_code == 0, dry.output
    assert "TESTA_COD" in dry.output and store.active_version() is None and not store.releases()
    text = f.read_text()
    f.write_text(text[:-20])
    bad = runner.invoke(app, [*args, "--apply"])
    assert bad.exit_code == 1 and "truncated" in bad.output
    assert store.active_version() is None and not store.releases()
    f.write_text(text)
    ok = runner.invoke(app, [*args, "--apply"])
    assert ok.exit_code == 0, ok.output
    assert store.active_version() == "t1" and store.library().get("TESTA_COD").codes == {code(1), code(2)}
    second = content(tmp_path / "r2.txt", {"TESTA_COD": [2, 3]})
    ok = runner.invoke(app, ["codelist", "import-release", str(second), "--version", "t2", "--source", "test",
                             "--date", "2026-05-01", "--apply", *where])
    assert ok.exit_code == 0, ok.output
    assert store.library().get("TESTA_COD").codes == {code(2), code(3)}
    back = runner.invoke(app, ["codelist", "restore", *where])
    assert back.exit_code == 0, back.output
    assert store.active_version() == "t1" and store.library().get("TESTA_COD").codes == {code(1), code(2)}
    assert runner.invoke(app, ["codelist", "restore", "nope", *where]).exit_code != 0
    assert CATALOGUE.read_text() == shipped and not (DATA_DIR / "releases" / "TESTA_COD__t1.csv").exists()


def test_readiness_changes_name_the_indicators_a_release_completes(tmp_path: Path) -> None:
    """DM034/DM035 (2025/26) need CHOLMAX_COD and LLTDEC_COD, which have no public copy (both feed PCA steps
    only, so without them the indicators are a provisional lower bound): a release carrying both makes them
    confirmed, and the diff says so before anything is applied."""
    from services.indicators.service.kernel import Kernel
    from services.indicators.service.releases import readiness_changes
    from shared.codelists import shipped_library
    from shared.codelists.active import with_release

    release = read_release(content(tmp_path / "r.txt", {"CHOLMAX_COD": [5], "LLTDEC_COD": [6]}),
                           version="t", source="test", date="2026-04-01")
    changes = readiness_changes(Kernel(shipped_library()), Kernel(with_release(release)))
    changed = {(c.ruleset, c.indicator_id): c.after for c in changes if c.before == "provisional"}
    assert changed[("qof-2025-26", "DM034")] in ("ready", "stand-in")
    assert ("qof-2025-26", "DM035") in changed
