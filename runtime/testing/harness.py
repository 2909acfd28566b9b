"""The engine as the test harness runs it: the production engine, given a virtual clock and hooks.

`Harness` is the engine's `EngineHooks` (see `durable.runtime.engine.hooks`):

* its observation hooks record the trace (attempts, sleeps, event waits, runs), collect step
  results, and wake whoever waits for a status or a result;
* its seam applies the modifiers: `run_attempt()` replaces a mocked attempt's callback,
  `skip_wait()` ends a disabled sleep or retry delay at once and times a forced event wait out.

`HarnessEngine` is the ordinary `Engine` built with the harness's `VirtualClock` and hooks; it
overrides only `create_batch()` (to apply an active `introspect_workflow` session to new
instances) and `restart()` (to forget the step results of the run before).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from durable.runtime.durations import parse_duration
from durable.runtime.engine.clock import Clock
from durable.runtime.engine.hooks import EngineHooks
from durable.runtime.engine.hooks import StepKey as CacheKey
from durable.runtime.engine.scheduler import Engine
from durable.runtime.engine.serialization import decode
from durable.runtime.engine.state import Limits, LoadedInstance, WorkflowDefinition
from durable.runtime.engine.store import InstanceRow, StepRow, Store
from durable.runtime.errors import WorkflowTimeoutError
from durable.runtime.states import StepState
from durable.runtime.worker.jsdict import JsDict

from .clock import VirtualClock, wall_ms
from .modifier import InstanceMods, StepKey, apply_operation, make_error
from .trace import AttemptRecord, EventWaitRecord, SleepRecord, Trace

if TYPE_CHECKING:
    from .introspection import WorkflowIntrospector

Ident = tuple[str, str]  # (workflow, instance id)

# Nothing parks: a parked instance is replayed when it wakes, which would make a trace count
# runs of run() that a test did not cause. wait_for_event keeps production's 1-second minimum.
HARNESS_LIMITS = Limits(max_concurrency=1000, park_after_ms=2**62, min_event_timeout_ms=1000)


class Signal:
    """Wakes every waiter when anything observable changed (a status, a step result)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event


class Harness(EngineHooks):
    """Test-only state next to the engine: modifiers, traces, step results, the clock; the
    engine's hooks (see the module docstring)."""

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
        self._attempts: dict[tuple[Ident, CacheKey], AttemptRecord] = {}

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

    # -- the engine's hooks: the trace --

    def run_started(self, inst: LoadedInstance) -> None:
        self.trace(_ident(inst)).runs += 1

    def status_changed(self, row: InstanceRow) -> None:
        self.signal.notify()

    async def step_reached(self, inst: LoadedInstance, key: CacheKey) -> None:
        """Open the trace record of a sleep or an event wait that is not served from the cache
        (or continue the one a run that stopped while it waited left open)."""
        kind, name, index = key
        if kind == "step":
            return
        execution = inst.execution
        cached = execution.cache.get(key) if execution is not None else None
        trace = self.trace(_ident(inst))
        now = self.clock.now_ms()
        if kind == "sleep":
            if cached is None or cached.status != StepState.COMPLETE:
                if not any(s.ended_ms is None for s in _sleeps_at(trace, name, index)):
                    trace.sleeps.append(SleepRecord(name, index, now))
            return
        if cached is not None and cached.status in (StepState.COMPLETE, StepState.ERRORED):
            return
        record = _open_event_wait(trace, name, index)
        if record is None:
            # The type is filled in by skip_wait(), which the engine asks once the row exists.
            event_type = cached.event_type if cached is not None else None
            record = EventWaitRecord(name, index, event_type or "", now)
            trace.events.append(record)
        mods = self.mods.get(_ident(inst))
        record.forced_timeout = mods is not None and mods.event_timeout_forced((name, index))

    def attempt_started(self, inst: LoadedInstance, key: CacheKey, attempt: int) -> None:
        ident = _ident(inst)
        record = self.trace(ident).start_attempt(key[1], key[2], attempt, self.clock.now_ms())
        self._attempts[(ident, key)] = record
        self.signal.notify()

    def attempt_finished(
        self,
        inst: LoadedInstance,
        key: CacheKey,
        attempt: int,
        outcome: str,
        error: dict[str, str] | None,
    ) -> None:
        ident = _ident(inst)
        record = self._attempts.pop((ident, key), None)
        if record is not None:
            self.trace(ident).end_attempt(record, outcome, self.clock.now_ms(), error)

    def wait_began(
        self,
        inst: LoadedInstance,
        key: CacheKey,
        kind: str,
        deadline_ms: int,
        event_type: str | None,
    ) -> None:
        self.blocked[_ident(inst)] = (key, deadline_ms, event_type)

    def wait_ended(self, inst: LoadedInstance, key: CacheKey) -> None:
        self.blocked.pop(_ident(inst), None)

    def step_ended(self, inst: LoadedInstance, key: CacheKey, row: StepRow) -> None:
        ident = _ident(inst)
        kind, name, index = key
        trace = self.trace(ident)
        now = self.clock.now_ms()
        if kind == "step":
            if row.status == StepState.COMPLETE:
                self.record_result(ident, (name, index), "ok", row.output or "null")
            elif row.error is not None:
                if json.loads(row.error).get("name") == "WorkflowTimeoutError":
                    trace.step_timed_out(name, index)
                self.record_result(ident, (name, index), "error", row.error)
            return
        if kind == "sleep":
            for record in _sleeps_at(trace, name, index):
                if record.ended_ms is None:
                    record.ended_ms = now
            self.signal.notify()
            return
        event = _open_event_wait(trace, name, index)
        if event is not None:
            if row.status == StepState.COMPLETE:
                event.outcome, event.ended_ms = "received", now
                output = decode(row.output)
                event.payload = output.get("payload") if isinstance(output, dict) else None
            else:
                event.outcome, event.ended_ms = "timeout", now
        self.signal.notify()

    # -- the engine's seam: modifiers --

    async def run_attempt(
        self,
        inst: LoadedInstance,
        key: CacheKey,
        ctx: JsDict,
        invoke: Callable[[JsDict], Awaitable[Any]],
    ) -> Any:
        ident = _ident(inst)
        mods = self.mods.get(ident)
        action = mods.action((key[1], key[2]), int(ctx["attempt"])) if mods is not None else None
        if action is None:
            return await invoke(ctx)
        record = self._attempts.get((ident, key))
        if record is not None:
            record.mocked = action.kind
        if action.kind == "error":
            assert action.error is not None
            raise make_error(action.error)
        if action.kind == "timeout":
            timeout_ms = parse_duration(ctx["config"]["timeout"])
            raise WorkflowTimeoutError(f"Execution timed out after {timeout_ms}ms")
        return action.value

    def skip_wait(self, inst: LoadedInstance, key: CacheKey, deadline_ms: int) -> bool:
        """True when a modifier says this wait does not happen (see `EngineHooks.skip_wait`)."""
        ident = _ident(inst)
        kind, name, index = key
        if kind == "sleep":
            for record in _sleeps_at(self.trace(ident), name, index):
                if record.ended_ms is None:
                    record.deadline_ms = deadline_ms
        elif kind == "waitForEvent":
            event = _open_event_wait(self.trace(ident), name, index)
            row = inst.execution.cache.get(key) if inst.execution is not None else None
            if event is not None and not event.event_type and row is not None:
                event.event_type = row.event_type or ""
        mods = self.mods.get(ident)
        if mods is None:
            return False
        if kind == "sleep" and mods.sleep_disabled((name, index)):
            for record in _sleeps_at(self.trace(ident), name, index):
                record.disabled = True
            return True
        if kind == "step":
            return mods.retry_delay_disabled((name, index))
        return kind == "waitForEvent" and mods.event_timeout_forced((name, index))

    def rewake(self, ident: Ident) -> None:
        """Called after a modification: if the instance waits on something that is now
        disabled (a sleep, a retry delay) or forced (an event timeout), stop that wait."""
        assert self.engine is not None
        blocked = self.blocked.get(ident)
        inst = self.engine._by_key.get(ident)
        if blocked is None or blocked[0] is None or inst is None or inst.execution is None:
            return
        if self.skip_wait(inst, blocked[0], blocked[1]):
            waiter = inst.waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)  # the engine asks skip_wait again, and stops waiting

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


def _ident(inst: LoadedInstance) -> Ident:
    return (inst.row.workflow, inst.row.id)


def _sleeps_at(trace: Trace, name: str, index: int) -> list[SleepRecord]:
    return [s for s in trace.sleeps if (s.name, s.index) == (name, index)]


def _open_event_wait(trace: Trace, name: str, index: int) -> EventWaitRecord | None:
    return next(
        (e for e in trace.events if (e.name, e.index) == (name, index) and e.outcome is None),
        None,
    )


class HarnessEngine(Engine):
    """The engine with the harness's virtual clock and hooks (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        definitions: dict[str, WorkflowDefinition],
        *,
        harness: Harness,
        env: Any = None,
        limits: Limits | None = None,
        clock: Clock | None = None,
    ) -> None:
        # `clock` is what open_runtime passes: the harness's, which the engine must read.
        assert clock is None or clock is harness.clock
        super().__init__(
            store,
            definitions,
            env=env,
            limits=limits or HARNESS_LIMITS,
            clock=harness.clock,
            hooks=harness,
        )
        self.harness = harness
        harness.engine = self

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
