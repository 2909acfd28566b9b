"""EngineHooks: what the engine reports, with the step key it computed, and the seam through
which hooks change an attempt's result or skip a wait."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from durable.runtime.config import load_config
from durable.runtime.dev.project import open_runtime
from durable.runtime.engine.hooks import EngineHooks, StepKey, step_key
from durable.runtime.engine.scheduler import Engine
from durable.runtime.engine.state import LoadedInstance
from durable.runtime.engine.store import InstanceRow, StepRow
from durable.runtime.worker.jsdict import JsDict
from durable.testing import VirtualClock
from tests.conftest import FAST

ENTRY = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("flaky", config={"retries": {"limit": 2, "delay": "1 minute"}})
        async def flaky(ctx):
            if ctx["attempt"] == 1:
                raise ValueError("first attempt fails")
            return "real"

        first = await flaky()
        await step.sleep("nap", "1 hour")
        mocked = await flaky()  # the second occurrence of the name: ("step", "flaky", 2)
        return [first, mocked]
"""


class Recorder(EngineHooks):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.statuses: list[str] = []

    def status_changed(self, row: InstanceRow) -> None:
        self.statuses.append(row.status)

    def attempt_started(self, inst: LoadedInstance, key: StepKey, attempt: int) -> None:
        self.calls.append(("attempt", key, attempt))

    def attempt_finished(
        self,
        inst: LoadedInstance,
        key: StepKey,
        attempt: int,
        outcome: str,
        error: dict[str, str] | None,
    ) -> None:
        self.calls.append(("finished", key, attempt, outcome, error))

    def wait_began(
        self, inst: LoadedInstance, key: StepKey, kind: str, deadline_ms: int, event: str | None
    ) -> None:
        self.calls.append(("wait", key, kind, deadline_ms))

    def step_ended(self, inst: LoadedInstance, key: StepKey, row: StepRow) -> None:
        self.calls.append(("ended", key, row.status))

    async def run_attempt(
        self,
        inst: LoadedInstance,
        key: StepKey,
        ctx: JsDict,
        invoke: Callable[[JsDict], Awaitable[Any]],
    ) -> Any:
        if key == ("step", "flaky", 2):
            return "mocked"  # the callback does not run
        return await invoke(ctx)

    def skip_wait(self, inst: LoadedInstance, key: StepKey, deadline_ms: int) -> bool:
        return key[0] == "sleep"


def test_step_key_counts_occurrences_per_kind_and_name() -> None:
    counters: dict[tuple[str, str], int] = {}
    keys = [step_key(counters, k, n) for k, n in [("step", "a"), ("sleep", "a"), ("step", "a")]]
    assert keys == [("step", "a", 1), ("sleep", "a", 1), ("step", "a", 2)]


async def test_hooks_see_attempts_and_waits_and_steer_them(project: Any, tmp_path: Path) -> None:
    clock = VirtualClock(0)
    hooks = Recorder()
    runtime = await open_runtime(
        load_config(project(ENTRY)),
        persist_dir=tmp_path / ".durable",
        limits=FAST,
        clock=clock,
        engine_factory=functools.partial(Engine, hooks=hooks),
    )
    try:
        engine = runtime.engine
        await runtime.env.MY_WORKFLOW.create({"id": "i"})
        await engine.wait_for("my-workflow", "i", ("waiting",), timeout=5)
        clock.move_to(60_000)  # the retry back-off; the sleep is skipped by the hooks
        row = await engine.wait_for("my-workflow", "i", ("complete", "errored"), timeout=5)
    finally:
        await runtime.close()
    assert (row.status, json.loads(row.output or "null")) == ("complete", ["real", "mocked"])
    flaky, nap, again = ("step", "flaky", 1), ("sleep", "nap", 1), ("step", "flaky", 2)
    error = {"name": "ValueError", "message": "first attempt fails"}
    assert hooks.calls == [
        ("attempt", flaky, 1),
        ("finished", flaky, 1, "error", error),
        ("wait", flaky, "retry", 60_000),
        ("attempt", flaky, 2),
        ("finished", flaky, 2, "success", None),
        ("ended", flaky, "complete"),
        ("ended", nap, "complete"),  # skipped: no wait began
        ("attempt", again, 1),
        ("finished", again, 1, "success", None),
        ("ended", again, "complete"),
    ]
    assert hooks.statuses[0] == "running" and hooks.statuses[-1] == "complete"
    assert "waiting" in hooks.statuses
