"""Replay after a stop, and after a real SIGKILL: completed steps never run twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from durable.runtime.config import load_config
from durable.runtime.dev.project import open_runtime
from tests.conftest import FAST, write_project

WAIT = ("complete", "errored", "terminated")

COUNTING = """
import asyncio, os
from workers import WorkflowEntrypoint

LOG = {log!r}

def mark(what):
    with open(LOG, "a") as f:
        f.write(what + "\\n")
        f.flush()
        os.fsync(f.fileno())

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("one")
        async def one():
            mark("one")
            return 1

        @step.do("slow", config={{"retries": {{"limit": 0, "delay": 1}}}})
        async def slow(ctx):
            mark(f"slow-start-{{ctx['attempt']}}")
            await asyncio.sleep({slow_seconds})
            mark(f"slow-end-{{ctx['attempt']}}")
            return 2

        @step.do("three")
        async def three():
            mark("three")
            return 3

        a = await one()
        await step.sleep("nap", {nap_ms})
        b = await slow()
        e = await step.wait_for_event("approval", "approve", timeout="1 hour")
        c = await three()
        return [a, b, c, e["payload"]]
"""


async def test_stop_and_reopen_resumes_by_replay(tmp_path):
    log = tmp_path / "log"
    config = write_project(tmp_path, COUNTING.format(log=str(log), slow_seconds=0.01, nap_ms=400))
    persist = tmp_path / ".durable"
    runtime = await open_runtime(load_config(config), persist_dir=persist, limits=FAST)
    instance = await runtime.env.MY_WORKFLOW.create({"id": "replayed"})
    await runtime.engine.wait_for("my-workflow", "replayed", ("waiting",), timeout=5)
    await runtime.close()  # like a reload: the sleep is in progress

    runtime = await open_runtime(load_config(config), persist_dir=persist, limits=FAST)
    await runtime.engine.wait_for("my-workflow", "replayed", ("waiting",), timeout=5)
    # The event arrives while the instance is parked waiting for it.
    await asyncio.sleep(0.3)
    await (await runtime.env.MY_WORKFLOW.get(instance.id)).send_event(
        {"type": "approve", "payload": "ok"}
    )
    row = await runtime.engine.wait_for("my-workflow", "replayed", WAIT, timeout=5)
    assert json.loads(row.output) == [1, 2, 3, "ok"]
    assert log.read_text().split() == ["one", "slow-start-1", "slow-end-1", "three"]
    await runtime.close()


async def test_buffered_event_survives_restart(tmp_path):
    log = tmp_path / "log"
    config = write_project(tmp_path, COUNTING.format(log=str(log), slow_seconds=0.01, nap_ms=1))
    persist = tmp_path / ".durable"
    runtime = await open_runtime(load_config(config), persist_dir=persist, limits=FAST)
    instance = await runtime.env.MY_WORKFLOW.create()
    await instance.send_event({"type": "approve", "payload": "early"})
    await runtime.close()
    runtime = await open_runtime(load_config(config), persist_dir=persist, limits=FAST)
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    assert json.loads(row.output)[3] == "early"
    await runtime.close()


RUNNER = """
import asyncio, sys
from pathlib import Path
from durable.runtime.config import load_config
from durable.runtime.engine.state import Limits
from durable.runtime.dev.project import open_runtime

async def main():
    config, persist, create = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "create"
    runtime = await open_runtime(load_config(config), persist_dir=persist,
                                 limits=Limits(park_after_ms=200, min_event_timeout_ms=10))
    if create:
        await runtime.env.MY_WORKFLOW.create({"id": "crashy"})
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def wait_for_line(log: Path, line: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and line in log.read_text().split():
            return
        time.sleep(0.01)
    raise AssertionError(
        f"{line!r} never appeared in {log.read_text() if log.exists() else '(no log)'}"
    )


def wait_for_step(store: Path, name: str, status: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(store)) as conn:
            row = conn.execute("SELECT status FROM steps WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] == status:
            return
        time.sleep(0.01)
    raise AssertionError(f"step {name!r} never became {status!r}")


def start(runner: Path, config: Path, persist: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen(
        [sys.executable, str(runner), str(config), str(persist), mode],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
    )


async def test_sigkill_mid_step_then_restart(tmp_path):
    log = tmp_path / "log"
    config = write_project(tmp_path, COUNTING.format(log=str(log), slow_seconds=1.0, nap_ms=50))
    persist = tmp_path / ".durable"
    runner = tmp_path / "runner.py"
    runner.write_text(textwrap.dedent(RUNNER))

    first = start(runner, config, persist, "create")
    try:
        wait_for_line(log, "slow-start-1")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert "slow-end-1" not in log.read_text().split()

    # The restarted process resumes by itself: the interrupted attempt runs again as attempt 2.
    second = start(runner, config, persist, "resume")
    try:
        wait_for_line(log, "slow-end-2")
        # Kill only once the result is recorded: a step whose callback finished but whose
        # result was not yet committed may run again, and that is not what this test is about.
        wait_for_step(persist / "durable.sqlite3", "slow", "complete")
    finally:
        # Killed again while the instance waits for its event; a third start finishes it.
        second.send_signal(signal.SIGKILL)
        second.wait()

    runtime = await open_runtime(load_config(config), persist_dir=persist, limits=FAST)
    try:
        await runtime.engine.wait_for("my-workflow", "crashy", ("waiting",), timeout=5)
        await (await runtime.env.MY_WORKFLOW.get("crashy")).send_event(
            {"type": "approve", "payload": "after crash"}
        )
        row = await runtime.engine.wait_for("my-workflow", "crashy", WAIT, timeout=5)
        assert json.loads(row.output) == [1, 2, 3, "after crash"]
        lines = log.read_text().split()
        # Completed steps ran exactly once; only the interrupted attempt ran again.
        assert lines.count("one") == 1
        assert lines.count("three") == 1
        assert lines.count("slow-end-1") == 0 and lines.count("slow-end-2") == 1
        steps = await runtime.store.steps_of(row.pk)
        slow = next(s for s in steps if s.name == "slow")
        attempts = json.loads(slow.attempts)
        assert [a.get("interrupted", False) for a in attempts] == [True, False]
        assert await runtime.store.integrity_check() == "ok"
    finally:
        await runtime.close()


async def test_many_parked_instances_woken_at_once_all_complete(project, runtime_factory):
    """Events arriving together wake every parked instance (no stale read loses a wake-up)."""
    from durable.runtime.engine.state import Limits

    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                e = await step.wait_for_event("wait", "go", timeout="1 hour")
                return e["payload"]
        """
    )
    # Every wait parks at once, so each event must wake an instance out of the store.
    limits = Limits(park_after_ms=200, max_waiting_in_memory=0, min_event_timeout_ms=10)
    runtime = await runtime_factory(config, limits=limits)
    ids = []
    for _ in range(4):
        ids += [i.id for i in await runtime.env.MY_WORKFLOW.create_batch([{} for _ in range(100)])]
    for instance_id in ids:
        await runtime.engine.wait_for("my-workflow", instance_id, ("waiting",), timeout=10)
    await asyncio.gather(*(runtime.engine.send_event("my-workflow", i, "go", i) for i in ids))
    for instance_id in ids:
        row = await runtime.engine.wait_for("my-workflow", instance_id, WAIT, timeout=20)
        assert json.loads(row.output) == instance_id
