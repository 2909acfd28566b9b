"""Timers: parked instances are loaded a little before their deadline (the wake lead), in
batches, and the code after a sleep still never runs before the deadline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from durable.runtime.dev.project import Runtime
from durable.runtime.engine.state import Limits

WAIT = ("complete", "errored", "terminated")
# Sleeps of a few hundred ms park at once (park_after 100 ms) and are loaded 80 ms early.
LIMITS = Limits(max_concurrency=1000, park_after_ms=100, wake_lead_ms=80, min_event_timeout_ms=10)

ENTRY = """
import time
from workers import WorkflowEntrypoint

class Sleeper(WorkflowEntrypoint):
    async def run(self, event, step):
        await step.sleep("nap", event.payload["ms"])
        after = time.time() * 1000  # the first code after the sleep

        @step.do("woke")
        async def woke():
            return time.time() * 1000

        return {"after": after, "woke": await woke()}

class Waiter(WorkflowEntrypoint):
    async def run(self, event, step):
        got = await step.wait_for_event("wait", "go", timeout=event.payload["timeout"])
        return got["payload"]
"""
WORKFLOWS = [("sleeper", "SLEEPER", "Sleeper"), ("waiter", "WAITER", "Waiter")]


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.002)


async def pk_of(runtime: Runtime, workflow: str, instance_id: str) -> int:
    return (await runtime.engine.get_row(workflow, instance_id)).pk


async def sleep_deadline(runtime: Runtime, pk: int) -> int:
    await runtime.store.flush()
    steps = await runtime.store.steps_of(pk)
    wake_ms = next(s.wake_ms for s in steps if s.kind == "sleep")
    assert wake_ms is not None
    return wake_ms


async def open_sleepers(project: Any, runtime_factory: Any) -> Runtime:
    runtime: Runtime = await runtime_factory(project(ENTRY, workflows=WORKFLOWS), limits=LIMITS)
    return runtime


def assert_not_early(output: str | None, deadline_ms: int) -> None:
    result = json.loads(output or "null")
    # Both are float epoch ms; the deadline is whole ms, checked against now_ms() (truncated).
    assert int(result["after"]) >= deadline_ms, (result, deadline_ms)
    assert result["woke"] >= result["after"]


async def test_parked_sleeper_is_loaded_early_but_runs_on_time(project, runtime_factory):
    runtime = await open_sleepers(project, runtime_factory)
    engine = runtime.engine
    instance = await runtime.env.SLEEPER.create({"params": {"ms": 500}})
    pk = await pk_of(runtime, "sleeper", instance.id)
    await until(lambda: pk in engine._parked)
    deadline = await sleep_deadline(runtime, pk)
    await until(lambda: pk in engine.loaded, timeout=2)
    loaded_at = time.time() * 1000
    assert loaded_at < deadline, "a parked sleeper is loaded within the lead, before its deadline"
    row = await engine.wait_for("sleeper", instance.id, WAIT, timeout=5)
    assert row.status == "complete"
    assert_not_early(row.output, deadline)


async def test_many_parked_sleepers_due_together_are_loaded_in_batches(project, runtime_factory):
    runtime = await open_sleepers(project, runtime_factory)
    engine, store = runtime.engine, runtime.store
    batches: list[int] = []
    replay_states = store.replay_states

    async def counted(pks: Any) -> Any:
        batches.append(len(pks))
        return await replay_states(pks)

    store.replay_states = counted  # type: ignore[method-assign]
    n = 300
    ids: list[str] = []
    for _ in range(n // 100):  # create_batch takes 100 at most
        created = await runtime.env.SLEEPER.create_batch([{"params": {"ms": 400}}] * 100)
        ids += [instance.id for instance in created]
    rows = [await engine.wait_for("sleeper", i, WAIT, timeout=20) for i in ids]
    assert [row.status for row in rows] == ["complete"] * n
    for row in rows:
        assert_not_early(row.output, await sleep_deadline(runtime, row.pk))
    assert sum(batches) == n
    assert len(batches) < n // 3, batches  # one store round trip serves many instances


async def test_pause_in_the_early_wake_window_holds_the_instance(project, runtime_factory):
    runtime = await open_sleepers(project, runtime_factory)
    engine = runtime.engine
    instance = await runtime.env.SLEEPER.create({"params": {"ms": 400}})
    pk = await pk_of(runtime, "sleeper", instance.id)
    await until(lambda: pk in engine._parked)
    deadline = await sleep_deadline(runtime, pk)
    await until(lambda: pk in engine.loaded, timeout=2)
    assert time.time() * 1000 < deadline
    await engine.pause("sleeper", instance.id)
    assert (await engine.get_row("sleeper", instance.id)).status == "paused"
    await asyncio.sleep(max(0.0, deadline / 1000 - time.time()) + 0.15)
    row = await engine.get_row("sleeper", instance.id)
    assert row.status == "paused" and row.output is None
    assert pk not in engine.loaded and pk not in engine._parked
    assert not [s for s in await runtime.store.steps_of(pk) if s.name == "woke"]
    await engine.resume("sleeper", instance.id)
    row = await engine.wait_for("sleeper", instance.id, WAIT, timeout=5)
    assert row.status == "complete"
    # Resuming moved the deadline on by the time spent paused.
    shifted = await sleep_deadline(runtime, pk)
    assert shifted > deadline
    assert_not_early(row.output, shifted)


async def gate_replay_reads(runtime: Runtime, *, after_read: bool) -> asyncio.Event:
    """Hold the timer loop's batch read until the returned event is set; `after_read` holds it
    once the rows are read (so the read predates whatever the test does meanwhile)."""
    store = runtime.store
    replay_states = store.replay_states
    gate = asyncio.Event()

    async def gated(pks: Any) -> Any:
        if after_read:
            states = await replay_states(pks)
            await gate.wait()
            return states
        await gate.wait()
        return await replay_states(pks)

    store.replay_states = gated  # type: ignore[method-assign]
    return gate


async def test_pause_and_terminate_while_a_parked_instance_is_being_loaded(
    project, runtime_factory
):
    runtime = await open_sleepers(project, runtime_factory)
    engine = runtime.engine
    store_replay_states = runtime.store.replay_states
    outcomes: dict[str, int] = {}
    for request in ("pause", "terminate"):
        runtime.store.replay_states = store_replay_states  # type: ignore[method-assign]
        gate = await gate_replay_reads(runtime, after_read=True)
        instance = await runtime.env.SLEEPER.create({"params": {"ms": 300}})
        pk = outcomes[instance.id] = await pk_of(runtime, "sleeper", instance.id)
        await until(lambda pk=pk: pk in engine._waking, timeout=2)  # type: ignore[misc]
        await getattr(engine, request)("sleeper", instance.id)
        gate.set()
        await asyncio.sleep(0.4)  # past the deadline
        assert pk not in engine.loaded
    paused, ended = outcomes
    assert (await engine.get_row("sleeper", paused)).status == "paused"
    assert (await engine.get_row("sleeper", ended)).status == "terminated"
    await engine.resume("sleeper", paused)
    row = await engine.wait_for("sleeper", paused, WAIT, timeout=5)
    assert row.status == "complete"
    assert_not_early(row.output, await sleep_deadline(runtime, outcomes[paused]))


async def test_event_sent_while_a_parked_waiter_is_being_loaded_is_delivered(
    project, runtime_factory
):
    runtime = await open_sleepers(project, runtime_factory)
    engine = runtime.engine
    gate = await gate_replay_reads(runtime, after_read=True)
    # 100 ms in memory (park_after), then parked until 80 ms (the lead) before the timeout.
    instance = await runtime.env.WAITER.create({"params": {"timeout": 400}})
    pk = await pk_of(runtime, "waiter", instance.id)
    await until(lambda: pk in engine._waking, timeout=2)
    await engine.send_event("waiter", instance.id, "go", "delivered")
    gate.set()
    row = await engine.wait_for("waiter", instance.id, WAIT, timeout=5)
    assert (row.status, json.loads(row.output or "null")) == ("complete", "delivered")


async def test_far_off_event_waiters_stay_parked(project, runtime_factory):
    runtime = await open_sleepers(project, runtime_factory)
    engine = runtime.engine
    created = await runtime.env.WAITER.create_batch([{"params": {"timeout": "1 hour"}}] * 20)
    pks = [await pk_of(runtime, "waiter", i.id) for i in created]
    await until(lambda: all(pk in engine._parked for pk in pks), timeout=2)
    await asyncio.sleep(0.3)  # several wake leads: nothing is loaded early
    assert all(pk in engine._parked for pk in pks)
    assert not engine._waking and not [pk for pk in pks if pk in engine.loaded]
    await engine.send_event("waiter", created[0].id, "go", 1)
    row = await engine.wait_for("waiter", created[0].id, WAIT, timeout=5)
    assert row.status == "complete"


async def test_delete_all_leaves_other_workflows_timers_alone(project, runtime_factory):
    runtime = await open_sleepers(project, runtime_factory)
    engine = runtime.engine
    sleeper = await runtime.env.SLEEPER.create({"params": {"ms": 400}})
    pk = await pk_of(runtime, "sleeper", sleeper.id)
    waiters = await runtime.env.WAITER.create_batch([{"params": {"timeout": "1 hour"}}] * 3)
    await until(lambda: pk in engine._parked)
    await engine.delete_all("waiter")
    row = await engine.wait_for("sleeper", sleeper.id, WAIT, timeout=5)
    assert row.status == "complete"
    assert_not_early(row.output, await sleep_deadline(runtime, pk))
    assert not [w for w in waiters if ("waiter", w.id) in engine._by_key]


async def test_in_memory_sleep_never_ends_early(project, runtime_factory):
    runtime = await open_sleepers(project, runtime_factory)
    engine = runtime.engine
    # Shorter than park_after: these wait in memory from the start.
    created = await runtime.env.SLEEPER.create_batch([{"params": {"ms": 60}}] * 50)
    for instance in created:
        row = await engine.wait_for("sleeper", instance.id, WAIT, timeout=5)
        assert row.status == "complete"
        assert_not_early(row.output, await sleep_deadline(runtime, row.pk))
