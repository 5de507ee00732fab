"""One Postman collection (v2.1) for the whole platform, generated from each built service's OpenAPI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from cli.postman_examples import Example, each, examples_for, keys, raw_text, sample_path
from cli.services import PRACTICE_SCOPES, built, create_app
from services.recall.settings import RecallSettings
from shared.settings import DEV_SIGNING_KEY

OUTPUT = Path("docs") / "postman" / "qof-platform.postman_collection.json"
ENVIRONMENT = Path("docs") / "postman" / "qof-local.postman_environment.json"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
PRACTICE = "A81001"
ICB = "QHM"  # the demo practice's ICB (NHS North East and North Cumbria)

# Before each request: HS256 tokens for the practice (``token``), the ICB (``icbToken``) and an operator
# (``adminToken``),
# minted as ``qof token`` mints them, unless the variable is already set.
DEV_CALLBACK_TOKEN = RecallSettings.model_fields["notify_callback_token"].default.get_secret_value()
TOKEN_SCRIPT = """(() => {
const CryptoJS = require('crypto-js');
const b64url = (words) => CryptoJS.enc.Base64.stringify(words).replace(/=+$/, '').replace(/\\+/g, '-')
  .replace(/\\//g, '_');
const encode = (obj) => b64url(CryptoJS.enc.Utf8.parse(JSON.stringify(obj)));
const mint = (claims) => {
  const now = Math.floor(Date.now() / 1000);
  const all = Object.assign({iss: pm.variables.get('issuer') || 'qof-platform',
    aud: pm.variables.get('audience') || 'qof-platform', iat: now, nbf: now, exp: now + 3600}, claims);
  const unsigned = encode({alg: 'HS256', typ: 'JWT'}) + '.' + encode(all);
  return unsigned + '.' + b64url(CryptoJS.HmacSHA256(unsigned, pm.variables.get('signingKey')));
};
if (pm.variables.get('signingKey')) {
  if (!pm.variables.get('token')) {
    pm.variables.set('token', mint({sub: 'postman', scope: SCOPES,
      practices: [pm.variables.get('practice')]}));
  }
  if (!pm.variables.get('icbToken')) {
    pm.variables.set('icbToken', mint({sub: 'postman-icb', scope: 'analytics:read',
      icb: pm.variables.get('icb')}));
  }
  if (!pm.variables.get('adminToken')) {
    pm.variables.set('adminToken', mint({sub: 'postman-admin', scope: 'admin'}));
  }
}
})();""".replace("SCOPES", repr(" ".join(sorted(PRACTICE_SCOPES))))
_METHODS = ("put", "post", "get", "patch", "delete")  # on one path, writes before the reads of them


def base_var(service: str) -> str:
    return f"{service}BaseUrl"


def _segments(path: str, ex: Example) -> tuple[list[str], list[dict[str, str]]]:
    segments: list[str] = []
    variables: list[dict[str, str]] = []
    for seg in path.strip("/").split("/"):
        if seg == "{ods}":
            segments.append("{{practice}}")
        elif seg == "{icb}":
            segments.append("{{icb}}")
        elif seg.startswith("{") and seg.endswith("}"):
            name = seg[1:-1]
            segments.append(":" + name)
            variables.append({"key": name, "value": ex.path.get(name, "")})
        else:
            segments.append(seg)
    return segments, variables


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"].get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def shape_checks(op: dict[str, Any], status: int, spec: dict[str, Any]) -> str:
    """Checks of a JSON answer against the route's response schema: the fields it declares are there."""
    content = op.get("responses", {}).get(str(status), {}).get("content", {})
    schema = _resolve(content.get("application/json", {}).get("schema", {}), spec)
    if schema.get("type") == "array":
        item = _resolve(schema.get("items", {}), spec)
        return each(*item.get("required", [])) if item.get("required") else "pm.expect(body).to.be.an('array');"
    if schema.get("required"):
        return keys(*schema["required"])
    return ""


def test_script(ex: Example, shape: str = "") -> list[str]:
    lines = ["(() => {"]
    if ex.retry_on is not None:
        lines += [
            "const tries = Number(pm.collectionVariables.get('tries:' + pm.info.requestId) || 0);",
            f"if (pm.response.code === {ex.retry_on} && tries < 40) {{",
            "  pm.collectionVariables.set('tries:' + pm.info.requestId, tries + 1);",
            "  postman.setNextRequest(pm.info.requestId);",
            "  setTimeout(() => {}, 250);",
            "  return;",
            "}",
        ]
    lines.append(f"pm.test('status {ex.status}', () => pm.response.to.have.status({ex.status}));")
    lines.append("const body = " + ("pm.response.json();" if ex.json_body else "pm.response.text();"))
    if shape:
        lines.append("pm.test('response shape (OpenAPI)', () => {")
        lines.extend("  " + line for line in shape.splitlines())
        lines.append("});")
    if ex.checks:
        lines.append("pm.test('response content', () => {")
        lines.extend("  " + line for line in ex.checks.splitlines())
        lines.append("});")
    lines.extend(ex.script.splitlines())
    for var, expr in ex.save.items():
        lines.append(f"pm.collectionVariables.set('{var}', {expr});")
    return [*lines, "})();"]


def _request(service: str, path: str, method: str, op: dict[str, Any], ex: Example,
             spec: dict[str, Any]) -> dict[str, Any]:
    segments, variables = _segments(path, ex)
    query = [{"key": p["name"], "value": ex.query.get(p["name"], ""), "disabled": p["name"] not in ex.query,
              "description": p.get("description", "")}
             for p in op.get("parameters", []) if p.get("in") == "query"]
    raw = "{{" + base_var(service) + "}}/" + "/".join(segments)
    enabled = [f"{q['key']}={q['value']}" for q in query if not q["disabled"]]
    if enabled:
        raw += "?" + "&".join(enabled)
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": [],
        "url": {"raw": raw, "host": ["{{" + base_var(service) + "}}"], "path": segments, "query": query,
                "variable": variables},
        "description": op.get("description") or op.get("summary", ""),
    }
    if not op.get("security") or not ex.token:
        request["auth"] = {"type": "noauth"}
    elif ex.token != "token":
        request["auth"] = {"type": "bearer", "bearer": [{"key": "token", "value": "{{" + ex.token + "}}",
                                                         "type": "string"}]}
    if ex.body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {"mode": "raw", "raw": json.dumps(ex.body, indent=2),
                           "options": {"raw": {"language": "json"}}}
    elif ex.form:
        request["body"] = {"mode": "formdata", "formdata": [
            {"key": k[1:], "type": "file", "src": sample_path(v)} if k.startswith("@")
            else {"key": k, "type": "text", "value": v} for k, v in ex.form.items()]}
    elif ex.raw is not None:
        kind, text = ex.raw
        request["header"].append({"key": "Content-Type", "value": kind})
        request["body"] = {"mode": "raw", "raw": raw_text(text)}
    name = ex.name or op.get("summary") or f"{method.upper()} {path}"
    script = {"type": "text/javascript", "exec": test_script(ex, shape_checks(op, ex.status, spec))}
    return {"name": name, "request": request, "event": [{"listen": "test", "script": script}]}


def _fallback(op: dict[str, Any]) -> Example:
    """A route with no example yet: only that it answers with success."""
    return Example(200, "pm.expect(pm.response.code).to.be.below(300);")


def service_folder(service: str, spec: dict[str, Any]) -> dict[str, Any]:
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, ops in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in ops:
                op = ops[method]
                tag = (op.get("tags") or ["other"])[0]
                found = examples_for(service, f"{method.upper()} {path}") or [_fallback(op)]
                folders.setdefault(tag, []).extend(_request(service, path, method, op, ex, spec) for ex in found)
    return {"name": service, "description": spec.get("info", {}).get("description", ""),
            "item": [{"name": tag, "item": items} for tag, items in folders.items()]}


def build(specs: dict[str, tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    variables = [{"key": "practice", "value": PRACTICE, "type": "string"},
                 {"key": "icb", "value": ICB, "type": "string"}]
    for service, (port, _spec) in specs.items():
        variables.append({"key": base_var(service), "value": f"http://127.0.0.1:{port}", "type": "string"})
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "qof-platform/postman")),
            "name": "QOF platform",
            "description": "Every route of every built service, with working examples and tests. Tokens are "
                           "minted before each request from `signingKey` (the environment file carries the "
                           "development key of the embedded stack) unless `token` / `icbToken` are set "
                           "(`qof token --practice A81001 --scope records:read ...`). Each service has its own "
                           "base URL variable. Generated by `qof postman`; run with `bin/newman run "
                           f"{OUTPUT.as_posix()} -e {ENVIRONMENT.as_posix()}`.",
            "schema": SCHEMA,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]},
        "event": [{"listen": "prerequest", "script": {"type": "text/javascript", "exec": TOKEN_SCRIPT.splitlines()}}],
        "variable": variables,
        "item": [service_folder(service, spec) for service, (_port, spec) in specs.items()],
    }


def environment(specs: dict[str, tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    values = [{"key": "signingKey", "value": DEV_SIGNING_KEY, "type": "secret", "enabled": True},
              {"key": "issuer", "value": "qof-platform", "type": "default", "enabled": True},
              {"key": "audience", "value": "qof-platform", "type": "default", "enabled": True},
              {"key": "notifyCallbackToken", "value": DEV_CALLBACK_TOKEN, "type": "secret", "enabled": True},
              {"key": "practice", "value": PRACTICE, "type": "default", "enabled": True},
              {"key": "icb", "value": ICB, "type": "default", "enabled": True}]
    for service, (port, _spec) in specs.items():
        values.append({"key": base_var(service), "value": f"http://127.0.0.1:{port}", "type": "default",
                       "enabled": True})
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "qof-platform/postman/local")),
            "name": "QOF platform - local stack (bin/up)", "values": values,
            "_postman_variable_scope": "environment"}


def collect_specs() -> dict[str, tuple[int, dict[str, Any]]]:
    return {s.name: (s.port, create_app(s.name).openapi()) for s in built()}


def write(root: Path) -> tuple[Path, list[str]]:
    specs = collect_specs()
    path = root / OUTPUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build(specs), indent=2) + "\n", encoding="utf-8")
    (root / ENVIRONMENT).write_text(json.dumps(environment(specs), indent=2) + "\n", encoding="utf-8")
    return path, list(specs)
