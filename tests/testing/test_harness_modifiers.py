"""Every modifier of `instance.modify(...)`, with the JavaScript rules, and the waits and reads."""

from __future__ import annotations

from typing import Any

import pytest

from durable.testing import (
    IntrospectionError,
    StepFailedError,
    UnexpectedStatusError,
    introspect_workflow,
    introspect_workflow_instance,
)
from durable.testing.modifier import parse_selector, parse_selectors

LEGACY = "2025-11-02"  # step.do("name", depends=[...]); the default project date is 2026-03-01
OpenProject = Any  # the `open_project` fixture of conftest.py

WORKFLOW = """
from workers import WorkflowEntrypoint
from workers.workflows import NonRetryableError

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        p = event.payload

        @step.do("fetch", config={"retries": {"limit": 2, "delay": "10 seconds", "backoff": "constant"}})
        async def fetch(ctx):
            if ctx.attempt <= p.get("fail", 0):
                raise ValueError(f"attempt {ctx.attempt} failed")
            return {"real": True, "attempt": ctx.attempt}

        result = await fetch()
        if p.get("nap"):
            await step.sleep("nap", "1 hour")
            await step.sleep("nap", "2 hours")
            result["napped"] = True
        if p.get("wait"):
            try:
                event = await step.wait_for_event("approval", "approved", timeout="1 hour")
                result["event"] = event["payload"]
            except Exception as exc:
                result["event"] = type(exc).__name__
        return result
"""


async def start(open_project: OpenProject, instance_id: str = "i1", **kwargs: object):
    denv = await open_project(WORKFLOW, **kwargs)
    return denv, denv.env.MY_WORKFLOW


# -- step results, errors and timeouts --


async def test_mock_step_result_skips_the_callback(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.mock_step_result("fetch", {"mocked": [1, 2]}))
        await binding.create(id="i1", params={"fail": 5})
        await instance.wait_for_status("complete")
        assert await instance.get_output() == {"mocked": [1, 2]}
        assert await instance.wait_for_step_result("fetch") == {"mocked": [1, 2]}
        assert instance.trace.attempts("fetch") == 1
        assert instance.trace.calls("fetch") == 0
        assert instance.trace.records[0].mocked == "result"


async def test_mock_step_result_twice_and_unserialisable_values_fail(
    open_project: OpenProject,
) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.mock_step_result("fetch", 1))
        with pytest.raises(IntrospectionError, match="Trying to mock step 'fetch' multiple times"):
            await instance.modify(lambda m: m.mock_step_result("fetch", 2))
        with pytest.raises(IntrospectionError, match="after mocking its result"):
            await instance.modify(lambda m: m.mock_step_error("fetch", ValueError("x")))
        with pytest.raises(IntrospectionError, match="after mocking its result"):
            await instance.modify(lambda m: m.force_step_timeout("fetch"))
        # The same strict JSON round trip as the engine: production would refuse a tuple.
        with pytest.raises(TypeError, match="tuple"):
            await instance.modify(lambda m: m.mock_step_result(("fetch", 2), (1, 2)))


async def test_mock_step_error_on_every_attempt_errors_the_instance(
    open_project: OpenProject,
) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.mock_step_error("fetch", RuntimeError("boom")))
        await instance.modify(lambda m: m.disable_retry_delays())
        await binding.create(id="i1")
        await instance.wait_for_status("errored")
        assert await instance.get_error() == {"name": "RuntimeError", "message": "boom"}
        assert instance.trace.attempts("fetch") == 3  # limit 2 → three attempts
        assert instance.trace.calls("fetch") == 0
        with pytest.raises(StepFailedError, match="RuntimeError: boom"):
            await instance.wait_for_step_result("fetch")
        with pytest.raises(IntrospectionError, match="is errored, not complete"):
            await instance.get_output()


async def test_mock_step_error_times_then_the_real_callback(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:

        async def modify(m):  # an async modifier function works too
            await m.mock_step_error("fetch", {"name": "TypeError", "message": "flaky"}, times=2)
            await m.disable_retry_delays(["fetch"])

        await instance.modify(modify)
        await binding.create(id="i1")
        assert await instance.wait_for_step_result("fetch") == {"real": True, "attempt": 3}
        assert instance.trace.attempts("fetch") == 3
        assert instance.trace.calls("fetch") == 1
        assert instance.trace.failures("fetch") == [
            {"name": "TypeError", "message": "flaky"},
            {"name": "TypeError", "message": "flaky"},
        ]


async def test_mocked_non_retryable_error_stops_retries(open_project: OpenProject) -> None:
    from workers.workflows import NonRetryableError

    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.mock_step_error("fetch", NonRetryableError("nope")))
        await binding.create(id="i1")
        await instance.wait_for_status("errored")
        assert instance.trace.attempts("fetch") == 1
        # Before workflows_preserve_non_retryable_error_message, production hides the message.
        assert "threw an NonRetryableError" in (await instance.get_error())["message"]
        with pytest.raises(NonRetryableError):
            await instance.wait_for_step_result("fetch")


async def test_error_then_mocked_result(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:

        def modify(m):  # a plain function that forgets to await: still applied, in order
            m.mock_step_error("fetch", ValueError("first"), times=1)
            m.mock_step_result("fetch", "second")
            m.disable_retry_delays()

        await instance.modify(modify)
        await binding.create(id="i1")
        await instance.wait_for_status("complete")
        assert await instance.get_output() == "second"
        assert [r.mocked for r in instance.trace.records] == ["error", "result"]


async def test_force_step_timeout(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.force_step_timeout("fetch"))
        await instance.modify(lambda m: m.disable_retry_delays())
        await binding.create(id="i1")
        await instance.wait_for_status("errored")
        error = await instance.get_error()
        assert error == {
            "name": "WorkflowTimeoutError",
            "message": "Execution timed out after 600000ms",
        }
        assert [r.outcome for r in instance.trace.records] == ["timeout"] * 3


async def test_timeouts_and_errors_share_one_attempt_counter(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:

        async def modify(m):
            await m.mock_step_error("fetch", ValueError("one"), times=1)
            await m.force_step_timeout("fetch", times=1)
            await m.disable_retry_delays()

        await instance.modify(modify)
        await binding.create(id="i1")
        assert await instance.wait_for_step_result("fetch") == {"real": True, "attempt": 3}
        assert [r.outcome for r in instance.trace.records] == ["error", "timeout", "success"]


async def test_selectors_pick_an_occurrence(open_project: OpenProject) -> None:
    assert parse_selector("a") == ("a", 1)
    assert parse_selector(("a", 2)) == ("a", 2)
    assert parse_selector({"name": "a", "index": 3}) == ("a", 3)
    assert parse_selectors([("a", 2), "b"]) == [("a", 2), ("b", 1)]
    assert parse_selectors(("a", 2)) == [("a", 2)]
    for bad in (("a", 0), 3, {"index": 1}, ("", 1)):
        with pytest.raises(TypeError):
            parse_selector(bad)
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        with pytest.raises(ValueError, match="times"):
            await instance.modify(lambda m: m.mock_step_error("fetch", ValueError(), times=0))


# -- sleeps, retry delays, events --


async def test_disable_sleeps_all_or_selected(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "all") as everything:
        await everything.modify(lambda m: m.disable_sleeps())
        await binding.create(id="all", params={"nap": True})
        await everything.wait_for_status("complete")
        assert [s.disabled for s in everything.trace.sleeps] == [True, True]
    async with introspect_workflow_instance(binding, "second") as second:
        await second.modify(lambda m: m.disable_sleeps([{"name": "nap", "index": 2}]))
        await binding.create(id="second", params={"nap": True})
        await denv.settle()
        assert [s.disabled for s in second.trace.sleeps] == [False]  # waits on the first nap
        await denv.advance("1 hour")
        await second.wait_for_status("complete")
        assert [s.disabled for s in second.trace.sleeps] == [False, True]


async def test_disable_retry_delays_keeps_the_attempts(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.disable_retry_delays("fetch"))
        await binding.create(id="i1", params={"fail": 2})
        await instance.wait_for_status("complete")
        assert instance.trace.attempts("fetch") == 3
        assert denv.clock.pending() == 0
    async with introspect_workflow_instance(binding, "i2") as other:
        await other.modify(lambda m: m.disable_retry_delays([("other step", 1)]))
        await binding.create(id="i2", params={"fail": 1})
        await denv.settle()
        assert other.trace.attempts("fetch") == 1  # waits 10 s of virtual time to retry
        with pytest.raises(TimeoutError, match="retry back-off of 'fetch'.*advance"):
            await other.wait_for_status("complete", timeout=0.05)
        await denv.advance("10 seconds")
        await other.wait_for_status("complete")


async def test_mock_event_before_and_after_creation(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "early") as early:
        await early.modify(lambda m: m.mock_event("approved", {"by": "early"}))
        await binding.create(id="early", params={"wait": True})
        await early.wait_for_status("complete")
        assert (await early.get_output())["event"] == {"by": "early"}
    async with introspect_workflow_instance(binding, "late") as late:
        await binding.create(id="late", params={"wait": True})
        await late.wait_for_status("waiting")
        await late.modify(lambda m: m.mock_event("approved", {"by": "late"}))
        await late.wait_for_status("complete")
        assert (await late.get_output())["event"] == {"by": "late"}
        assert late.trace.events[0].outcome == "received"
    async with introspect_workflow_instance(binding, "bad") as bad:
        with pytest.raises(Exception, match="Invalid event type"):
            await bad.modify(lambda m: m.mock_event("-bad", None))
        with pytest.raises(TypeError, match="bytearray"):
            await bad.modify(lambda m: m.mock_event("approved", bytearray(b"raw")))


async def test_force_event_timeout_even_with_the_event_buffered(
    open_project: OpenProject,
) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:

        async def modify(m):
            await m.mock_event("approved", {"ignored": True})
            await m.force_event_timeout("approval")

        await instance.modify(modify)
        await binding.create(id="i1", params={"wait": True})
        await instance.wait_for_status("complete")
        assert (await instance.get_output())["event"] == "WorkflowTimeoutError"
        assert instance.trace.events[0].outcome == "timeout"
        assert instance.trace.events[0].forced_timeout


# -- waits and reads --


async def test_wait_for_status_fails_at_once_on_another_terminal_status(
    open_project: OpenProject,
) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.wait_for_status("queued")  # immediate, as in JavaScript
        await instance.modify(lambda m: m.mock_step_error("fetch", NotImplementedError("no")))
        await instance.modify(lambda m: m.disable_retry_delays())
        await binding.create(id="i1")
        with pytest.raises(UnexpectedStatusError, match="is errored.*NotImplementedError: no"):
            await instance.wait_for_status("complete", timeout=30)
        with pytest.raises(ValueError, match="Unknown status"):
            await instance.wait_for_status("done")


async def test_waits_time_out_with_a_diagnosis(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        with pytest.raises(TimeoutError, match="does not exist"):
            await instance.wait_for_status("complete", timeout=0.05)
        await binding.create(id="i1", params={"nap": True})
        with pytest.raises(TimeoutError, match="a sleep of 'nap' due 3600s.*advance"):
            await instance.wait_for_status("complete", timeout=0.05)
        await binding.create(id="i2", params={"wait": True})
        waiting = introspect_workflow_instance(binding, "i2")
        with pytest.raises(TimeoutError, match="event of type 'approved'"):
            await waiting.wait_for_step_result("never", timeout=0.05)
        await waiting.dispose()
    # Leaving the block terminated the unfinished instance, as dispose() does in JavaScript.
    assert (await (await binding.get("i1")).status())["status"] == "terminated"
    assert (await (await binding.get("i2")).status())["status"] == "terminated"


async def test_wait_for_step_result_by_index_and_missing_steps(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await binding.create(id="i1")
        assert await instance.wait_for_step_result({"name": "fetch", "index": 1}) == {
            "real": True,
            "attempt": 1,
        }
        assert await instance.waitForStepResult({"name": "fetch"}) == {"real": True, "attempt": 1}
        await instance.wait_for_status("complete")
        with pytest.raises(IntrospectionError, match="has no result"):
            await instance.wait_for_step_result("fetch", 2)


# -- introspect_workflow --


async def test_introspect_workflow_applies_to_every_new_instance(
    open_project: OpenProject,
) -> None:
    denv, binding = await start(open_project)
    await binding.create(id="before")
    async with introspect_workflow(binding) as workflow:
        with pytest.raises(IntrospectionError, match="already being introspected"):
            async with introspect_workflow(binding):
                pass

        async def modify(m):
            await m.mock_step_result("fetch", {"mocked": True})
            await m.disable_sleeps()
            await m.mock_event("approved", "yes")

        await workflow.modify_all(modify)
        with pytest.raises(IntrospectionError, match="multiple times"):
            await workflow.modify_all(lambda m: m.mock_step_result("fetch", 2))
        await binding.create(id="one", params={"nap": True, "wait": True})
        await binding.create_batch([{"id": "two"}, {"id": "three", "params": {"wait": True}}])
        instances = await workflow.get()
        assert [i.id for i in instances] == ["one", "two", "three"]
        for instance in instances:
            await instance.wait_for_status("complete")
        assert await instances[0].get_output() == {"mocked": True, "napped": True, "event": "yes"}
        assert await instances[1].get_output() == {"mocked": True}
    # The session is over: new instances run unmodified.
    async with introspect_workflow(binding) as again:
        await binding.create(id="after")
        await binding.create(id="pending", params={"wait": True})
        after, pending = await again.get()
        assert await after.wait_for_step_result("fetch") == {"real": True, "attempt": 1}
        await pending.wait_for_status("waiting")
    # Ending the session disposed of its instances: the unfinished one was terminated.
    assert (await (await binding.get("pending")).status())["status"] == "terminated"


async def test_modifiers_work_with_the_legacy_step_signature(open_project: OpenProject) -> None:
    denv, binding = await start(open_project, compatibility_date=LEGACY)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await instance.modify(lambda m: m.mock_step_error("fetch", ValueError("x"), times=1))
        await instance.modify(lambda m: m.disable_retry_delays())
        await binding.create(id="i1", params={"nap": True})
        await denv.advance("3 hours")
        await instance.wait_for_status("complete")
        assert instance.trace.attempts("fetch") == 2


async def test_modifying_a_waiting_instance_stops_the_wait(open_project: OpenProject) -> None:
    denv, binding = await start(open_project)
    async with introspect_workflow_instance(binding, "i1") as instance:
        await binding.create(id="i1", params={"fail": 1, "nap": True, "wait": True})
        await denv.settle()
        assert instance.trace.attempts("fetch") == 1  # in its 10-second retry back-off
        await instance.modify(lambda m: m.disable_retry_delays())
        await denv.settle()
        assert instance.trace.attempts("fetch") == 2
        assert [s.disabled for s in instance.trace.sleeps] == [False]  # in the first nap
        await instance.modify(lambda m: m.disable_sleeps())
        await instance.wait_for_status("waiting")
        await denv.settle()
        assert [s.disabled for s in instance.trace.sleeps] == [True, True]
        assert instance.trace.events[0].outcome is None  # waiting for "approved"
        await instance.modify(lambda m: m.force_event_timeout("approval"))
        await instance.wait_for_status("complete")
        assert (await instance.get_output())["event"] == "WorkflowTimeoutError"
        assert denv.clock.pending() == 0
