"""create, create_batch, get, status, pause/resume, terminate, restart, delete, concurrency."""

from __future__ import annotations

import asyncio
import json

import pytest

from durable.runtime.engine.state import Limits
from durable.runtime.errors import ConflictError, InstanceNotFoundError, ValidationError
from durable.testing import VirtualClock

WAIT = ("complete", "errored", "terminated")

GATED = """
import asyncio, os
from workers import WorkflowEntrypoint

GATE = {gate!r}

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("first")
        async def first():
            # Blocks until the test creates the gate file: a step that is "still running".
            while not os.path.exists(GATE):
                await asyncio.sleep(0.01)
            return 1

        @step.do("second")
        async def second():
            return 2

        a = await first()
        b = await second()
        return a + b
"""


async def test_create_ids_duplicates_and_get(project, runtime_factory):
    runtime = await runtime_factory(project(GATED.format(gate="/nonexistent")))
    wf = runtime.env.MY_WORKFLOW
    generated = await wf.create()
    assert len(generated.id) == 36  # a UUID
    named = await wf.create({"id": "order-42", "params": {"a": 1}})
    assert named.id == "order-42"
    with pytest.raises(ConflictError, match="already exists"):
        await wf.create({"id": "order-42"})
    with pytest.raises(ValidationError, match="Invalid instance id"):
        await wf.create({"id": "-bad id"})
    with pytest.raises(ValidationError):
        await wf.create({"id": "x" * 101})
    assert (await wf.get("order-42")).id == "order-42"
    with pytest.raises(InstanceNotFoundError):
        await wf.get("nope")


async def test_create_batch_skips_existing_and_limits_size(project, runtime_factory):
    runtime = await runtime_factory(project(GATED.format(gate="/nonexistent")))
    wf = runtime.env.MY_WORKFLOW
    await wf.create({"id": "a"})
    batch = await wf.create_batch([{"id": "a"}, {"id": "b"}, {"id": "c", "params": [1]}])
    assert [i.id for i in batch] == ["b", "c"]
    with pytest.raises(ValidationError, match="at most 100"):
        await wf.create_batch([{} for _ in range(101)])
    with pytest.raises(ValidationError, match="at least 1"):
        await wf.createBatch([])


async def test_pause_waits_for_the_step_boundary_then_resume(project, runtime_factory, tmp_path):
    gate = tmp_path / "gate"
    runtime = await runtime_factory(project(GATED.format(gate=str(gate))))
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, ("running",), timeout=5)
    await asyncio.sleep(0.05)
    await instance.pause()
    assert (await instance.status())["status"] == "waitingForPause"
    gate.touch()  # the running step finishes; the pause takes effect at the boundary
    await runtime.engine.wait_for("my-workflow", instance.id, ("paused",), timeout=5)
    row = await runtime.engine.get_row("my-workflow", instance.id)
    steps = await runtime.store.steps_of(row.pk)
    assert [(s.name, s.status) for s in steps] == [("first", "complete")]
    await instance.resume()
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    assert await instance.status() == {"status": "complete", "error": None, "output": 3}


async def test_pause_a_waiting_instance_shifts_its_timer(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                await step.sleep("nap", 300)
                return "woke"
        """
    )
    clock = VirtualClock(0)
    runtime = await runtime_factory(config, clock=clock)
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, ("waiting",), timeout=5)
    clock.move_to(100)
    await instance.pause()
    assert (await instance.status())["status"] == "paused"
    clock.move_to(500)  # longer than the sleep: paused time does not count
    await instance.resume()
    await runtime.engine.wait_for("my-workflow", instance.id, ("waiting",), timeout=5)
    clock.move_to(699)  # 300 ms of sleep less the 100 ms before the pause, 1 ms short
    for _ in range(20):  # loop turns, no real time: a wake-up timed wrong would complete it
        await asyncio.sleep(0)
    assert (await instance.status())["status"] == "waiting"
    clock.move_to(700)
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    assert (await instance.status())["output"] == "woke"


async def test_terminate_running_and_refused_when_finished(project, runtime_factory, tmp_path):
    runtime = await runtime_factory(project(GATED.format(gate=str(tmp_path / "gate"))))
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, ("running",), timeout=5)
    await instance.terminate()
    assert (await instance.status())["status"] == "terminated"
    with pytest.raises(ConflictError, match="already terminated"):
        await instance.terminate()


async def test_restart_from_scratch_and_from_a_step(project, runtime_factory, tmp_path):
    counter = tmp_path / "calls"
    config = project(
        f"""
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                results = []
                for name in ["one", "two", "three"]:
                    @step.do(name)
                    async def s():
                        with open({str(counter)!r}, "a") as f:
                            f.write(name + "\\n")
                        return name
                    results.append(await s())
                return results
        """
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    await instance.restart({"from": {"name": "two", "type": "do"}})
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    assert counter.read_text().split() == ["one", "two", "three", "two", "three"]
    await instance.restart()
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    assert counter.read_text().split() == [
        "one",
        "two",
        "three",
        "two",
        "three",
        "one",
        "two",
        "three",
    ]
    with pytest.raises(ValidationError, match="not found in execution history"):
        await instance.restart({"from": {"name": "four"}})


async def test_delete(project, runtime_factory):
    runtime = await runtime_factory(project(GATED.format(gate="/nonexistent")))
    instance = await runtime.env.MY_WORKFLOW.create({"id": "doomed"})
    await instance.delete()
    with pytest.raises(InstanceNotFoundError):
        await runtime.env.MY_WORKFLOW.get("doomed")


async def test_concurrency_limit_queues_and_waiting_does_not_count(
    project, runtime_factory, tmp_path
):
    gate = tmp_path / "gate"
    config = project(
        f"""
        import asyncio, os
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                if event.payload.get("sleeper"):
                    await step.sleep("long", "1 hour")
                    return "slept"
                @step.do("hold")
                async def hold():
                    while not os.path.exists({str(gate)!r}):
                        await asyncio.sleep(0.01)
                    return "held"
                return await hold()
        """
    )
    runtime = await runtime_factory(
        config, limits=Limits(max_concurrency=2, park_after_ms=200, min_event_timeout_ms=10)
    )
    wf = runtime.env.MY_WORKFLOW
    sleepers = [await wf.create({"params": {"sleeper": True}}) for _ in range(3)]
    for s in sleepers:
        await runtime.engine.wait_for("my-workflow", s.id, ("waiting",), timeout=5)
    holders = [await wf.create() for _ in range(4)]
    await asyncio.sleep(0.3)
    statuses = sorted([(await h.status())["status"] for h in holders])
    assert statuses == ["queued", "queued", "running", "running"]
    # Parked sleepers hold no coroutine.
    sleeper_rows = [await runtime.engine.get_row("my-workflow", s.id) for s in sleepers]
    assert all(row.pk not in runtime.engine.loaded for row in sleeper_rows)
    gate.touch()
    for h in holders:
        await runtime.engine.wait_for("my-workflow", h.id, WAIT, timeout=5)
    assert {(await h.status())["output"] for h in holders} == {"held"}


async def test_events_to_a_paused_instance_are_buffered(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                e = await step.wait_for_event("wait", "ping", timeout="1 hour")
                return e["payload"]
        """
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, ("waiting",), timeout=5)
    await instance.pause()
    await instance.send_event({"type": "ping", "payload": "while paused"})
    await asyncio.sleep(0.1)
    assert (await instance.status())["status"] == "paused"
    await instance.resume()
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    assert (await instance.status())["output"] == "while paused"
    row = await runtime.engine.get_row("my-workflow", instance.id)
    assert json.loads(row.output) == "while paused"
