"""The workflows both implementations run. Each reports through `conformance_probe`.

`xfail` names the audit entry (/work/shared/reference/fidelity-audit.md) where durable differs
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
