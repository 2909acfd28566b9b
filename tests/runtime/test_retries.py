"""Retries, back-off, timeouts, NonRetryableError and how step errors reach run()."""

from __future__ import annotations

import json

import pytest

from durable.runtime.engine.execution import StepConfig, resolve_config
from durable.runtime.errors import ValidationError

WAIT = ("complete", "errored", "terminated")


def flaky_workflow(backoff: str, delay: int, fail_times: int, limit: int = 5) -> str:
    return f"""
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("flaky", config={{"retries": {{"limit": {limit}, "delay": {delay}, "backoff": "{backoff}"}}, "timeout": "5 seconds"}})
                async def flaky(ctx):
                    if ctx["attempt"] <= {fail_times}:
                        raise RuntimeError(f"attempt {{ctx['attempt']}} failed")
                    return ctx["attempt"]
                return await flaky()
        """


async def attempts_of(runtime, instance_id):
    row = await runtime.engine.wait_for("my-workflow", instance_id, WAIT, timeout=15)
    steps = await runtime.store.steps_of(row.pk)
    return row, json.loads(steps[0].attempts)


@pytest.mark.parametrize(
    ("backoff", "expected_gaps"),
    [("constant", [60, 60, 60]), ("linear", [60, 120, 180]), ("exponential", [60, 120, 240])],
)
async def test_backoff_delays(project, runtime_factory, backoff, expected_gaps):
    runtime = await runtime_factory(project(flaky_workflow(backoff, 60, 3)))
    instance = await runtime.env.MY_WORKFLOW.create()
    row, attempts = await attempts_of(runtime, instance.id)
    assert row.status == "complete"
    assert json.loads(row.output) == 4
    assert [a["success"] for a in attempts] == [False, False, False, True]
    gaps = [attempts[i + 1]["start"] - attempts[i]["end"] for i in range(3)]
    for gap, expected in zip(gaps, expected_gaps, strict=True):
        assert expected <= gap < expected + 150, (gaps, expected_gaps)
    assert attempts[0]["error"] == {"name": "RuntimeError", "message": "attempt 1 failed"}


def test_delay_formula_matches_cloudflare():
    config = resolve_config(
        "s", {"retries": {"limit": 5, "delay": "1 second", "backoff": "exponential"}}
    )
    assert [config.delay_after(n) for n in range(1, 6)] == [1000, 2000, 4000, 8000, 16000]
    linear = resolve_config("s", {"retries": {"limit": 2, "delay": 500, "backoff": "linear"}})
    assert [linear.delay_after(n) for n in (1, 2, 3)] == [500, 1000, 1500]


def test_production_defaults():
    config = resolve_config("s", None)
    assert isinstance(config, StepConfig)
    assert (config.limit, config.delay_ms, config.backoff, config.timeout_ms) == (
        5,
        10_000,
        "exponential",
        600_000,
    )


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"retries": {"limit": -1}}, "retries.limit"),
        ({"retries": {"backoff": "random"}}, "retries.backoff"),
        ({"retries": {"delay": "soon"}}, "retries.delay"),
        ({"retry": {}}, "unknown key(s) retry"),
        ({"retries": {"limt": 3}}, "unknown retries key(s) limt"),
        ({"timeout": 0}, "timeout must not be 0"),
        ("fast", "must be a dict"),
    ],
)
def test_invalid_configs_are_explained(config, fragment):
    with pytest.raises(ValidationError) as info:
        resolve_config("charge", config)
    assert 'Step config for "charge"' in str(info.value)
    assert fragment in str(info.value)


async def test_exhausted_retries_keep_type_and_are_catchable(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                caught = {}
                for kind in ["TypeError", "ValueError", "KeyError"]:
                    @step.do(f"fails with {kind}", config={"retries": {"limit": 1, "delay": 1}})
                    async def fail():
                        raise {"TypeError": TypeError, "ValueError": ValueError, "KeyError": KeyError}[kind]("boom")
                    try:
                        await fail()
                    except (TypeError, ValueError) as exc:
                        caught[kind] = type(exc).__name__
                    except Exception as exc:
                        caught[kind] = "generic:" + str(exc)

                @step.do("clean up")
                async def clean_up():
                    return "cleaned"
                caught["cleanup"] = await clean_up()
                return caught
        """
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    assert json.loads(row.output) == {
        "TypeError": "TypeError",
        "ValueError": "ValueError",
        "KeyError": "generic:KeyError: 'boom'",
        "cleanup": "cleaned",
    }
    steps = await runtime.store.steps_of(row.pk)
    assert [len(json.loads(s.attempts)) for s in steps[:3]] == [2, 2, 2]


async def test_non_retryable_error_stops_retries_and_errors_the_instance(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint
        from workers.workflows import NonRetryableError

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("validate", config={"retries": {"limit": 5, "delay": 1}})
                async def validate():
                    raise NonRetryableError("card declined")
                await validate()
        """,
        compatibility_date="2026-06-01",  # workflows_preserve_non_retryable_error_message is on
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    assert row.status == "errored"
    assert json.loads(row.error) == {"name": "NonRetryableError", "message": "card declined"}
    steps = await runtime.store.steps_of(row.pk)
    assert len(json.loads(steps[0].attempts)) == 1


async def test_non_retryable_message_hidden_before_compat_date(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint
        from workers.workflows import NonRetryableError

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("validate")
                async def validate():
                    raise NonRetryableError("card declined")
                await validate()
        """,
        compatibility_date="2025-11-02",
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    error = json.loads(row.error)
    assert error["name"] == "WorkflowFatalError"
    assert "NonRetryableError and it was not handled" in error["message"]


async def test_uncaught_error_in_run_ends_errored(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                raise RuntimeError("outside any step")
        """
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    status = await instance.status()
    assert status == {
        "status": "errored",
        "error": {"name": "RuntimeError", "message": "outside any step"},
        "output": None,
    }


async def test_attempt_timeout(project, runtime_factory):
    config = project(
        """
        import asyncio
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("slow", config={"retries": {"limit": 1, "delay": 1}, "timeout": 50})
                async def slow(ctx):
                    if ctx["attempt"] == 1:
                        await asyncio.sleep(5)
                    return "second attempt in time"
                return await slow()
        """
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    row, attempts = await attempts_of(runtime, instance.id)
    assert json.loads(row.output) == "second attempt in time"
    assert attempts[0]["error"] == {
        "name": "WorkflowTimeoutError",
        "message": "Execution timed out after 50ms",
    }


async def test_config_is_frozen_at_first_attempt(project, runtime_factory, tmp_path):
    """A replay that passes a different config keeps using the one stored at the first attempt."""
    code = """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("s", config={"retries": {"limit": LIMIT, "delay": 300, "backoff": "constant"}})
                async def s(ctx):
                    raise RuntimeError("always")
                await s()
        """
    config = project(code.replace("LIMIT", "1"))
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, ("waiting",), timeout=5)
    await runtime.close()
    project(code.replace("LIMIT", "4"))  # edit the code while the retry waits
    runtime = await runtime_factory(config)
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    steps = await runtime.store.steps_of(row.pk)
    assert json.loads(steps[0].config)["retries"]["limit"] == 1
    assert len(json.loads(steps[0].attempts)) == 2
