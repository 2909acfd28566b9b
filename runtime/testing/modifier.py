"""What `instance.modify(fn)` records, and the rules it enforces (those of `cloudflare:test`).

A step is selected by name and occurrence, like the engine's step cache key: `"name"` is the
first `step.do("name")` of the run, `("name", 2)` or `{"name": "name", "index": 2}` the second.

Per selected `step.do`, on each attempt: a mocked error (for every attempt, or for the next
`times` attempts) wins, then a forced timeout, then a mocked result; otherwise the real callback
runs. `mock_step_error(times=n)` and `force_step_timeout(times=n)` share one attempt counter, so
`mock_step_error(s, e, times=2)` followed by `force_step_timeout(s, times=1)` fails attempts 1
and 2 with `e` and times out attempt 3. Mocking a result twice, or mocking an error or timeout
after a result, is an error, as in JavaScript.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from durable.runtime.engine.execution import StepFailedError
from durable.runtime.engine.serialization import decode, encode
from durable.runtime.errors import IntrospectionError as IntrospectionError
from durable.runtime.rules import validate_event_type
from durable.runtime.worker.entrypoints import NonRetryableError

StepKey = tuple[str, int]  # (name, occurrence), occurrence counted from 1
StepSelector = str | tuple[str, int] | Mapping[str, Any]


def parse_selector(step: Any) -> StepKey:
    """`"name"`, `("name", index)` or `{"name": ..., "index": ...}` → (name, index)."""
    name: Any
    index: Any = 1
    if isinstance(step, str):
        name = step
    elif isinstance(step, tuple) and len(step) == 2:
        name, index = step
    elif isinstance(step, Mapping) and "name" in step:
        name, index = step["name"], step.get("index") or 1
    else:
        raise TypeError(
            f'A step selector is "name", ("name", index) or {{"name": ..., "index": ...}}; '
            f"got {step!r}"
        )
    if not isinstance(name, str) or not name:
        raise TypeError(f"A step selector's name must be a non-empty str, got {name!r}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 1:
        raise TypeError(f"A step selector's index counts from 1, got {index!r}")
    return (name, index)


def parse_selectors(steps: Any) -> list[StepKey] | None:
    """None (every step), one selector, or an iterable of selectors."""
    if steps is None:
        return None
    if isinstance(steps, str | Mapping) or (
        isinstance(steps, tuple) and len(steps) == 2 and isinstance(steps[1], int)
    ):
        return [parse_selector(steps)]
    if not isinstance(steps, Iterable):
        raise TypeError(f"steps must be None, a selector or a list of selectors, got {steps!r}")
    return [parse_selector(step) for step in steps]


def _times(times: Any) -> int | None:
    if times is None:
        return None
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be None (every attempt) or an int >= 1, got {times!r}")
    return times


def error_payload(error: Any) -> dict[str, str]:
    """An exception (instance or class) or `{name, message}` → `{name, message}`, as JS keeps
    only those two fields of a mocked error."""
    if isinstance(error, type) and issubclass(error, BaseException):
        return {"name": error.__name__, "message": ""}
    if isinstance(error, StepFailedError):
        return {"name": error.name, "message": str(error).removeprefix(f"{error.name}: ")}
    if isinstance(error, BaseException):
        return {"name": type(error).__name__, "message": str(error)}
    if isinstance(error, Mapping) and isinstance(error.get("message", ""), str):
        return {"name": str(error.get("name") or "Error"), "message": error.get("message", "")}
    raise TypeError(f"mock_step_error needs an exception or {{name, message}}, got {error!r}")


def make_error(payload: dict[str, str]) -> Exception:
    """The exception a mocked attempt raises: the engine records exactly `{name, message}`, and
    a NonRetryableError still stops the retries."""
    if payload["name"] == "NonRetryableError":
        return NonRetryableError(payload["message"])
    return StepFailedError(payload["name"], payload["message"])


@dataclass
class StepMocks:
    result: str | None = None  # the mocked result, JSON-encoded (so it is checked up front)
    error: dict[str, str] | None = None
    errors: dict[int, dict[str, str]] = field(default_factory=dict)  # attempt -> error
    timeout: bool = False
    timeouts: set[int] = field(default_factory=set)
    next_attempt: int = 1  # shared counter of `times` mocks, as in JavaScript


@dataclass
class Action:
    kind: str  # "error" | "timeout" | "result"
    error: dict[str, str] | None = None
    value: Any = None


class InstanceMods:
    """Everything modified for one instance (or recorded for a workflow's future instances)."""

    def __init__(self) -> None:
        self.steps: dict[StepKey, StepMocks] = {}
        self.all_sleeps = False
        self.sleeps: set[StepKey] = set()
        self.all_retry_delays = False
        self.retry_delays: set[StepKey] = set()
        self.event_timeouts: set[StepKey] = set()

    def _step(self, key: StepKey) -> StepMocks:
        return self.steps.setdefault(key, StepMocks())

    # -- recording --

    def disable_sleeps(self, keys: list[StepKey] | None) -> None:
        if keys is None:
            self.all_sleeps = True
        else:
            self.sleeps.update(keys)

    def disable_retry_delays(self, keys: list[StepKey] | None) -> None:
        if keys is None:
            self.all_retry_delays = True
        else:
            self.retry_delays.update(keys)

    def mock_step_result(self, key: StepKey, value: Any) -> None:
        mocks = self._step(key)
        if mocks.result is not None:
            raise IntrospectionError(f"Trying to mock step '{_label(key)}' multiple times!")
        mocks.result = encode(value, what=f"The mocked result of step '{_label(key)}'")

    def mock_step_error(self, key: StepKey, error: dict[str, str], times: int | None) -> None:
        mocks = self._step(key)
        if mocks.result is not None:
            raise IntrospectionError(
                f"Trying to mock error on step '{_label(key)}' after mocking its result!"
            )
        if times is None:
            mocks.error = error
        else:
            for attempt in range(mocks.next_attempt, mocks.next_attempt + times):
                mocks.errors[attempt] = error
            mocks.next_attempt += times

    def force_step_timeout(self, key: StepKey, times: int | None) -> None:
        mocks = self._step(key)
        if mocks.result is not None:
            raise IntrospectionError(
                f"Trying to force timeout on step '{_label(key)}' after mocking its result!"
            )
        if times is None:
            mocks.timeout = True
        else:
            mocks.timeouts.update(range(mocks.next_attempt, mocks.next_attempt + times))
            mocks.next_attempt += times

    def force_event_timeout(self, key: StepKey) -> None:
        self.event_timeouts.add(key)

    # -- consulting --

    def action(self, key: StepKey, attempt: int) -> Action | None:
        mocks = self.steps.get(key)
        if mocks is None:
            return None
        error = mocks.error or mocks.errors.get(attempt)
        if error is not None:
            return Action("error", error=error)
        if mocks.timeout or attempt in mocks.timeouts:
            return Action("timeout")
        if mocks.result is not None:
            return Action("result", value=decode(mocks.result))
        return None

    def sleep_disabled(self, key: StepKey) -> bool:
        return self.all_sleeps or key in self.sleeps

    def retry_delay_disabled(self, key: StepKey) -> bool:
        return self.all_retry_delays or key in self.retry_delays

    def event_timeout_forced(self, key: StepKey) -> bool:
        return key in self.event_timeouts


def _label(key: StepKey) -> str:
    return key[0] if key[1] == 1 else f"{key[0]}#{key[1]}"


Operation = tuple[str, tuple[Any, ...]]


class WorkflowInstanceModifier:
    """The object `modify(fn)` hands to `fn`. Every method returns a coroutine, as in JavaScript;
    calls that `fn` forgot to await are still applied, in order, when `fn` returns."""

    def __init__(self, apply: Callable[[Operation], Awaitable[None]]) -> None:
        self._apply = apply
        self._calls: list[Coroutine[Any, Any, None]] = []

    def _record(self, name: str, *args: Any) -> Coroutine[Any, Any, None]:
        operation: Operation = (name, args)

        async def run() -> None:
            await self._apply(operation)

        coroutine = run()
        self._calls.append(coroutine)
        return coroutine

    async def _finish(self) -> None:
        calls, self._calls = self._calls, []
        for coroutine in calls:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                await coroutine

    def disable_sleeps(self, steps: Any = None) -> Coroutine[Any, Any, None]:
        """Every `step.sleep`/`sleep_until` (or the selected ones) returns at once."""
        return self._record("disable_sleeps", parse_selectors(steps))

    def disable_retry_delays(self, steps: Any = None) -> Coroutine[Any, Any, None]:
        """Failed attempts are retried without the back-off wait (the attempts still happen)."""
        return self._record("disable_retry_delays", parse_selectors(steps))

    def mock_step_result(self, step: StepSelector, value: Any) -> Coroutine[Any, Any, None]:
        """`step.do` returns `value` without running its callback (it still counts an attempt)."""
        key = parse_selector(step)
        return self._record("mock_step_result", key, copy.deepcopy(value))

    def mock_step_error(
        self, step: StepSelector, error: Any, times: int | None = None
    ) -> Coroutine[Any, Any, None]:
        """The step's attempts fail with `error` ({name, message} is kept): all, or the next
        `times` ones, after which the real callback (or a mocked result) runs."""
        return self._record(
            "mock_step_error", parse_selector(step), error_payload(error), _times(times)
        )

    def force_step_timeout(
        self, step: StepSelector, times: int | None = None
    ) -> Coroutine[Any, Any, None]:
        """The step's attempts time out at once: all, or the next `times` ones."""
        return self._record("force_step_timeout", parse_selector(step), _times(times))

    def mock_event(self, type: str, payload: Any = None) -> Coroutine[Any, Any, None]:  # noqa: A002
        """Deliver an event, so that a pending or future `wait_for_event` of `type` resolves."""
        validate_event_type(type)
        encode(payload, what="The mocked event payload")  # fail here, not inside the engine
        return self._record("mock_event", type, copy.deepcopy(payload))

    def force_event_timeout(self, step: StepSelector) -> Coroutine[Any, Any, None]:
        """That `wait_for_event` times out at once, even if a matching event is buffered."""
        return self._record("force_event_timeout", parse_selector(step))

    # JavaScript spellings, for tests ported from vitest.
    disableSleeps = disable_sleeps  # noqa: N815
    disableRetryDelays = disable_retry_delays  # noqa: N815
    mockStepResult = mock_step_result  # noqa: N815
    mockStepError = mock_step_error  # noqa: N815
    forceStepTimeout = force_step_timeout  # noqa: N815
    mockEvent = mock_event  # noqa: N815
    forceEventTimeout = force_event_timeout  # noqa: N815


def apply_operation(mods: InstanceMods, operation: Operation) -> None:
    """Record `operation` (anything but `mock_event`, which the caller delivers) on `mods`."""
    name, args = operation
    if name == "mock_event":
        return
    getattr(mods, name)(*args)


async def call_modifier(fn: Callable[[WorkflowInstanceModifier], Any], modifier: Any) -> None:
    """Call `fn(modifier)`, plain or async, then apply what it did not await."""
    result = fn(modifier)
    if inspect.isawaitable(result):
        await result
    await modifier._finish()
