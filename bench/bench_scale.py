"""Scale benchmarks: timer lateness, 100,000 parked instances, list/describe at scale."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _peers
from _common import (
    DURABLE,
    PY,
    WORK,
    Row,
    Section,
    Stat,
    compile_durable,
    fresh_dir,
    store_bytes,
    wall_times,
)
from _context import (
    BATCH,
    Context,
    count_status,
    inproc,
    peer_runs,
    populate,
    repeat,
    scale_project,
    stat,
    store_file,
    wait_status,
)
from _dev import DurableDev, copy_project
from _profile import markdown_imports

# --- timers -----------------------------------------------------------------------------------


def timers(ctx: Context) -> Section:
    section = Section("timers", "Timers: wake-up lateness")
    one = repeat(
        ctx,
        ctx.reps(3, 1),
        "durable 1,000 × sleep 1 s",
        lambda: inproc("timers", "--n", "1000", "--ms", "1000", "--persist", str(WORK / "timers")),
    )
    far = repeat(
        ctx,
        ctx.reps(3, 1),
        "durable 1,000 × sleep 3 s (parked)",
        lambda: inproc("timers", "--n", "1000", "--ms", "3000", "--persist", str(WORK / "timers")),
    )
    wl = (
        "1,000 instances created in batches of 100, each `step.sleep` {} then a step that "
        "records time.time(); lateness = that time − the stored deadline (in-process)"
    )
    p99 = stat(one, "p99_ms", "ms")
    section.rows += [
        Row(
            "Timers",
            "lateness p50, sleep 1 s",
            wl.format("1 s"),
            stat(one, "p50_ms", "ms"),
            target="report",
        ),
        Row(
            "Timers",
            "lateness p99, sleep 1 s",
            wl.format("1 s"),
            p99,
            target="≤ 50 ms",
            passed=p99.median <= 50,
        ),
        Row(
            "Timers",
            "lateness p50, sleep 3 s (instances parked out of memory)",
            wl.format("3 s"),
            stat(far, "p50_ms", "ms"),
            target="report",
        ),
        Row(
            "Timers",
            "lateness p99, sleep 3 s (instances parked out of memory)",
            wl.format("3 s"),
            stat(far, "p99_ms", "ms"),
            target="≤ 50 ms (same target)",
            passed=stat(far, "p99_ms", "ms").median <= 50,
        ),
    ]
    if stat(far, "p99_ms", "ms").median > 50:
        ctx.log("  tracing the wake-up path of parked sleepers")
        try:
            t = inproc(
                "timers",
                "--n",
                "1000",
                "--ms",
                "3000",
                "--trace",
                "--persist",
                str(WORK / "timers"),
            )
            section.notes.append(
                "**Where the parked sleepers' lateness comes from** (one traced run of 1,000 × "
                f"sleep 3 s; p99 {t['p99_ms']:.0f} ms): the timer loop woke {t['wakes']:.0f} "
                f"instances one at a time, spending {t['wake_s']:.2f} s awaiting them in turn "
                f"(each `_wake` awaits a read of the instance row); in all {t['reads']:.0f} reads "
                f"were awaited for a summed {t['read_wait_s']:.1f} s and {t['flushes']:.0f} "
                f"flushes for {t['flush_wait_s']:.1f} s. The reads queue on the single reader "
                "connection (one aiosqlite thread): each woken instance needs its row, then a "
                "flush, its steps and its pending events before its replay reaches the sleep, "
                "so the last of 1,000 due at once waits behind everyone else's round trips. The "
                "in-memory path (sleep ≤ park_after, the 1 s rows) has no such queue."
            )
            section.raw["trace"] = t
        except Exception as exc:  # noqa: BLE001
            section.notes.append(f"Tracing the wake path failed: {exc}")
    section.raw.update(sleep_1s=one, sleep_3s=far)
    return section


def _http_parked(ctx: Context, n: int) -> dict[str, Any]:
    project = copy_project(fresh_dir(WORK / "http-parked"))
    out: dict[str, Any] = {"n": n}
    with DurableDev(project) as dev:
        db = store_file(project)
        out["rss_start_mb"] = dev.rss_mb()
        start = time.perf_counter()
        ids: list[str] = []
        peak = 0.0
        for first in range(0, n, BATCH):
            ids += dev.create_batch("parked", [{} for _ in range(min(BATCH, n - first))])
            if first % (BATCH * 50) == 0:
                peak = max(peak, dev.rss_mb())
        out["create_s"] = time.perf_counter() - start
        wait_status(db, "parked", "waiting", n, timeout=600, poll=0.2)
        time.sleep(3)  # park_after (1 s) has passed for every instance: all out of memory
        out["rss_parked_mb"] = dev.rss_mb()
        out["rss_peak_create_mb"] = max(peak, out["rss_parked_mb"])
        conn = sqlite3.connect(db, timeout=30)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        conn.close()
        out["store_bytes"] = store_bytes(db.parent)
        out["bytes_per_instance"] = out["store_bytes"] / n
        start = time.perf_counter()
        errors: list[str] = []
        lock = threading.Lock()

        def send(chunk: list[str]) -> None:
            for instance_id in chunk:
                try:
                    dev.send_event("parked", instance_id, "go", {"ok": True})
                except (OSError, urllib.error.HTTPError) as exc:
                    with lock:
                        errors.append(str(exc))

        workers = 8
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(send, [ids[i::workers] for i in range(workers)]))
        out["send_s"] = time.perf_counter() - start
        try:
            wait_status(db, "parked", "complete", n, timeout=600, poll=0.05, stall=15)
        except RuntimeError as exc:  # lost wake-ups: report them with the other figures
            out["wake_error"] = str(exc)
        out["complete"] = count_status(db, "parked", "complete")
        out["wake_all_s"] = time.perf_counter() - start - (15 if "wake_error" in out else 0)
        out["wake_per_s"] = n / out["wake_all_s"]
        out["send_errors"] = len(errors)
        out["rss_after_wake_mb"] = dev.rss_mb()
    return out


def parked(ctx: Context) -> Section:
    section = Section("parked", "Parked instances: memory, store size, wake-up")
    n = 10_000 if ctx.quick else 100_000
    result = populate(ctx, n)
    http: dict[str, Any] | str = "durable dev not available yet"
    if ctx.server():
        ctx.log(f"  durable dev: {n:,} parked instances over HTTP")
        try:
            http = _http_parked(ctx, n)
        except Exception as exc:  # noqa: BLE001
            http = f"failed: {exc}"[:400]
    wl = (
        f"{n:,} instances of `parked` (wait_for_event 'go', timeout 1 day), created in batches "
        f"of {BATCH}, all parked; then one event each"
    )
    herr = http if isinstance(http, str) else ""

    def one(key: str, unit: str, scale: float = 1.0) -> Stat | None:
        return None if isinstance(http, str) else Stat([float(http[key]) * scale], unit)

    def lost(completed: int) -> str:
        if completed == n:
            return ""
        return f"LOST WAKE-UPS: {n - completed:,} of {n:,} never completed after their event was stored"

    rss_http = one("rss_parked_mb", "MB")
    kb_http = one("bytes_per_instance", "KB", 1 / 1000)
    rss = Stat([result["rss_parked_mb"]], "MB")
    kb = Stat([result["bytes_per_instance"] / 1000], "KB")
    section.rows += [
        Row(
            "Parked instances",
            "RSS of durable dev (process tree), all parked",
            wl + " (HTTP)",
            rss_http,
            target="≤ 200 MB",
            passed=None if rss_http is None else rss_http.median <= 200,
            durable_error=herr,
        ),
        Row(
            "Parked instances",
            "RSS of the in-process runtime, all parked",
            wl + " (in-process)",
            rss,
            target="≤ 200 MB (dev target, for reference)",
            passed=rss.median <= 200,
        ),
        Row(
            "Parked instances",
            "store bytes per instance (db + WAL)",
            wl,
            kb_http or kb,
            target="≤ 2 KB",
            passed=(kb_http or kb).median <= 2,
            note="" if kb_http else "in-process store",
        ),
    ]
    if not isinstance(http, str):
        section.rows.append(
            Row(
                "Parked instances",
                "wake all over HTTP: events sent → all complete",
                wl + " (HTTP POST …/events/go, 8 client threads)",
                one("wake_all_s", "s"),
                target="report (time it); every instance completes",
                passed=http["complete"] == n,
                note=lost(http["complete"]),
            )
        )
    section.rows.append(
        Row(
            "Parked instances",
            "wake all in-process: events sent → all complete",
            wl + " (in-process engine.send_event, 100 in flight)",
            Stat([result["wake_all_s"]], "s"),
            target="report (time it); every instance completes",
            passed=result["complete"] == n,
            note=lost(result["complete"]),
        )
    )
    if (not isinstance(http, str) and http["complete"] < n) or result["complete"] < n:
        section.notes.append(
            "**Lost wake-ups (a correctness bug the benchmark found).** Some instances stay "
            "`waiting` forever although their event is stored (unconsumed) in the events table. "
            "Traced in-process: `send_event` commits the event, wakes the parked instance, and "
            "the replay's `events_of(pending_only=True)` returns nothing. Cause: `Store._fetch` "
            "reads with `async with reader.execute(...) as cursor: await cursor.fetchall()`, "
            "three hops to the reader thread; between them other coroutines' SELECTs run on the "
            "same connection, so the connection's read transaction (its WAL snapshot) stays open "
            "across overlapping reads and a replay reads a snapshot taken before the event's "
            "commit. With 100 concurrent senders in-process 3–43% of 10,000 wake-ups were lost "
            "in trials; with 8 HTTP clients, 0.2–5%. Fix: `rows = await "
            "self._reader.execute_fetchall(sql, params)` (one hop, the statement finishes inside "
            "the thread); with it patched in, 10,000 of 10,000 completed and the wake-all took "
            "3.7 s instead of 5.5 s."
        )
    section.notes.append(
        f"In-process: RSS {result['rss_open_mb']:.0f} MB after open, "
        f"{result['rss_peak_create_mb']:.0f} MB right after creating, "
        f"{result['rss_parked_mb']:.0f} MB once all {n:,} parked, "
        f"{result['rss_after_wake_mb']:.0f} MB after waking them; creation took "
        f"{result['create_s']:.1f} s, all parked after {result['parked_s']:.1f} s."
    )
    section.raw.update(inproc=result, http=http)
    return section


# --- scale of inspection ----------------------------------------------------------------------


def _cli_times(project: Path, runs: int) -> dict[str, Any]:
    cmds = {
        "list": [str(DURABLE), "workflows", "instances", "list", "parked", "--status", "complete"],
        "describe": [str(DURABLE), "workflows", "instances", "describe", "parked", "latest"],
    }
    out: dict[str, Any] = {}
    for name, cmd in cmds.items():
        out[f"{name}_ms"], out[f"{name}_error"] = wall_times(
            cmd, runs, cwd=project, env={"NO_COLOR": "1"}
        )
        proc = subprocess.run(
            [PY, "-X", "importtime", *cmd],
            capture_output=True,
            text=True,
            cwd=project,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=60,
            check=False,
        )
        out[f"{name}_imports"] = proc.stderr
    return out


def inspection(ctx: Context) -> Section:
    section = Section("inspect", "Scale of inspection: list and describe")
    runs = ctx.reps(10, 5)
    compile_durable()
    sizes = (1000, 10_000 if ctx.quick else 100_000)
    measured: dict[tuple[int, str], dict[str, Any]] = {}
    for size in sizes:
        populate(ctx, size)
        project = scale_project(size)
        ctx.log(f"  CLI on {size:,} instances, no server")
        measured[(size, "no server")] = _cli_times(project, runs)
        if ctx.server():
            ctx.log(f"  CLI on {size:,} instances, durable dev running")
            try:
                with DurableDev(project):
                    measured[(size, "server")] = _cli_times(project, runs)
            except Exception as exc:  # noqa: BLE001
                measured[(size, "server")] = {"error": f"failed: {exc}"[:300]}
        else:
            measured[(size, "server")] = {"error": "durable dev not available yet"}
    wrangler = peer_runs(
        ctx, "wrangler", 1, "instances list --local", lambda p: _peers.wrangler_list_times(p, runs)
    )
    small, big = sizes
    for cmd, label in (
        ("list", "instances list parked --status complete"),
        ("describe", "instances describe parked latest"),
    ):
        peer: dict[str, Stat | str] = {}
        if isinstance(wrangler, str):
            peer["wrangler --local (1,000 instances)"] = wrangler
        else:
            w = wrangler[0]
            peer[f"wrangler --local ({w['instances']:,} instances)"] = (
                Stat(w[f"{cmd}_ms"], "ms") if not w[f"{cmd}_error"] else w[f"{cmd}_error"]
            )
        for mode in ("no server", "server"):
            small_r, big_r = measured[(small, mode)], measured[(big, mode)]
            for size, result in ((small, small_r), (big, big_r)):
                error = result.get("error") or result.get(f"{cmd}_error") or ""
                value = None if error else Stat(result[f"{cmd}_ms"], "ms")
                passed = None
                note = ""
                if value is not None:
                    passed = value.median <= 150
                    if size == big and not (small_r.get("error") or small_r.get(f"{cmd}_error")):
                        ratio = value.median / Stat(small_r[f"{cmd}_ms"], "ms").median
                        flat = ratio <= 1.25
                        note = (
                            f"{big:,} vs {small:,}: ×{ratio:.2f} ({'flat' if flat else 'NOT flat'})"
                        )
                        passed = passed and flat
                section.rows.append(
                    Row(
                        "Scale of inspection",
                        f"`durable workflows {label}`, {size:,} instances, {mode}",
                        f"{size:,} complete instances in the store; whole-process wall time, "
                        f"{runs} runs after 1 warm-up",
                        value,
                        peer,
                        target="≤ 150 ms, flat 1k→100k (≤ 1.25×)",
                        passed=passed,
                        note=note,
                        durable_error=str(error)[:300],
                    )
                )
    for mode in ("no server", "server"):
        result = measured[(big, mode)]
        for cmd in ("list", "describe"):
            if result.get(f"{cmd}_imports"):
                section.notes.append(
                    markdown_imports(
                        f"{cmd} at {big:,} instances, {mode}", result[f"{cmd}_imports"]
                    )
                )
    for result in measured.values():
        for cmd in ("list", "describe"):
            result.pop(f"{cmd}_imports", None)
    section.raw.update({f"{k[0]}-{k[1]}": v for k, v in measured.items()}, wrangler=wrangler)
    return section
