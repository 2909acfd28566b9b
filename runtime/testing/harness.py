"""The engine as the test harness runs it: same code paths, plus a virtual clock and modifiers.

`HarnessEngine` is the ordinary `Engine` with a few methods overridden, so everything a test
exercises is the production engine:

* `block()` (where sleeps, retry back-offs and event waits wait) waits on the virtual clock and
  never parks; it returns at once for a disabled sleep or retry delay and for a forced event
  timeout;
* `_call_run()` wraps the execution's `do`, `sleep` and `wait_for_event` of every (re)run, to
  apply step mocks attempt by attempt and to record the trace;
* `create_batch()` applies an active `introspect_workflow` session to new instances;
* `_set_status()` / `_finish()` wake whoever waits for a status.

Which step is blocking is carried in a context variable set by the wrappers: concurrent steps
run in their own asyncio tasks, so each sees its own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from durable.runtime.durations import parse_duration
from durable.runtime.engine.execution import Execution, Park, error_dict
from durable.runtime.engine.scheduler import Engine
from durable.runtime.engine.serialization import encode
from durable.runtime.engine.state import Limits, LoadedInstance, WorkflowDefinition
from durable.runtime.engine.store import InstanceRow, Store
from durable.runtime.errors import WorkflowTimeoutError
from durable.runtime.worker.jsdict import JsDict

from .clock import VirtualClock, wall_ms
from .modifier import InstanceMods, StepKey, apply_operation, make_error
from .trace import EventWaitRecord, SleepRecord, Trace

if TYPE_CHECKING:
    from .introspection import WorkflowIntrospector

Ident = tuple[str, str]  # (workflow, instance id)
CacheKey = tuple[str, str, int]  # the engine's step cache key: (kind, name, occurrence)

# Nothing parks (the clock is virtual, a parked instance would wait for the real time), and
# wait_for_event keeps production's 1-second minimum timeout.
HARNESS_LIMITS = Limits(max_concurrency=1000, park_after_ms=2**62, min_event_timeout_ms=1000)

_BLOCKING: ContextVar[CacheKey | None] = ContextVar("durable_testing_blocking", default=None)


class Signal:
    """Wakes every waiter when anything observable changed (a status, a step result)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event


class Harness:
    """Test-only state next to the engine: modifiers, traces, step results, the clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.engine: HarnessEngine | None = None
        self.mods: dict[Ident, InstanceMods] = {}
        self.pending_events: dict[Ident, list[tuple[str, Any]]] = {}
        self.sessions: dict[str, WorkflowIntrospector] = {}
        self.traces: dict[Ident, Trace] = {}
        self.results: dict[Ident, dict[StepKey, tuple[str, str]]] = {}
        self.blocked: dict[Ident, tuple[CacheKey | None, int, str | None]] = {}
        self.order = itertools.count(1)
        self.signal = Signal()

    def mods_for(self, ident: Ident) -> InstanceMods:
        return self.mods.setdefault(ident, InstanceMods())

    def trace(self, ident: Ident) -> Trace:
        trace = self.traces.get(ident)
        if trace is None:
            trace = self.traces[ident] = Trace(ident[0], ident[1], self.order)
        return trace

    def record_result(self, ident: Ident, key: StepKey, kind: str, value: str) -> None:
        self.results.setdefault(ident, {})[key] = (kind, value)
        self.signal.notify()

    # -- new instances --

    async def created(self, workflow: str, rows: list[InstanceRow]) -> None:
        """Apply the workflow's introspection session (if any) and deliver mocked events.

        Modifiers are registered before the first await, so they are in place before the new
        instances' tasks take their first step.
        """
        assert self.engine is not None
        session = self.sessions.get(workflow)
        deliveries: list[tuple[Ident, tuple[str, Any]]] = []
        for row in rows:
            ident = (workflow, row.id)
            if session is not None:
                session._adopt(row.id)
                for operation in session._operations:
                    if operation[0] == "mock_event":
                        deliveries.append((ident, (operation[1][0], operation[1][1])))
                        continue
                    try:
                        apply_operation(self.mods_for(ident), operation)
                    except Exception:  # noqa: BLE001 - the instance's own modifier wins
                        pass
            deliveries += [(ident, event) for event in self.pending_events.pop(ident, [])]
        for (wf, instance_id), (event_type, payload) in deliveries:
            await self.engine.send_event(wf, instance_id, event_type, payload)

    # -- wrapping one run of run() --

    def instrument(self, inst: LoadedInstance, execution: Execution) -> None:
        ident: Ident = (inst.row.workflow, inst.row.id)
        trace = self.trace(ident)
        trace.runs += 1
        clock = self.clock
        real_do, real_sleep, real_wait = (
            execution.do,
            execution.sleep,
            execution.wait_for_event,
        )

        def upcoming(kind: str, name: Any) -> CacheKey | None:
            # The engine numbers occurrences synchronously at the top of the call, so the key
            # computed here, just before delegating, is the one it will use.
            if not isinstance(name, str):
                return None
            return (kind, name, execution.counters.get((kind, name), 0) + 1)

        async def do(name: Any, config: Any, invoke: Callable[[JsDict], Awaitable[Any]]) -> Any:
            key = upcoming("step", name)
            if key is None:
                return await real_do(name, config, invoke)
            step_key: StepKey = (key[1], key[2])

            async def attempt(ctx: JsDict) -> Any:
                number = int(ctx["attempt"])
                mods = self.mods.get(ident)
                action = mods.action(step_key, number) if mods is not None else None
                record = trace.start_attempt(key[1], key[2], number, clock.now_ms())
                record.mocked = action.kind if action is not None else None
                self.signal.notify()
                try:
                    if action is None:
                        result = await invoke(ctx)
                    elif action.kind == "error":
                        assert action.error is not None
                        raise make_error(action.error)
                    elif action.kind == "timeout":
                        timeout_ms = parse_duration(ctx["config"]["timeout"])
                        raise WorkflowTimeoutError(f"Execution timed out after {timeout_ms}ms")
                    else:
                        result = action.value
                    # The engine makes the same check next; making it here lets the trace
                    # record an unserialisable output as the failed attempt it is.
                    encode(result, what=f'Step "{key[1]}-{key[2]}" output')
                except Exception as exc:
                    outcome = "timeout" if isinstance(exc, WorkflowTimeoutError) else "error"
                    trace.end_attempt(record, outcome, clock.now_ms(), error_dict(exc))
                    raise
                except BaseException:  # cancelled: a timeout, a terminate or a shutdown
                    trace.end_attempt(record, "interrupted", clock.now_ms())
                    raise
                trace.end_attempt(record, "success", clock.now_ms())
                return result

            token = _BLOCKING.set(key)
            try:
                value = await real_do(name, config, attempt)
            except Exception as exc:
                row = execution.cache.get(key)
                if row is not None and row.status == "errored" and row.error is not None:
                    self.record_result(ident, step_key, "error", row.error)
                if isinstance(exc, WorkflowTimeoutError):
                    trace.step_timed_out(key[1], key[2])
                raise
            finally:
                _BLOCKING.reset(token)
            self.record_result(ident, step_key, "ok", encode(value))
            return value

        async def sleep(name: Any, duration: Any) -> None:
            key = upcoming("sleep", name)
            if key is None:
                return await real_sleep(name, duration)
            record = None
            cached = execution.cache.get(key)
            if cached is None or cached.status != "complete":
                record = next(
                    (
                        s
                        for s in trace.sleeps
                        if (s.name, s.index) == key[1:] and s.ended_ms is None
                    ),
                    None,
                ) or _append(trace.sleeps, SleepRecord(key[1], key[2], clock.now_ms()))
            token = _BLOCKING.set(key)
            try:
                await real_sleep(name, duration)
            finally:
                _BLOCKING.reset(token)
            if record is not None:
                record.ended_ms = clock.now_ms()
                self.signal.notify()

        async def wait_for_event(name: Any, event_type: Any, timeout: Any) -> Any:
            key = upcoming("waitForEvent", name)
            if key is None:
                return await real_wait(name, event_type, timeout)
            cached = execution.cache.get(key)
            fresh = cached is None or cached.status not in ("complete", "errored")
            mods = self.mods.get(ident)
            forced = fresh and mods is not None and mods.event_timeout_forced((key[1], key[2]))
            record = None
            if fresh:
                record = next(
                    (e for e in trace.events if (e.name, e.index) == key[1:] and e.outcome is None),
                    None,
                ) or _append(
                    trace.events,
                    EventWaitRecord(key[1], key[2], str(event_type), clock.now_ms()),
                )
                record.forced_timeout = bool(forced)
            # A forced timeout wins over an event already buffered, as in JavaScript: hide those
            # events from this wait, and hand them back (in arrival order) afterwards.
            hidden = [e for e in execution.buffered if e.type == event_type] if forced else []
            for event in hidden:
                execution.buffered.remove(event)
            token = _BLOCKING.set(key)
            try:
                result = await real_wait(name, event_type, timeout)
            except WorkflowTimeoutError:
                if record is not None:
                    record.outcome, record.ended_ms = "timeout", clock.now_ms()
                raise
            finally:
                _BLOCKING.reset(token)
                execution.buffered[:0] = hidden
                self.signal.notify()
            if record is not None:
                record.outcome, record.ended_ms = "received", clock.now_ms()
                record.payload = result.get("payload") if isinstance(result, dict) else None
            return result

        # Instance attributes shadow the methods: WorkflowStep (and sleep_until, which calls
        # self.sleep) go through the wrappers, the engine's own code is untouched.
        execution.do = do  # type: ignore[method-assign]
        execution.sleep = sleep  # type: ignore[method-assign]
        execution.wait_for_event = wait_for_event  # type: ignore[method-assign]

    # -- waiting on the virtual clock --

    def skip_wait(
        self, inst: LoadedInstance, key: CacheKey | None, deadline_ms: int, probe: bool = False
    ) -> bool:
        """True when a modifier says this wait does not happen. `probe` only asks: a forced
        event timeout is then applied by the `block()` the woken wait makes next."""
        ident: Ident = (inst.row.workflow, inst.row.id)
        if key is None:
            return False
        kind, name, index = key
        if kind == "sleep" and not probe:
            for record in self.trace(ident).sleeps:
                if (record.name, record.index) == (name, index) and record.ended_ms is None:
                    record.deadline_ms = deadline_ms
        mods = self.mods.get(ident)
        if mods is None:
            return False
        if kind == "sleep" and mods.sleep_disabled((name, index)):
            for record in self.trace(ident).sleeps:
                if (record.name, record.index) == (name, index):
                    record.disabled = True
            return True
        if kind == "step" and mods.retry_delay_disabled((name, index)):
            return True
        if kind == "waitForEvent" and mods.event_timeout_forced((name, index)):
            if probe:
                return True
            execution = inst.execution
            row = execution.cache.get(key) if execution is not None else None
            if row is not None and row.wake_ms is not None:
                # The engine times the wait out once its deadline has passed; moving the
                # deadline to now (keeping its length for the message) does exactly that.
                now = self.clock.now_ms()
                length = row.wake_ms - row.started_ms
                row.started_ms, row.wake_ms = now - length, now
                return True
        return False

    def rewake(self, ident: Ident) -> None:
        """Called after a modification: if the instance waits on something that is now
        disabled (a sleep, a retry delay) or forced (an event timeout), stop that wait."""
        assert self.engine is not None
        blocked = self.blocked.get(ident)
        inst = self.engine._by_key.get(ident)
        if blocked is None or blocked[0] is None or inst is None or inst.execution is None:
            return
        key = blocked[0]
        if self.skip_wait(inst, key, blocked[1], probe=True):
            waiter = inst.waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)  # block() goes on as if the deadline had passed

    def busy(self) -> list[str]:
        """Instances still doing something that is not waiting on the clock or an event."""
        assert self.engine is not None
        found = []
        for inst in self.engine.loaded.values():
            if inst.task is None or inst.task.done():
                continue
            if inst.waiter is not None and not inst.waiter.done():
                continue
            found.append(f"{inst.row.workflow}/{inst.row.id} ({inst.row.status})")
        return found

    async def settle(self, timeout: float) -> None:
        """Let every instance run until it waits on the clock or an event, or finishes."""
        assert self.engine is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idle = spins = 0
        while idle < 3:  # a few idle passes: a finishing task may still schedule callbacks
            spins += 1
            await asyncio.sleep(0 if spins < 200 else 0.002)
            busy = self.busy()
            idle = 0 if busy else idle + 1
            if busy and loop.time() > deadline:
                raise TimeoutError(
                    f"Instances still running after {timeout:g}s (a step doing real work, or "
                    f"stuck): {', '.join(busy)}"
                )
        await self.engine.store.flush()

    async def advance(self, duration: Any, timeout: float) -> int:
        """Move the clock by `duration`, firing what comes due in deadline order; see DurableEnv."""
        length = VirtualClock.milliseconds(duration)
        await self.settle(timeout)
        target = max(self.clock.now_ms(), wall_ms()) + length
        fired = 0
        while (due := self.clock.next_deadline()) is not None and due <= target:
            fired += self.clock.move_to(due)
            await self.settle(timeout)
        fired += self.clock.move_to(target)
        await self.settle(timeout)
        return fired

    def describe_wait(self, ident: Ident) -> str:
        """Why an instance is not moving, with the way out, for timeout messages."""
        blocked = self.blocked.get(ident)
        if blocked is None:
            return ""
        key, deadline, event_type = blocked
        due = f"{(deadline - self.clock.now_ms()) / 1000:g}s of virtual time from now"
        if event_type is not None:
            return (
                f"; it waits for an event of type {event_type!r} (times out {due}): send it, "
                "mock_event() it, or durable_env.advance() past the timeout"
            )
        retry = key is not None and key[0] == "step"
        what, modifier = (
            ("a retry back-off", "disable_retry_delays()")
            if retry
            else ("a sleep", "disable_sleeps()")
        )
        name = f" of {key[1]!r}" if key is not None else ""
        return f"; it waits on {what}{name} due {due}: call durable_env.advance(...) or {modifier}"


def _append(items: list[Any], item: Any) -> Any:
    items.append(item)
    return item


class HarnessEngine(Engine):
    """The engine with a virtual clock, step modifiers and a trace (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        definitions: dict[str, WorkflowDefinition],
        *,
        harness: Harness,
        env: Any = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(store, definitions, env=env, limits=limits or HARNESS_LIMITS)
        self.harness = harness
        harness.engine = self

    async def _call_run(self, inst: LoadedInstance, execution: Execution) -> Any:
        self.harness.instrument(inst, execution)
        return await super()._call_run(inst, execution)

    async def block(self, inst: LoadedInstance, deadline_ms: int, event_type: str | None) -> None:
        """Engine.block with the virtual clock instead of real timeouts and parking; keep the
        two in step (statuses, slot release, pause handling)."""
        execution = inst.execution
        assert execution is not None
        if event_type is not None and execution.has_buffered(event_type):
            return
        harness = self.harness
        key = _BLOCKING.get()
        if harness.skip_wait(inst, key, deadline_ms):
            return
        row = inst.row
        ident: Ident = (row.workflow, row.id)
        self._release(inst)
        row.wake_ms, row.waiting_for = deadline_ms, event_type
        self._set_status(row, "waiting")
        if deadline_ms > harness.clock.now_ms():
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            inst.waiter, inst.waiter_type = future, event_type
            harness.clock.wake_at(deadline_ms, future)
            harness.blocked[ident] = (key, deadline_ms, event_type)
            try:
                await future
            except Park:
                if inst.pause_requested:
                    self.park_paused(inst)
                raise
            finally:
                inst.waiter = inst.waiter_type = None
                harness.blocked.pop(ident, None)
                if not future.done():
                    future.cancel()  # the clock drops timers whose waiter is gone
        if self.draining:
            raise Park()
        await self._acquire(inst)
        row.wake_ms = row.waiting_for = None
        self._set_status(row, "running")

    async def create_batch(
        self,
        workflow: str,
        items: list[tuple[str | None, Any]],
        *,
        trigger: str = "api",
        skip_existing: bool = True,
    ) -> list[InstanceRow]:
        rows = await super().create_batch(
            workflow, items, trigger=trigger, skip_existing=skip_existing
        )
        await self.harness.created(workflow, rows)
        return rows

    async def restart(
        self, workflow: str, instance_id: str, from_step: dict[str, Any] | None = None
    ) -> None:
        # Step results are collected again as the restarted run goes (kept steps replay).
        self.harness.results.pop((workflow, instance_id), None)
        await super().restart(workflow, instance_id, from_step)

    def _set_status(self, row: InstanceRow, status: str) -> None:
        super()._set_status(row, status)
        self.harness.signal.notify()

    async def _finish(
        self,
        inst: LoadedInstance,
        status: str,
        *,
        output: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        await super()._finish(inst, status, output=output, error=error)
        self.harness.signal.notify()
