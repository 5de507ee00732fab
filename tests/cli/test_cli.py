"""The qof command through typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from cli import asyncapi, postman
from cli.loader import LoadError, RegistersClient
from cli.main import app
from cli.services import ROOT, status
from shared.auth import decode_token
from shared.events.schemas import all_payload_classes
from shared.settings import ServiceSettings

runner = CliRunner()


def test_token_decodes_with_scopes_practices_and_icb() -> None:
    result = runner.invoke(app, ["token", "--practice", "A81001", "--practice", "a81002",
                                 "--scope", "records:read records:write", "--icb", "QHM", "--ttl-hours", "2"])
    assert result.exit_code == 0, result.output
    principal = decode_token(ServiceSettings(), result.output.strip())
    assert principal.scopes == {"records:read", "records:write"}
    assert principal.practices == {"A81001", "A81002"}
    assert principal.icb == "QHM"


def test_token_rejects_unknown_scope() -> None:
    result = runner.invoke(app, ["token", "--scope", "everything"])
    assert result.exit_code == 2
    assert "unknown scopes" in result.output


def test_asyncapi_is_yaml_listing_every_event(tmp_path: Path) -> None:
    doc = yaml.safe_load(asyncapi.render())
    assert doc["asyncapi"].startswith("3.")
    event_types = {cls.event_type for cls in all_payload_classes()}
    assert set(doc["channels"]) == event_types
    for cls in all_payload_classes():
        name = asyncapi.message_name(cls)
        message = doc["components"]["messages"][name]
        assert message["x-audience"] in ("internal", "analytics")
        assert message["summary"] == cls.description
        assert message["bindings"]["kafka"]["key"]["description"]
        assert doc["channels"][cls.event_type]["address"] == cls.event_type
        assert name in doc["components"]["schemas"]


def test_asyncapi_command_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.yaml"
    result = runner.invoke(app, ["asyncapi", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == asyncapi.render()


def test_committed_asyncapi_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8")
    assert committed == asyncapi.render(), "event schemas changed: run `qof asyncapi` and commit the file"


def test_synth_writes_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "practice.jsonl"
    result = runner.invoke(app, ["synth", "--patients", "20", "--practice", "A81002", "--seed", "3",
                                 "--as-of", "2026-11-23", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum("patient" in line for line in lines) == 20
    assert all(line["entry"]["entry_id"].startswith("syn-A81002-") for line in lines if "entry" in line)


def test_synth_needs_one_destination() -> None:
    result = runner.invoke(app, ["synth", "--patients", "5"])
    assert result.exit_code == 2


def test_unbuilt_service_is_reported_not_raised(tmp_path: Path) -> None:
    s = status("recall", root=tmp_path)
    assert not s.built and "does not exist" in s.reason


def test_load_fails_clearly_when_routes_are_missing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json":
            return httpx.Response(200, json={"paths": {"/healthz": {"get": {}}}})
        return httpx.Response(404, json={"detail": "Not Found"})

    client = RegistersClient("http://registers.test", "t")
    client.http = httpx.Client(base_url="http://registers.test", transport=httpx.MockTransport(handler))
    with pytest.raises(LoadError, match=re.escape("does not offer PUT /v1/practices/{ods}/patients")):
        client.check_routes()
    with pytest.raises(LoadError, match="no route PUT"):
        client.send("PUT", "/v1/practices/A81001/patients", {"patients": []})


def test_postman_collection_has_bearer_and_base_urls() -> None:
    spec = {"info": {"description": "d"}, "paths": {
        "/v1/practices/{ods}/patients/{patient_id}": {"get": {"summary": "Read", "tags": ["patients"],
                                                               "security": [{"HTTPBearer": []}]}},
        "/readyz": {"get": {"summary": "Ready", "tags": ["health"]}}}, "components": {"schemas": {}}}
    collection = postman.build({"registers": (8001, spec)})
    assert collection["auth"]["type"] == "bearer"
    keys = {v["key"]: v["value"] for v in collection["variable"]}
    assert keys["registersBaseUrl"] == "http://127.0.0.1:8001" and keys["practice"] == "A81001"
    # the token is minted before each request unless one is set
    assert "pm.variables.set('token'" in "\n".join(collection["event"][0]["script"]["exec"])
    requests = [r for folder in collection["item"][0]["item"] for r in folder["item"]]
    read = next(r for r in requests if r["name"] == "Read")
    expected = "{{registersBaseUrl}}/v1/practices/{{practice}}/patients/:patient_id"
    assert read["request"]["url"]["raw"] == expected
    ready = next(r for r in requests if r["name"] == "Ready")
    assert ready["request"]["auth"] == {"type": "noauth"}


def test_committed_postman_collection_is_up_to_date() -> None:
    committed = json.loads((ROOT / postman.OUTPUT).read_text(encoding="utf-8"))
    assert committed == postman.build(postman.collect_specs()), "routes changed: run `qof postman` and commit the file"


def test_codelist_add_records_a_release_as_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import codelists
    from shared.codelists import CATALOGUE, CodelistLibrary, read_catalogue

    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(CATALOGUE.read_text())
    monkeypatch.setattr(codelists, "CATALOGUE", catalogue)
    monkeypatch.setattr(codelists, "DATA_DIR", tmp_path)
    export = tmp_path / "export.csv"
    export.write_text("code,term\n1064811000000103,Moderate acute exacerbation of asthma\n44054007,not a concept\n")
    result = runner.invoke(app, ["codelist", "add", "CAN_COD", str(export), "--version", "20251107",
                                 "--source", "TRUD PCD refsets"])
    assert result.exit_code == 0, result.output
    assert "1 codes added, 1 invalid codes skipped" in result.output
    rows = [r for r in read_catalogue(catalogue) if r.cluster == "CAN_COD"]
    assert [(r.version, r.preferred) for r in rows if r.preferred] == [("20251107", True)]
    library = CodelistLibrary(read_catalogue(catalogue), data_dir=tmp_path)
    assert library.get("CAN_COD").codes == {"1064811000000103"}
    again = runner.invoke(app, ["codelist", "add", "CAN_COD", str(export), "--version", "20251107", "--source", "x"])
    assert again.exit_code == 2


def test_codelist_status_lists_a_years_register_definitions():
    """2026/27 widens the NDH register to previous gestational diabetes; 2025/26 does not read it."""
    current = runner.invoke(app, ["codelist", "status", "--year", "2026-27"], env={"COLUMNS": "200"})
    assert current.exit_code == 0 and "QOF 2026-27" in current.output and "GESTDIAB_COD" in current.output
    closed = runner.invoke(app, ["codelist", "status", "--year", "2025-26"], env={"COLUMNS": "200"})
    assert closed.exit_code == 0 and "GESTDIAB_COD" not in closed.output
    bad = runner.invoke(app, ["codelist", "status", "--year", "2026/27"])
    assert bad.exit_code != 0
