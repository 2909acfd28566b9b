"""Throughput benchmarks: the raw SQLite floor, the engine against DBOS and wrangler dev, instance creation."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import _peers
from _common import (
    PY,
    WORK,
    Row,
    Section,
    Stat,
    fresh_dir,
)
from _context import (
    BATCH,
    INPROC,
    PROFILES,
    Context,
    N,
    count_status,
    inproc,
    peer_runs,
    peer_stat,
    repeat,
    stat,
    store_file,
    wait_status,
)
from _dev import DurableDev, copy_project
from _profile import markdown, markdown_folded, summarize, summarize_folded

# --- raw store floor --------------------------------------------------------------------------

_STEP_TABLE = """CREATE TABLE steps (
    instance_pk INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,
    seq INTEGER NOT NULL, status TEXT NOT NULL, config TEXT, output TEXT, error TEXT,
    attempts TEXT, started_ms INTEGER NOT NULL, ended_ms INTEGER, wake_ms INTEGER,
    event_type TEXT, PRIMARY KEY (instance_pk, kind, name, count)) WITHOUT ROWID"""
_STEP_INSERT = "INSERT OR REPLACE INTO steps VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"


def _step_params(i: int) -> tuple[Any, ...]:
    config = '{"retries":{"limit":5,"delay":10000,"backoff":"exponential"},"timeout":"10 minutes"}'
    attempts = '[{"start":1,"end":2,"success":true,"error":null}]'
    return (
        i // 3,
        "step",
        f"s{i % 3}",
        1,
        i % 3,
        "complete",
        config,
        "null",
        None,
        attempts,
        1,
        2,
        None,
        None,
    )


def floor_once(path: Path, n: int) -> dict[str, float]:
    """Bare sqlite3, same mode as the store: WAL + synchronous=NORMAL, a steps-shaped row."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(_STEP_TABLE)
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_STEP_INSERT, _step_params(i))
        conn.execute("COMMIT")
    single = (time.perf_counter() - start) / n * 1e3
    rows = [_step_params(i) for i in range(n, 2 * n)]
    start = time.perf_counter()
    for first in range(0, n, 100):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_STEP_INSERT, rows[first : first + 100])
        conn.execute("COMMIT")
    batched = (time.perf_counter() - start) / n * 1e3
    conn.close()
    return {"single_ms": single, "batched_ms": batched}


def store_floor(ctx: Context) -> Section:
    section = Section("floor", "Raw store floor (bare SQLite, same mode as the store)")
    folder = fresh_dir(WORK / "floor")
    runs = repeat(
        ctx,
        ctx.reps(5, 3),
        "sqlite insert+commit x3000",
        lambda: floor_once(folder / "floor.sqlite3", 3000),
    )
    single = stat(runs, "single_ms", "ms")
    ctx.memo["floor_ms"] = single
    section.rows.append(
        Row(
            "Raw store floor",
            "1 row INSERT + COMMIT",
            "3,000 transactions of one steps-table row, WAL + synchronous=NORMAL, sqlite3 module",
            single,
            {"peers.md §8 (earlier run)": Stat([0.022], "ms")},
            target="the physical floor: no target",
        )
    )
    section.rows.append(
        Row(
            "Raw store floor",
            "1 row inside a 100-row transaction",
            "3,000 rows, 100 per COMMIT (what group commit can reach)",
            stat(runs, "batched_ms", "ms"),
            target="no target",
        )
    )
    section.raw["runs"] = runs
    return section


# --- engine throughput ------------------------------------------------------------------------


def _http_throughput(ctx: Context, n: int) -> dict[str, Any]:
    """n x 0-step then n x 3-step through POST …/instances/batch, polled in the store file."""
    project = copy_project(fresh_dir(WORK / "http-throughput"))
    out: dict[str, Any] = {"n": n}
    with DurableDev(project) as dev:
        out["dev_start_s"] = dev.start_s
        db = store_file(project)
        for workflow in ("noop3",):  # warm-up
            dev.create_batch(workflow, [{} for _ in range(50)])
            wait_status(db, workflow, "complete", 50, timeout=60)
        for steps, workflow in ((0, "noop0"), (3, "noop3")):
            base = count_status(db, workflow, "complete")
            start = time.perf_counter()
            for first in range(0, n, BATCH):
                dev.create_batch(workflow, [{} for _ in range(min(BATCH, n - first))])
            out[f"create{steps}_s"] = time.perf_counter() - start
            wait_status(db, workflow, "complete", base + n, timeout=300)
            out[f"t{steps}_s"] = time.perf_counter() - start
        out["rss_mb"] = dev.rss_mb()
    out["wf_per_s_3"] = n / out["t3_s"]
    out["per_step_ms"] = (out["t3_s"] - out["t0_s"]) / (3 * n) * 1e3
    out["create_per_s"] = n / out["create0_s"]
    return out


def engine(ctx: Context) -> Section:
    section = Section("engine", "Engine throughput: 1,000 workflows × 3 no-op steps")
    n = N
    conc = repeat(
        ctx,
        ctx.reps(5, 3),
        "durable in-process concurrent",
        lambda: inproc("throughput", "--n", str(n), "--persist", str(WORK / "throughput")),
    )
    seq = repeat(
        ctx,
        ctx.reps(3, 1),
        "durable in-process sequential",
        lambda: inproc(
            "throughput",
            "--n",
            str(n),
            "--mode",
            "sequential",
            "--persist",
            str(WORK / "throughput"),
        ),
    )
    http: list[dict[str, Any]] | str = "durable dev not available yet"
    if ctx.server():
        try:
            http = repeat(
                ctx, ctx.reps(3, 1), "durable dev HTTP batches", lambda: _http_throughput(ctx, n)
            )
        except Exception as exc:  # noqa: BLE001
            http = f"failed: {exc}"[:400]
    peer_n = 200 if ctx.quick else n
    dbos = peer_runs(
        ctx,
        "DBOS",
        ctx.reps(3, 1),
        f"N={peer_n}",
        lambda p: _peers.run_dbos(p, peer_n, phases="seq,conc"),
    )
    dbos_wal = peer_runs(
        ctx,
        "DBOS",
        ctx.reps(1, 0),
        f"WAL N={peer_n}",
        lambda p: _peers.run_dbos(p, peer_n, wal=True, phases="seq,conc"),
    )
    wrangler = peer_runs(
        ctx,
        "wrangler",
        ctx.reps(3, 1),
        f"dev N={peer_n}",
        lambda p: _peers.wrangler_throughput(p, peer_n),
    )
    wrangler_seq = peer_runs(
        ctx,
        "wrangler",
        ctx.reps(1, 0),
        "dev sequential N=200",
        lambda p: _peers.wrangler_sequential(p, 200),
    )
    ctx.memo.update(dbos=dbos, wrangler=wrangler, http_throughput=http)
    section.raw.update(
        inproc_concurrent=conc,
        inproc_sequential=seq,
        http=http,
        dbos=dbos,
        dbos_wal=dbos_wal,
        wrangler=wrangler,
        wrangler_sequential=wrangler_seq,
    )

    peer_note = "" if not ctx.quick else f"peers at N={peer_n} in --quick mode"
    wl_http = (
        f"{n:,} × noop3 (and × noop0 for T0), POST …/instances/batch of {BATCH}, run to "
        "completion (polled in the store)"
    )
    wl_inproc = (
        f"{n:,} × noop3 (and × noop0), env.NOOP3.create_batch of {BATCH} in-process "
        "(open_runtime, no HTTP), run to completion"
    )
    peers_conc = {
        "DBOS (in-process, start_workflow ×N)": peer_stat(dbos, "conc_wf_per_s_3", "wf/s"),
        "wrangler dev (createBatch via fetch)": peer_stat(wrangler, "wf_per_s_3", "wf/s"),
    }
    peers_step = {
        "DBOS (in-process, start_workflow ×N)": peer_stat(dbos, "conc_per_step_ms", "ms"),
        "wrangler dev (createBatch via fetch)": peer_stat(wrangler, "per_step_ms", "ms"),
    }
    http_wfs = None if isinstance(http, str) else stat(http, "wf_per_s_3", "wf/s")
    http_step = None if isinstance(http, str) else stat(http, "per_step_ms", "ms")
    section.rows += [
        Row(
            "Engine throughput (HTTP API)",
            "workflows/s",
            wl_http,
            http_wfs,
            peers_conc,
            target="≥ 1,000 wf/s",
            passed=None if http_wfs is None else http_wfs.median >= 1000,
            higher_is_better=True,
            durable_error=http if isinstance(http, str) else "",
            note=peer_note,
        ),
        Row(
            "Engine throughput (HTTP API)",
            "per-step overhead (T3−T0)/3N",
            wl_http,
            http_step,
            peers_step,
            target="≤ 0.2 ms",
            passed=None if http_step is None else http_step.median <= 0.2,
            durable_error=http if isinstance(http, str) else "",
            note=peer_note,
        ),
    ]
    c_wfs, c_step = stat(conc, "wf_per_s_3", "wf/s"), stat(conc, "per_step_ms", "ms")
    section.rows += [
        Row(
            "Engine throughput (in-process)",
            "workflows/s",
            wl_inproc,
            c_wfs,
            peers_conc,
            target="≥ 1,000 wf/s",
            passed=c_wfs.median >= 1000,
            higher_is_better=True,
            note=peer_note,
        ),
        Row(
            "Engine throughput (in-process)",
            "per-step overhead (T3−T0)/3N",
            wl_inproc,
            c_step,
            peers_step,
            target="≤ 0.2 ms",
            passed=c_step.median <= 0.2,
            note=peer_note,
        ),
    ]
    wl_seq = (
        f"{n:,} × noop3 one after another: create, wait for complete, next "
        "(peers.md §8 'sequential' column)"
    )
    s_wfs, s_step = stat(seq, "wf_per_s_3", "wf/s"), stat(seq, "per_step_ms", "ms")
    section.rows += [
        Row(
            "Engine latency (sequential)",
            "workflows/s",
            wl_seq,
            s_wfs,
            {
                "DBOS (sequential calls)": peer_stat(dbos, "seq_wf_per_s_3", "wf/s"),
                "DBOS, file in WAL": peer_stat(dbos_wal, "seq_wf_per_s_3", "wf/s"),
                "wrangler dev (/one, N=200)": peer_stat(wrangler_seq, "wf_per_s_3", "wf/s"),
            },
            higher_is_better=True,
            target="no target (reference)",
        ),
        Row(
            "Engine latency (sequential)",
            "per-step overhead (T3−T0)/3N",
            wl_seq,
            s_step,
            {
                "DBOS (sequential calls)": peer_stat(dbos, "seq_per_step_ms", "ms"),
                "DBOS, file in WAL": peer_stat(dbos_wal, "seq_per_step_ms", "ms"),
                "wrangler dev (/one, N=200)": peer_stat(wrangler_seq, "per_step_ms", "ms"),
            },
            target="no target (reference: the 0.2 ms target is for the batch workload)",
        ),
        Row(
            "Engine latency (sequential)",
            "p50 latency of one 3-step workflow",
            wl_seq,
            stat(seq, "p50_3_ms", "ms"),
            {"DBOS (sequential calls)": peer_stat(dbos, "seq_p50_3_ms", "ms")},
            target="no target (reference)",
        ),
    ]
    floor = ctx.memo.get("floor_ms")
    if floor is None:
        floor = stat([floor_once(fresh_dir(WORK / "floor") / "f.sqlite3", 3000)], "single_ms", "ms")
    best = http_step or c_step
    multiple = Stat([v / floor.median for v in best.values], "×")
    section.rows.append(
        Row(
            "Per-step overhead ÷ raw store floor",
            "multiple of 1-row INSERT+COMMIT",
            f"{'HTTP' if http_step else 'in-process'} per-step overhead ÷ floor median "
            f"{floor.median:.4f} ms",
            multiple,
            {
                "DBOS (in-process, start_workflow ×N)": _multiple(
                    peers_step["DBOS (in-process, start_workflow ×N)"], floor
                ),
                "wrangler dev (createBatch via fetch)": _multiple(
                    peers_step["wrangler dev (createBatch via fetch)"], floor
                ),
            },
            target="report only",
        )
    )
    if ctx.profile:
        section.notes += profile_engine(ctx)
    return section


def _multiple(value: Stat | str, floor: Stat) -> Stat | str:
    if isinstance(value, str):
        return value
    return Stat([v / floor.median for v in value.values], "×")


def profile_engine(ctx: Context) -> list[str]:
    """cProfile (event-loop thread, exact) and py-spy (all threads, sampled) of the in-process
    throughput run; the summaries go into RESULTS.md."""
    PROFILES.mkdir(parents=True, exist_ok=True)
    notes = []
    prof = PROFILES / "engine.prof"
    ctx.log("  profiling the engine (cProfile)")
    try:
        inproc(
            "throughput",
            "--n",
            str(N),
            "--persist",
            str(WORK / "throughput"),
            "--profile",
            str(prof),
        )
        notes.append(
            "**cProfile of the in-process throughput run** (1,000 × noop0 + 1,000 × "
            "noop3; profiling slows it ~2×; `bench/.work/profiles/engine.prof`):\n\n"
            + markdown(summarize(prof))
        )
    except Exception as exc:  # noqa: BLE001
        notes.append(f"cProfile failed: {exc}")
    spy = Path(PY).parent / "py-spy"
    if not spy.exists():
        notes.append(
            "py-spy is not installed in the venv (`.venv/bin/pip install py-spy`): "
            "no all-threads profile."
        )
        return notes
    folded = PROFILES / "engine.folded"
    n = 2000 if ctx.quick else 5000
    ctx.log("  profiling the engine (py-spy)")
    proc = subprocess.run(
        [
            str(spy),
            "record",
            "-r",
            "1000",
            "-f",
            "raw",
            "-o",
            str(folded),
            "--",
            PY,
            INPROC,
            "throughput",
            "--n",
            str(n),
            "--persist",
            str(WORK / "throughput"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0 or not folded.exists():
        notes.append(f"py-spy failed: {proc.stderr.strip()[-300:]}")
        return notes
    notes.append(
        f"**py-spy of the in-process throughput run** ({n:,} × noop0 + {n:,} × noop3, "
        "all threads, `bench/.work/profiles/engine.folded`):\n\n"
        + markdown_folded(summarize_folded(folded))
    )
    if ctx.server():
        ctx.log("  profiling durable dev (py-spy --subprocesses)")
        try:
            notes.append(_profile_http(spy, 2000 if ctx.quick else 5000))
        except Exception as exc:  # noqa: BLE001
            notes.append(f"py-spy of durable dev failed: {exc}")
    return notes


def _profile_http(spy: Path, n: int) -> str:
    """py-spy attached to `durable dev` (supervisor + worker) during the HTTP workload."""
    project = copy_project(fresh_dir(WORK / "http-profile"))
    folded = PROFILES / "dev.folded"
    folded.unlink(missing_ok=True)
    with DurableDev(project) as dev:
        recorder = subprocess.Popen(
            [
                str(spy),
                "record",
                "-r",
                "1000",
                "-f",
                "raw",
                "-o",
                str(folded),
                "--pid",
                str(dev.pid),
                "--subprocesses",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            time.sleep(1.0)  # py-spy attaches
            db = store_file(project)
            for workflow in ("noop0", "noop3"):
                for first in range(0, n, BATCH):
                    dev.create_batch(workflow, [{} for _ in range(min(BATCH, n - first))])
                wait_status(db, workflow, "complete", n, timeout=300)
        finally:
            recorder.send_signal(signal.SIGINT)
            recorder.communicate(timeout=120)
    if not folded.exists():
        return "py-spy of durable dev wrote nothing."
    return (
        f"**py-spy of `durable dev` during the HTTP workload** ({n:,} × noop0 + {n:,} × "
        "noop3 through POST …/instances/batch; supervisor and worker processes, "
        "`bench/.work/profiles/dev.folded`):\n\n" + markdown_folded(summarize_folded(folded))
    )


# --- instance creation ------------------------------------------------------------------------


def _http_create(ctx: Context, n: int) -> dict[str, Any]:
    project = copy_project(fresh_dir(WORK / "http-create"))
    out: dict[str, Any] = {"n": n}
    with DurableDev(project) as dev:
        db = store_file(project)
        dev.get(f"/create?workflow=noop0&n={BATCH}")  # warm-up
        start = time.perf_counter()
        for _ in range(n // BATCH):
            dev.get(f"/create?workflow=noop0&n={BATCH}")
        out["fetch_s"] = time.perf_counter() - start
        wait_status(db, "noop0", "complete", n + BATCH, timeout=120)
        start = time.perf_counter()
        for _ in range(n // BATCH):
            dev.create_batch("noop0", [{} for _ in range(BATCH)])
        out["rest_s"] = time.perf_counter() - start
        wait_status(db, "noop0", "complete", 2 * n + BATCH, timeout=120)
    out["fetch_per_s"] = n / out["fetch_s"]
    out["rest_per_s"] = n / out["rest_s"]
    return out


def creation(ctx: Context) -> Section:
    section = Section("creation", "Instance creation rate")
    runs = repeat(
        ctx,
        ctx.reps(5, 3),
        "durable in-process create_batch",
        lambda: inproc("create", "--n", str(N), "--persist", str(WORK / "create")),
    )
    http: list[dict[str, Any]] | str = "durable dev not available yet"
    if ctx.server():
        try:
            http = repeat(ctx, ctx.reps(3, 1), "durable dev create", lambda: _http_create(ctx, N))
        except Exception as exc:  # noqa: BLE001
            http = f"failed: {exc}"[:400]
    dbos = ctx.memo.get("dbos")
    wrangler = ctx.memo.get("wrangler")
    peer_n = 200 if ctx.quick else N
    if dbos is None:
        dbos = peer_runs(
            ctx, "DBOS", 1, f"N={peer_n}", lambda p: _peers.run_dbos(p, peer_n, phases="conc")
        )
    if wrangler is None:
        wrangler = peer_runs(
            ctx, "wrangler", 1, f"dev N={peer_n}", lambda p: _peers.wrangler_throughput(p, peer_n)
        )
    peers = {
        "DBOS (start_workflow calls)": peer_stat(dbos, "create_per_s", "inst/s"),
        "wrangler dev (createBatch via fetch + HTTP)": peer_stat(
            wrangler, "create_per_s", "inst/s"
        ),
    }
    wl = f"{N:,} × noop0 in batches of {BATCH}; time until the create calls return"
    herr = http if isinstance(http, str) else ""
    section.rows += [
        Row(
            "Instance creation",
            "create_batch from a fetch handler (HTTP, durable dev)",
            wl + "; GET /create?n=100 on the Worker",
            None if herr else stat(http, "fetch_per_s", "inst/s"),  # type: ignore[arg-type]
            peers,
            higher_is_better=True,
            target="no numeric target (report)",
            durable_error=herr,
        ),
        Row(
            "Instance creation",
            "REST POST …/instances/batch (HTTP, durable dev)",
            wl,
            None if herr else stat(http, "rest_per_s", "inst/s"),  # type: ignore[arg-type]
            peers,
            higher_is_better=True,
            target="no numeric target (report)",
            durable_error=herr,
        ),
        Row(
            "Instance creation",
            "create_batch from the fetch handler (in-process, no HTTP)",
            wl,
            stat(runs, "fetch_per_s", "inst/s"),
            peers,
            higher_is_better=True,
            target="no numeric target (report)",
        ),
        Row(
            "Instance creation",
            "env.NOOP0.create_batch (in-process)",
            wl,
            stat(runs, "binding_per_s", "inst/s"),
            peers,
            higher_is_better=True,
            target="no numeric target (report)",
        ),
    ]
    section.raw.update(inproc=runs, http=http)
    return section
