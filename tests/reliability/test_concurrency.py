"""Concurrency suite: 50 CLI processes and 50 HTTP clients at once, while the engine runs a load.

Phase A, with `durable dev` running: 400 instances of a workflow with steps and a sleep are
created as the load; meanwhile 50 HTTP clients (threads, httpx) and 50 `durable` processes
trigger instances, send events, pause and resume instances and list and describe them.

Phase B, with no server: 50 `durable` processes read the store directly and record their writes
(trigger, send-event — also to an instance whose trigger was only recorded —, pause, resume) as
intents, while `trigger --wait` processes run embedded engines that take turns on the store's
engine lock.

Phase C: `durable dev` starts again and applies the intents; every acknowledged trigger shows up
and runs to its expected output, every acknowledged event reaches its instance, every paused
and resumed instance finishes. No "database is locked", no traceback, no 5xx, anywhere.
Throughput and error counts go to tests/artifacts/reliability-concurrency.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.dev_harness import (
    API,
    DevServer,
    durable_command,
    start_dev_server,
    write_project,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CLIENTS = 50
LOAD = 400
BAD_SIGNS = ("database is locked", "Traceback", "Internal error")

ENTRY = """
import asyncio

from workers import WorkflowEntrypoint


class Load(WorkflowEntrypoint):
    async def run(self, event, step):
        n = event.payload.get("n", 0)
        total = 0
        for i in range(3):
            @step.do("work")
            async def work():
                await asyncio.sleep(0.002)
                return n + i

            total += await work()
        await step.sleep("breath", 50)
        return total


class Waiter(WorkflowEntrypoint):
    async def run(self, event, step):
        got = await step.wait_for_event("w", "go", timeout="1 hour")
        return got["payload"]


class Pausable(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("before")
        async def before():
            return 1

        await before()
        got = await step.wait_for_event("finish", "done", timeout="1 hour")

        @step.do("after")
        async def after():
            return got["payload"]

        return await after()
"""
WORKFLOWS = [
    ("load", "LOAD", "Load"),
    ("waiter", "WAITER", "Waiter"),
    ("pausable", "PAUSABLE", "Pausable"),
]


def load_output(n: int) -> int:
    return 3 * n + 3


@dataclass
class Ledger:
    """What the clients did and what was acknowledged; every failure, with its text."""

    triggers: dict[str, int] = field(default_factory=dict)  # load instance id -> n
    events: dict[str, Any] = field(default_factory=dict)  # waiter instance id -> payload
    paused_resumed: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    cli_runs: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what[:2000])


def http_client(ledger: Ledger, base: str, c: int) -> int:
    """One HTTP client: triggers, an event, pause/list/resume, reads. Returns requests made."""
    made = 0
    with httpx.Client(base_url=f"{base}{API}", timeout=30) as client:

        def call(method: str, path: str, **kwargs: Any) -> httpx.Response | None:
            nonlocal made
            made += 1
            try:
                response = client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                ledger.fail(f"http {c} {method} {path}: {type(exc).__name__}: {exc}")
                return None
            with ledger.lock:
                ledger.statuses[f"{response.status_code // 100}xx"] += 1
            if response.status_code // 100 != 2 or any(s in response.text for s in BAD_SIGNS):
                ledger.fail(f"http {c} {method} {path}: {response.status_code} {response.text}")
                return None
            return response

        for k in range(4):
            iid = f"h-{c}-{k}"
            if call("POST", "/load/instances", json={"instance_id": iid, "params": {"n": c + k}}):
                with ledger.lock:
                    ledger.triggers[iid] = c + k
        payload = {"by": f"http-{c}"}
        if call("POST", f"/waiter/instances/w-{c}/events/go", json=payload):
            with ledger.lock:
                ledger.events[f"w-{c}"] = payload
        paused = call("PATCH", f"/pausable/instances/p-{c}/status", json={"status": "pause"})
        call("GET", "/load/instances", params={"per_page": 100, "status": "complete"})
        call("GET", f"/pausable/instances/p-{c}")
        resumed = call("PATCH", f"/pausable/instances/p-{c}/status", json={"status": "resume"})
        if paused and resumed:
            with ledger.lock:
                ledger.paused_resumed.add(f"p-{c}")
        call("GET", f"/load/instances/h-{c}-0")
        call("GET", "")
    return made


def run_cli(ledger: Ledger, root: Path, phase: str, *args: str) -> bool:
    started = time.monotonic()
    result = subprocess.run(
        [*durable_command(), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    with ledger.lock:
        ledger.cli_runs[phase] += 1
        ledger.cli_runs[f"{phase}_seconds_x1000"] += int((time.monotonic() - started) * 1000)
    text = result.stdout + result.stderr
    if result.returncode != 0 or any(s in text for s in BAD_SIGNS):
        ledger.fail(f"cli {phase} {args}: exit {result.returncode}: {text}")
        return False
    return True


def cli_client(ledger: Ledger, root: Path, phase: str, c: int) -> None:
    """Client c of 50: its role is chosen by c (ten of each kind)."""
    tag = f"cli-{phase}-{c}"
    kind, k = divmod(c, 10)
    slot = {"a": 50, "b": 60}[phase] + k  # waiters and pausables of this phase
    if kind == 0:
        n = 1000 * (phase == "b") + 100 + c
        if run_cli(
            ledger, root, phase, "workflows", "trigger", "load", json.dumps({"n": n}), "--id", tag
        ):
            with ledger.lock:
                ledger.triggers[tag] = n
    elif kind == 1:
        payload = {"by": tag}
        if run_cli(
            ledger,
            root,
            phase,
            "instances",
            "send-event",
            "waiter",
            f"w-{slot}",
            "--type",
            "go",
            "--payload",
            json.dumps(payload),
        ):
            with ledger.lock:
                ledger.events[f"w-{slot}"] = payload
    elif kind == 2:
        target = f"p-{slot}"
        if run_cli(ledger, root, phase, "instances", "pause", "pausable", target) and run_cli(
            ledger, root, phase, "instances", "resume", "pausable", target
        ):
            with ledger.lock:
                ledger.paused_resumed.add(target)
    elif kind == 3 and phase == "b" and k < 5:
        # No server: trigger --wait runs an engine here; five of them take turns on the store.
        n = 2000 + c
        if run_cli(
            ledger,
            root,
            phase,
            "workflows",
            "trigger",
            "load",
            json.dumps({"n": n}),
            "--id",
            f"emb-{k}",
            "--wait",
        ):
            with ledger.lock:
                ledger.triggers[f"emb-{k}"] = n
    elif kind == 3 and phase == "b":
        # An event for an instance whose trigger is only recorded: recorded after it.
        target, payload = f"pw-{k}", {"by": tag}
        if run_cli(
            ledger, root, phase, "workflows", "trigger", "waiter", "--id", target
        ) and run_cli(
            ledger,
            root,
            phase,
            "instances",
            "send-event",
            "waiter",
            target,
            "--type",
            "go",
            "--payload",
            json.dumps(payload),
        ):
            with ledger.lock:
                ledger.events[target] = payload
    elif kind == 3:
        run_cli(ledger, root, phase, "instances", "list", "load", "--json", "--per-page", "100")
    else:
        reads = [
            ("instances", "describe", "waiter", "w-0", "--json"),
            ("workflows", "describe", "load", "--json"),
            ("instances", "list", "pausable", "--status", "paused"),
            ("workflows", "list"),
            ("instances", "describe", "load", "latest"),
        ]
        run_cli(ledger, root, phase, *reads[k % len(reads)])  # fmt: skip


def create(client: httpx.Client, workflow: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 100):
        response = client.post(f"/{workflow}/instances/batch", json=items[start : start + 100])
        assert response.status_code == 200, response.text


def all_instances(client: httpx.Client, workflow: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        response = client.get(f"/{workflow}/instances", params={"per_page": 1000, "page": page})
        assert response.status_code == 200, response.text
        items = response.json()["result"]
        found.update({item["id"]: item for item in items})
        if len(items) < 1000:
            return found
        page += 1


def output_of(client: httpx.Client, workflow: str, iid: str) -> Any:
    response = client.get(f"/{workflow}/instances/{iid}")
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fifty_clients_with_and_without_the_server(tmp_path: Path) -> None:
    write_project(tmp_path, ENTRY, workflows=WORKFLOWS)
    ledger = Ledger()
    figures: dict[str, Any] = {
        "clients_per_phase": {"cli_processes": CLIENTS, "http_clients": CLIENTS}
    }
    server: DevServer | None = start_dev_server(tmp_path)
    try:
        base = server.url
        admin = httpx.Client(base_url=f"{base}{API}", timeout=60)
        create(admin, "waiter", [{"instance_id": f"w-{i}"} for i in range(120)])
        create(admin, "pausable", [{"instance_id": f"p-{i}"} for i in range(120)])
        # The load the engine runs meanwhile.
        began = time.monotonic()
        create(
            admin, "load", [{"instance_id": f"bulk-{i}", "params": {"n": i}} for i in range(LOAD)]
        )
        ledger.triggers.update({f"bulk-{i}": i for i in range(LOAD)})

        # Phase A: 50 HTTP clients and 50 CLI processes at once, with the server.
        with ThreadPoolExecutor(max_workers=2 * CLIENTS) as pool:
            http_jobs = [pool.submit(http_client, ledger, base, c) for c in range(CLIENTS)]
            cli_jobs = [pool.submit(cli_client, ledger, tmp_path, "a", c) for c in range(CLIENTS)]
            requests_made = sum(job.result() for job in http_jobs)
            for job in cli_jobs:
                job.result()
        phase_a = time.monotonic() - began
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = admin.get("/load").json()["result"]["instances"]
            if counts["complete"] >= LOAD:
                break
            time.sleep(0.1)
        load_seconds = time.monotonic() - began
        admin.close()
        server.stop()
        output = server.output()
        server = None

        # Phase B: no server. Reads go to the store; writes are recorded; --wait runs engines.
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            for job in [pool.submit(cli_client, ledger, tmp_path, "b", c) for c in range(CLIENTS)]:
                job.result()
        phase_b = time.monotonic() - began

        # Phase C: durable dev applies what was recorded; everything runs to its end.
        server = start_dev_server(tmp_path)
        with httpx.Client(base_url=f"{server.url}{API}", timeout=60) as admin:
            for i in range(120):
                response = admin.post(f"/pausable/instances/p-{i}/events/done", json={"i": i})
                assert response.status_code == 200, response.text
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                loads = all_instances(admin, "load")
                pausables = all_instances(admin, "pausable")
                waiters = all_instances(admin, "waiter")
                finished = (
                    all(i.get("status") == "complete" for i in loads.values())
                    and all(i["status"] == "complete" for i in pausables.values())
                    and all(
                        waiters[w]["status"] == "complete" for w in ledger.events if w in waiters
                    )
                )
                if finished and set(ledger.triggers) <= set(loads):
                    break
                time.sleep(0.2)
            problems: list[str] = []
            for iid, n in ledger.triggers.items():
                if iid not in loads:
                    problems.append(f"acknowledged trigger lost: {iid}")
                    continue
                details = output_of(admin, "load", iid)
                if (details["status"], details["output"]) != ("complete", load_output(n)):
                    problems.append(
                        f"{iid}: {details['status']} {details['output']} != {load_output(n)}"
                    )
            for iid, payload in ledger.events.items():
                details = output_of(admin, "waiter", iid) if iid in waiters else None
                if details is None or (details["status"], details["output"]) != (
                    "complete",
                    payload,
                ):
                    problems.append(f"acknowledged event lost: {iid} {payload} -> {details}")
            for iid in waiters:
                if iid not in ledger.events and waiters[iid]["status"] != "waiting":
                    problems.append(f"{iid} got no event but is {waiters[iid]['status']}")
            for iid in pausables:
                details = output_of(admin, "pausable", iid)
                if (details["status"], details["output"]) != ("complete", {"i": int(iid[2:])}):
                    problems.append(f"{iid}: {details['status']} {details['output']}")
        output += server.output()
        server.stop()
        server = None
        for sign in BAD_SIGNS:
            if sign in output:
                problems.append(f"{sign!r} in the durable dev output")
        if "could not be applied" in output:
            problems.append("a recorded change could not be applied")

        cli_seconds = {p: ledger.cli_runs[f"{p}_seconds_x1000"] / 1000 for p in ("a", "b")}
        figures.update(
            phase_a_seconds=round(phase_a, 2),
            phase_b_seconds=round(phase_b, 2),
            load_instances=LOAD,
            load_all_complete_after_seconds=round(load_seconds, 2),
            http_requests=requests_made,
            http_requests_per_second=round(requests_made / phase_a, 1),
            http_statuses=dict(ledger.statuses),
            cli_processes={"with_server": ledger.cli_runs["a"], "no_server": ledger.cli_runs["b"]},
            cli_commands_per_second={
                "with_server": round(ledger.cli_runs["a"] / phase_a, 1),
                "no_server": round(ledger.cli_runs["b"] / phase_b, 1),
            },
            cli_mean_latency_seconds={
                "with_server": round(cli_seconds["a"] / max(1, ledger.cli_runs["a"]), 3),
                "no_server": round(cli_seconds["b"] / max(1, ledger.cli_runs["b"]), 3),
            },
            acknowledged={
                "triggers": len(ledger.triggers),
                "events": len(ledger.events),
                "pause_resume_pairs": len(ledger.paused_resumed),
            },
            errors=len(ledger.failures),
            database_locked=sum("database is locked" in f for f in ledger.failures),
            lost=len([p for p in problems if "lost" in p]),
            problems=len(problems),
        )
    finally:
        if server is not None:
            server.stop()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "reliability-concurrency.json").write_text(
            json.dumps({"figures": figures, "failures": ledger.failures[:50]}, indent=2) + "\n"
        )
    print(json.dumps(figures, indent=2))
    assert not ledger.failures, "\n".join(ledger.failures[:20])
    assert not problems, "\n".join(problems[:50])
