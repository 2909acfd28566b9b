"""What user code observes of steps, sleeps and failures, as the production SDK behaves.

Each test names the entry of the fidelity audit it holds durable to (see
tests/conformance for the cases the production SDK's own Python layer runs too).
"""

from __future__ import annotations

import json

import pytest

from durable.runtime.engine.state import Limits
from durable.testing import VirtualClock

WAIT = ("complete", "errored", "terminated")
# A one-hour sleep parks at once (park_after 200 ms).
LIMITS = Limits(max_concurrency=1000, park_after_ms=200, min_event_timeout_ms=10)
START_MS = 1_767_225_600_000

CATCH_PARK = """
from workers import WorkflowEntrypoint

LOG = []

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        try:
            await step.sleep("nap", "1 hour")
        except BaseException as exc:  # swallows whatever a suspension raises
            LOG.append(("caught", type(exc).__name__))

        @step.do("after")
        async def after():
            LOG.append(("ran", "after"))
            return "after"

        try:
            value = await after()
        except BaseException as exc:
            LOG.append(("caught", type(exc).__name__))
            value = "swallowed"
        return value
"""


async def test_catching_a_suspension_neither_skips_the_sleep_nor_runs_later_steps(
    project, runtime_factory
):
    """Audit 22: an `except BaseException:` around a sleep cannot end the instance early."""
    clock = VirtualClock(START_MS)
    runtime = await runtime_factory(project(CATCH_PARK), limits=LIMITS, clock=clock)
    module = runtime.code.module
    handle = await runtime.env.MY_WORKFLOW.create({"id": "i1"})
    await runtime.engine.wait_for("my-workflow", "i1", ("waiting",), timeout=5)
    status = await handle.status()
    assert status["status"] == "waiting"
    # The user's handlers ran (CPython cannot drop a coroutine without unwinding it), but the
    # step after the sleep did not.
    assert ("ran", "after") not in module.LOG
    await runtime.store.flush()
    pk = (await runtime.engine.get_row("my-workflow", "i1")).pk
    assert [s.name for s in await runtime.store.steps_of(pk)] == ["nap"]

    clock.move_to(START_MS + 3_600_000)
    await runtime.engine.wait_for("my-workflow", "i1", WAIT, timeout=5)
    status = await handle.status()
    assert status["status"] == "complete"
    assert status["output"] == "after"
    assert module.LOG.count(("ran", "after")) == 1


CATCH_NRE = """
from workers import WorkflowEntrypoint
from workers.workflows import NonRetryableError

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("validate")
        async def validate():
            raise NonRetryableError("card declined")

        try:
            await validate()
        except Exception as exc:
            return {
                "is_nre": isinstance(exc, NonRetryableError),
                "name": getattr(exc, "name", type(exc).__name__),
                "text": str(exc),
            }
"""
HIDDEN = {
    "is_nre": False,
    "name": "WorkflowFatalError",
    "text": "WorkflowFatalError: The execution of the Workflow instance was terminated, as a "
    "step threw an NonRetryableError and it was not handled",
}
KEPT = {"is_nre": True, "name": "NonRetryableError", "text": "card declined"}


@pytest.mark.parametrize(
    ("date", "flags", "expected"),
    [
        ("2026-05-13", (), HIDDEN),
        ("2026-05-14", (), KEPT),
        ("2026-06-01", ("workflows_replace_non_retryable_error_message",), HIDDEN),
        ("2025-11-02", ("workflows_preserve_non_retryable_error_message",), KEPT),
    ],
)
async def test_non_retryable_error_reaches_run_as_the_compat_flag_says(
    project, runtime_factory, date: str, flags: tuple[str, ...], expected: dict[str, object]
):
    """Audit 8 and 10: the flag pair and its date; without it run() loses name and message."""
    config = project(CATCH_NRE, compatibility_date=date, flags=("python_workers", *flags))
    runtime = await runtime_factory(config, limits=LIMITS)
    await runtime.env.MY_WORKFLOW.create({"id": "i1"})
    row = await runtime.engine.wait_for("my-workflow", "i1", WAIT, timeout=10)
    assert row.status == "complete"
    assert json.loads(row.output) == expected
