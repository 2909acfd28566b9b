"""`durable dev` as a benchmark subject: start it, talk to it over HTTP, watch its memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from _common import DURABLE, PROJECT, free_port, kill_tree, tree_rss_mb

API = "/client/v4/accounts/local/workflows"


def dev_help() -> str:
    """`durable dev --help`, or "" when the command does not exist (yet)."""
    try:
        proc = subprocess.run(
            [str(DURABLE), "dev", "--help"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout if proc.returncode == 0 else ""


def dev_available() -> bool:
    return "--port" in dev_help()


def copy_project(dest: Path) -> Path:
    """A copy of bench/projects/bench at `dest` (its store then lives in dest/.durable)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "wrangler.toml", dest / "wrangler.toml")
    if (dest / "src").exists():
        shutil.rmtree(dest / "src")
    shutil.copytree(PROJECT / "src", dest / "src")
    return dest


class DurableDev:
    """`durable dev` in `project` (a copy of the bench project), on a free port."""

    def __init__(self, project: Path, *, extra: list[str] | None = None) -> None:
        self.project = project
        self.port = free_port()
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_s = 0.0
        self.log = project / "dev.log"

    def __enter__(self) -> DurableDev:
        try:
            return self._start()
        except BaseException:
            self.__exit__()
            raise

    def _start(self) -> DurableDev:
        help_text = dev_help()
        args = [str(DURABLE), "dev", "--port", str(self.port)]
        if "--ip" in help_text:
            args += ["--ip", "127.0.0.1"]
        args += self.extra
        start = time.perf_counter()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                args,
                cwd=self.project,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "NO_COLOR": "1"},
            )
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"durable dev exited {self.proc.returncode}: {self.log.read_text()[-800:]}"
                )
            try:
                if self.get("/ping", timeout=2) == b"ok":
                    self.start_s = time.perf_counter() - start
                    return self
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.01)
        raise RuntimeError(f"durable dev did not answer within 60 s: {self.log.read_text()[-800:]}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            kill_tree(self.proc)

    def kill(self, sig: int) -> None:
        assert self.proc is not None
        kill_tree(self.proc, sig)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        return tree_rss_mb(self.pid)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 300) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
            return bytes(response.read())

    def request(self, method: str, path: str, body: Any = None, timeout: float = 300) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def create_batch(self, workflow: str, items: list[dict[str, Any]]) -> list[str]:
        """POST …/instances/batch; the ids created."""
        reply = self.request("POST", f"{API}/{workflow}/instances/batch", items)
        return [item["id"] for item in reply["result"]]

    def send_event(self, workflow: str, instance_id: str, event_type: str, payload: Any) -> None:
        self.request(
            "POST", f"{API}/{workflow}/instances/{instance_id}/events/{event_type}", payload
        )
