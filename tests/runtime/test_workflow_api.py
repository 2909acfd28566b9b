"""User code written for Cloudflare Python Workflows runs unmodified."""

from __future__ import annotations

import sys
from datetime import datetime

import pytest

WAIT = ("complete", "errored", "terminated")


async def run_one(runtime_factory, config, params=None, instance_id=None):
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create(
        {"id": instance_id, "params": params} if instance_id else {"params": params}
    )
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    return runtime, instance, row


async def test_cloudflare_module_runs_as_is(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint, WorkerEntrypoint, Request, Response
        from workers.workflows import NonRetryableError

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("read event")
                async def read_event():
                    return {
                        "payload": event.payload,
                        "same": event["payload"] == event.payload,
                        "ts_is_datetime": isinstance(event.timestamp, __import__("datetime").datetime),
                        "instance": event.instanceId,
                        "workflow": event.workflowName,
                        "greeting": self.env.GREETING,
                    }
                return await read_event()
        """,
        extra='[vars]\nGREETING = "hi"\n',
    )
    runtime, instance, row = await run_one(runtime_factory, config, {"n": 1}, "first")
    status = await instance.status()
    assert status["status"] == "complete"
    assert status.output == {
        "payload": {"n": 1},
        "same": True,
        "ts_is_datetime": True,
        "instance": "first",
        "workflow": "my-workflow",
        "greeting": "hi",
    }
    # The shim is first on sys.path and is not installed into site-packages.
    import workers

    assert "site-packages" not in workers.__file__
    assert sys.path[0].endswith("_shim")


async def test_implicit_dependencies_diamond_runs_shared_step_once(
    project, runtime_factory, tmp_path
):
    counter = tmp_path / "calls.txt"
    config = project(
        f"""
        from workers import WorkflowEntrypoint

        def mark(name):
            with open({str(counter)!r}, "a") as f:
                f.write(name + "\\n")

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do()
                async def top():
                    mark("top")
                    return 1

                @step.do()
                async def left(top):
                    mark("left")
                    return top + 1

                @step.do()
                async def right(top, ctx):
                    mark("right")
                    return {{"v": top + 2, "ctx": [ctx["step"]["name"], ctx.step.count, ctx.attempt]}}

                @step.do("bottom", concurrent=True)
                async def bottom(left, right):
                    mark("bottom")
                    return [left, right["v"], right["ctx"]]

                return await bottom()
        """,
        compatibility_date="2026-03-01",
    )
    _, instance, _ = await run_one(runtime_factory, config)
    status = await instance.status()
    assert status["output"] == [2, 3, ["right", 1, 1]]
    assert sorted(counter.read_text().split()) == ["bottom", "left", "right", "top"]


async def test_legacy_depends_signature_on_older_date(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("dependency a")
                async def a():
                    return "A"

                @step.do("dependency b")
                async def b():
                    return "B"

                @step.do("join", depends=[a, b], concurrent=True)
                async def join(first, ctx, second):
                    return first + second + ctx["step"]["name"]

                return await join()
        """,
        compatibility_date="2025-11-02",
    )
    _, instance, _ = await run_one(runtime_factory, config)
    assert (await instance.status())["output"] == "ABjoin"


async def test_each_signature_fails_in_the_other_mode(project, runtime_factory):
    implicit_code = """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do()
                async def a():
                    return 1
                return await a()
        """
    config = project(implicit_code, compatibility_date="2025-11-02")
    _, instance, _ = await run_one(runtime_factory, config)
    status = await instance.status()
    assert status["status"] == "errored"
    assert status["error"]["name"] == "TypeError"


DAG_LEGACY = """
    from workers import WorkflowEntrypoint

    class MyWorkflow(WorkflowEntrypoint):
        async def run(self, event, step):
            @step.do("a")
            async def a():
                return 1

            @step.do("b")
            async def b():
                return 2

            @step.do("c", depends=[a, b], concurrent=True)
            async def c(x, y):
                return x + y

            return await c()
    """


async def test_depends_under_a_current_date_says_why_and_the_ways_out(project, runtime_factory):
    config = project(DAG_LEGACY, compatibility_date="2026-06-01")
    _, instance, _ = await run_one(runtime_factory, config)
    error = (await instance.status())["error"]
    assert error["name"] == "TypeError"  # as production raises it
    assert error["message"] == (
        "step.do() got an unexpected keyword argument 'depends'. This Worker's "
        "compatibility_date 2026-06-01 (on or after 2026-02-25) selects the implicit-dependency "
        "signature step.do(name=None, *, concurrent=False, config=None), the default since "
        "2026-02-25: a step's dependencies are its parameters, named after the steps they wait "
        'for, and depends=[...] is gone. Either add the compatibility flag "no_python_workflows_'
        'implicit_dependencies" to keep depends=[...], or drop depends and name the parameters '
        "after the steps (async def c(a, b))."
    )

    # The first way out works as said.
    flagged = project(
        DAG_LEGACY,
        compatibility_date="2026-06-01",
        flags=("python_workers", "no_python_workflows_implicit_dependencies"),
    )
    _, instance, _ = await run_one(runtime_factory, flagged)
    assert (await instance.status())["output"] == 3


async def test_a_nameless_step_under_an_old_date_says_why(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do()
                async def a():
                    return 1
                return await a()
        """,
        flags=("python_workers", "no_python_workflows_implicit_dependencies"),
    )
    _, instance, _ = await run_one(runtime_factory, config)
    error = (await instance.status())["error"]
    assert error["name"] == "TypeError"
    assert error["message"].startswith(
        "step.do() missing 1 required positional argument: 'name'. This Worker's compatibility "
        'flag "no_python_workflows_implicit_dependencies" selects the legacy signature'
    )


async def test_implicit_mode_rejects_unknown_parameter(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do()
                async def a(nothing_like_this):
                    return 1
                return await a()
        """
    )
    _, instance, _ = await run_one(runtime_factory, config)
    status = await instance.status()
    assert status["error"] == {
        "name": "TypeError",
        "message": "Received unexpected parameter nothing_like_this",
    }


async def test_sleep_sleep_until_and_events(project, runtime_factory):
    config = project(
        """
        import time
        from datetime import datetime, timezone
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                t0 = time.monotonic()
                await step.sleep("short", 50)
                await step.sleep("string", "0.05 seconds")
                await step.sleep_until("until-ms", int(time.time() * 1000) + 50)
                await step.sleep_until("until-dt", datetime.now(timezone.utc).replace(tzinfo=None).timestamp() * 1000 + 50)
                first = await step.wait_for_event("first", "go", timeout="1 second")
                second = await step.wait_for_event("second", "go", timeout="1 second")
                try:
                    await step.wait_for_event("never", "nothing", timeout=30)
                    timed_out = False
                except Exception as exc:
                    timed_out = type(exc).__name__
                return {
                    "payloads": [first["payload"], second.payload],
                    "type": first.type,
                    "ts": isinstance(first.timestamp, datetime),
                    "timed_out": timed_out,
                    "slept": time.monotonic() - t0 >= 0.2,
                }
        """
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    # Sent before the instance waits: buffered, delivered in order.
    await instance.send_event({"type": "go", "payload": {"n": 1}})
    await instance.send_event({"type": "go", "payload": {"n": 2}})
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    status = await instance.status()
    assert status["output"] == {
        "payloads": [{"n": 1}, {"n": 2}],
        "type": "go",
        "ts": True,
        "timed_out": "WorkflowTimeoutError",
        "slept": True,
    }


async def test_waiting_status_is_reported(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                return await step.wait_for_event("approval", "approve", timeout="1 hour")
        """
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    await runtime.engine.wait_for("my-workflow", instance.id, ("waiting",), timeout=5)
    assert (await instance.status())["status"] == "waiting"
    await instance.send_event({"type": "approve", "payload": "yes"})
    await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=5)
    output = (await instance.status())["output"]
    assert output["payload"] == "yes" and output["type"] == "approve"


async def test_sync_run_and_sync_step_functions(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("plain function")
                def plain():
                    return "sync ok"
                return await plain()
        """
    )
    _, instance, _ = await run_one(runtime_factory, config)
    assert (await instance.status())["output"] == "sync ok"


async def test_event_datetime_roundtrip_in_step(project, runtime_factory):
    config = project(
        """
        from datetime import datetime
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do("when")
                async def when():
                    return datetime(2026, 1, 2, 3, 4, 5, 678901)
                value = await when()
                return {"type": type(value).__name__, "iso": value.isoformat()}
        """
    )
    _, instance, _ = await run_one(runtime_factory, config)
    # Millisecond precision, as a JavaScript Date keeps it.
    assert (await instance.status())["output"] == {
        "type": "datetime",
        "iso": "2026-01-02T03:04:05.678000",
    }
    assert datetime  # imported for the reader: the value is a real datetime inside run()


async def test_status_shape_and_delete_batch_result(project, runtime_factory):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                if event.payload.get("fail"):
                    raise ValueError("nope")
                await step.wait_for_event("approval", "approve", timeout="1 hour")
                return "done"
        """
    )
    runtime = await runtime_factory(config)
    binding = runtime.env.MY_WORKFLOW
    waiting = await binding.create({"id": "w", "params": {}})
    await runtime.engine.wait_for("my-workflow", "w", ("waiting",), timeout=5)
    status = await waiting.status()
    # wrangler's engine: output null while running, error unset (None in Python)
    assert status == {"status": "waiting", "error": None, "output": None}
    assert status.output is None and status.error is None
    failing = await binding.create({"id": "f", "params": {"fail": True}})
    await runtime.engine.wait_for("my-workflow", "f", WAIT, timeout=5)
    status = await failing.status()
    assert status["status"] == "errored" and status["output"] is None
    assert status.error.name == "ValueError" and "nope" in status.error.message

    result = await binding.deleteBatch(["f", "missing", "f"])
    assert [d.id for d in result.deleted] == ["f"]
    assert [(e.id, type(e.code), bool(e.message)) for e in result.errors] == [
        ("missing", int, True)
    ]
    with pytest.raises(TypeError, match=r"^<class 'tuple'> cannot be sent over RPC\.$"):
        await binding.deleteBatch(("w",))


async def test_create_ignores_keywords_beside_an_options_dict(project, runtime_factory, caplog):
    """Audit 14: Pyodide passes keywords as a second JS argument, which create(options)
    never reads; keywords alone are the options object."""
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                return event.payload
        """
    )
    runtime = await runtime_factory(config)
    binding = runtime.env.MY_WORKFLOW
    with caplog.at_level("WARNING", logger="durable.bindings"):
        both = await binding.create({"id": "both"}, params={"lost": True})
    assert both.id == "both"
    assert "the keyword argument(s) params are ignored" in caplog.text
    keywords = await binding.create(id="kw", params={"kept": True})
    ignored_id = await binding.create(None, id="not-this")
    assert ignored_id.id != "not-this"
    for instance_id in ("both", "kw", ignored_id.id):
        await runtime.engine.wait_for("my-workflow", instance_id, WAIT, timeout=5)
    assert (await both.status())["output"] == {}  # no params reached it, as for create({})
    assert (await keywords.status())["output"] == {"kept": True}
    with pytest.raises(TypeError, match="cannot be sent over RPC"):
        await binding.create({"id": "t"}, params=("a",))  # converted before JS ignores it
