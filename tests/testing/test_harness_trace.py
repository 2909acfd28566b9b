"""The trace: steps, attempts, order and concurrency, with both `step.do` signatures."""

from __future__ import annotations

from typing import Any

import pytest

from durable.testing import introspect_workflow_instance

OpenProject = Any  # the `open_project` fixture of conftest.py
IMPLICIT, LEGACY = "2026-03-01", "2025-11-02"

# The same DAG in both signatures: top → (left, right) → bottom. `bottom` resolves its two
# dependencies concurrently or one after the other; each callback yields to the loop once,
# so concurrent ones overlap.
DAG = {
    IMPLICIT: """
import asyncio
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def top():
            return 1

        @step.do()
        async def left(top):
            await asyncio.sleep(0)
            return top + 1

        @step.do(config={"retries": {"limit": 2, "delay": "5 seconds", "backoff": "constant"}})
        async def right(top, ctx):
            await asyncio.sleep(0)
            if ctx.attempt < event.payload["right_ok_at"]:
                raise ValueError("right is flaky")
            return top + 2

        @step.do("bottom", concurrent=event.payload["concurrent"])
        async def bottom(left, right):
            return [left, right]

        return await bottom()
""",
    LEGACY: """
import asyncio
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("top")
        async def top():
            return 1

        @step.do("left", depends=[top])
        async def left(value):
            await asyncio.sleep(0)
            return value + 1

        @step.do("right", depends=[top], config={"retries": {"limit": 2, "delay": "5 seconds", "backoff": "constant"}})
        async def right(ctx, value):
            await asyncio.sleep(0)
            if ctx.attempt < event.payload["right_ok_at"]:
                raise ValueError("right is flaky")
            return value + 2

        @step.do("bottom", depends=[left, right], concurrent=event.payload["concurrent"])
        async def bottom(a, b):
            return [a, b]

        return await bottom()
""",
}


@pytest.mark.parametrize("date", [IMPLICIT, LEGACY])
async def test_attempts_order_and_concurrency(open_project: OpenProject, date: str) -> None:
    denv = await open_project(DAG[date], compatibility_date=date)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "together") as instance:
        await instance.modify(lambda m: m.disable_retry_delays())
        await binding.create(id="together", params={"concurrent": True, "right_ok_at": 3})
        await instance.wait_for_status("complete")
        assert await instance.get_output() == [2, 3]
        trace = instance.trace
        assert trace.attempts("right") == 3
        assert trace.attempts("left") == trace.attempts("top") == trace.attempts("bottom") == 1
        assert trace.failures("right") == [{"name": "ValueError", "message": "right is flaky"}] * 2
        assert trace.steps() == ["top", "left", "right", "bottom"]
        assert trace.completed()[0] == "top" and trace.completed()[-1] == "bottom"
        assert trace.concurrent("left", "right")
        assert not trace.concurrent("top", "left")
        assert not trace.concurrent("bottom", "right")
        assert trace.max_concurrency == 2
        assert [r.attempt for r in trace.records if r.step == "right"] == [1, 2, 3]
        assert "right attempt 3: success" in str(trace)
        assert trace.runs == 1


@pytest.mark.parametrize("date", [IMPLICIT, LEGACY])
async def test_sequential_dependencies_do_not_overlap(open_project: OpenProject, date: str) -> None:
    denv = await open_project(DAG[date], compatibility_date=date)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "apart") as instance:
        await binding.create(id="apart", params={"concurrent": False, "right_ok_at": 1})
        await instance.wait_for_status("complete")
        trace = instance.trace
        assert trace.steps() == ["top", "left", "right", "bottom"]
        assert trace.completed() == ["top", "left", "right", "bottom"]
        assert not trace.concurrent("left", "right")
        assert trace.max_concurrency == 1
        assert trace.calls("right") == 1 and trace.ran("bottom") and not trace.ran("nope")


REPEATED = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        total = 0
        for n in range(3):
            @step.do("add")
            async def add(ctx):
                if n == 1 and ctx.attempt == 1:
                    raise ValueError("once")
                return n
            total += await add()
        await step.sleep("rest", "1 day")
        return total
"""


async def test_occurrences_of_one_name_are_told_apart(open_project: OpenProject) -> None:
    denv = await open_project(REPEATED)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.disable_retry_delays([("add", 2)]))
        instance_handle = await binding.create(id="i1")
        await denv.settle()
        trace = denv.trace(instance_handle)
        assert trace is instance.trace
        assert trace.attempts("add") == 4
        assert trace.attempts("add", 2) == 2
        assert trace.steps() == ["add", "add", "add"]
        assert await instance.wait_for_step_result("add", 3) == 2
        (rest,) = trace.slept("rest")
        assert rest.ended_ms is None and rest.deadline_ms == rest.started_ms + 86_400_000
        await denv.advance("1 day")
        assert await instance.get_output() == 3
        assert rest.ended_ms == rest.deadline_ms


async def test_a_step_timeout_is_traced_as_such(open_project: OpenProject) -> None:
    code = """
import asyncio
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("slow", config={"timeout": 20, "retries": {"limit": 1, "delay": 0}})
        async def slow(ctx):
            if ctx.attempt == 1:
                await asyncio.sleep(5)  # cut off by the real 20 ms step timeout
            return "ok"
        return await slow()
"""
    denv = await open_project(code)
    async with introspect_workflow_instance(denv.env.MY_WORKFLOW, "i1") as instance:
        await denv.env.MY_WORKFLOW.create(id="i1")
        await instance.wait_for_status("complete")
        assert [r.outcome for r in instance.trace.records] == ["timeout", "success"]
