"""DBOS SQLite benchmark: N workflows x K no-op steps, the method of shared/reference/peers.md §8.1.

Runs in the throw-away venv bench/run.py makes (bench/.work/dbos-venv, `pip install dbos`), with
its SQLite file under bench/.work. Phases, after a 50-workflow warm-up:

* sequential: wf0 (0 steps) then wf3 (3 no-op steps), N each, one after the other (as §8.1);
* concurrent: N x `DBOS.start_workflow(wf0)`, wait for all; the same for wf3 (the workload of
  durable's engine-throughput benchmark: everything submitted, then run to completion);
* the time the N `start_workflow` calls take to return (instance creation rate).

Prints one JSON line. BENCH_WAL=1 switches the file to WAL first (as §8.1's WAL run);
BENCH_PHASES=seq,conc chooses phases.
"""

import json
import os
import sqlite3
import time

from dbos import DBOS, DBOSConfig

DB = os.environ.get("BENCH_DB", "sqlite:///bench_dbos.sqlite")
N = int(os.environ.get("BENCH_N", "1000"))
PHASES = os.environ.get("BENCH_PHASES", "seq,conc").split(",")

config: DBOSConfig = {"name": "bench", "system_database_url": DB, "log_level": "WARNING"}
DBOS(config=config)


@DBOS.step()
def s1():
    return None


@DBOS.step()
def s2():
    return None


@DBOS.step()
def s3():
    return None


@DBOS.workflow()
def wf0():
    return None


@DBOS.workflow()
def wf3():
    s1()
    s2()
    s3()
    return None


def sequential(fn, n):
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        a = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - a)
    return time.perf_counter() - t0, sorted(lat)


def concurrent(fn, n):
    t = time.perf_counter()
    handles = [DBOS.start_workflow(fn) for _ in range(n)]
    started = time.perf_counter() - t
    for h in handles:
        h.get_result()
    return time.perf_counter() - t, started


if __name__ == "__main__":
    DBOS.reset_system_database()
    DBOS.launch()
    if os.environ.get("BENCH_WAL") == "1":
        # As §8.1; with a busy timeout, as DBOS's own connections may hold the file a moment.
        c = sqlite3.connect(DB.replace("sqlite:///", ""), timeout=30)
        for _ in range(50):
            try:
                c.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                time.sleep(0.1)
        c.close()
    sequential(wf3, 50)  # warm-up
    out = {"n": N, "wal": os.environ.get("BENCH_WAL") == "1"}
    if "seq" in PHASES:
        t0, lat0 = sequential(wf0, N)
        t3, lat3 = sequential(wf3, N)
        out.update(
            seq_t0_s=t0,
            seq_t3_s=t3,
            seq_wf_per_s_3=N / t3,
            seq_per_step_ms=(t3 - t0) / (3 * N) * 1e3,
            seq_p50_3_ms=lat3[len(lat3) // 2] * 1e3,
            seq_p99_3_ms=lat3[int(len(lat3) * 0.99)] * 1e3,
        )
    if "conc" in PHASES:
        c0, start0 = concurrent(wf0, N)
        c3, start3 = concurrent(wf3, N)
        out.update(
            conc_t0_s=c0,
            conc_t3_s=c3,
            conc_wf_per_s_3=N / c3,
            conc_per_step_ms=(c3 - c0) / (3 * N) * 1e3,
            create_per_s=N / start0,
        )
    DBOS.destroy()
    print(json.dumps(out), flush=True)
