"""The whole platform as `bin/up` runs it (broker, every built service, the Notify stand-in), on free ports."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli import postman
from cli.services import ROOT, ServiceStatus, built
from cli.stack import HOST, Stack
from shared.broker import free_port

NEWMAN = ROOT / "bin" / "newman"


@dataclass(frozen=True)
class Platform:
    urls: dict[str, str]  # service name -> base URL

    def env_vars(self) -> list[str]:
        """newman ``--env-var`` arguments pointing the collection's base URLs at this stack."""
        args: list[str] = []
        for name, url in self.urls.items():
            args += ["--env-var", f"{postman.base_var(name)}={url}"]
        return args


def start_platform(data_dir: Path, extra_env: dict[str, str] | None = None) -> tuple[Stack, Platform]:
    ports = {s.name: free_port() for s in built()}
    notify = free_port()
    # Each service finds the others at QOF_<NAME>_URL (recall reads registers, web reads them all).
    urls = {f"QOF_{name.upper()}_URL": f"http://{HOST}:{port}" for name, port in ports.items()}
    stack = Stack(root=ROOT, data_dir=data_dir,
                  env={"QOF_ENVIRONMENT": "development", "QOF_NOTIFY_BASE_URL": f"http://{HOST}:{notify}", **urls,
                       **(extra_env or {})})
    stack.start_broker()
    if "recall" in ports:
        stack.start_notify_standin(ports["recall"], port=notify)
    for name, port in ports.items():
        stack.wait_ready(stack.start_service(ServiceStatus(name, port, True)))
    return stack, Platform({name: f"http://{HOST}:{port}" for name, port in ports.items()})


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    stack, running = start_platform(tmp_path_factory.mktemp("platform"))
    try:
        yield running
    finally:
        stack.stop()


def newman(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The pinned newman (bin/newman installs it under var/node on first use)."""
    return subprocess.run([str(NEWMAN), *args], cwd=cwd, capture_output=True, text=True, timeout=300)
