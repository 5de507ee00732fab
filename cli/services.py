"""Which services exist, on which ports, and whether each is built yet."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
PORTS = {"registers": 8001, "indicators": 8002, "recall": 8003, "workload": 8004, "web": 8000}
# Every scope a practice's own staff use (what `qof up` and the Postman collection put in their tokens).
PRACTICE_SCOPES = ["records:read", "records:write", "patients:contact", "indicators:read", "indicators:write",
                   "recall:read", "recall:write", "workload:read", "workload:write"]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    port: int
    built: bool
    reason: str = ""  # why it is not built

    @property
    def factory(self) -> str:
        return f"services.{self.name}.app:create_app"


def status(name: str, root: Path = ROOT) -> ServiceStatus:
    """A service is built when ``services/<name>/app.py`` exists and imports with a ``create_app``."""
    port = PORTS[name]
    if not (root / "services" / name / "app.py").is_file():
        return ServiceStatus(name, port, False, f"services/{name}/app.py does not exist yet")
    try:
        module = importlib.import_module(f"services.{name}.app")
    except Exception as exc:
        return ServiceStatus(name, port, False, f"import failed: {type(exc).__name__}: {exc}")
    if not callable(getattr(module, "create_app", None)):
        return ServiceStatus(name, port, False, "app.py has no create_app()")
    return ServiceStatus(name, port, True)


def all_statuses(root: Path = ROOT) -> list[ServiceStatus]:
    return [status(name, root) for name in PORTS]


def built(root: Path = ROOT) -> list[ServiceStatus]:
    return [s for s in all_statuses(root) if s.built]


def create_app(name: str) -> FastAPI:
    module = importlib.import_module(f"services.{name}.app")
    return module.create_app()  # type: ignore[no-any-return]
