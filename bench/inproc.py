"""durable measured in-process: `open_runtime` + `env.BINDING.create_batch`, no HTTP.

Each subcommand runs one workload in this (fresh) process and prints one JSON line. bench/run.py
runs it in a subprocess per repetition, so every repetition starts from a cold interpreter and an
empty store. Run it by hand to profile, e.g.

    .venv/bin/python bench/inproc.py throughput --n 1000 --profile /tmp/engine.prof
    .venv/bin/py-spy record -o /tmp/engine.svg -- .venv/bin/python bench/inproc.py throughput
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from _common import PROJECT, WORK, fresh_dir, percentile, store_bytes, tree_rss_mb
from durable.runtime.config import load_config
from durable.runtime.dev.project import Runtime, open_runtime
from durable.runtime.engine.state import Limits

BATCH = 100


async def open_bench(
    persist: Path, *, limits: Limits | None = None, resume: bool = True
) -> Runtime:
    runtime = await open_runtime(
        load_config(PROJECT / "wrangler.toml"), persist_dir=persist, limits=limits, resume=resume
    )
    gc.freeze()  # as durable dev's worker does once it serves (runtime/worker.py)
    return runtime


async def create_all(
    rt: Runtime, binding: str, n: int, params: Any = None, batch: int = BATCH
) -> list[str]:
    """Create `n` instances in batches of `batch`, as a client of the batch API would."""
    target = getattr(rt.env, binding)
    ids: list[str] = []
    for start in range(0, n, batch):
        size = min(batch, n - start)
        created = await target.create_batch([{"params": params or {}} for _ in range(size)])
        ids += [inst.id for inst in created]
    return ids


async def drain(rt: Runtime, poll: float = 0.002) -> None:
    """Return when no instance is loaded (running or waiting in memory) and all is committed."""
    while rt.engine.loaded:
        await asyncio.sleep(poll)
    await rt.store.flush()


async def check_errors(rt: Runtime, workflow: str) -> None:
    """Raise if an instance errored: a benchmark of a broken run measures nothing."""
    rows = await rt.store._fetch(  # noqa: SLF001 - a benchmark reads the raw rows
        "SELECT count(*), max(error) FROM instances WHERE workflow = ? AND status = 'errored'",
        (workflow,),
    )
    count, error = rows[0]
    if count:
        raise RuntimeError(f"{count} {workflow} instance(s) errored, e.g. {error}")


async def _timed_concurrent(rt: Runtime, binding: str, workflow: str, n: int) -> float:
    start = time.perf_counter()
    await create_all(rt, binding, n)
    await drain(rt)
    elapsed = time.perf_counter() - start
    await check_errors(rt, workflow)
    done = await rt.store.count_instances(workflow, status="complete")
    if done < n:
        raise RuntimeError(f"{workflow}: only {done} of {n} instances completed")
    return elapsed


async def _timed_sequential(
    rt: Runtime, binding: str, workflow: str, n: int
) -> tuple[float, list[float]]:
    target = getattr(rt.env, binding)
    lat: list[float] = []
    start = time.perf_counter()
    for _ in range(n):
        a = time.perf_counter()
        inst = await target.create({"params": {}})
        await rt.engine.wait_for(workflow, inst.id, ("complete", "errored"), timeout=30)
        lat.append(time.perf_counter() - a)
    return time.perf_counter() - start, lat


async def throughput(args: argparse.Namespace) -> dict[str, Any]:
    persist = fresh_dir(Path(args.persist))
    rt = await open_bench(persist)
    try:
        await create_all(rt, "NOOP3", 50)  # warm-up: imports, first commits, code paths
        await drain(rt)
        commits0 = rt.store.commits
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        if args.mode == "sequential":
            t0, lat0 = await _timed_sequential(rt, "NOOP0", "noop0", args.n)
            t3, lat3 = await _timed_sequential(rt, "NOOP3", "noop3", args.n)
            extra = {
                "p50_0_ms": percentile(lat0, 50) * 1e3,
                "p50_3_ms": percentile(lat3, 50) * 1e3,
                "p99_3_ms": percentile(lat3, 99) * 1e3,
            }
        else:
            t0 = await _timed_concurrent(rt, "NOOP0", "noop0", args.n)
            t3 = await _timed_concurrent(rt, "NOOP3", "noop3", args.n)
            extra = {}
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        commits = rt.store.commits - commits0
    finally:
        await rt.close()
    n = args.n
    return {
        "n": n,
        "mode": args.mode,
        "t0_s": t0,
        "t3_s": t3,
        "wf_per_s_3": n / t3,
        "wf_per_s_0": n / t0,
        "per_step_ms": (t3 - t0) / (3 * n) * 1e3,
        "commits": commits,
        **extra,
    }


async def create(args: argparse.Namespace) -> dict[str, Any]:
    """Instances created per second: create_batch from the fetch handler, and on the binding."""
    from durable.runtime.worker.entrypoints import ExecutionContext
    from durable.runtime.worker.fetch_api import Request

    persist = fresh_dir(Path(args.persist))
    rt = await open_bench(persist)
    try:
        await create_all(rt, "NOOP0", BATCH)  # warm-up
        await drain(rt)
        assert rt.code is not None and rt.code.fetch_handler is not None
        worker = rt.code.fetch_handler(ExecutionContext(), rt.env)
        start = time.perf_counter()
        for _ in range(args.n // BATCH):
            response = await worker.fetch(
                Request(f"http://localhost/create?workflow=noop0&n={BATCH}")
            )
            assert response.status == 200, response.status
        fetch_s = time.perf_counter() - start
        await drain(rt)
        start = time.perf_counter()
        await create_all(rt, "NOOP0", args.n)
        binding_s = time.perf_counter() - start
        await drain(rt)
    finally:
        await rt.close()
    return {
        "n": args.n,
        "fetch_s": fetch_s,
        "fetch_per_s": args.n / fetch_s,
        "binding_s": binding_s,
        "binding_per_s": args.n / binding_s,
    }


def _trace_reads() -> dict[str, float]:
    """Count the store's reads and flushes and the time callers spend awaiting them (summed
    over concurrent callers, so it measures queueing), and the timer loop's wake-ups."""
    from durable.runtime.engine.scheduler import Engine
    from durable.runtime.engine.store import Store

    counters = {
        "reads": 0.0,
        "read_wait_s": 0.0,
        "flushes": 0.0,
        "flush_wait_s": 0.0,
        "wakes": 0.0,
        "wake_s": 0.0,
    }

    def wrap(cls: Any, name: str, count: str, wait: str) -> None:
        original = getattr(cls, name)

        async def traced(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*a, **k)
            finally:
                counters[count] += 1
                counters[wait] += time.perf_counter() - start

        setattr(cls, name, traced)

    wrap(Store, "_fetch", "reads", "read_wait_s")
    wrap(Store, "flush", "flushes", "flush_wait_s")
    wrap(Engine, "_wake", "wakes", "wake_s")
    return counters


async def timers(args: argparse.Namespace) -> dict[str, Any]:
    """`n` instances sleep `ms`; lateness = when the code after the sleep ran - the deadline."""
    persist = fresh_dir(Path(args.persist))
    counters = _trace_reads() if args.trace else None
    rt = await open_bench(persist)
    try:
        start = time.perf_counter()
        ids = await create_all(rt, "SLEEPER", args.n, {"ms": args.ms})
        created_s = time.perf_counter() - start
        await drain(rt, poll=0.01)
        # The timer heap also holds parked instances: wait for those too.
        deadline = time.time() + args.ms / 1000 + 60
        while await rt.store.count_instances("sleeper", status="complete") < args.n:
            await check_errors(rt, "sleeper")
            if time.time() > deadline:
                raise RuntimeError("sleepers did not all complete")
            await asyncio.sleep(0.05)
            await drain(rt, poll=0.01)
        rows = await rt.store._fetch(  # noqa: SLF001 - a benchmark reads the raw step rows
            "SELECT s.wake_ms, i.output FROM steps s JOIN instances i ON i.pk = s.instance_pk "
            "WHERE i.workflow = 'sleeper' AND s.kind = 'sleep'"
        )
    finally:
        await rt.close()
    late = [float(json.loads(output)) - wake for wake, output in rows]
    return {
        **(counters or {}),
        "n": len(ids),
        "ms": args.ms,
        "create_s": created_s,
        "p50_ms": percentile(late, 50),
        "p99_ms": percentile(late, 99),
        "max_ms": max(late),
        "min_ms": min(late),
    }


async def parked(args: argparse.Namespace) -> dict[str, Any]:
    """`n` instances wait for an event: memory and store size while parked, then wake them all."""
    persist = fresh_dir(Path(args.persist))
    gc.collect()
    rss_before = tree_rss_mb(os.getpid())
    rt = await open_bench(persist)
    try:
        rss_open = tree_rss_mb(os.getpid())
        start = time.perf_counter()
        ids = await create_all(rt, "PARKED", args.n)
        create_s = time.perf_counter() - start
        peak_during = tree_rss_mb(os.getpid())
        await drain(rt, poll=0.05)  # every instance has parked (left memory)
        parked_s = time.perf_counter() - start
        await check_errors(rt, "parked")
        gc.collect()
        rss_parked = tree_rss_mb(os.getpid())
        waiting = await rt.store.count_instances("parked", status="waiting")
        await rt.store._fetch("PRAGMA wal_checkpoint(TRUNCATE)")  # noqa: SLF001
        size = store_bytes(persist)
        # Events arrive as from many clients at once: up to `--concurrency` sends in flight.
        start = time.perf_counter()
        for first in range(0, len(ids), args.concurrency):
            await asyncio.gather(
                *(
                    rt.engine.send_event("parked", instance_id, "go", {"ok": True})
                    for instance_id in ids[first : first + args.concurrency]
                )
            )
        sent_s = time.perf_counter() - start
        await drain(rt, poll=0.01)
        wake_s = time.perf_counter() - start
        complete = await rt.store.count_instances("parked", status="complete")
        rss_after = tree_rss_mb(os.getpid())
    finally:
        await rt.close()
    return {
        "n": args.n,
        "create_s": create_s,
        "parked_s": parked_s,
        "waiting": waiting,
        "rss_before_mb": rss_before,
        "rss_open_mb": rss_open,
        "rss_peak_create_mb": peak_during,
        "rss_parked_mb": rss_parked,
        "rss_after_wake_mb": rss_after,
        "store_bytes": size,
        "bytes_per_instance": size / args.n,
        "send_s": sent_s,
        "wake_all_s": wake_s,
        "complete": complete,
        "wake_per_s": args.n / wake_s,
    }


async def crash_child(args: argparse.Namespace) -> dict[str, Any]:
    """Start `n` Crashy instances, announce it, and keep running until SIGKILLed."""
    persist = fresh_dir(Path(args.persist))
    rt = await open_bench(persist)
    params = {"log": args.log, "steps": args.steps, "pause": args.pause}
    await create_all(rt, "CRASHY", args.n, params)
    print(json.dumps({"created": args.n}), flush=True)
    await asyncio.sleep(3600)
    return {}


async def crash_resume(args: argparse.Namespace) -> dict[str, Any]:
    """Reopen a killed runtime's store; time until every unfinished instance runs again."""
    start = time.perf_counter()
    rt = await open_bench(Path(args.persist))
    try:
        opened_s = time.perf_counter() - start
        pid = str(os.getpid())
        unfinished = {row.id for row in await rt.store.unfinished_instances()}
        running_s: float | None = None
        deadline = time.perf_counter() + 120
        log = Path(args.log)
        while time.perf_counter() < deadline:
            if running_s is None:
                seen = {
                    line.split()[1]
                    for line in log.read_text().splitlines()
                    if line.startswith(pid + " ")
                }
                if unfinished <= seen:
                    running_s = time.perf_counter() - start
            if not rt.engine.loaded:
                break
            await asyncio.sleep(0.005)
        await drain(rt)
        await check_errors(rt, "crashy")
        complete_s = time.perf_counter() - start
        complete = await rt.store.count_instances("crashy", status="complete")
    finally:
        await rt.close()
    return {
        "pid": pid,
        "opened_s": opened_s,
        "unfinished_at_start": len(unfinished),
        "running_again_s": running_s,
        "complete_s": complete_s,
        "complete": complete,
    }


COMMANDS = {
    "throughput": throughput,
    "create": create,
    "timers": timers,
    "parked": parked,
    "crash-child": crash_child,
    "crash-resume": crash_resume,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--ms", type=int, default=1000)
    parser.add_argument("--mode", choices=("concurrent", "sequential"), default="concurrent")
    parser.add_argument("--persist", default=str(WORK / "inproc"))
    parser.add_argument("--profile", default="", help="write cProfile stats of the timed part")
    parser.add_argument("--log", default=str(WORK / "crash.log"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--trace", action="store_true", help="timers: count reads and waits")
    parser.add_argument("--concurrency", type=int, default=100, help="events in flight (parked)")
    parser.add_argument("--pause", type=float, default=0.05)
    args = parser.parse_args(argv)
    result = asyncio.run(COMMANDS[args.command](args))
    if args.profile and os.path.exists(args.profile):
        stats = pstats.Stats(args.profile, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(25)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
