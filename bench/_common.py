"""Shared helpers for the benchmark suite: paths, statistics, machine facts, subprocesses."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"
PROJECT = BENCH / "projects" / "bench"
VENV_PY = REPO / ".venv" / "bin" / "python"
DURABLE = REPO / ".venv" / "bin" / "durable"
PY = str(VENV_PY if VENV_PY.exists() else Path(sys.executable))


# --- statistics -------------------------------------------------------------------------------


@dataclass
class Stat:
    """A figure measured several times: median, min and max, in `unit`."""

    values: list[float]
    unit: str

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def fmt(self, digits: int | None = None) -> str:
        d = _digits(self.median) if digits is None else digits
        text = f"{self.median:,.{d}f} {self.unit}".rstrip()
        if len(self.values) > 1:
            text += f" ({self.min:,.{d}f}–{self.max:,.{d}f}, n={len(self.values)})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "n": len(self.values),
            "unit": self.unit,
            "values": self.values,
        }


def _digits(value: float) -> int:
    value = abs(value)
    if value >= 100:
        return 0
    if value >= 10:
        return 1
    if value >= 1:
        return 2
    if value >= 0.1:
        return 3
    return 4


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


# --- results ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of RESULTS.md: a metric of durable, next to the same metric of its peers."""

    benchmark: str
    metric: str
    workload: str
    durable: Stat | None
    peers: dict[str, Stat | str] = field(default_factory=dict)  # str: why there is no figure
    target: str = ""
    passed: bool | None = None  # None: no target, or not measurable
    higher_is_better: bool = False
    note: str = ""
    durable_error: str = ""

    def ratio(self, peer: str) -> str:
        """durable against `peer`: "12.3× faster", "1.4× slower", "3.0× smaller" …"""
        other = self.peers.get(peer)
        if self.durable is None or not isinstance(other, Stat):
            return ""
        ours, theirs = self.durable.median, other.median
        if ours <= 0 or theirs <= 0:
            return ""
        factor = ours / theirs if self.higher_is_better else theirs / ours
        unit = self.durable.unit
        good, bad = (
            ("smaller", "larger")
            if unit in ("MB", "KB", "B")
            else (("lower", "higher") if unit == "×" else ("faster", "slower"))
        )
        return f"{factor:,.1f}× {good}" if factor >= 1 else f"{1 / factor:,.1f}× {bad}"


@dataclass
class Section:
    """What one benchmark contributes: rows, free text (profiles, notes) and raw data."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


# --- machine ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return (one, five, fifteen)


def python_version(python: str = PY) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or platform.python_version()


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "mem_gib": round(mem_total_gib(), 1),
        "python": python_version(),
        "platform": platform.platform(),
        "sqlite": _sqlite_version(),
    }


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def other_busy_processes(threshold: float = 5.0) -> list[str]:
    """Processes not ours using noticeable CPU right now (a coarse `ps` snapshot)."""
    out = subprocess.run(
        ["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[1:]
    busy = []
    for line in out:
        parts = line.split(None, 2)
        if len(parts) == 3 and float(parts[1]) >= threshold and int(parts[0]) != os.getpid():
            busy.append(f"{parts[2]} ({parts[1]}%)")
    return busy[:6]


# --- processes --------------------------------------------------------------------------------


def run_json(
    args: Sequence[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Run a command whose last stdout line is a JSON object; return it (raises on failure)."""
    proc = subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )
    for line in reversed(proc.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if proc.returncode != 0:
                data.setdefault("returncode", proc.returncode)
            return dict(data)
    raise RuntimeError(
        f"{' '.join(map(str, args))} exited {proc.returncode} without a JSON result:\n"
        f"{_tail(proc.stdout)}\n{_tail(proc.stderr)}"
    )


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def compile_durable() -> None:
    """Write durable's bytecode before timing its CLI, as installing a wheel does.

    The benchmark runs the editable checkout; with PYTHONDONTWRITEBYTECODE set (as on some CI
    machines) Python would otherwise recompile every module of ours on every start.
    """
    # Compile where Python imports durable from: the checkout in the default editable mode, a
    # tree of links under build/ in the strict mode that .ci/run installs.
    where = subprocess.run(
        [PY, "-c", "import durable.cli, durable.runtime as r; print(r.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    package = Path(where).parent.parent  # .../durable
    folders = {REPO / "cli", REPO / "runtime", package / "cli", package / "runtime"}
    subprocess.run(
        [PY, "-m", "compileall", "-q", *sorted(str(f) for f in folders if f.is_dir())],
        capture_output=True,
        check=True,
    )


def wall_times(
    args: Sequence[str],
    runs: int,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    warmup: int = 1,
) -> tuple[list[float], str]:
    """Wall time (ms) of a whole process, `runs` times after `warmup` untimed runs.

    Returns the times and the first failure's message ("" if every run exited 0).
    """
    full_env = {**os.environ, **(env or {})}
    failure = ""
    times: list[float] = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        proc = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            cwd=cwd,
            env=full_env,
            check=False,
            timeout=120,
        )
        elapsed = (time.perf_counter() - start) * 1000
        if proc.returncode != 0 and not failure:
            failure = f"exit {proc.returncode}: {_tail(proc.stderr or proc.stdout, 3)}"
        if i >= warmup:
            times.append(elapsed)
    return times, failure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kill_tree(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, wait: float = 10) -> None:
    """Signal a process group we started (start_new_session=True) and reap it."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=wait)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (10^6 bytes)."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total / 1e6


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def store_bytes(persist: Path) -> int:
    """Bytes of the store file plus its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in persist.glob("durable.sqlite3*") if p.is_file())
