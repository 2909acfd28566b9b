"""The peers, installed by the benchmark itself into throw-away folders under bench/.work/.

* DBOS: a venv at bench/.work/dbos-venv with `pip install dbos` (SQLite system database).
* wrangler: `npm install wrangler` into bench/.work/wrangler; `wrangler dev` runs the JS twin of
  the benchmark project, written into bench/.work/wrangler-project from bench/peers/wrangler/.

A peer that cannot be installed is reported with the reason, never dropped silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import BENCH, WORK, free_port, kill_tree

DBOS_VENV = WORK / "dbos-venv"
WRANGLER_DIR = WORK / "wrangler"
WRANGLER_PROJECT = WORK / "wrangler-project"
PEERS_SRC = BENCH / "peers"
# wrangler asks the network for Request.cf and telemetry; neither is reachable here, and neither
# should be waited for.
WRANGLER_ENV = {"WRANGLER_SEND_METRICS": "false", "CI": "1", "NO_COLOR": "1"}


@dataclass
class Peer:
    name: str
    version: str = ""
    error: str = ""  # why it is not available
    path: Path | None = None  # the python of the dbos venv, or the wrangler executable

    @property
    def ok(self) -> bool:
        return not self.error and self.path is not None


def _python311() -> str:
    for candidate in (sys.executable, shutil.which("python3.11"), shutil.which("python3")):
        if candidate:
            return candidate
    return sys.executable


def install_dbos(fresh: bool = False) -> Peer:
    peer = Peer("DBOS")
    python = DBOS_VENV / "bin" / "python"
    try:
        if fresh and DBOS_VENV.exists():
            shutil.rmtree(DBOS_VENV)
        if not _dbos_importable(python):
            if DBOS_VENV.exists():
                shutil.rmtree(DBOS_VENV)
            subprocess.run(
                [_python311(), "-m", "venv", str(DBOS_VENV)],
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            )
            proc = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "dbos"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if proc.returncode != 0:
                peer.error = "pip install dbos failed: " + _last(proc.stderr or proc.stdout)
                return peer
        version = subprocess.run(
            [
                str(python),
                "-c",
                "import importlib.metadata as m; print(m.version('dbos'), m.version('sqlalchemy'))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        dbos_v, sqla_v = version.stdout.split()
        peer.version = f"dbos {dbos_v} (SQLAlchemy {sqla_v})"
        peer.path = python
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        peer.error = f"could not install dbos: {exc}"
    return peer


def _dbos_importable(python: Path) -> bool:
    if not python.exists():
        return False
    proc = subprocess.run(
        [str(python), "-c", "import dbos"], capture_output=True, timeout=60, check=False
    )
    return proc.returncode == 0


def install_wrangler(fresh: bool = False) -> Peer:
    peer = Peer("wrangler")
    exe = WRANGLER_DIR / "node_modules" / ".bin" / "wrangler"
    npm = shutil.which("npm")
    if npm is None:
        peer.error = "npm is not installed on this machine"
        return peer
    try:
        if fresh and WRANGLER_DIR.exists():
            shutil.rmtree(WRANGLER_DIR)
        if not exe.exists():
            WRANGLER_DIR.mkdir(parents=True, exist_ok=True)
            (WRANGLER_DIR / "package.json").write_text(
                '{"name": "bench-wrangler", "private": true}\n'
            )
            proc = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "wrangler"],
                cwd=WRANGLER_DIR,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if proc.returncode != 0 or not exe.exists():
                peer.error = "npm install wrangler failed: " + _last(proc.stderr or proc.stdout)
                return peer
        proc = subprocess.run(
            [str(exe), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **WRANGLER_ENV},
            check=False,
        )
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
        peer.version = f"wrangler {proc.stdout.strip().splitlines()[-1]} (node {node})"
        peer.path = exe
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        peer.error = f"could not install wrangler: {exc}"
    return peer


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


# --- DBOS -------------------------------------------------------------------------------------


def run_dbos(
    peer: Peer, n: int, *, wal: bool = False, phases: str = "seq,conc", timeout: float = 900
) -> dict[str, Any]:
    """One run of bench/peers/dbos_bench.py in the DBOS venv, on a fresh SQLite file."""
    assert peer.path is not None
    folder = WORK / "dbos-run"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    db = folder / "bench_dbos.sqlite"
    env = {
        **os.environ,
        "BENCH_DB": f"sqlite:///{db}",
        "BENCH_N": str(n),
        "BENCH_PHASES": phases,
        "BENCH_WAL": "1" if wal else "0",
    }
    proc = subprocess.run(
        [str(peer.path), str(PEERS_SRC / "dbos_bench.py")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise RuntimeError(
        f"DBOS benchmark failed (exit {proc.returncode}): {_last(proc.stderr or proc.stdout)}"
    )


# --- wrangler dev -----------------------------------------------------------------------------


class WranglerDev:
    """`wrangler dev` on the JS twin project, with its state in a fresh folder."""

    def __init__(self, peer: Peer, *, fresh_state: bool = True) -> None:
        assert peer.path is not None
        self.exe = peer.path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_s = 0.0
        if fresh_state and WRANGLER_PROJECT.exists():
            shutil.rmtree(WRANGLER_PROJECT)
        WRANGLER_PROJECT.mkdir(parents=True, exist_ok=True)
        for name in ("worker.js", "wrangler.toml"):
            shutil.copy(PEERS_SRC / "wrangler" / name, WRANGLER_PROJECT / name)
        self.log = WRANGLER_PROJECT / "dev.log"

    def __enter__(self) -> WranglerDev:
        try:
            return self._start()
        except BaseException:
            self.__exit__()
            raise

    def _start(self) -> WranglerDev:
        start = time.perf_counter()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.exe), "dev", "--ip", "127.0.0.1", "--port", str(self.port)],
                cwd=WRANGLER_PROJECT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **WRANGLER_ENV},
                start_new_session=True,
            )
        deadline = time.perf_counter() + 90
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wrangler dev exited: {self.log.read_text()[-500:]}")
            try:
                if self.get("/ping", timeout=2) == b"ok":
                    self.start_s = time.perf_counter() - start
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("wrangler dev did not answer within 90 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            kill_tree(self.proc)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 300) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
            return bytes(response.read())

    def post_json(self, path: str, body: Any, timeout: float = 600) -> bytes:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read())


def wrangler_throughput(peer: Peer, n: int, batch: int = 100) -> dict[str, Any]:
    """N x 0-step then N x 3-step, created with createBatch in batches, run to completion."""
    out: dict[str, Any] = {"n": n}
    with WranglerDev(peer) as dev:
        out["dev_start_s"] = dev.start_s
        ids = json.loads(dev.get("/create?n=20&steps=3"))  # warm-up
        dev.post_json("/wait", ids)
        for steps in (0, 3):
            start = time.perf_counter()
            ids = []
            for first in range(0, n, batch):
                ids += json.loads(dev.get(f"/create?n={min(batch, n - first)}&steps={steps}"))
            created = time.perf_counter() - start
            dev.post_json("/wait", ids)
            out[f"t{steps}_s"] = time.perf_counter() - start
            out[f"create{steps}_s"] = created
    out["wf_per_s_3"] = n / out["t3_s"]
    out["per_step_ms"] = (out["t3_s"] - out["t0_s"]) / (3 * n) * 1e3
    out["create_per_s"] = n / out["create0_s"]
    return out


def wrangler_sequential(peer: Peer, n: int) -> dict[str, Any]:
    """peers.md §8.2: `/one?steps=k` n times in a row (create one, poll it to completion)."""
    out: dict[str, Any] = {"n": n}
    with WranglerDev(peer) as dev:
        for _ in range(10):
            dev.get("/one?steps=3")
        for steps in (0, 3):
            start = time.perf_counter()
            for _ in range(n):
                dev.get(f"/one?steps={steps}")
            out[f"t{steps}_s"] = time.perf_counter() - start
    out["wf_per_s_3"] = n / out["t3_s"]
    out["per_step_ms"] = (out["t3_s"] - out["t0_s"]) / (3 * n) * 1e3
    return out


def wrangler_list_times(peer: Peer, runs: int) -> dict[str, Any]:
    """`wrangler workflows instances list/describe --local` against a wrangler dev holding
    instances from a throughput run (the size its local engine reaches here)."""
    from _common import wall_times

    out: dict[str, Any] = {}
    with WranglerDev(peer) as dev:
        ids: list[str] = []
        for _ in range(10):
            ids += json.loads(dev.get("/create?n=100&steps=0"))
        dev.post_json("/wait", ids)
        out["instances"] = len(ids)
        base = [str(peer.path), "workflows", "instances"]
        port = ["--local", "--port", str(dev.port)]
        env = WRANGLER_ENV
        out["list_ms"], out["list_error"] = wall_times(
            [*base, "list", "bench", "--status", "complete", *port],
            runs,
            cwd=WRANGLER_PROJECT,
            env=env,
        )
        out["describe_ms"], out["describe_error"] = wall_times(
            [*base, "describe", "bench", "latest", *port], runs, cwd=WRANGLER_PROJECT, env=env
        )
    return out
