"""What every benchmark shares: the run `Context`, repetition, statistics, store polling."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _peers
from _common import (
    BENCH,
    PY,
    WORK,
    Stat,
    fresh_dir,
    run_json,
)
from _dev import copy_project, dev_available

INPROC = str(BENCH / "inproc.py")
PROFILES = WORK / "profiles"
N = 1000
BATCH = 100


@dataclass
class Context:
    quick: bool = False
    fresh_peers: bool = False
    profile: bool = True
    log: Callable[[str], None] = print
    peers: dict[str, _peers.Peer] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def peer(self, name: str) -> _peers.Peer:
        if name not in self.peers:
            self.log(f"  installing peer {name} under bench/.work ...")
            install = _peers.install_dbos if name == "DBOS" else _peers.install_wrangler
            self.peers[name] = install(self.fresh_peers)
            peer = self.peers[name]
            self.log(f"  {name}: {peer.version or 'NOT AVAILABLE: ' + peer.error}")
        return self.peers[name]

    def server(self) -> bool:
        if "server" not in self.memo:
            self.memo["server"] = dev_available()
        return bool(self.memo["server"])


def inproc(command: str, *args: str, timeout: float = 900) -> dict[str, Any]:
    return run_json([PY, INPROC, command, *args], timeout=timeout)


def repeat(
    ctx: Context, times: int, label: str, fn: Callable[[], dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for i in range(times):
        ctx.log(f"  {label} [{i + 1}/{times}]")
        out.append(fn())
    return out


def stat(results: list[dict[str, Any]], key: str, unit: str, scale: float = 1.0) -> Stat:
    return Stat([float(r[key]) * scale for r in results if r.get(key) is not None], unit)


def peer_runs(
    ctx: Context, name: str, times: int, label: str, fn: Callable[[_peers.Peer], dict[str, Any]]
) -> list[dict[str, Any]] | str:
    """Run a peer's benchmark `times` times; a string says why there are no figures."""
    peer = ctx.peer(name)
    if not peer.ok:
        return f"not installed: {peer.error}"
    try:
        return repeat(ctx, times, f"{name} {label}", lambda: fn(peer))
    except Exception as exc:  # noqa: BLE001 - a failing peer is reported, not fatal
        return f"failed: {exc}"[:400]


def peer_stat(
    runs: list[dict[str, Any]] | str, key: str, unit: str, scale: float = 1.0
) -> Stat | str:
    if isinstance(runs, str):
        return runs
    values = [float(r[key]) * scale for r in runs if r.get(key) is not None]
    return Stat(values, unit) if values else "no figure"


def store_file(project: Path) -> Path:
    return project / ".durable" / "durable.sqlite3"


def count_status(db: Path, workflow: str, status: str) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute(
            "SELECT count(*) FROM instances WHERE workflow = ? AND status = ?", (workflow, status)
        ).fetchone()
        return int(row[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def raise_if_errored(db: Path, workflow: str) -> None:
    """A workload here never errors: if an instance did, the runtime is broken, say so."""
    if count_status(db, workflow, "errored") == 0:
        return
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        error = conn.execute(
            "SELECT error FROM instances WHERE workflow = ? AND status = 'errored' LIMIT 1",
            (workflow,),
        ).fetchone()
    finally:
        conn.close()
    raise RuntimeError(f"{workflow} instances errored, e.g. {error[0] if error else '?'}")


def wait_status(
    db: Path,
    workflow: str,
    status: str,
    count: int,
    timeout: float,
    poll: float = 0.005,
    stall: float = 30.0,
) -> None:
    """Wait until `count` instances have `status`; give up after `timeout`, or after `stall`
    seconds without progress."""
    deadline = time.perf_counter() + timeout
    last, last_change = -1, time.perf_counter()
    while (seen := count_status(db, workflow, status)) < count:
        raise_if_errored(db, workflow)
        now = time.perf_counter()
        if seen != last:
            last, last_change = seen, now
        if now > deadline or now - last_change > stall:
            raise RuntimeError(
                f"{workflow}: {seen:,} of {count:,} instances {status} after "
                f"{timeout if now > deadline else now - last_change:.0f} s"
                + ("" if now > deadline else " without progress")
            )
        time.sleep(poll)


# --- stores of many instances, shared by the scale and CLI benchmarks ---------------------------


def scale_project(n: int) -> Path:
    return WORK / f"scale-{n}"


def populate(ctx: Context, n: int) -> dict[str, Any]:
    """A project copy whose store holds `n` finished `parked` instances (1 step each), made by
    running the parked workload in-process: n parked, then woken. Memoised per n."""
    key = f"populated-{n}"
    if key not in ctx.memo:
        project = copy_project(fresh_dir(scale_project(n)))
        ctx.log(f"  durable in-process: {n:,} parked instances, then wake all")
        ctx.memo[key] = inproc(
            "parked", "--n", str(n), "--persist", str(project / ".durable"), timeout=1800
        )
    return dict(ctx.memo[key])
