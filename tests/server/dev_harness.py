"""Helpers to run a real `durable dev` (the console script) on a free port.

`start_dev_server(root, *args)` starts `durable dev --port 0` in a project folder (written with
tests/conftest.py's `write_project`), waits until the discovery file names it and it answers,
and returns a `DevServer` handle. The `dev_server` fixture (conftest.py) stops them after the test.
Imported by name (`from dev_harness import ...`): pytest puts this folder on sys.path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TESTS = Path(__file__).resolve().parents[1]
API = "/client/v4/accounts/local/workflows"


def _load_write_project() -> Callable[..., Path]:
    # tests/conftest.py is not importable by name from here (every conftest is "conftest"), so
    # load it by path to reuse its project writer rather than keep a copy.
    spec = importlib.util.spec_from_file_location(
        "durable_tests_root_conftest", TESTS / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_project  # type: ignore[no-any-return]


write_project = _load_write_project()


def durable_command() -> list[str]:
    """The installed `durable` console script next to this interpreter, else `-m`."""
    script = Path(sys.executable).parent / "durable"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "durable.cli.app"]


@dataclass
class DevServer:
    proc: subprocess.Popen[bytes]
    root: Path
    persist_dir: Path
    log_path: Path
    port: int = 0
    url: str = ""
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"{self.url}{API}"

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, pattern: str, timeout: float = 10.0, *, after: int = 0) -> str:
        """Wait for a regex to appear in the output (from character `after` on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            if re.search(pattern, text[after:]):
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} not seen in time; output:\n{self.output()}")

    def client(self, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=10.0, **kwargs)
        self._clients.append(client)
        return client

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        for client in self._clients:
            client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def wait_until(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or predicate}; last value: {last!r}")


def _read_discovery(persist_dir: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((persist_dir / "dev.json").read_text())
        return data
    except (OSError, ValueError):
        return None


def start_dev_server(
    root: Path,
    *args: str,
    persist_dir: Path | None = None,
    pre_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    wait: bool = True,
    timeout: float = 20.0,
) -> DevServer:
    persist = persist_dir or root / ".durable"
    log_path = root / f"dev-{time.monotonic_ns()}.log"
    command = [*durable_command(), *pre_args, "dev", "--port", "0", *args]
    if persist_dir is not None and not pre_args:
        command += ["--persist-to", str(persist_dir)]
    environ = {k: v for k, v in os.environ.items() if k != "DURABLE_API_TOKEN"}
    environ.update(env or {})
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=environ
        )
    server = DevServer(proc, root, persist, log_path)
    if not wait:
        return server
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"durable dev exited ({proc.returncode}):\n{server.output()}")
        info = _read_discovery(persist)
        if info is not None and info.get("pid") == proc.pid and "Ready on" in server.output():
            server.port = int(info["port"])
            server.url = str(info["url"])
            return server
        time.sleep(0.02)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"durable dev did not become ready:\n{server.output()}")


def node_tool(name: str) -> str | None:
    return shutil.which(name)
