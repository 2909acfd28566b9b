"""One run of one instance: the step cache, attempts, retries, timers and events.

`run()` is replayed from the top every time an instance resumes (after a crash, a reload, a
sleep or a wait it was parked in). Every `step.do`, `sleep` and `wait_for_event` is keyed like
Cloudflare's step cache, by (kind, name, occurrence count of that name in this run:
`hooks.step_key`), and a key whose result is stored returns it at once instead of running again.
Time is read from the engine's clock; an engine given hooks reports each step to them and lets
them decide what an attempt does and whether a wait happens (see `hooks`).

An instance that would wait long (a sleep, a retry back-off, an event that has not come) does
not keep its coroutine: it records its deadline and unwinds with `Park`, and the engine replays
it when the deadline passes or the event arrives. On Cloudflare a suspension raises nothing into
Python; on CPython a coroutine cannot be dropped without unwinding it, so user code *can* catch
`Park` (`except BaseException:`). What it cannot do is act on it: see `Park`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from durable.runtime.durations import YEAR_MS, parse_duration, retry_delay_ms
from durable.runtime.errors import StepFailedError as StepFailedError
from durable.runtime.errors import ValidationError, WorkflowFatalError, WorkflowTimeoutError
from durable.runtime.rules import validate_event_type
from durable.runtime.states import Backoff, StepState
from durable.runtime.worker.entrypoints import NonRetryableError
from durable.runtime.worker.jsdict import JsDict

from .hooks import EngineHooks, StepKey, step_key
from .serialization import decode, encode
from .store import EventRow, StepRow

if TYPE_CHECKING:
    from .scheduler import Engine
    from .state import LoadedInstance

MAX_STEP_NAME = 256
_CONTROL = re.compile(r"[\x00-\x1f]")
DEFAULT_RETRIES = {"limit": 5, "delay": 10_000, "backoff": Backoff.EXPONENTIAL}
DEFAULT_TIMEOUT = "10 minutes"
DEFAULT_EVENT_TIMEOUT = "24 hours"
CONFIG_DOCS = "See https://developers.cloudflare.com/workflows/build/sleeping-and-retrying/"


class Park(BaseException):
    """Unwinds `run()` when an instance leaves memory (long wait, pause, engine stopping).

    Not an Exception, so a user's `except Exception` does not see it. A suspension on
    Cloudflare raises nothing Python can catch; on CPython the only ways to leave a suspended
    coroutine are to keep it forever or to unwind it (raise into it, cancel it, or close it,
    which raises GeneratorExit), and all three run the user's `except BaseException:` and
    `finally:` blocks. So durable unwinds, and makes a park *final* instead: once any step call
    has raised `Park`, the `Execution` is `parked`, every later `step.do` / `sleep` /
    `sleep_until` / `wait_for_event` of that run raises `Park` again before doing anything, and
    the engine discards whatever `run()` then returns or raises. An `except BaseException:`
    around a sleep can therefore run its own (non-durable) code, but cannot run a step, and
    cannot make the instance finish without sleeping: the replay after the wake-up continues.
    """


# What a NonRetryableError becomes without the compat flag workflows_preserve_non_retryable_
# error_message (default from 2026-05-14; workflows_replace_non_retryable_error_message turns it
# off): the step's rejection and the instance's error lose the name and the message.
NRE_FATAL_NAME = "WorkflowFatalError"
NRE_FATAL_MESSAGE = (
    "The execution of the Workflow instance was terminated, as a step threw an "
    "NonRetryableError and it was not handled"
)


def raise_step_error(error: dict[str, str]) -> None:
    """Raise the exception `run()` sees for a stored step error `{name, message}`.

    On Cloudflare a Python exception crosses to JS as a traceback, and comes back typed from
    the traceback's *last line* only: `TypeError…` / `ValueError…` become that type with the
    line as message (utils.py `_from_js_error`), so `ValueError("a\nb")` (last line "b") does
    not come back a ValueError, while a message whose last line starts with "ValueError" does.
    A NonRetryableError keeps what workflows.js takes from the last non-empty line, after its
    first ": ".
    """
    name, message = error.get("name", "Error"), error.get("message", "")
    if name == "NonRetryableError":
        raise NonRetryableError(_non_retryable_message(name, message))
    if name == "WorkflowTimeoutError":
        raise WorkflowTimeoutError(message)
    lines = (f"{name}: {message}" if message else name).rstrip().split("\n")
    last = lines[-1]
    # A one-line traceback tail is "<type>: <message>": the type's own name decides (a user
    # class is module-qualified there, so only the builtins match).
    head = name if len(lines) == 1 else last
    if head == "TypeError" or (len(lines) > 1 and head.startswith("TypeError")):
        raise TypeError(last)
    if head == "ValueError" or (len(lines) > 1 and head.startswith("ValueError")):
        raise ValueError(last)
    raise StepFailedError(name, message)


def _non_retryable_message(name: str, message: str) -> str:
    """workflows.js `pythonExceptionMessage`: the last non-empty traceback line after ": "."""
    lines = [line for line in f"{name}: {message}".split("\n") if line.strip()]
    last = lines[-1] if lines else ""
    sep = last.find(": ")
    return "" if sep == -1 else last[sep + 2 :]


def _non_retryable(exc: BaseException) -> bool:
    """Whether a step's failure stops its retries: as the SDK's workflows.js decides, by the
    class *name* (`PythonError.type`), so a subclass of NonRetryableError is retried and a
    class of the user's own that is called NonRetryableError is not."""
    return type(exc).__name__ == "NonRetryableError"


def js_exception(message: str, name: str = "Error") -> Exception:
    """A JS error as Python code sees it: the `pyodide.ffi.JsException` of durable's shim (the
    class user code imports, so it is looked up where user code finds it)."""
    ffi = importlib.import_module("pyodide.ffi")
    exc: Exception = ffi.JsException(message, name)
    return exc


def error_dict(exc: BaseException) -> dict[str, str]:
    """`{name, message}` for an exception; the `Name: ` prefix a step error carries is dropped.

    A JsException is the JS error it wraps (Pyodide rethrows the original error into JS)."""
    if type(exc).__name__ == "JsException" and isinstance(getattr(exc, "name", None), str):
        return {"name": exc.name, "message": str(getattr(exc, "message", ""))}  # type: ignore[attr-defined]
    name = exc.name if isinstance(exc, StepFailedError) else type(exc).__name__
    text = str(exc)
    prefix = f"{name}: "
    return {"name": name, "message": text[len(prefix) :] if text.startswith(prefix) else text}


@dataclass(frozen=True, slots=True)
class StepConfig:
    limit: int | float  # float only for math.inf: retries without end
    delay_ms: int
    backoff: str
    timeout_ms: int
    public: dict[str, Any]

    def delay_after(self, failure: int) -> int:
        """Back-off before the attempt after the `failure`-th failed one."""
        return retry_delay_ms(self.delay_ms, self.backoff, failure)

    def to_json(self) -> str:
        # As JS's JSON.stringify: an infinite limit is null (read back as infinite).
        if math.isinf(self.limit):
            return json.dumps({**self.public, "retries": {**self.public["retries"], "limit": None}})
        return json.dumps(self.public)


def resolve_config(name: str, config: Any) -> StepConfig:
    """Validate a step's `config` and merge it over the production defaults."""
    invalid = f'Step config for "{name}" is in a invalid format'
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationError(f"{invalid}: config must be a dict. {CONFIG_DOCS}")
    unknown = set(config) - {"retries", "timeout", "sensitive"}
    if unknown:
        raise ValidationError(
            f"{invalid}: unknown key(s) {', '.join(sorted(unknown))}. {CONFIG_DOCS}"
        )
    retries = config.get("retries", {})
    if not isinstance(retries, dict):
        raise ValidationError(f"{invalid}: retries must be a dict. {CONFIG_DOCS}")
    unknown = set(retries) - {"limit", "delay", "backoff"}
    if unknown:
        raise ValidationError(
            f"{invalid}: unknown retries key(s) {', '.join(sorted(unknown))}. {CONFIG_DOCS}"
        )
    merged = {**DEFAULT_RETRIES, **retries}
    limit = merged["limit"]
    infinite = isinstance(limit, float) and limit == math.inf  # a JS Infinity, as CF allows
    if not infinite and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(
            f"{invalid}: retries.limit must be an integer >= 0 or float('inf'). {CONFIG_DOCS}"
        )
    if merged["backoff"] not in tuple(Backoff):
        raise ValidationError(
            f"{invalid}: retries.backoff must be constant, linear or exponential. {CONFIG_DOCS}"
        )
    if config.get("sensitive") not in (None, "output"):
        raise ValidationError(f'{invalid}: sensitive may only be "output". {CONFIG_DOCS}')
    timeout = config.get("timeout", DEFAULT_TIMEOUT)
    try:
        delay_ms = parse_duration(merged["delay"], what="retries.delay")
        timeout_ms = parse_duration(timeout, what="timeout")
    except ValidationError as exc:
        raise ValidationError(f"{invalid}: {exc} {CONFIG_DOCS}") from None
    if timeout_ms == 0:
        raise ValidationError(f"{invalid}: timeout must not be 0. {CONFIG_DOCS}")
    public = {"retries": merged, "timeout": timeout}
    if "sensitive" in config:
        public["sensitive"] = config["sensitive"]
    return StepConfig(limit, delay_ms, str(merged["backoff"]), timeout_ms, public)


# Most steps pass no config: resolve (and encode) the defaults once, not at every step.
_DEFAULT_CONFIG = resolve_config("", None)
_DEFAULT_CONFIG_JSON = _DEFAULT_CONFIG.to_json()


def _resolve(name: str, config: Any) -> tuple[StepConfig, str]:
    """The step's config and its JSON for the step row."""
    if config is None:
        return _DEFAULT_CONFIG, _DEFAULT_CONFIG_JSON
    resolved = resolve_config(name, config)
    return resolved, resolved.to_json()


def _config_from_json(text: str) -> StepConfig:
    public = json.loads(text)
    retries = public["retries"]
    limit = retries["limit"]
    return StepConfig(
        math.inf if limit is None else int(limit),
        parse_duration(retries["delay"]),
        str(retries.get("backoff", Backoff.EXPONENTIAL)),
        parse_duration(public["timeout"]),
        public,
    )


def _epoch_ms(value: Any) -> float:
    """What JS `sleepUntil` compares with `Date.now()`: a Date's time, a number, or a string as
    JS converts it to a number (the SDK hands a str to JS as it is; an ISO date is NaN)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # naive datetimes are UTC, as in workerd
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _js_number(value)
    raise ValidationError(f"sleep_until needs a datetime or epoch milliseconds, got {value!r}")


_JS_DECIMAL = re.compile(r"[+-]?(Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")
_JS_RADIX = {"x": 16, "o": 8, "b": 2}


def _js_number(text: str) -> float:
    """JavaScript's ToNumber of a string: decimal, 0x/0o/0b, "" (0) or NaN."""
    text = text.strip()
    if not text:
        return 0.0
    if _JS_DECIMAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    if len(text) > 2 and text[0] == "0" and text[1].lower() in _JS_RADIX:
        try:
            return float(int(text[2:], _JS_RADIX[text[1].lower()]))
        except ValueError:
            return math.nan
    return math.nan


_UNDEFINED: Any = object()  # a JS argument that was not passed


class Execution:
    """The state of one replay of `run()` for one instance."""

    def __init__(
        self,
        engine: Engine,
        instance: LoadedInstance,
        steps: list[StepRow],
        buffered: list[EventRow],
        hooks: EngineHooks | None = None,
    ) -> None:
        self.engine = engine
        self.instance = instance
        self.hooks = hooks
        self.now_ms = engine.clock.now_ms
        self.cache = {row.key: row for row in steps}
        self.next_seq = max((row.seq for row in steps), default=-1) + 1
        self.buffered = buffered
        self.counters: dict[tuple[str, str], int] = {}
        self.steps_called = 0
        self.fatal: WorkflowFatalError | None = None
        self.parked = False  # a step call raised Park: this run is over (see Park)

    # -- keys, limits, boundaries --

    def _fatal(self, message: str) -> WorkflowFatalError:
        self.fatal = WorkflowFatalError(message)
        return self.fatal

    def _check_name(self, name: Any) -> str:
        if not isinstance(name, str) or len(name) > MAX_STEP_NAME or _CONTROL.search(name):
            raise self._fatal(
                f'Step name "{name}" exceeds max length ({MAX_STEP_NAME} chars) or invalid characters found'
            )
        self.steps_called += 1
        limit = self.instance.definition.step_limit
        if self.steps_called > limit:
            raise self._fatal(
                f"The limit of {limit} steps has been reached. This limit can be changed in your "
                "worker configuration (limits.steps)."
            )
        return name

    def _new_row(self, kind: str, key: StepKey, **values: Any) -> StepRow:
        fields: dict[str, Any] = {
            "status": StepState.RUNNING,
            "config": None,
            "output": None,
            "error": None,
            "attempts": None,
            **values,
        }
        row = StepRow(
            instance_pk=self.instance.row.pk,
            kind=kind,
            name=key[1],
            count=key[2],
            seq=self.next_seq,
            started_ms=self.now_ms(),
            **fields,
        )
        self.next_seq += 1
        self.cache[key] = row
        return row

    def _raise_step_error(self, error: dict[str, str]) -> None:
        """Raise a failed step's error into run(). The step row keeps the original error; a
        NonRetryableError reaches run() replaced unless the instance preserves its message."""
        if (
            error.get("name") == "NonRetryableError"
            and not self.instance.definition.preserve_non_retryable_message
        ):
            raise StepFailedError(NRE_FATAL_NAME, NRE_FATAL_MESSAGE)
        raise_step_error(error)

    def boundary(self) -> None:
        """A step boundary: where a requested pause, or a stop for a reload, takes effect."""
        if self.instance.pause_requested:
            self.engine.park_paused(self.instance)
            raise Park()
        if self.engine.draining:
            # The engine is stopping: start nothing new; the next engine replays from here.
            raise Park()

    def _enter(self) -> None:
        """Every step call starts here: a run that has parked runs nothing more."""
        if self.parked:
            raise Park()

    # -- step.do --

    async def do(self, name: Any, config: Any, invoke: Callable[[JsDict], Awaitable[Any]]) -> Any:
        self._enter()
        try:
            return await self._do(name, config, invoke)
        except Park:
            self.parked = True
            raise

    async def _do(self, name: Any, config: Any, invoke: Callable[[JsDict], Awaitable[Any]]) -> Any:
        name = self._check_name(name)
        key = step_key(self.counters, "step", name)
        hooks, inst, now_ms = self.hooks, self.instance, self.now_ms
        if hooks is not None:
            await hooks.step_reached(inst, key)
        row = self.cache.get(key)
        if row is not None and row.status == StepState.COMPLETE:
            if hooks is not None:
                hooks.step_ended(inst, key, row)
            return decode(row.output)
        if row is not None and row.status == StepState.ERRORED:
            if hooks is not None:
                hooks.step_ended(inst, key, row)
            self._raise_step_error(json.loads(row.error or "{}"))
        self.boundary()
        if row is None:
            resolved, config_json = _resolve(name, config)
            row = self._new_row("step", key, config=config_json)
            attempts: list[dict[str, Any]] = []
        else:
            resolved = _config_from_json(row.config or "{}")
            attempts = json.loads(row.attempts or "[]")
            if attempts and attempts[-1]["end"] is None:
                attempts[-1].update(
                    end=now_ms(),
                    success=False,
                    interrupted=True,
                    error={
                        "name": "Interrupted",
                        "message": "the process stopped during this attempt",
                    },
                )
            if row.status == StepState.RETRYING and row.wake_ms is not None:
                await self.block(key, row.wake_ms)
        store = self.engine.store
        while True:
            attempt: dict[str, Any] = {
                "start": now_ms(),
                "end": None,
                "success": None,
                "error": None,
            }
            attempts.append(attempt)
            row.status, row.wake_ms, row.attempts = StepState.RUNNING, None, json.dumps(attempts)
            # The attempt's start is durable before its callback runs: if the process dies
            # during the attempt, the replay finds it started and runs the *next* attempt, so
            # an attempt number (ctx.attempt) is never handed to two executions. Counted as a
            # running callback meanwhile, so a pause waits for the step instead of cancelling.
            self.instance.callbacks_running += 1
            try:
                await store.save_step(row)
            finally:
                self.instance.callbacks_running -= 1
            ctx = JsDict(
                step=JsDict(name=name, count=key[2]),
                attempt=len(attempts),
                # Nested objects are JsDicts too (ctx.config.retries.limit), as the SDK
                # converts them; copied: the defaults are shared by every step.
                config=JsDict(
                    resolved.public,
                    retries=JsDict(resolved.public["retries"], limit=resolved.limit),
                ),
            )
            number = len(attempts)
            failure: BaseException
            self.instance.callbacks_running += 1
            try:
                if hooks is None:
                    async with asyncio.timeout(resolved.timeout_ms / 1000):
                        result = await invoke(ctx)
                else:
                    hooks.attempt_started(inst, key, number)
                    async with asyncio.timeout(resolved.timeout_ms / 1000):
                        result = await hooks.run_attempt(inst, key, ctx, invoke)
                output = encode(result, what=f'Step "{name}-{key[2]}" output')
            except TimeoutError:
                failure = WorkflowTimeoutError(f"Execution timed out after {resolved.timeout_ms}ms")
            except Exception as exc:  # noqa: BLE001 - every user error is an attempt failure
                failure = exc
            except BaseException:
                if hooks is not None:
                    hooks.attempt_finished(inst, key, number, "interrupted", None)
                raise
            else:
                attempt.update(end=now_ms(), success=True)
                row.status, row.output, row.ended_ms = StepState.COMPLETE, output, attempt["end"]
                row.attempts = json.dumps(attempts)
                if hooks is not None:
                    hooks.attempt_finished(inst, key, number, "success", None)
                await store.save_step(row)
                if hooks is not None:
                    hooks.step_ended(inst, key, row)
                self.boundary()
                return decode(output)
            finally:
                self.instance.callbacks_running -= 1
            error = error_dict(failure)
            if hooks is not None:
                outcome = "timeout" if isinstance(failure, WorkflowTimeoutError) else "error"
                hooks.attempt_finished(inst, key, number, outcome, error)
            attempt.update(end=now_ms(), success=False, error=error)
            row.attempts = json.dumps(attempts)
            failures = sum(
                1 for a in attempts if a["success"] is False and not a.get("interrupted")
            )
            if (
                _non_retryable(failure)
                or isinstance(failure, WorkflowFatalError)
                or failures > resolved.limit
            ):
                row.status, row.error, row.ended_ms = StepState.ERRORED, json.dumps(error), now_ms()
                await store.save_step(row)
                if hooks is not None:
                    hooks.step_ended(inst, key, row)
                if isinstance(failure, WorkflowFatalError):
                    raise failure
                self._raise_step_error(error)
            row.status, row.wake_ms = StepState.RETRYING, now_ms() + resolved.delay_after(failures)
            attempt["next_retry"] = row.wake_ms
            row.attempts = json.dumps(attempts)
            store.put_step(row)
            await self.block(key, row.wake_ms)
            self.boundary()

    # -- sleeps --

    async def sleep_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """`step.sleep(*args, **kwargs)` as the SDK forwards it to JS `sleep(name, duration)`.

        Pyodide passes keyword arguments as one trailing JS object, so `sleep(name=…,
        duration=…)` calls `sleep({name, duration})`, and the engine fails reading the missing
        duration (a JS TypeError, which reaches Python as a JsException); extra arguments are
        ignored.
        """
        if kwargs:
            args = (*args, JsDict(kwargs))
        duration = args[1] if len(args) > 1 else _UNDEFINED
        if duration is _UNDEFINED:
            self._enter()
            raise js_exception(
                "Cannot read properties of undefined (reading 'toString')", "TypeError"
            )
        if isinstance(duration, dict):
            self._enter()
            raise js_exception(
                "a sleep's duration must be a number of milliseconds or a string such as "
                f'"10 seconds", not an object (keyword arguments {sorted(duration)} reach JS '
                "as one object)",
                "TypeError",
            )
        await self.sleep(args[0], duration)

    async def sleep(self, name: Any, duration: Any) -> None:
        self._enter()
        try:
            name = self._check_name(name)
            key = step_key(self.counters, "sleep", name)
            if self.hooks is not None:
                await self.hooks.step_reached(self.instance, key)
            await self._sleep(key, duration)
        except Park:
            self.parked = True
            raise

    async def sleep_until(self, name: Any, timestamp: Any) -> None:
        self._enter()
        try:
            await self._sleep_until(name, timestamp)
        except Park:
            self.parked = True
            raise

    async def _sleep_until(self, name: Any, timestamp: Any) -> None:
        name = self._check_name(name)
        key = step_key(self.counters, "sleep", name)
        if self.hooks is not None:
            await self.hooks.step_reached(self.instance, key)
        if key in self.cache:
            # Only a first run checks the time: a replay after the wake-up must not fail.
            await self._sleep(key, 0)
            return
        remaining = _epoch_ms(timestamp) - self.now_ms()
        if remaining < 0:
            # The engine's JS Error, which the SDK does not convert: a JsException in Python.
            raise js_exception("You can't sleep until a time in the past, time-traveler")
        # NaN (a string that is no number, such as an ISO date) sleeps 0 ms, as JS computes.
        if math.isnan(remaining):
            remaining = 0
        await self._sleep(key, remaining if math.isinf(remaining) else math.ceil(remaining))

    async def _sleep(self, key: StepKey, duration: Any) -> None:
        row = self.cache.get(key)
        if row is None or row.status != StepState.COMPLETE:
            self.boundary()
            if row is None:
                ms = parse_duration(duration, what=f'duration of sleep "{key[1]}"')
                if ms > 365 * 86_400_000:
                    raise ValidationError(
                        f'Sleep "{key[1]}" is longer than the maximum of 365 days.'
                    )
                row = self._new_row(
                    "sleep", key, status=StepState.WAITING, wake_ms=self.now_ms() + ms
                )
                self.engine.store.put_step(row)
            assert row.wake_ms is not None
            await self.block(key, row.wake_ms)
            row.status, row.ended_ms = StepState.COMPLETE, self.now_ms()
            self.engine.store.put_step(row)
            if self.hooks is not None:
                self.hooks.step_ended(self.instance, key, row)
            self.boundary()
        elif self.hooks is not None:
            self.hooks.step_ended(self.instance, key, row)

    # -- events --

    async def wait_for_event(self, name: Any, event_type: Any, timeout: Any) -> Any:
        self._enter()
        try:
            return await self._wait_for_event(name, event_type, timeout)
        except Park:
            self.parked = True
            raise

    async def _wait_for_event(self, name: Any, event_type: Any, timeout: Any) -> Any:
        name = self._check_name(name)
        validate_event_type(event_type)
        key = step_key(self.counters, "waitForEvent", name)
        hooks, inst = self.hooks, self.instance
        if hooks is not None:
            await hooks.step_reached(inst, key)
        row = self.cache.get(key)
        if row is not None and row.status == StepState.COMPLETE:
            if hooks is not None:
                hooks.step_ended(inst, key, row)
            return decode(row.output)
        if row is not None and row.status == StepState.ERRORED:
            if hooks is not None:
                hooks.step_ended(inst, key, row)
            raise WorkflowTimeoutError(json.loads(row.error or "{}").get("message", "timed out"))
        self.boundary()
        if row is None:
            ms = parse_duration(timeout, what=f'timeout of wait_for_event "{name}"')
            limits = self.engine.limits
            if not limits.min_event_timeout_ms <= ms <= YEAR_MS:
                raise ValidationError(
                    f'The timeout of wait_for_event "{name}" must be between 1 second and 365 days.'
                )
            row = self._new_row(
                "waitForEvent",
                key,
                status=StepState.WAITING,
                wake_ms=self.now_ms() + ms,
                event_type=event_type,
            )
            self.engine.store.put_step(row)
        assert row.wake_ms is not None
        while True:
            # A skipped wait (a forced timeout) times out even with a matching event buffered.
            skipped = hooks is not None and hooks.skip_wait(inst, key, row.wake_ms)
            event = None if skipped else self._take_buffered(event_type)
            if event is not None:
                row.status, row.ended_ms = StepState.COMPLETE, self.now_ms()
                row.output = json.dumps(
                    {
                        "payload": json.loads(event.payload) if event.payload else None,
                        "timestamp": {"$durable:date": _iso(event.received_ms)},
                        "type": event.type,
                    }
                )
                event.consumed_by = f"{name}-{key[2]}"
                self.engine.store.put_event(event)
                await self.engine.store.save_step(row)
                if hooks is not None:
                    hooks.step_ended(inst, key, row)
                self.boundary()
                return decode(row.output)
            if skipped or self.now_ms() >= row.wake_ms:
                message = f"Execution timed out after {row.wake_ms - row.started_ms}ms"
                row.status, row.ended_ms = StepState.ERRORED, self.now_ms()
                row.error = json.dumps({"name": "WorkflowTimeoutError", "message": message})
                await self.engine.store.save_step(row)
                if hooks is not None:
                    hooks.step_ended(inst, key, row)
                raise WorkflowTimeoutError(message)
            await self.block(key, row.wake_ms, event_type)

    def _take_buffered(self, event_type: str) -> EventRow | None:
        for index, event in enumerate(self.buffered):
            if event.type == event_type:
                return self.buffered.pop(index)
        return None

    def has_buffered(self, event_type: str) -> bool:
        return any(event.type == event_type for event in self.buffered)

    # -- waiting --

    async def block(self, key: StepKey, deadline_ms: int, event_type: str | None = None) -> None:
        """Wait until `deadline_ms` (or an event of `event_type`), parking if it is far off."""
        await self.engine.block(self.instance, key, deadline_ms, event_type)


def _iso(ms: int) -> str:
    from datetime import UTC

    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .replace(tzinfo=None)
        .isoformat(timespec="milliseconds")
    )
