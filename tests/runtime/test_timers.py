"""Timers: parked instances are loaded a little before their deadline (the wake lead), in
batches, and the code after a sleep still never runs before the deadline.

The engine is given a `VirtualClock`: a test moves time to just before or just after a
deadline and sees what the engine did, without waiting for it in real time. Only the last test
runs on the wall clock: it is about the event loop's timers waking a little early.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from functools import partial
from operator import contains
from typing import Any

import pytest

from durable.runtime.dev.project import Runtime
from durable.runtime.engine.scheduler import Engine
from durable.runtime.engine.state import Limits
from durable.testing import VirtualClock

WAIT = ("complete", "errored", "terminated")
# Sleeps of a few hundred ms park at once (park_after 100 ms) and are loaded 80 ms early.
LIMITS = Limits(max_concurrency=1000, park_after_ms=100, wake_lead_ms=80, min_event_timeout_ms=10)
LEAD = LIMITS.wake_lead_ms
START_MS = 1_700_000_000_000

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
    """Let the engine work (store reads and writes are real) until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.002)


def waits_in_memory(engine: Engine, pk: int) -> bool:
    inst = engine.loaded.get(pk)
    return inst is not None and inst.waiter is not None and not inst.waiter.done()


async def loop_turns(n: int = 20) -> None:
    """Give the event loop a few turns (no real time passes: the clock is virtual)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def timer_loop_idle(engine: Engine) -> None:
    """Wait until the timer loop has handled what is due and waits on the clock again."""
    await loop_turns()  # a timer the clock just fired reaches the loop
    await until(lambda: engine._timers_changed is not None and not engine._waking)


async def pk_of(runtime: Runtime, workflow: str, instance_id: str) -> int:
    return (await runtime.engine.get_row(workflow, instance_id)).pk


async def sleep_deadline(runtime: Runtime, pk: int) -> int:
    await runtime.store.flush()
    steps = await runtime.store.steps_of(pk)
    wake_ms = next(s.wake_ms for s in steps if s.kind == "sleep")
    assert wake_ms is not None
    return wake_ms


async def woke_steps(runtime: Runtime, pk: int) -> list[Any]:
    await runtime.store.flush()
    return [s for s in await runtime.store.steps_of(pk) if s.name == "woke"]


async def open_sleepers(
    project: Any, runtime_factory: Any, clock: VirtualClock | None = None
) -> Runtime:
    runtime: Runtime = await runtime_factory(
        project(ENTRY, workflows=WORKFLOWS), limits=LIMITS, clock=clock
    )
    return runtime


async def assert_ran_on_time(runtime: Runtime, pk: int, deadline_ms: int) -> None:
    """On the virtual clock: the step after the sleep started at its deadline, not before."""
    (woke,) = await woke_steps(runtime, pk)
    assert woke.started_ms >= deadline_ms, (woke.started_ms, deadline_ms)


def assert_not_early(output: str | None, deadline_ms: int) -> None:
    result = json.loads(output or "null")
    # Both are float epoch ms; the deadline is whole ms, checked against now_ms() (truncated).
    assert int(result["after"]) >= deadline_ms, (result, deadline_ms)
    assert result["woke"] >= result["after"]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START_MS)


async def test_parked_sleeper_is_loaded_early_but_runs_on_time(project, runtime_factory, clock):
    runtime = await open_sleepers(project, runtime_factory, clock)
    engine = runtime.engine
    instance = await runtime.env.SLEEPER.create({"params": {"ms": 500}})
    pk = await pk_of(runtime, "sleeper", instance.id)
    await until(partial(contains, engine._parked, pk))
    deadline = await sleep_deadline(runtime, pk)
    assert deadline == START_MS + 500
    clock.move_to(deadline - LEAD - 1)
    await timer_loop_idle(engine)
    assert pk in engine._parked, "not loaded before the wake lead"
    clock.move_to(deadline - LEAD)
    await until(lambda: waits_in_memory(engine, pk))
    clock.move_to(deadline - 1)
    await loop_turns()
    assert waits_in_memory(engine, pk), "loaded within the lead, it waits for the deadline"
    assert not await woke_steps(runtime, pk)
    clock.move_to(deadline)
    row = await engine.wait_for("sleeper", instance.id, WAIT, timeout=5)
    assert row.status == "complete"
    await assert_ran_on_time(runtime, pk, deadline)


async def test_many_parked_sleepers_due_together_are_loaded_in_batches(
    project, runtime_factory, clock, monkeypatch
):
    runtime = await open_sleepers(project, runtime_factory, clock)
    engine, store = runtime.engine, runtime.store
    batches: list[int] = []
    replay_states = store.replay_states

    async def counted(pks: Any) -> Any:
        batches.append(len(pks))
        return await replay_states(pks)

    monkeypatch.setattr(store, "replay_states", counted)
    n = 300
    ids: list[str] = []
    for _ in range(n // 100):  # create_batch takes 100 at most
        created = await runtime.env.SLEEPER.create_batch([{"params": {"ms": 400}}] * 100)
        ids += [instance.id for instance in created]
    pks = [await pk_of(runtime, "sleeper", i) for i in ids]
    await until(lambda: all(pk in engine._parked for pk in pks), timeout=20)
    clock.move_to(START_MS + 400 - 1)
    await until(lambda: all(waits_in_memory(engine, pk) for pk in pks), timeout=20)
    assert not [pk for pk in pks if await woke_steps(runtime, pk)]
    clock.move_to(START_MS + 400)
    rows = [await engine.wait_for("sleeper", i, WAIT, timeout=20) for i in ids]
    assert [row.status for row in rows] == ["complete"] * n
    for row in rows:
        await assert_ran_on_time(runtime, row.pk, await sleep_deadline(runtime, row.pk))
    assert sum(batches) == n
    assert len(batches) < n // 3, batches  # one store round trip serves many instances


async def test_pause_in_the_early_wake_window_holds_the_instance(project, runtime_factory, clock):
    runtime = await open_sleepers(project, runtime_factory, clock)
    engine = runtime.engine
    instance = await runtime.env.SLEEPER.create({"params": {"ms": 400}})
    pk = await pk_of(runtime, "sleeper", instance.id)
    await until(partial(contains, engine._parked, pk))
    deadline = await sleep_deadline(runtime, pk)
    clock.move_to(deadline - LEAD)
    await until(lambda: waits_in_memory(engine, pk))
    await engine.pause("sleeper", instance.id)
    assert (await engine.get_row("sleeper", instance.id)).status == "paused"
    clock.move_to(deadline + 150)
    await timer_loop_idle(engine)
    row = await engine.get_row("sleeper", instance.id)
    assert row.status == "paused" and row.output is None
    assert pk not in engine.loaded and pk not in engine._parked
    assert not await woke_steps(runtime, pk)
    await engine.resume("sleeper", instance.id)
    # Resuming moved the deadline on by the time spent paused (150 ms + the lead).
    shifted = await sleep_deadline(runtime, pk)
    assert shifted == deadline + 150 + LEAD
    await until(lambda: waits_in_memory(engine, pk))
    clock.move_to(shifted - 1)
    await loop_turns()
    assert waits_in_memory(engine, pk) and not await woke_steps(runtime, pk)
    clock.move_to(shifted)
    row = await engine.wait_for("sleeper", instance.id, WAIT, timeout=5)
    assert row.status == "complete"
    await assert_ran_on_time(runtime, pk, shifted)


async def gate_replay_reads(
    runtime: Runtime, monkeypatch: Any, *, after_read: bool
) -> asyncio.Event:
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

    monkeypatch.setattr(store, "replay_states", gated)
    return gate


async def test_pause_and_terminate_while_a_parked_instance_is_being_loaded(
    project, runtime_factory, clock, monkeypatch
):
    runtime = await open_sleepers(project, runtime_factory, clock)
    engine = runtime.engine
    outcomes: dict[str, int] = {}
    for request in ("pause", "terminate"):
        monkeypatch.undo()
        gate = await gate_replay_reads(runtime, monkeypatch, after_read=True)
        instance = await runtime.env.SLEEPER.create({"params": {"ms": 300}})
        pk = outcomes[instance.id] = await pk_of(runtime, "sleeper", instance.id)
        await until(partial(contains, engine._parked, pk))
        deadline = await sleep_deadline(runtime, pk)
        clock.move_to(deadline - LEAD)
        await until(partial(contains, engine._waking, pk), timeout=2)
        await getattr(engine, request)("sleeper", instance.id)
        gate.set()
        clock.move_to(deadline + 100)  # past the deadline
        await timer_loop_idle(engine)
        assert pk not in engine.loaded
    paused, ended = outcomes
    assert (await engine.get_row("sleeper", paused)).status == "paused"
    assert (await engine.get_row("sleeper", ended)).status == "terminated"
    await engine.resume("sleeper", paused)
    shifted = await sleep_deadline(runtime, outcomes[paused])
    clock.move_to(shifted)
    row = await engine.wait_for("sleeper", paused, WAIT, timeout=5)
    assert row.status == "complete"
    await assert_ran_on_time(runtime, outcomes[paused], shifted)


async def test_event_sent_while_a_parked_waiter_is_being_loaded_is_delivered(
    project, runtime_factory, clock, monkeypatch
):
    runtime = await open_sleepers(project, runtime_factory, clock)
    engine = runtime.engine
    gate = await gate_replay_reads(runtime, monkeypatch, after_read=True)
    # 100 ms in memory (park_after), then parked until 80 ms (the lead) before the timeout.
    instance = await runtime.env.WAITER.create({"params": {"timeout": 400}})
    pk = await pk_of(runtime, "waiter", instance.id)
    await until(lambda: waits_in_memory(engine, pk))
    clock.move_to(START_MS + 100)
    await until(partial(contains, engine._parked, pk))
    clock.move_to(START_MS + 400 - LEAD)
    await until(partial(contains, engine._waking, pk), timeout=2)
    await engine.send_event("waiter", instance.id, "go", "delivered")
    gate.set()
    row = await engine.wait_for("waiter", instance.id, WAIT, timeout=5)
    assert (row.status, json.loads(row.output or "null")) == ("complete", "delivered")


async def test_far_off_event_waiters_stay_parked(project, runtime_factory, clock):
    runtime = await open_sleepers(project, runtime_factory, clock)
    engine = runtime.engine
    created = await runtime.env.WAITER.create_batch([{"params": {"timeout": "1 hour"}}] * 20)
    pks = [await pk_of(runtime, "waiter", i.id) for i in created]
    await until(lambda: all(waits_in_memory(engine, pk) for pk in pks))
    clock.move_to(START_MS + 100)  # park_after: they leave memory
    await until(lambda: all(pk in engine._parked for pk in pks), timeout=2)
    clock.move_to(START_MS + 100 + 10 * LEAD)  # several wake leads: nothing is loaded early
    await timer_loop_idle(engine)
    assert all(pk in engine._parked for pk in pks)
    assert not engine._waking and not [pk for pk in pks if pk in engine.loaded]
    await engine.send_event("waiter", created[0].id, "go", 1)
    row = await engine.wait_for("waiter", created[0].id, WAIT, timeout=5)
    assert row.status == "complete"


async def test_delete_all_leaves_other_workflows_timers_alone(project, runtime_factory, clock):
    runtime = await open_sleepers(project, runtime_factory, clock)
    engine = runtime.engine
    sleeper = await runtime.env.SLEEPER.create({"params": {"ms": 400}})
    pk = await pk_of(runtime, "sleeper", sleeper.id)
    waiters = await runtime.env.WAITER.create_batch([{"params": {"timeout": "1 hour"}}] * 3)
    await until(partial(contains, engine._parked, pk))
    await engine.delete_all("waiter")
    deadline = await sleep_deadline(runtime, pk)
    clock.move_to(deadline)
    row = await engine.wait_for("sleeper", sleeper.id, WAIT, timeout=5)
    assert row.status == "complete"
    await assert_ran_on_time(runtime, pk, deadline)
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
