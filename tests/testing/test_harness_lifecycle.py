"""Introspection across lifecycle requests (restart, terminate) and against misuse."""

from __future__ import annotations

from typing import Any

import pytest

from durable.testing import (
    IntrospectionError,
    UnexpectedStatusError,
    introspect_workflow,
    introspect_workflow_instance,
)

OpenProject = Any  # the `open_project` fixture of conftest.py

COUNTER = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("count")
        async def count(ctx):
            return ctx.attempt

        first = await count()
        await step.wait_for_event("go", "go", timeout="1 hour")
        return first
"""


async def test_restart_runs_again_and_results_are_collected_again(
    open_project: OpenProject,
) -> None:
    denv = await open_project(COUNTER)
    binding = denv.env.MY_WORKFLOW
    instance = await introspect_workflow_instance(binding, "r")  # the awaitable form
    try:
        await instance.modify(lambda m: m.mock_event("go", None))
        handle = await binding.create(id="r")
        await instance.wait_for_status("complete")
        await handle.restart()
        await instance.wait_for_status("waiting")  # the mocked event was used up
        assert await instance.wait_for_step_result("count") == 1
        assert instance.trace.attempts("count") == 2
        assert instance.trace.runs == 2
        await handle.send_event(type="go")
        await instance.wait_for_status("complete")
    finally:
        await instance.dispose()
    with pytest.raises(IntrospectionError, match="disposed"):
        await instance.modify(lambda m: m.disable_sleeps())


async def test_terminated_instances_fail_other_waits(open_project: OpenProject) -> None:
    denv = await open_project(COUNTER)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "t") as instance:
        handle = await binding.create(id="t")
        await instance.wait_for_status("waiting")
        await handle.terminate()
        await instance.wait_for_status("terminated")
        with pytest.raises(UnexpectedStatusError, match="is terminated"):
            await instance.wait_for_status("complete")
        with pytest.raises(IntrospectionError, match="is terminated, not errored"):
            await instance.get_error()
        assert await instance.wait_for_step_result("count") == 1  # done before the end


async def test_introspection_needs_a_binding_of_a_test_env(open_project: OpenProject) -> None:
    denv = await open_project(COUNTER)
    with pytest.raises(TypeError, match="binding of a test environment"):
        introspect_workflow_instance(object(), "x")
    with pytest.raises(TypeError, match="binding of a test environment"):
        introspect_workflow("MY_WORKFLOW")
    with pytest.raises(Exception, match="Invalid instance id"):
        introspect_workflow_instance(denv.env.MY_WORKFLOW, "-bad")
    workflow = introspect_workflow(denv.env.MY_WORKFLOW)
    with pytest.raises(IntrospectionError, match="has not started"):
        await workflow.modify_all(lambda m: m.disable_sleeps())
    async with workflow:
        assert await workflow.get() == []
    with pytest.raises(IntrospectionError, match="disposed"):
        await workflow.start()


async def test_javascript_spellings(open_project: OpenProject) -> None:
    denv = await open_project(COUNTER)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow(binding) as workflow:

        async def modify(m):
            await m.mockStepResult({"name": "count"}, 42)
            await m.mockEvent("go", {"js": True})

        await workflow.modifyAll(modify)
        await binding.createBatch([{"id": "js"}])
        (instance,) = await workflow.get()
        await instance.waitForStatus("complete")
        assert await instance.getOutput() == 42
        assert await instance.waitForStepResult({"name": "count", "index": 1}) == 42
