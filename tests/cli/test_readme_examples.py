"""The README as a new user reads it: every file it names is shipped, every curl example calls a route the
service's OpenAPI has (with the method and query parameters it uses), and the port table is what `bin/up`
starts. The examples themselves are run against a live stack by the Postman collection's tests; this guard is
cheap enough for every run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cli.services import PORTS, ROOT, create_app

README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
# Names a user types that are theirs, not ours (an illustrative download, a file curl writes).
USER_FILES = {"chdpcadec_cod.csv", "PCD_Refset_Content.txt", "letter.pdf", ".env"}
# A file by its extension, or a folder by its trailing slash (event names such as `code.recorded` are neither).
PATHISH = re.compile(r"^[\w.\-/]+(\.(py|md|csv|json|ya?ml|txt|toml|tsv)|/)$")


def _prose() -> str:
    return FENCE.sub("", README)


def _bash_blocks() -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == "bash"]


@cache
def _tracked() -> tuple[set[str], set[str]]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = set(out.split())
    dirs = {str(p) + "/" for f in files for p in _parents(f)}
    return files, dirs


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _named_paths() -> list[str]:
    spans = re.findall(r"`([^`\s]+)`", _prose())
    in_code = re.findall(r"@([\w./\-]+)", "\n".join(_bash_blocks()))
    names = [s for s in spans + in_code if PATHISH.match(s) and not s.startswith(("/", "../", "<"))]
    # `var/` is made by bin/up; dotted words such as `shared.codelists.default_library()` are not paths.
    return sorted({n for n in names if n not in USER_FILES and n != "var/" and ("/" in n or "." in n)})


def _shipped(name: str) -> bool:
    files, dirs = _tracked()
    if name in files or name in dirs:
        return True
    # `db.py`, `events/`, `qof/registers.py` are named inside the paragraph about `shared/`, and `api/`,
    # `store/` in the one about a service's shape.
    for base in ["shared/", *sorted(d for d in dirs if re.fullmatch(r"services/\w+/", d))]:
        if base + name in files or base + name in dirs:
            return True
    return "/" not in name.rstrip("/") and any(f.rsplit("/", 1)[-1] == name for f in files)


def test_the_readme_names_files_that_exist() -> None:
    names = _named_paths()
    assert "docs/examples/bundle.json" in names and "docs/examples/export.csv" in names
    missing = [n for n in names if not _shipped(n)]
    assert not missing, f"README names files that are not in the repository: {missing}"


def _curl_calls() -> list[tuple[str, str, str]]:
    """(method, url, the command) for every curl of the README's bash blocks, continuation lines joined."""
    calls = []
    for command in _commands():
        if command.startswith("curl "):
            args = shlex.split(command, comments=True)
            url = next(a for a in args if a.startswith("http"))
            sends = any(a in ("-d", "--data", "--data-binary") for a in args)
            method = args[args.index("-X") + 1] if "-X" in args else ("post" if sends else "get")
            calls.append((method.lower(), url, command))
    return calls


def _commands() -> list[str]:
    """The shell commands of the README's bash blocks: continued lines and multi-line quotes joined."""
    commands: list[str] = []
    for block in _bash_blocks():
        pending = ""
        for line in block.replace("\\\n", " ").split("\n"):
            pending = f"{pending}\n{line}" if pending else line
            try:
                shlex.split(pending, comments=True)
            except ValueError:  # a quote still open: the command goes on
                continue
            commands.append(pending.strip())
            pending = ""
    return commands


@cache
def _spec(service: str) -> dict[str, Any]:
    return create_app(service).openapi()


def _route(spec: dict[str, Any], path: str) -> dict[str, Any] | None:
    for template, item in spec["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return item  # type: ignore[no-any-return]
    return None


SERVICE_OF_PORT = {port: name for name, port in PORTS.items()}


def test_the_readme_has_curl_examples_for_the_services() -> None:
    ports = {urlsplit(url).port for _, url, _ in _curl_calls()}
    assert {PORTS["registers"], PORTS["indicators"], PORTS["workload"]} <= ports


@pytest.mark.parametrize(("method", "url", "command"), _curl_calls(), ids=lambda v: str(v)[:60])
def test_every_curl_example_calls_a_route_of_the_service_on_that_port(method: str, url: str, command: str) -> None:
    parts = urlsplit(url)
    service = SERVICE_OF_PORT.get(parts.port or 0)
    assert service is not None, f"no service on port {parts.port}: {command}"
    item = _route(_spec(service), parts.path)
    assert item is not None, f"{service} has no route {parts.path}: {command}"
    assert method in item, f"{service} {parts.path} has no {method.upper()}: {command}"
    known = {p["name"] for p in item[method].get("parameters", []) if p.get("in") == "query"}
    unknown = set(parse_qs(parts.query)) - known
    assert not unknown, f"{service} {parts.path} takes no query parameter {sorted(unknown)}: {command}"


def test_the_port_table_is_what_bin_up_starts() -> None:
    rows = re.findall(r"^\| `services/(\w+)` \| (\d+) \|", README, re.M)
    assert {name: int(port) for name, port in rows} == PORTS
