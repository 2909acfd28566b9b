"""The virtual clock: sleeps, retry back-offs and event timeouts fire on `advance()`, in order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable.runtime.dev.project import open_runtime
from durable.runtime.engine.clock import WallClock, wall_ms
from durable.testing import introspect_workflow_instance, open_env

OpenProject = Any  # the `open_project` fixture of conftest.py

SLEEPER = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        for i, length in enumerate(event.payload["sleeps"]):
            await step.sleep(f"sleep {i}", length)

            @step.do(f"after {i}")
            async def after():
                return i
            await after()
        return event.payload["sleeps"]
"""


async def test_sleeps_fire_in_deadline_order_across_instances(open_project: OpenProject) -> None:
    denv = await open_project(SLEEPER)
    binding = denv.env.MY_WORKFLOW
    await binding.create(id="late", params={"sleeps": ["2 hours"]})
    await binding.create(id="early", params={"sleeps": ["1 hour", "30 minutes"]})
    await denv.settle()
    assert await denv.advance("59 minutes") == 0
    assert (await (await binding.get("early")).status())["status"] == "waiting"
    # One advance fires the 1-hour sleep, lets "early" run into its next sleep (due at 1h30),
    # fires that too, then the 2-hour one: always earliest deadline first.
    assert await denv.advance("2 hours") == 3
    late, early = denv.trace(binding, "late"), denv.trace(binding, "early")
    orders = {
        "early after 0": early.records[0].order,
        "early after 1": early.records[1].order,
        "late after 0": late.records[0].order,
    }
    assert sorted(orders, key=orders.__getitem__) == [
        "early after 0",
        "early after 1",
        "late after 0",
    ]
    assert [s.deadline_ms - s.started_ms for s in early.sleeps] == [3_600_000, 1_800_000]
    for instance_id in ("late", "early"):
        assert (await (await binding.get(instance_id)).status())["status"] == "complete"


async def test_advance_without_waiters_moves_the_time(open_project: OpenProject) -> None:
    denv = await open_project(SLEEPER)
    before = denv.clock.now_ms()
    assert await denv.advance(1500) == 0
    assert denv.clock.now_ms() >= before + 1500
    instance = await denv.env.MY_WORKFLOW.create(params={"sleeps": []})
    await denv.settle()
    status = await instance.status()
    assert status["status"] == "complete"
    # The engine stamps with the virtual clock.
    row = await denv.engine.get_row("my-workflow", instance.id)
    assert row.created_ms == denv.clock.now_ms()
    with pytest.raises(Exception, match="Invalid advance"):
        await denv.advance("soon")


BACKOFF = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("charge card", config={"retries": {"limit": 3, "delay": "1 minute"}})
        async def charge(ctx):
            if ctx.attempt < 4:
                raise ConnectionError(f"gateway down ({ctx.attempt})")
            return ctx.attempt
        return await charge()
"""


async def test_exponential_back_off_on_the_clock(open_project: OpenProject) -> None:
    denv = await open_project(BACKOFF)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "i1") as instance:
        await binding.create(id="i1")
        await denv.settle()
        assert instance.trace.attempts("charge card") == 1
        await denv.advance("1 minute")  # delay after the 1st failure: 1 minute
        assert instance.trace.attempts("charge card") == 2
        await denv.advance("1 minute")  # after the 2nd: 2 minutes
        assert instance.trace.attempts("charge card") == 2
        await denv.advance("1 minute")
        assert instance.trace.attempts("charge card") == 3
        await denv.advance("4 minutes")  # after the 3rd: 4 minutes
        assert await instance.get_output() == 4
        starts = [
            r.started_ms - instance.trace.records[0].started_ms for r in instance.trace.records
        ]
        assert starts[1:] == [60_000, 180_000, 420_000]


EVENTS = """
from workers import WorkflowEntrypoint
from durable.runtime.errors import WorkflowTimeoutError

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        try:
            got = await step.wait_for_event("approval", "approved", timeout="1 day")
            return {"approved": got["payload"], "at": got["timestamp"]}
        except WorkflowTimeoutError as exc:
            return {"timed_out": str(exc)}
"""


async def test_event_timeouts_fire_on_the_clock(open_project: OpenProject) -> None:
    denv = await open_project(EVENTS)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "slow") as slow:
        await binding.create(id="slow")
        await slow.wait_for_status("waiting")
        await denv.advance("23 hours")
        assert (await (await binding.get("slow")).status())["status"] == "waiting"
        await denv.advance("1 hour")
        await slow.wait_for_status("complete")
        assert await slow.get_output() == {"timed_out": "Execution timed out after 86400000ms"}
    async with introspect_workflow_instance(binding, "fast") as fast:
        instance = await binding.create(id="fast")
        await denv.advance("3 hours")
        await instance.send_event(type="approved", payload={"by": "me"})
        await fast.wait_for_status("complete")
        output = await fast.get_output()
        assert output["approved"] == {"by": "me"}
        assert output["at"] == denv.clock.now.replace(microsecond=output["at"].microsecond)
        assert denv.clock.pending() == 0  # the timeout's timer went with the wait


SLEEP_UNTIL = """
from datetime import datetime, timedelta
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        await step.sleep_until("wake up", datetime.now() + timedelta(hours=1))
        return "awake"
"""


async def test_sleep_until_from_wall_clock_time(open_project: OpenProject) -> None:
    denv = await open_project(SLEEP_UNTIL)
    async with introspect_workflow_instance(denv.env.MY_WORKFLOW, "i1") as instance:
        await denv.env.MY_WORKFLOW.create(id="i1")
        await denv.settle()
        # advance() catches up with the wall clock first, so "now + 1 hour" is due.
        await denv.advance("1 hour")
        await instance.wait_for_status("complete")


async def test_paused_time_does_not_count(open_project: OpenProject) -> None:
    denv = await open_project(SLEEPER)
    binding = denv.env.MY_WORKFLOW
    instance = await binding.create(id="p", params={"sleeps": ["1 hour"]})
    await denv.settle()
    await denv.advance("30 minutes")
    await instance.pause()
    assert (await instance.status())["status"] == "paused"
    await denv.advance("5 hours")
    assert (await instance.status())["status"] == "paused"
    await instance.resume()
    await denv.settle()
    assert (await instance.status())["status"] == "waiting"
    await denv.advance("29 minutes")
    assert (await instance.status())["status"] == "waiting"
    await denv.advance("1 minute")
    assert (await instance.status())["status"] == "complete"
    assert denv.trace(instance).runs == 2  # resumed by replay


async def test_each_env_engine_reads_its_own_clock(open_project: OpenProject) -> None:
    denv = await open_project(SLEEPER)
    async with open_env(denv.config, start_ms=0) as first:
        async with open_env(denv.config, start_ms=5_000) as second:
            assert first.engine.clock is first.clock and second.engine.clock is second.clock
            one = await first.env.MY_WORKFLOW.create(id="a", params={"sleeps": ["1 hour"]})
            two = await second.env.MY_WORKFLOW.create(id="a", params={"sleeps": ["1 hour"]})
            await first.settle()
            await second.settle()
            deadlines = [
                first.trace(one).sleeps[0].deadline_ms,
                second.trace(two).sleeps[0].deadline_ms,
            ]
            assert deadlines == [3_600_000, 3_605_000]
            await second.advance("1 hour")  # moves only the second env's time
            assert (await two.status())["status"] == "complete"
            assert (await one.status())["status"] == "waiting"
            assert first.engine.now_ms() == 0
    # Outside an env, an engine reads the wall clock, whatever envs are open meanwhile.
    runtime = await open_runtime(denv.config, persist_dir=denv.config.path.parent / ".wall")
    try:
        assert isinstance(runtime.engine.clock, WallClock)
        assert abs(runtime.engine.now_ms() - wall_ms()) < 1000
    finally:
        await runtime.close()


async def test_the_engine_reads_the_virtual_clock(open_project: OpenProject) -> None:
    denv = await open_project(SLEEPER)
    await denv.advance(timedelta_ms(days=3))
    assert denv.engine.now_ms() - wall_ms() >= 3 * 86_400_000 - 1000


def timedelta_ms(**kwargs: float) -> int:
    return int(timedelta(**kwargs).total_seconds() * 1000)
