"""Crash suite: SIGKILL a real `durable dev` at the worst moments, again and again; lose nothing.

The loop starts `durable dev` (its own process group: supervisor, worker, spare worker), creates
instances of a workflow that mixes steps, retries, sub-second sleeps, a loop of steps sharing a
name, event waits and a deliberate failure, sends events all along from another thread, and then
SIGKILLs the whole process group at a chosen kind of moment:

* ``mid-step``    right after a step callback wrote its first side effect;
* ``mid-commit``  right after the store's WAL file changed, with a burst of events in flight;
* ``mid-reload``  right after the entry module was touched and the supervisor began a reload;
* ``batch``       while ``POST …/instances/batch`` creates up to 100 instances;
* ``random``      at a random moment.

At the end a last `durable dev` finishes everything and the store and the side-effect log are
compared: every instance ends as its code dictates (complete with the output its params give, or
errored for the doomed ones); for every step recorded complete exactly one callback execution
carries the recorded successful attempt number and nothing of that step ran after it; every
other execution is a recorded failed attempt or an interrupted one, one execution per attempt
number; every acknowledged event reached its instance (or waits buffered in the store); and
``PRAGMA integrity_check`` is ok. The figures go to tests/artifacts/reliability-crash.json.

Side effects are written by the step callbacks themselves, outside the store: one line per
start / end / failure of an attempt, appended with O_APPEND and fsync'ed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.dev_harness import API, durable_command, write_project

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WORKFLOW = "chaos"
MODES = ("mid-step", "mid-commit", "mid-reload", "batch", "random")
BATCH = 100  # the production create_batch limit

ENTRY = """
import asyncio
import os

from workers import WorkflowEntrypoint
from workers.workflows import NonRetryableError

LOG = __LOG__


def record(phase, iid, ctx):
    line = f"{phase} {iid} {ctx['step']['name']} {ctx['step']['count']} {ctx['attempt']}\\n"
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class Chaos(WorkflowEntrypoint):
    async def run(self, event, step):
        p = event.payload
        iid = event.instanceId

        @step.do("double")
        async def double(ctx):
            record("start", iid, ctx)
            await asyncio.sleep(0.01)
            record("end", iid, ctx)
            return p["n"] * 2

        retries = {"limit": 10, "delay": 40, "backoff": "constant"}

        @step.do("flaky", config={"retries": retries, "timeout": "30 seconds"})
        async def flaky(ctx):
            record("start", iid, ctx)
            await asyncio.sleep(0.03)
            if ctx["attempt"] <= p["fail"]:
                record("fail", iid, ctx)
                raise ValueError(f"attempt {ctx['attempt']} fails on purpose")
            record("end", iid, ctx)
            return p["n"] + 1

        a = await double()
        b = await flaky()
        if p["doom"]:
            @step.do("doom")
            async def doom(ctx):
                record("start", iid, ctx)
                record("fail", iid, ctx)
                raise NonRetryableError(f"doomed {p['n']}")

            await doom()
        if p["nap"]:
            await step.sleep("nap", p["nap"])
        total = 0
        for k in range(p["loop"]):
            @step.do("part")
            async def part(ctx):
                record("start", iid, ctx)
                record("end", iid, ctx)
                return k * p["n"]

            total += await part()
        received = []
        for _ in range(p["events"]):
            got = await step.wait_for_event("signal", "go", timeout="1 hour")
            received.append(got["payload"])

        @step.do("final")
        async def final(ctx):
            record("start", iid, ctx)
            record("end", iid, ctx)
            return a + b + total

        return {"sum": await final(), "events": received}
"""


def params_for(i: int) -> dict[str, Any]:
    doom = i % 10 == 7
    return {
        "n": i,
        "fail": i % 3,  # attempts that fail on purpose before the flaky step succeeds
        "nap": (0, 150, 400)[(i // 3) % 3],
        "loop": 1 + i % 2,
        "events": 0 if doom else (i // 2) % 3,
        "doom": doom,
    }


def expected_steps(p: dict[str, Any]) -> set[tuple[str, str, int]]:
    keys = {("step", "double", 1), ("step", "flaky", 1)}
    if p["doom"]:
        return keys | {("step", "doom", 1)}
    if p["nap"]:
        keys.add(("sleep", "nap", 1))
    keys |= {("step", "part", k + 1) for k in range(p["loop"])}
    keys |= {("waitForEvent", "signal", k + 1) for k in range(p["events"])}
    return keys | {("step", "final", 1)}


def expected_sum(p: dict[str, Any]) -> int:
    n = p["n"]
    return 2 * n + (n + 1) + sum(k * n for k in range(p["loop"]))


# --- the server, in its own process group -------------------------------------------------------


@dataclass
class Dev:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    log_start: int

    def output(self) -> str:
        return self.log_path.read_bytes()[self.log_start :].decode("utf-8", "replace")


def start_dev(root: Path, persist: Path, log_path: Path, timeout: float = 30.0) -> Dev:
    """`durable dev --port 0` as the leader of a new process group, once it says Ready."""
    start = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [*durable_command(), "dev", "--port", "0", "--persist-to", str(persist)],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
            start_new_session=True,
        )
    dev = Dev(proc, "", log_path, start)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"durable dev exited ({proc.returncode}):\n{dev.output()}")
        try:
            info = json.loads((persist / "dev.json").read_text())
        except (OSError, ValueError):
            info = None
        if info and info.get("pid") == proc.pid and "Ready on" in dev.output():
            dev.url = str(info["url"])
            return dev
        time.sleep(0.01)
    kill_group(dev)
    raise AssertionError(f"durable dev did not become ready:\n{dev.output()}")


def kill_group(dev: Dev) -> None:
    try:
        os.killpg(dev.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    dev.proc.wait(10)


def stop_gracefully(dev: Dev) -> None:
    dev.proc.send_signal(signal.SIGTERM)
    try:
        dev.proc.wait(20)
    except subprocess.TimeoutExpired:
        kill_group(dev)
        raise AssertionError(f"durable dev did not stop on SIGTERM:\n{dev.output()}") from None
    try:  # nothing of the group may outlive it (workers stop with their supervisor)
        os.killpg(dev.proc.pid, 0)
    except ProcessLookupError:
        return
    time.sleep(1.0)
    try:
        os.killpg(dev.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    raise AssertionError("a worker outlived its supervisor by more than a second")


# --- the load: creations and events -------------------------------------------------------------


@dataclass
class Load:
    """What the clients did, and what the server acknowledged with a 2xx."""

    ids: list[str]
    params: dict[str, dict[str, Any]]
    created: set[str] = field(default_factory=set)  # acknowledged (2xx batch response)
    acked: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    unacked: list[dict[str, Any]] = field(default_factory=list)  # sent, no 2xx seen
    statuses: Counter[str] = field(default_factory=Counter)
    url: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    sequence: int = 0

    def record_status(self, status: int | str) -> None:
        with self.lock:
            self.statuses[str(status)] += 1

    def create(self, ids: list[str], url: str) -> bool:
        body = [{"instance_id": i, "params": self.params[i]} for i in ids]
        try:
            response = httpx.post(f"{url}{API}/{WORKFLOW}/instances/batch", json=body, timeout=10)
        except httpx.HTTPError as exc:
            self.record_status(type(exc).__name__)
            return False
        self.record_status(response.status_code)
        if response.status_code // 100 == 2:
            with self.lock:
                self.created.update(ids)  # new ones, and those that existed already
            return True
        return False

    def missing(self) -> list[str]:
        return [i for i in self.ids if i not in self.created]

    def wanting_events(self) -> list[str]:
        with self.lock:
            return [
                i
                for i in self.ids
                if i in self.created and len(self.acked[i]) < self.params[i]["events"]
            ]

    def send_event(self, client: httpx.Client, url: str, iid: str) -> None:
        with self.lock:
            self.sequence += 1
            payload = {"i": iid, "k": self.sequence}
        try:
            response = client.post(
                f"{url}{API}/{WORKFLOW}/instances/{iid}/events/go", json=payload, timeout=5
            )
        except httpx.HTTPError as exc:
            self.record_status(type(exc).__name__)
            with self.lock:
                self.unacked.append(payload)
            return
        self.record_status(response.status_code)
        with self.lock:
            if response.status_code // 100 == 2:
                self.acked[iid].append(payload)
            else:
                self.unacked.append(payload)


def event_sender(load: Load, stop: threading.Event, rng: random.Random) -> None:
    with httpx.Client() as client:
        while not stop.is_set():
            url = load.url
            wanting = load.wanting_events()
            if url is None or not wanting:
                time.sleep(0.01)
                continue
            rng.shuffle(wanting)
            for iid in wanting[:20]:
                if stop.is_set() or load.url != url:
                    break
                load.send_event(client, url, iid)
            time.sleep(0.005)


# --- killing at the worst moments ---------------------------------------------------------------


def kill_mid_step(dev: Dev, effects: Path, rng: random.Random) -> str:
    """Kill right after a step callback wrote its first side effect of an attempt."""
    time.sleep(rng.uniform(0.05, 0.5))
    offset = effects.stat().st_size if effects.exists() else 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        size = effects.stat().st_size if effects.exists() else 0
        if size > offset:
            with open(effects, "rb") as f:
                f.seek(offset)
                fresh = f.read()
            if b"start " in fresh:
                kill_group(dev)
                return "mid-step"
            offset = size
        time.sleep(0.0005)
    kill_group(dev)
    return "mid-step (no step was running: killed idle)"


def kill_mid_commit(
    dev: Dev, persist: Path, load: Load, rng: random.Random
) -> tuple[str, threading.Thread]:
    """Fire a burst of events and kill as soon as the WAL file changes under it."""
    wal = persist / "durable.sqlite3-wal"

    def stamp() -> tuple[int, int]:
        try:
            st = wal.stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_mtime_ns, st.st_size)

    time.sleep(rng.uniform(0.05, 0.4))
    targets = [i for i in load.ids if i in load.created]
    rng.shuffle(targets)

    def burst() -> None:
        with httpx.Client() as client:
            for iid in targets[:40]:
                if dev.proc.poll() is not None:
                    break
                if len(load.acked[iid]) < load.params[iid]["events"]:
                    load.send_event(client, dev.url, iid)

    thread = threading.Thread(target=burst, daemon=True)
    before = stamp()
    thread.start()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and stamp() == before:
        pass
    kill_group(dev)
    return "mid-commit", thread


def kill_mid_reload(dev: Dev, entry: Path, round_no: int, rng: random.Random) -> str:
    """Touch the entry module (same code, one comment more) and kill while it reloads."""
    time.sleep(rng.uniform(0.05, 0.3))
    seen = dev.output().count("Reloading local server")
    with open(entry, "a") as f:
        f.write(f"# touched in round {round_no}\n")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and dev.output().count("Reloading local server") == seen:
        time.sleep(0.002)
    reloading = dev.output().count("Reloading local server") > seen
    time.sleep(rng.uniform(0.0, 0.25))
    kill_group(dev)
    return "mid-reload" if reloading else "mid-reload (reload not seen: killed anyway)"


def kill_mid_batch(dev: Dev, load: Load, rng: random.Random) -> tuple[str, threading.Thread]:
    """Kill while a batch of up to 100 instances is being created."""
    chunk = load.missing()[:BATCH]
    thread = threading.Thread(target=load.create, args=(chunk, dev.url), daemon=True)
    time.sleep(rng.uniform(0.0, 0.2))
    thread.start()
    time.sleep(rng.uniform(0.0, 0.02))
    kill_group(dev)
    return ("batch" if chunk else "batch (nothing left to create)"), thread


# --- checking ------------------------------------------------------------------------------------


@dataclass
class Execution:
    attempt: int
    line: int
    outcome: str | None = None  # "end", "fail", or None: interrupted


def read_effects(effects: Path) -> dict[tuple[str, str, int], list[Execution]]:
    runs: dict[tuple[str, str, int], list[Execution]] = defaultdict(list)
    open_runs: dict[tuple[str, str, int, int], Execution] = {}
    for number, line in enumerate(effects.read_text().splitlines()):
        phase, iid, name, count, attempt = line.split()
        key = (iid, name, int(count))
        if phase == "start":
            run = Execution(int(attempt), number)
            runs[key].append(run)
            open_runs[(*key, int(attempt))] = run
        else:
            open_runs[(*key, int(attempt))].outcome = phase
    return runs


def check_store(db: Path, effects: Path, load: Load) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        instances = {
            row[1]: row
            for row in conn.execute(
                "SELECT pk, id, status, params, output, error FROM instances WHERE workflow = ?",
                (WORKFLOW,),
            )
        }
        steps: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in conn.execute(
            "SELECT instance_pk, kind, name, count, status, attempts FROM steps"
        ):
            steps[row[0]].append(row)
        buffered: dict[int, list[Any]] = defaultdict(list)
        for pk, payload in conn.execute(
            "SELECT instance_pk, payload FROM events WHERE consumed_by IS NULL"
        ):
            buffered[pk].append(json.loads(payload))
    finally:
        conn.close()
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    runs = read_effects(effects)
    unacked = {json.dumps(p, sort_keys=True) for p in load.unacked}
    figures: Counter[str] = Counter()
    seen_keys: set[tuple[str, str, int]] = set()

    for iid in load.ids:
        p = load.params[iid]
        row = instances.get(iid)
        if row is None:
            problems.append(f"{iid}: missing")
            continue
        pk, _, status, params, output, error = row
        if json.loads(params) != p:
            problems.append(f"{iid}: params changed: {params}")
        keys = {(kind, name, count) for _, kind, name, count, _, _ in steps[pk]}
        if keys != expected_steps(p):
            problems.append(f"{iid}: steps {sorted(keys)} != {sorted(expected_steps(p))}")
        if p["doom"]:
            # NonRetryableError ends the instance (its message is kept, or replaced by
            # production's generic one, depending on the compatibility flags).
            if status != "errored" or not (f"doomed {p['n']}" in error or "NonRetryable" in error):
                problems.append(f"{iid}: expected errored (doomed), got {status} {error}")
        elif status != "complete":
            problems.append(f"{iid}: expected complete, got {status} {error}")
        else:
            result = json.loads(output)
            if result["sum"] != expected_sum(p):
                problems.append(f"{iid}: sum {result['sum']} != {expected_sum(p)}")
            got = result["events"]
            texts = [json.dumps(e, sort_keys=True) for e in got]
            if len(set(texts)) != len(texts):
                problems.append(f"{iid}: an event was consumed twice: {got}")
            if any(e.get("i") != iid for e in got):
                problems.append(f"{iid}: received another instance's event: {got}")
            acked = {json.dumps(e, sort_keys=True) for e in load.acked[iid]}
            kept = set(texts) | {json.dumps(e, sort_keys=True) for e in buffered[pk]}
            lost = acked - kept
            if lost:
                problems.append(f"{iid}: acknowledged events lost: {sorted(lost)}")
                figures["events_lost"] += len(lost)
            phantom = set(texts) - acked - unacked
            if phantom:
                problems.append(f"{iid}: events nobody sent: {sorted(phantom)}")
            figures["events_received"] += len(got)
            figures["events_received_unacknowledged"] += len(set(texts) & unacked)
        for _, kind, name, count, step_status, attempts_json in steps[pk]:
            figures[f"{kind}_rows"] += 1
            if kind != "step":
                continue
            key = (iid, name, count)
            seen_keys.add(key)
            attempts = json.loads(attempts_json or "[]")
            executions = runs.get(key, [])
            figures["executions"] += len(executions)
            figures["attempts_recorded"] += len(attempts)
            figures["attempts_interrupted"] += sum(1 for a in attempts if a.get("interrupted"))
            figures["executions_unfinished"] += sum(1 for r in executions if r.outcome is None)
            where = f"{iid} step {name}-{count}"
            by_attempt: dict[int, list[Execution]] = defaultdict(list)
            for run in executions:
                by_attempt[run.attempt].append(run)
            for number, same in by_attempt.items():
                if len(same) > 1:
                    problems.append(f"{where}: attempt {number} ran {len(same)} times")
                if not 1 <= number <= len(attempts):
                    problems.append(f"{where}: attempt {number} ran but is not recorded")
            for number, attempt in enumerate(attempts, 1):
                # An interrupted attempt ran at most once (checked above) and may have got as
                # far as its end or its failure before the process died, unrecorded.
                ran = by_attempt.get(number, [])
                if attempt["success"] is False and not attempt.get("interrupted"):
                    if [r.outcome for r in ran] != ["fail"]:
                        problems.append(f"{where}: failed attempt {number} ran as {ran}")
            if step_status == "complete":
                figures["steps_complete"] += 1
                success = len(attempts)
                if not attempts or attempts[-1]["success"] is not True:
                    problems.append(f"{where}: complete but its last attempt is {attempts[-1:]}")
                    continue
                winners = by_attempt.get(success, [])
                if len(winners) != 1 or winners[0].outcome != "end":
                    problems.append(f"{where}: successful attempt {success} ran as {winners}")
                elif executions[-1] is not winners[0]:
                    problems.append(f"{where}: ran again after its recorded completion")
            elif step_status == "errored":
                figures["steps_errored"] += 1
                if executions and executions[-1].attempt != len(attempts):
                    problems.append(f"{where}: ran again after it errored")
            else:
                problems.append(f"{where}: left {step_status}")
    for key in runs:
        if key not in seen_keys:
            problems.append(f"{key}: ran, but no such step is recorded")
    figures["integrity_ok"] = int(integrity == "ok")
    return dict(figures), problems


# --- the test ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_loop_loses_nothing(tmp_path: Path, chaos_settings: Any) -> None:
    seed = chaos_settings.seed if chaos_settings.seed is not None else random.randrange(10**6)
    rng = random.Random(seed)
    rounds, count = chaos_settings.rounds, chaos_settings.instances
    root = tmp_path / "project"
    root.mkdir()
    persist = tmp_path / "store"
    effects = tmp_path / "effects.log"
    dev_log = tmp_path / "dev.log"
    entry = root / "src" / "entry.py"
    write_project(
        root,
        ENTRY.replace("__LOG__", repr(str(effects))),
        workflows=[(WORKFLOW, "CHAOS", "Chaos")],
    )
    ids = [f"c{i:05d}" for i in range(count)]
    load = Load(ids, {iid: params_for(i) for i, iid in enumerate(ids)})
    # Creations are spread over the rounds, so they happen under fire; a batch round creates
    # (up to) 100 at once and is killed meanwhile; the last start creates whatever is left.
    per_round = -(-count // rounds)
    schedule = [MODES[i % len(MODES)] for i in range(rounds)]
    rng.shuffle(schedule)

    stop = threading.Event()
    sender = threading.Thread(target=event_sender, args=(load, stop, random.Random(seed)))
    sender.start()
    kills: list[str] = []
    stragglers: list[threading.Thread] = []
    started = time.monotonic()
    figures: dict[str, Any] = {}
    problems: list[str] = []
    dev: Dev | None = None
    try:
        for round_no, mode in enumerate(schedule, 1):
            dev = start_dev(root, persist, dev_log)
            load.url = dev.url
            for offset in range(0, per_round, BATCH):
                chunk = load.missing()[: min(BATCH, per_round - offset)]
                if chunk and mode != "batch":
                    load.create(chunk, dev.url)
            if mode == "mid-step":
                kills.append(kill_mid_step(dev, effects, rng))
            elif mode == "mid-commit":
                what, thread = kill_mid_commit(dev, persist, load, rng)
                kills.append(what)
                stragglers.append(thread)
            elif mode == "mid-reload":
                kills.append(kill_mid_reload(dev, entry, round_no, rng))
            elif mode == "batch":
                what, thread = kill_mid_batch(dev, load, rng)
                kills.append(what)
                stragglers.append(thread)
            else:
                time.sleep(rng.uniform(0.1, 1.0))
                kill_group(dev)
                kills.append("random")
            load.url = None
            assert dev.proc.returncode == -signal.SIGKILL, dev.output()
            for thread in stragglers:
                thread.join(10)
        kill_time = time.monotonic() - started

        # The last start: everything left is created, sent, and runs to its end.
        dev = start_dev(root, persist, dev_log)
        load.url = dev.url
        deadline = time.monotonic() + 60
        while load.missing() and time.monotonic() < deadline:
            chunk = load.missing()[:BATCH]
            load.create(chunk, dev.url)
        with httpx.Client(base_url=f"{dev.url}{API}/{WORKFLOW}", timeout=10) as client:
            while time.monotonic() < deadline:
                counts = client.get("").json()["result"]["instances"]
                if counts["complete"] + counts["errored"] == count and not load.wanting_events():
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"not finished in time: {counts}\n{dev.output()[-3000:]}")
        finish_time = time.monotonic() - started - kill_time
        stop.set()
        sender.join(10)
        stop_gracefully(dev)
        output = dev_log.read_text(errors="replace")
        dev = None

        figures, problems = check_store(persist / "durable.sqlite3", effects, load)
        if "Traceback" in output:
            problems.append("a traceback in the durable dev output")
        server_errors = {s: n for s, n in load.statuses.items() if s.startswith("5")}
        if server_errors:
            problems.append(f"5xx answers: {server_errors}")
        figures.update(
            seed=seed,
            kills_survived=len(kills),
            kill_moments=dict(Counter(k.split(" ")[0] for k in kills)),
            kills_that_missed_their_moment=[k for k in kills if "(" in k],
            instances=count,
            instances_created_acknowledged=len(load.created),
            events_acknowledged=sum(len(v) for v in load.acked.values()),
            events_sent_unacknowledged=len(load.unacked),
            http_statuses=dict(load.statuses),
            seconds_under_fire=round(kill_time, 1),
            seconds_to_finish_after_last_kill=round(finish_time, 1),
            problems=len(problems),
        )
    finally:
        stop.set()
        if dev is not None:
            kill_group(dev)
        sender.join(10)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "reliability-crash.json").write_text(
            json.dumps(
                {"figures": figures, "problems": problems[:200], "kills": kills, "seed": seed},
                indent=2,
            )
            + "\n"
        )
    print(json.dumps(figures, indent=2))
    assert not problems, f"seed {seed}: {len(problems)} problems:\n" + "\n".join(problems[:50])
