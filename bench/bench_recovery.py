"""Recovery: SIGKILL with instances in flight, restart, and proof no completed step ran twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from _common import (
    PY,
    WORK,
    Row,
    Section,
    fresh_dir,
)
from _context import BATCH, INPROC, Context, count_status, inproc, repeat, stat, store_file
from _dev import DurableDev, copy_project

# --- recovery ---------------------------------------------------------------------------------


def _completed_steps(db: Path) -> tuple[set[tuple[str, str]], int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        done = {
            (i, s)
            for i, s in conn.execute(
                "SELECT i.id, s.name FROM steps s JOIN instances i ON i.pk = s.instance_pk "
                "WHERE i.workflow = 'crashy' AND s.kind = 'step' AND s.status = 'complete'"
            )
        }
        unfinished = conn.execute(
            "SELECT count(*) FROM instances WHERE workflow = 'crashy' AND status NOT IN "
            "('complete', 'errored', 'terminated')"
        ).fetchone()[0]
    finally:
        conn.close()
    return done, int(unfinished)


def _log_lines(log: Path) -> list[tuple[str, str, str]]:
    out = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            out.append((parts[0], parts[1], parts[2]))
    return out


def _verify(
    log: Path, before: set[tuple[str, str]], old_pids: set[str], db: Path, n: int, steps: int
) -> dict[str, Any]:
    lines = _log_lines(log)
    reran = [(i, s) for pid, i, s in lines if pid not in old_pids and (i, s) in before]
    done_after, unfinished = _completed_steps(db)
    runs: dict[tuple[str, str], int] = {}
    for _pid, i, s in lines:
        runs[(i, s)] = runs.get((i, s), 0) + 1
    return {
        "completed_before_kill": len(before),
        "completed_steps_rerun": len(reran),
        "steps_run_more_than_once": sum(1 for v in runs.values() if v > 1),
        "all_steps_complete": len(done_after) == n * steps,
        "unfinished_after": unfinished,
    }


def _recovery_inproc(ctx: Context, n: int, steps: int) -> dict[str, Any]:
    persist = fresh_dir(WORK / "recovery") / ".durable"
    log = WORK / "recovery" / "steps.log"
    log.write_text("")
    child = subprocess.Popen(
        [
            PY,
            INPROC,
            "crash-child",
            "--n",
            str(n),
            "--steps",
            str(steps),
            "--pause",
            "0.05",
            "--persist",
            str(persist),
            "--log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if "created" not in line:
            raise RuntimeError(
                f"crash child did not start: {line} {child.stderr.read() if child.stderr else ''}"
            )
        time.sleep(0.3)  # some steps complete, many are mid-attempt
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    db = persist / "durable.sqlite3"
    before, unfinished = _completed_steps(db)
    old_pids = {pid for pid, _i, _s in _log_lines(log)}
    result = inproc("crash-resume", "--persist", str(persist), "--log", str(log), timeout=300)
    result.update(_verify(log, before, old_pids, db, n, steps))
    result["unfinished_at_kill"] = unfinished
    return result


def _recovery_dev(ctx: Context, n: int, steps: int) -> dict[str, Any]:
    project = copy_project(fresh_dir(WORK / "recovery-dev"))
    log = project / "steps.log"
    log.write_text("")
    db = store_file(project)
    params = {"log": str(log), "steps": steps, "pause": 0.05}
    dev = DurableDev(project)
    with dev:
        for first in range(0, n, BATCH):
            dev.create_batch("crashy", [{"params": params} for _ in range(min(BATCH, n - first))])
        time.sleep(0.3)
        dev.kill(signal.SIGKILL)
    before, unfinished = _completed_steps(db)
    old_pids = {pid for pid, _i, _s in _log_lines(log)}
    unfinished_ids = _unfinished_ids(db)
    start = time.perf_counter()
    out: dict[str, Any] = {"unfinished_at_kill": unfinished}
    with DurableDev(project) as dev2:
        out["answering_s"] = time.perf_counter() - start
        running_s = None
        deadline = time.perf_counter() + 300
        while time.perf_counter() < deadline:
            if running_s is None:
                seen = {i for pid, i, _s in _log_lines(log) if pid not in old_pids}
                if unfinished_ids <= seen:
                    running_s = time.perf_counter() - start
            if count_status(db, "crashy", "complete") >= n:
                break
            time.sleep(0.01)
        out["running_again_s"] = running_s
        out["complete_s"] = time.perf_counter() - start
        del dev2
    out.update(_verify(log, before, old_pids, db, n, steps))
    return out


def _unfinished_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return {
            r[0]
            for r in conn.execute(
                "SELECT id FROM instances WHERE workflow = 'crashy' AND status NOT IN "
                "('complete', 'errored', 'terminated')"
            )
        }
    finally:
        conn.close()


def recovery(ctx: Context) -> Section:
    section = Section("recovery", "Recovery after SIGKILL")
    n, steps = 1000, 10
    runs = repeat(
        ctx,
        ctx.reps(3, 1),
        "durable in-process SIGKILL + resume",
        lambda: _recovery_inproc(ctx, n, steps),
    )
    dev: list[dict[str, Any]] | str = "durable dev not available yet"
    if ctx.server():
        try:
            dev = repeat(
                ctx,
                ctx.reps(3, 1),
                "durable dev SIGKILL + restart",
                lambda: _recovery_dev(ctx, n, steps),
            )
        except Exception as exc:  # noqa: BLE001
            dev = f"failed: {exc}"[:400]
    wl = (
        f"{n:,} instances × {steps} steps (each step sleeps 50 ms and logs 'pid instance step'), "
        "SIGKILL 0.3 s after the last create, restart; 'running again' = every unfinished "
        "instance has logged a step from the new process"
    )
    for label, results, err in (
        ("durable dev", dev, dev if isinstance(dev, str) else ""),
        ("in-process runtime", runs, ""),
    ):
        ok = (
            None
            if isinstance(results, str)
            else all(
                r["completed_steps_rerun"] == 0
                and r["all_steps_complete"]
                and r["unfinished_after"] == 0
                for r in results
            )
        )
        value = (
            None
            if isinstance(results, str)
            else stat(
                [r for r in results if r.get("running_again_s") is not None],
                "running_again_s",
                "ms",
                1000,
            )
        )
        section.rows.append(
            Row(
                "Recovery",
                f"{label}: restart → all in-flight instances running again",
                wl,
                value,
                target="report; no completed step runs twice",
                passed=ok,
                durable_error=err,
            )
        )
        if not isinstance(results, str):
            section.rows.append(
                Row(
                    "Recovery",
                    f"{label}: restart → all complete",
                    wl,
                    stat(results, "complete_s", "ms", 1000),
                    target="report",
                )
            )
            proof = "; ".join(
                f"run {k + 1}: {r['completed_before_kill']:,} steps were complete at the kill, "
                f"{r['unfinished_at_kill']:,} instances unfinished; completed steps re-run after "
                f"restart: {r['completed_steps_rerun']}; all {n * steps:,} steps complete: "
                f"{r['all_steps_complete']}"
                for k, r in enumerate(results)
            )
            section.notes.append(f"Proof ({label}): {proof}.")
    section.raw.update(inproc=runs, dev=dev)
    return section
