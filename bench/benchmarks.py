"""The benchmarks of the suite. Each takes a `Context` and returns a `Section` for RESULTS.md.

Every durable figure is taken in a fresh subprocess (bench/inproc.py, `durable dev`, the CLI),
repeated, and reported as median (min–max). Peers run in the same invocation of bench/run.py.
The benchmarks live by theme in bench_engine.py, bench_scale.py, bench_cli.py and
bench_recovery.py; what they share is in _context.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from _common import WORK, Section
from _context import Context
from bench_cli import cli_startup, reload_startup
from bench_engine import creation, engine, store_floor
from bench_recovery import recovery
from bench_scale import inspection, parked, timers

__all__ = ["BENCHMARKS", "Context", "cleanup_work"]


BENCHMARKS: dict[str, tuple[str, Callable[[Context], Section]]] = {
    "floor": ("raw SQLite insert+commit floor", store_floor),
    "engine": ("engine throughput vs DBOS and wrangler dev, + profile", engine),
    "creation": ("instance creation rate", creation),
    "timers": ("timer wake-up lateness", timers),
    "parked": ("100,000 parked instances: RSS, bytes, wake all", parked),
    "inspect": ("list/describe at 1,000 and 100,000 instances", inspection),
    "cli": ("CLI start-up vs python/typer/wrangler/dbos", cli_startup),
    "reload": ("hot reload and dev start (bench/reload_startup.py)", reload_startup),
    "recovery": ("SIGKILL with 1,000 in flight, restart", recovery),
}


def cleanup_work(keep: bool) -> None:
    """Drop the big per-run folders (the peers' installs stay for the next run)."""
    if keep:
        return
    for path in WORK.glob("scale-*"):
        shutil.rmtree(path, ignore_errors=True)
