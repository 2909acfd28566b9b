"""The workflows both implementations run. Each reports through `conformance_probe`.

`xfail` names the audit entry (the fidelity audit of workers-runtime-sdk 1.9.5) where durable differs
today; the test is strict, so a fix turns it into an XPASS to remove.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEADER = """
import asyncio
import conformance_probe as probe
from workers import WorkflowEntrypoint
from workers.workflows import NonRetryableError
"""


@dataclass(frozen=True)
class Case:
    id: str
    body: str
    params: Any = None
    implicit: bool = True
    env_vars: dict[str, str] = field(default_factory=dict)
    # Sent, in order, once the instance first waits: (type, payload)
    events: list[tuple[str, Any]] = field(default_factory=list)
    xfail: str | None = None

    @property
    def source(self) -> str:
        return HEADER + self.body


CASES = [
    Case(
        "do_implicit",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def first():
            probe.ran("first")
            return {"n": event.payload["n"] + 1}

        @step.do("second-step", config={"retries": {"limit": 1, "delay": "1 second"}})
        async def second(first, ctx):
            probe.ran("second")
            probe.seen("ctx", {"step": ctx.step, "attempt": ctx.attempt})
            return first["n"] * 2

        probe.seen("first", await first())
        result = await second()
        probe.seen("second", result)
        return {"result": result, "payload": event.payload}
""",
        params={"n": 2},
    ),
    Case(
        "do_legacy",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("a")
        async def a():
            probe.ran("a")
            return ["x", None, True]

        @step.do("b", depends=[a])
        async def b(ctx, value):
            probe.ran("b")
            probe.seen("b.ctx.step", ctx["step"])
            return value + ["y"]

        result = await b()
        probe.seen("b", result)
        return result
""",
        implicit=False,
    ),
    Case(
        "legacy_name_none_and_depends_errors",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(None)
        async def unnamed(ctx):
            probe.ran("unnamed")
            probe.seen("unnamed.ctx.step", ctx.step)
            return 1

        @step.do("no depends")
        async def no_depends(value):
            return value

        @step.do("too many", depends=[unnamed, unnamed])
        async def too_many(ctx, value):
            return value

        @step.do("not a step", depends=[len])
        async def not_a_step(value):
            return value

        probe.seen("unnamed", await unnamed())
        for label, fn in (("no_depends", no_depends), ("too_many", too_many),
                          ("not_a_step", not_a_step)):
            try:
                await fn()
            except Exception as exc:
                probe.seen(label, exc)
        return "done"
""",
        implicit=False,
    ),
    Case(
        "dag_concurrent",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def root():
            probe.ran("root")
            return 1

        @step.do()
        async def left(root):
            probe.ran("left")
            return root + 10

        @step.do()
        async def right(root):
            probe.ran("right")
            return root + 100

        @step.do(concurrent=True)
        async def join(left, right):
            probe.ran("join")
            return left + right

        total = await join()
        probe.seen("join", total)
        return total
""",
    ),
    Case(
        "shared_dependency_with_deps",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def x():
            probe.ran("x")
            return 1

        @step.do()
        async def a(x):
            probe.ran("a")
            return x + 1

        @step.do()
        async def b(a):
            probe.ran("b")
            return a * 10

        @step.do()
        async def c(a):
            probe.ran("c")
            return a * 100

        @step.do(concurrent=True)
        async def final(b, c):
            probe.ran("final")
            return b + c

        return await final()
""",
    ),
    Case(
        "gather_dependent_steps",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def a():
            probe.ran("a")
            return 1

        @step.do()
        async def b(a):
            probe.ran("b")
            return a + 1

        results = await asyncio.gather(a(), b())
        probe.seen("gathered", results)
        return results
""",
    ),
    Case(
        "retries_without_end_and_ctx_config",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": float("inf"), "delay": "1 second"}})
        async def stubborn(ctx):
            probe.ran("stubborn")
            probe.seen("limit", ctx.config.retries.limit)
            probe.seen("delay", ctx.config.retries.delay)
            if ctx.attempt < 4:
                raise ValueError("not yet")
            return ctx.attempt

        return await stubborn()
""",
    ),
    Case(
        "non_retryable_error",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": 2, "delay": "1 second"}})
        async def stop():
            probe.ran("stop")
            raise NonRetryableError("halt")

        try:
            await stop()
        except Exception as exc:
            probe.seen("error", exc)
        return "done"
""",
    ),
    Case(
        "retried_value_error",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": 2, "delay": "1 second"}})
        async def flaky():
            probe.ran("flaky")
            raise ValueError("boom")

        try:
            await flaky()
        except Exception as exc:
            probe.seen("error", exc)
        return "done"
""",
    ),
    Case(
        "non_retryable_error_subclass",
        """
class Stop(NonRetryableError):
    pass


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": 2, "delay": "1 second"}})
        async def stop():
            probe.ran("stop")
            raise Stop("halt")

        try:
            await stop()
        except Exception as exc:
            probe.seen("error.type", type(exc).__name__)
        return "done"
""",
        xfail="audit 30: after the retries, production's run() gets a JsException, durable's "
        "a StepFailedError",
    ),
    Case(
        "non_retryable_error_by_class_name",
        """
class Stop(NonRetryableError):
    pass


class NonRetryableError(Exception):  # the user's own class, with the marker's name
    pass


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": 2, "delay": "1 second"}})
        async def subclass():
            probe.ran("subclass")
            raise Stop("halt")

        @step.do(config={"retries": {"limit": 2, "delay": "1 second"}})
        async def same_name():
            probe.ran("same_name")
            raise NonRetryableError("halt")

        from workers.workflows import NonRetryableError as Marker

        for name, fn in (("subclass", subclass), ("same_name", same_name)):
            try:
                await fn()
            except Exception as exc:
                probe.seen(name + ".is_marker", isinstance(exc, Marker))
                probe.seen(name + ".is_stop", isinstance(exc, Stop))
        return "done"
""",
    ),
    Case(
        "multi_line_error_messages",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": 0, "delay": "1 second"}})
        async def two_lines():
            probe.ran("two_lines")
            raise ValueError("first\\nsecond")

        @step.do(config={"retries": {"limit": 0, "delay": "1 second"}})
        async def typed_tail():
            probe.ran("typed_tail")
            raise RuntimeError("context\\nTypeError: tail")

        @step.do(config={"retries": {"limit": 0, "delay": "1 second"}})
        async def trailing_newline():
            probe.ran("trailing_newline")
            raise ValueError("boom\\n")

        @step.do()
        async def stop():
            probe.ran("stop")
            raise NonRetryableError("x\\ny: z")

        try:
            await two_lines()
        except Exception as exc:
            probe.seen("two_lines", isinstance(exc, (ValueError, TypeError)))
        for name, fn in (("typed_tail", typed_tail), ("trailing_newline", trailing_newline),
                         ("stop", stop)):
            try:
                await fn()
            except Exception as exc:
                probe.seen(name, exc)
        return "done"
""",
    ),
    Case(
        "integral_floats",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.seen("payload", event.payload)

        @step.do()
        async def number():
            probe.ran("number")
            return {"v": 5.0, "half": 2.5, "list": [1.0, -0.0]}

        probe.seen("number", await number())
        return 7.0
""",
        params={"f": 3.0},
    ),
    Case(
        "float_edges",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.seen("payload", event.payload)

        @step.do()
        async def edges():
            probe.ran("edges")
            return {"big": 2.0**60, "safe": 2.0**53 - 1, "neg": -3.0, "nan": float("nan")}

        seen = await edges()
        probe.seen("big", seen["big"])
        probe.seen("safe", seen["safe"])
        probe.seen("neg", seen["neg"])
        probe.seen("nan_is_float", isinstance(seen["nan"], float) and seen["nan"] != seen["nan"])
        return -0.0
""",
        params={"items": [1.5, 2.0, {"deep": -0.0}]},
    ),
    Case(
        "set_and_bytes_values",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def a_set():
            probe.ran("a_set")
            return {3, 1, 2}

        @step.do()
        async def some_bytes():
            probe.ran("some_bytes")
            return b"hi"

        for name, fn in (("set", a_set), ("bytes", some_bytes)):
            try:
                probe.seen(name, await fn())
            except Exception as exc:
                probe.seen(name, exc)
        return "done"
""",
    ),
    Case(
        "exception_values",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def errors():
            probe.ran("errors")
            return {"bad": ValueError("bad value"), "empty": RuntimeError(), "list": [KeyError("k")]}

        seen = await errors()
        probe.seen("errors", seen)
        return ValueError("as output")
""",
    ),
    Case(
        "nested_sets_and_bytes",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def mixed():
            probe.ran("mixed")
            return {"tags": {"a", "b"}, "blob": memoryview(b"xyz"), "list": [frozenset({1.0})]}

        probe.seen("mixed", await mixed())
        return {"out": {1, 2}}
""",
    ),
    Case(
        "tuple_and_bytearray_refused",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": 1, "delay": "1 second"}})
        async def a_tuple():
            probe.ran("a_tuple")
            return {"pair": (1, 2)}

        @step.do(config={"retries": {"limit": 0, "delay": "1 second"}})
        async def a_bytearray():
            probe.ran("a_bytearray")
            return [bytearray(b"x")]

        @step.do(config={"retries": {"limit": 0, "delay": "1 second"}})
        async def in_a_set():
            probe.ran("in_a_set")
            return {(1, 2)}

        for name, fn in (("tuple", a_tuple), ("bytearray", a_bytearray), ("set", in_a_set)):
            try:
                probe.seen(name, await fn())
            except Exception as exc:
                probe.seen(name, exc)
        return (1, 2)
""",
    ),
    Case(
        "env_item_access",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.seen("attr", self.env.GREETING)
        try:
            probe.seen("item", self.env["GREETING"])
        except Exception as exc:
            probe.seen("item", exc)
        try:
            probe.seen("contains", "GREETING" in self.env)
        except Exception as exc:
            probe.seen("contains", exc)
        try:
            probe.seen("iterate", list(self.env))
        except Exception as exc:
            probe.seen("iterate", exc)
        probe.seen("getattr default", getattr(self.env, "MISSING", None))
        return "done"
""",
        env_vars={"GREETING": "hello"},
    ),
    Case(
        "step_camel_case_attributes",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.seen("sleepUntil", hasattr(step, "sleepUntil"))
        probe.seen("waitForEvent", hasattr(step, "waitForEvent"))
        probe.seen("sleep_until", hasattr(step, "sleep_until"))
        probe.seen("wait_for_event", hasattr(step, "wait_for_event"))
        return "done"
""",
    ),
    Case(
        "sleep_then_step",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def before():
            probe.ran("before")
            return "b"

        value = await before()
        await step.sleep("nap", "10 seconds")

        @step.do()
        async def after():
            probe.ran("after")
            return value + "a"

        return await after()
""",
    ),
]

# -- waits, served by the engine: run() is replayed after each one --

CASES += [
    Case(
        "sleep_and_replay",
        """
import datetime


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.ran("run() entered")

        @step.do()
        async def first():
            probe.ran("first")
            return {"at": 1.0}

        value = await first()
        probe.seen("first", value)
        await step.sleep("nap", "10 seconds")
        await step.sleep("short", 1500)
        # From the instance's creation, so that a replay computes the same time
        await step.sleep_until("until", event.timestamp + datetime.timedelta(hours=5))

        @step.do()
        async def second(first):
            probe.ran("second")
            return first["at"] + 1

        return await second()
""",
    ),
    Case(
        "sleep_keyword_arguments",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        try:
            await step.sleep(name="nap", duration="1 second")
        except Exception as exc:
            probe.seen("keywords", exc)
        await step.sleep("nap", duration="1 second")
        return "done"
""",
    ),
    Case(
        "sleep_until_string_and_past",
        """
import datetime


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.ran("run() entered")
        await step.sleep_until("iso string", "2020-01-01T00:00:00Z")
        # JS converts a numeric string: epoch milliseconds an hour after the creation
        created = event.timestamp.replace(tzinfo=datetime.UTC).timestamp()
        await step.sleep_until("number string", str(int(created * 1000) + 3_600_000))
        try:
            await step.sleep_until("past", datetime.datetime(2020, 1, 1))
        except Exception as exc:
            probe.seen("past.type", type(exc).__name__)
            probe.seen("past.message", str(exc))
        return "done"
""",
    ),
    Case(
        "except_base_exception_around_sleep",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.ran("run() entered")
        try:
            await step.sleep("nap", "10 seconds")
        except BaseException:
            pass

        @step.do()
        async def after():
            probe.ran("after")
            return "slept"

        return await after()
""",
    ),
    Case(
        "wait_for_event_delivered",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.ran("run() entered")

        @step.do()
        async def before():
            probe.ran("before")
            return "ready"

        await before()
        got = await step.wait_for_event("approval", "approved", timeout="1 hour")
        probe.seen("payload", got["payload"])
        probe.seen("type", got.type)
        probe.seen("timestamp", type(got["timestamp"]).__name__)
        probe.seen("keys", sorted(got))

        @step.do()
        async def after():
            probe.ran("after")
            return got["payload"]["n"] + 1

        return await after()
""",
        events=[("approved", {"n": 41, "f": 2.0, "half": 0.5, "tags": ["a", None], "d": {}})],
    ),
    Case(
        "wait_for_event_buffered_and_in_order",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        await step.sleep("first a nap", "10 seconds")
        one = await step.wait_for_event("one", "item")
        two = await step.wait_for_event("two", "item", timeout=60_000)
        probe.seen("one", one["payload"])
        probe.seen("two", two["payload"])
        return [one["payload"], two["payload"]]
""",
        events=[("item", "first"), ("item", [2.0, {"x": None}])],
    ),
    Case(
        "wait_for_event_timeout",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.ran("run() entered")
        try:
            await step.wait_for_event("approval", "approved", timeout="1 hour")
        except Exception as exc:
            probe.seen("timed out", "timed out" in str(exc) and "3600000ms" in str(exc))
        await step.wait_for_event("again", "approved", timeout="2 seconds")
        return "unreachable"
""",
    ),
    Case(
        "wait_for_event_timeout_error_type",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        try:
            await step.wait_for_event("approval", "approved", timeout="1 hour")
        except Exception as exc:
            probe.seen("error", exc)
        return "done"
""",
        xfail="audit 30: a wait timeout reaches production's run() as the engine's JS error (a "
        "JsException), durable's as a WorkflowTimeoutError",
    ),
]

# -- more audit items --

CASES += [
    Case(
        "retry_policy_attempts_and_config",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.ran("run() entered")

        @step.do(config={"retries": {"limit": 3, "delay": "5 seconds", "backoff": "linear"},
                         "timeout": "30 minutes"})
        async def flaky(ctx):
            probe.ran("flaky")
            probe.seen("attempt", ctx.attempt)
            probe.seen("config", ctx.config)
            if ctx.attempt < 3:
                raise ValueError(f"attempt {ctx.attempt}")
            return ctx.attempt * 1.0

        @step.do(config={"retries": {"limit": 1, "delay": 1000, "backoff": "constant"}})
        async def always(ctx):
            probe.ran("always")
            raise TypeError("nope")

        probe.seen("flaky", await flaky())
        try:
            await always()
        except Exception as exc:
            probe.seen("always", exc)
        return "done"
""",
    ),
    Case(
        "non_retryable_error_constructor",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.seen("two args", NonRetryableError("a", "b").args)
        try:
            probe.seen("keyword", NonRetryableError(message="x").args)
        except Exception as exc:
            probe.seen("keyword", exc)
        probe.seen("empty", NonRetryableError().args)

        @step.do()
        async def stop():
            probe.ran("stop")
            raise NonRetryableError("a", "b")

        @step.do()
        async def bare():
            probe.ran("bare")
            raise NonRetryableError

        for name, fn in (("stop", stop), ("bare", bare)):
            try:
                await fn()
            except Exception as exc:
                probe.seen(name, exc)
        return "done"
""",
    ),
    Case(
        "step_object",
        """
import inspect


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("named")
        async def my_step():
            probe.ran("my_step")
            return 1

        probe.seen("__name__", my_step.__name__)
        probe.seen("coroutine function", inspect.iscoroutinefunction(my_step))
        probe.seen("twice", [await my_step(), await my_step()])
        return "done"
""",
    ),
    Case(
        "date_values",
        """
import datetime


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.seen("timestamp type", type(event.timestamp).__name__)
        probe.seen("instanceId", event.instanceId)
        probe.seen("workflowName", event["workflowName"])

        @step.do()
        async def dates():
            probe.ran("dates")
            return {
                "naive": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901),
                "aware": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(
                    datetime.timedelta(hours=2))),
            }

        seen = await dates()
        probe.seen("dates", seen)
        return seen["naive"]
""",
    ),
    Case(
        "none_and_nested_values",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        probe.seen("payload", event.payload)

        @step.do()
        async def nested():
            probe.ran("nested")
            return {"a": None, "b": [None, {"c": None}], 1: "int key", True: "bool key",
                    "big": 2**60, "s": "é"}

        @step.do()
        async def nothing():
            probe.ran("nothing")

        seen = await nested()
        probe.seen("nested", seen)
        probe.seen("nested.b.1.c", seen["b"][1].c)
        probe.seen("nothing", await nothing())
        return None
""",
        params={"x": None, "list": [None], "deep": {"y": {"z": 1.0}}},
    ),
    Case(
        "infinite_retries_default_backoff",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do(config={"retries": {"limit": float("inf")}})
        async def stubborn(ctx):
            probe.ran("stubborn")
            probe.seen("config", ctx.config)
            if ctx.attempt < 3:
                raise ValueError("not yet")
            return ctx.attempt

        return await stubborn()
""",
    ),
    Case(
        "step_limit_and_bad_name",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("x" * 257)
        async def too_long():
            probe.ran("too_long")
            return 1

        try:
            await too_long()
        except Exception as exc:
            probe.seen("too long", type(exc).__name__)
        return "done"
""",
        xfail="audit 30: an invalid step name is the engine's JS error in production "
        "(a JsException), a WorkflowFatalError locally",
    ),
]

# -- the Python examples of the Cloudflare Workflows docs (reference/seeds/003), adapted: print()
# becomes probe.ran(), and the steps the snippets define are awaited --

CASES += [
    Case(
        "docs_get_started",
        """
from workers import Response


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do('step1')
        async def step_1():
            # does stuff
            probe.ran('executing step1')

        @step.do('step2')
        async def step_2():
            # does stuff
            probe.ran('executing step2')

        await step_1()
        await step_2()
""",
    ),
    Case(
        "docs_payload",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do('step-name')
        async def first_step():
            payload = event["payload"]
            return payload

        return await first_step()
""",
        params={"foo": "bar", "n": 1.0},
    ),
    Case(
        "docs_dag",
        """
from workers import Response


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        async def await_step(fn):
            try:
                return await fn()
            except TypeError as e:
                probe.seen("caught", f"Successfully caught {type(e).__name__}: {e}")

        await step.sleep('demo sleep', '10 seconds')

        @step.do('dependency1')
        async def dep_1():
            # does stuff
            probe.ran('executing dep1')

        @step.do('dependency2')
        async def dep_2():
            # does stuff
            probe.ran('executing dep2')

        @step.do('demo do', depends=[dep_1, dep_2], concurrent=True)
        async def final_step(res1, res2):
            # does stuff
            probe.ran('something')

        await await_step(final_step)
""",
        implicit=False,
    ),
    Case(
        "docs_workers_api_steps",
        """
import datetime


class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("my first step")
        async def my_first_step():
            # do some work
            return "Hello World!"

        probe.seen("first", await my_first_step())
        # Before the sleep: the virtual clock runs ahead of datetime.now() once it moved
        await step.sleep_until("my-sleep-until-step",
                               datetime.datetime.now() + datetime.timedelta(seconds=10))
        await step.sleep("my-sleep-step", "10 seconds")
        got = await step.wait_for_event("my-wait-for-event-step", "my-event-type")
        probe.seen("event payload", got["payload"])
        probe.seen("event type", got["type"])
        return got["payload"]
""",
        events=[("my-event-type", {"foo": "bar"})],
    ),
    Case(
        "docs_error_handling",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        async def try_step(fn):
            try:
                return await fn()
            except Exception as e:
                probe.seen("caught", f"Successfully caught {type(e).__name__}: {e}")

        @step.do("my_failing")
        async def my_failing():
            probe.ran("Executing my_failing")
            raise TypeError("Intentional error in my_failing")

        await try_step(my_failing)
""",
    ),
    Case(
        "docs_retry_config",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do('step-name', config={"retries": {"limit": 1, "delay": "10 seconds"}})
        async def first_step():
            # do some work
            probe.ran("step-name")
            raise ValueError("always")

        @step.do("call an API", config={
            "retries": {"limit": 10, "delay": "10 seconds", "backoff": "exponential"},
            "timeout": "30 minutes",
        })
        async def call_an_api(ctx):
            probe.ran("call an API")
            if ctx.attempt < 4:
                raise ValueError("upstream unavailable")
            return {"attempt": ctx.attempt}

        try:
            await first_step()
        except ValueError as exc:
            probe.seen("first_step", exc)
        return await call_an_api()
""",
    ),
    Case(
        "docs_non_retryable_fails_instance",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("some step")
        async def some_step():
            probe.ran("some step")
            if not event.payload.get("data"):
                raise NonRetryableError("event.payload.data did not contain the expected payload")

        await some_step()
        return "unreachable"
""",
        params={"other": 1},
    ),
    Case(
        "docs_catch_workflow_errors",
        """
class Case(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do('task')
        async def task():
            probe.ran("task")

        @step.do('non-retryable-task')
        async def non_retryable_task():
            probe.ran("non-retryable-task")
            raise NonRetryableError('oh no')

        @step.do('clean-up-task')
        async def clean_up_task():
            probe.ran("clean-up-task")

        @step.do('next-task')
        async def next_task():
            probe.ran("next-task")
            return "finished"

        await task()
        try:
            await non_retryable_task()
        except Exception as e:
            probe.seen("failed", f"Step failed: {e}")
            await clean_up_task()
        return await next_task()
""",
    ),
]
