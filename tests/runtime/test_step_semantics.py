"""What user code observes of steps, sleeps and failures, as the production SDK behaves.

Each test names the entry of the fidelity audit it holds durable to (see
tests/conformance for the cases the production SDK's own Python layer runs too).
"""

from __future__ import annotations

import asyncio
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


SLEEP_CALLS = """
from pyodide.ffi import JsException
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        seen = {}
        for label, call in (
            ("keywords", lambda: step.sleep(name="a", duration="1 second")),
            ("duration_keyword", lambda: step.sleep("b", duration="1 second")),
            ("no_duration", lambda: step.sleep("c")),
            ("past", lambda: step.sleep_until("d", 1000)),
        ):
            try:
                await call()
                seen[label] = "slept"
            except JsException as exc:
                seen[label] = [exc.name, type(exc).__module__]
        await step.sleep("e", 5, "ignored extra argument")
        return seen
"""


async def test_sleep_fails_as_the_js_engine_does_when_called_like_python(project, runtime_factory):
    """Audit 6 and 13: keyword arguments reach JS as one object, a missing duration and a
    time in the past are JS errors the SDK does not convert (JsException)."""
    runtime = await runtime_factory(project(SLEEP_CALLS), limits=LIMITS)
    await runtime.env.MY_WORKFLOW.create({"id": "i1"})
    row = await runtime.engine.wait_for("my-workflow", "i1", WAIT, timeout=10)
    assert row.status == "complete", row.error
    type_error = ["TypeError", "pyodide.ffi"]
    assert json.loads(row.output) == {
        "keywords": type_error,
        "duration_keyword": type_error,
        "no_duration": type_error,
        "past": ["Error", "pyodide.ffi"],
    }
    await runtime.store.flush()
    steps = await runtime.store.steps_of(row.pk)
    assert [(s.kind, s.name) for s in steps] == [("sleep", "e")]


SLEEP_UNTIL_STRINGS = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        await step.sleep_until("iso", "2999-01-01T00:00:00Z")
        await step.sleep_until("digits", str(event.payload["at"]))
        return "woke"
"""


async def test_sleep_until_a_string_is_what_js_makes_of_it(project, runtime_factory):
    """Audit 12: the SDK hands a str to JS as it is. An ISO date is NaN there (no sleep); a
    string of digits is a number of milliseconds."""
    clock = VirtualClock(START_MS)
    runtime = await runtime_factory(project(SLEEP_UNTIL_STRINGS), limits=LIMITS, clock=clock)
    at = START_MS + 3_600_000
    await runtime.env.MY_WORKFLOW.create({"id": "i1", "params": {"at": at}})
    row = await runtime.engine.wait_for("my-workflow", "i1", ("waiting",), timeout=5)
    await runtime.store.flush()
    steps = {s.name: s for s in await runtime.store.steps_of(row.pk)}
    assert steps["iso"].status == "complete"
    assert steps["iso"].ended_ms == START_MS
    assert steps["digits"].wake_ms == at
    clock.move_to(at)
    row = await runtime.engine.wait_for("my-workflow", "i1", WAIT, timeout=5)
    assert json.loads(row.output) == "woke"


def test_non_retryable_error_constructs_as_a_plain_exception():
    """Audit 27: the SDK's NonRetryableError is `class NonRetryableError(Exception): pass`."""
    from durable.runtime.worker.entrypoints import NonRetryableError

    assert NonRetryableError().args == ()
    assert str(NonRetryableError()) == ""
    assert NonRetryableError("a", "b").args == ("a", "b")
    with pytest.raises(TypeError):
        NonRetryableError(message="stop")  # type: ignore[call-arg]


INFINITE_RETRIES = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("stubborn", config={"retries": {"limit": float("inf"), "delay": "1 hour", "backoff": "constant"}})
        async def stubborn(ctx):
            if ctx.attempt < 3:
                raise ValueError("not yet")
            return [ctx.attempt, ctx.config.retries.limit == float("inf")]

        return await stubborn()
"""


async def test_infinite_retry_limit_survives_the_store(project, runtime_factory):
    """Audit 18 and 19: `limit: float("inf")` retries on; the stored config is JSON (null, as
    JSON.stringify writes Infinity) and is read back infinite."""
    clock = VirtualClock(START_MS)
    runtime = await runtime_factory(project(INFINITE_RETRIES), limits=LIMITS, clock=clock)
    await runtime.env.MY_WORKFLOW.create({"id": "i1"})
    pk = (await runtime.engine.wait_for("my-workflow", "i1", ("waiting",), timeout=5)).pk
    for retry in (1, 2):  # each back-off parks the instance; its replay reads the stored config
        for _ in range(500):
            await runtime.store.flush()
            steps = await runtime.store.steps_of(pk)
            if steps and len(json.loads(steps[0].attempts)) == retry and steps[0].wake_ms:
                break
            await asyncio.sleep(0.01)
        assert steps[0].status == "retrying"
        clock.move_to(steps[0].wake_ms)
    row = await runtime.engine.wait_for("my-workflow", "i1", WAIT, timeout=10)
    assert json.loads(row.output) == [3, True]
    await runtime.store.flush()
    (step,) = await runtime.store.steps_of(row.pk)
    assert json.loads(step.config)["retries"]["limit"] is None


STEP_OBJECT = """
import asyncio
import inspect
from workers import WorkflowEntrypoint

CALLS = []

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def first():
            CALLS.append("first")
            return 20

        @step.do("a named step")
        async def named():
            return None

        @step.do()
        async def second(first):
            return first + 1

        seen = {
            "name": first.__name__,
            "step_names": [first._step_name, named._step_name],
            "inspect": inspect.iscoroutinefunction(first),
            "asyncio": asyncio.iscoroutinefunction(first),
            "signature": str(inspect.signature(second)),
            "doc": first.__doc__,
            "repr": repr(first).split(" at ")[0],
        }
        seen["value"] = await second()
        seen["again"] = await second()  # memoized first: it ran once
        seen["first_calls"] = len(CALLS)
        return seen
"""


async def test_the_step_object_is_an_async_wrapper_as_in_the_sdk(project, runtime_factory):
    """Audit 29: `@step.do` returns what reads as the SDK's `async def wrapper()`, while the
    step cache and implicit dependencies keep working through it."""
    runtime = await runtime_factory(project(STEP_OBJECT), limits=LIMITS)
    await runtime.env.MY_WORKFLOW.create({"id": "i1"})
    row = await runtime.engine.wait_for("my-workflow", "i1", WAIT, timeout=10)
    assert row.status == "complete", row.error
    assert json.loads(row.output) == {
        "name": "wrapper",
        "step_names": ["first", "a named step"],
        "inspect": True,
        "asyncio": True,
        "signature": "()",
        "doc": None,
        "repr": "<function _WorkflowStepWrapper._create_step_decorator.<locals>.decorator"
        ".<locals>.wrapper",
        "value": 21,
        "again": 21,
        "first_calls": 1,
    }
