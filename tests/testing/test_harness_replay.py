"""`replay()`: the determinism check, on finished and unfinished instances, both signatures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durable.testing import DeterminismError, introspect_workflow_instance

OpenProject = Any  # the `open_project` fixture of conftest.py
IMPLICIT, LEGACY = "2026-03-01", "2025-11-02"

# `RUNS` counts the runs of run() in this process: a step name built from it changes on every
# replay, which is the bug replay() exists to catch (names from the time, random …).
TEMPLATE = """
from workers import WorkflowEntrypoint

RUNS = [0]
CALLS = {calls!r}

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        RUNS[0] += 1
        mode = event.payload.get("mode")
        suffix = f" {{RUNS[0]}}" if mode == "rename" else ""

        {first}
        async def first():
            open(CALLS, "a").write("first\\n")
            return 1

        {second}
        async def second({second_args}):
            open(CALLS, "a").write("second\\n")
            return {second_value}

        value = await second()
        if mode == "drop" and RUNS[0] > 1:
            return value
        if mode == "raise" and RUNS[0] > 1:
            raise RuntimeError("only on replay")
        await step.sleep("pause", "1 hour")
        if event.payload.get("wait"):
            await step.wait_for_event("approval", "approved", timeout="1 hour")
        return value
"""


def workflow(date: str, calls: Path) -> str:
    if date == IMPLICIT:
        return TEMPLATE.format(
            calls=str(calls),
            first="@step.do()",
            second='@step.do("second" + suffix)',
            second_args="first",
            second_value="first + 1",
        )
    return TEMPLATE.format(
        calls=str(calls),
        first='@step.do("first")',
        second='@step.do("second" + suffix, depends=[first])',
        second_args="value",
        second_value="value + 1",
    )


@pytest.mark.parametrize("date", [IMPLICIT, LEGACY])
async def test_a_deterministic_workflow_replays_cleanly(
    open_project: OpenProject, tmp_path: Path, date: str
) -> None:
    calls = tmp_path / "calls.txt"
    denv = await open_project(workflow(date, calls), compatibility_date=date)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.disable_sleeps())
        await binding.create(id="i1")
        await instance.wait_for_status("complete")
        before = calls.read_text()
        result = await instance.replay()
        assert result.finished and result.output == 2 and result.error is None
        assert result.steps == ["first", "second"]
        assert result.reached[-1] == ("sleep", "pause", 1)
        assert calls.read_text() == before  # no callback ran again
        assert (await instance.get_output()) == 2  # the instance is untouched
        assert instance.trace.runs == 1


@pytest.mark.parametrize("date", [IMPLICIT, LEGACY])
async def test_a_renamed_step_fails_the_replay(
    open_project: OpenProject, tmp_path: Path, date: str
) -> None:
    denv = await open_project(workflow(date, tmp_path / "calls.txt"), compatibility_date=date)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.disable_sleeps())
        await binding.create(id="i1", params={"mode": "rename"})
        await instance.wait_for_status("complete")
        with pytest.raises(DeterminismError) as failure:
            await instance.replay()
        message = str(failure.value)
        assert 'step.do "second 2" is not in the recorded history' in message
        assert "would run it again" in message
        assert 'recorded step.do "second 1" was not reached by the replay' in message


async def test_a_vanished_step_fails_the_replay(open_project: OpenProject, tmp_path: Path) -> None:
    denv = await open_project(workflow(IMPLICIT, tmp_path / "calls.txt"))
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.disable_sleeps())
        await binding.create(id="i1", params={"mode": "drop"})
        await instance.wait_for_status("complete")
        with pytest.raises(DeterminismError, match='recorded step.sleep "pause" was not reached'):
            await denv.replay(binding, "i1")


async def test_run_ending_differently_fails_the_replay(
    open_project: OpenProject, tmp_path: Path
) -> None:
    denv = await open_project(workflow(IMPLICIT, tmp_path / "calls.txt"))
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.disable_sleeps())
        await binding.create(id="i1", params={"mode": "raise"})
        await instance.wait_for_status("complete")
        with pytest.raises(DeterminismError, match="RuntimeError: only on replay"):
            await instance.replay()


async def test_an_unfinished_instance_replays_up_to_where_it_waits(
    open_project: OpenProject, tmp_path: Path
) -> None:
    denv = await open_project(workflow(IMPLICIT, tmp_path / "calls.txt"))
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "ok") as instance:
        handle = await binding.create(id="ok", params={"wait": True})
        await denv.advance("1 hour")
        await instance.wait_for_status("waiting")
        result = await instance.replay()
        assert not result.finished
        assert result.stopped_at == [("waitForEvent", "approval", 1)]
        assert (await handle.status())["status"] == "waiting"  # still waiting, still live
        await handle.send_event(type="approved")
        await instance.wait_for_status("complete")
    async with introspect_workflow_instance(binding, "bad") as instance:
        await binding.create(id="bad", params={"mode": "rename", "wait": True})
        await denv.advance("1 hour")
        await instance.wait_for_status("waiting")
        with pytest.raises(
            DeterminismError,
            match=r'"second \d+" was not reached.*reached step.do "second \d+" instead',
        ):
            await instance.replay()


async def test_replay_of_a_paused_and_resumed_instance(
    open_project: OpenProject, tmp_path: Path
) -> None:
    denv = await open_project(workflow(LEGACY, tmp_path / "calls.txt"), compatibility_date=LEGACY)
    binding = denv.env.MY_WORKFLOW
    handle = await binding.create(id="p", params={"wait": True})
    await denv.settle()
    await handle.pause()
    await handle.resume()
    await denv.advance("1 hour")
    await handle.send_event(type="approved")
    await denv.settle()
    assert (await handle.status())["status"] == "complete"
    assert denv.trace(handle).runs == 2
    result = await denv.replay(handle)
    assert result.reached == [
        ("step", "first", 1),
        ("step", "second", 1),
        ("sleep", "pause", 1),
        ("waitForEvent", "approval", 1),
    ]


CONCURRENT = """
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

        @step.do(config={"retries": {"limit": 1, "delay": "1 minute"}})
        async def right(top, ctx):
            if ctx.attempt == 1:
                raise ValueError("not yet")
            return top + 2

        @step.do(concurrent=True)
        async def bottom(left, right):
            return left + right

        return await bottom()
"""


async def test_replay_stops_every_concurrent_branch_at_the_history_end(
    open_project: OpenProject,
) -> None:
    denv = await open_project(CONCURRENT)
    binding = denv.env.MY_WORKFLOW
    async with introspect_workflow_instance(binding, "c") as instance:
        await binding.create(id="c")
        await denv.settle()  # "right" waits a minute to retry; "left" is done
        result = await instance.replay()
        assert result.stopped_at == [("step", "right", 1)]
        assert set(result.steps) == {"top", "left"}
        await denv.advance("1 minute")
        await instance.wait_for_status("complete")
        result = await instance.replay()
        assert result.output == 5
        assert result.steps[0] == "top" and result.steps[-1] == "bottom"
