"""The engine: schedules instances, runs them by replay, and carries out lifecycle requests.

Every instance that is not finished is either *loaded* (an asyncio task running or replaying its
`run()`), *parked* (out of memory, its next deadline in a timer heap, woken by that deadline or
by an event), *paused*, or *queued* behind the concurrency limit. Only running instances hold
one of the `max_concurrency` slots: sleeping and waiting ones give theirs back.

The engine is the only writer of instance state in its process; everything durable goes through
the store's group-commit writer. It reads the time from the `Clock` it is given (real in
`durable dev`, virtual in `durable.testing`), and reports to the `EngineHooks` it is given, if any.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
from datetime import UTC, datetime
from typing import Any

from durable.runtime.errors import (
    InstanceNotFoundError,
    WorkflowFatalError,
    WorkflowNotFoundError,
)
from durable.runtime.rules import (
    check_creates,
    instance_exists,
    validate_event_type,
)
from durable.runtime.states import CancelReason, InstanceStatus
from durable.runtime.worker.entrypoints import ExecutionContext, NonRetryableError
from durable.runtime.worker.jsdict import JsDict

from . import lifecycle
from .clock import Clock, WallClock, sleep_until
from .execution import NRE_FATAL_MESSAGE, Execution, Park, error_dict
from .hooks import WAIT_KINDS, EngineHooks, StepKey
from .serialization import decode, encode, encode_input
from .state import Limits, LoadedInstance, WakingInstance, WorkflowDefinition
from .step import WorkflowStep
from .store import EventRow, InstanceRow, StepRow, Store

log = logging.getLogger("durable.engine")


def _encode_params(params: Any) -> str:
    return encode_input(params, what="params")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Engine:
    def __init__(
        self,
        store: Store,
        definitions: dict[str, WorkflowDefinition],
        *,
        env: Any = None,
        limits: Limits | None = None,
        clock: Clock | None = None,
        hooks: EngineHooks | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock if clock is not None else WallClock()
        self.now_ms = self.clock.now_ms
        self.hooks = hooks
        self.definitions = definitions
        self.env = env
        self.limits = limits or Limits()
        self.loaded: dict[int, LoadedInstance] = {}
        self._by_key: dict[tuple[str, str], LoadedInstance] = {}
        self._creating: set[tuple[str, str]] = set()
        self._parked: dict[int, tuple[int, str | None]] = {}
        # Out of `_parked`, not yet loaded. A lifecycle request removes an instance from here,
        # and the wake that is reading its rows then leaves it alone.
        self._waking: dict[int, WakingInstance] = {}
        # `delete_all` counts up when it starts and when it ends: a wake whose read overlapped
        # one may hold rows deleted since, and reads them again instead of replaying them.
        self._deletions = 0
        self._deleting = 0
        self._timers: list[tuple[int, int]] = []
        # Resolved when a deadline earlier than the one the timer loop waits for is parked.
        self._timers_changed: asyncio.Future[None] | None = None
        self._slots = asyncio.Semaphore(self.limits.max_concurrency)
        self._next_pk = 0
        self._next_event_seq = 0
        self._timer_task: asyncio.Task[None] | None = None
        self._waiting_in_memory = 0
        self.draining = False
        self.finished = asyncio.Condition()

    # -- start and stop --

    async def start(self, *, resume: bool = True) -> None:
        """Open for business; with `resume`, pick up every unfinished instance."""
        self._next_pk = await self.store.max_instance_pk()
        self._next_event_seq = await self.store.max_event_seq()
        await self.store.upsert_workflows(
            ((d.name, d.class_name, d.script_name) for d in self.definitions.values()),
            stamp_ms=self.now_ms(),
        )
        if resume:
            await self._resume_unfinished()
        self._timer_task = asyncio.create_task(self._timer_loop(), name="durable-timers")

    async def stop(self, grace: float = 0.0) -> None:
        """Stop running instances; they resume from their last completed step on next start.

        With `grace`, steps already running get that many seconds to finish and be recorded.
        """
        self.draining = True
        if self._timer_task is not None:
            self._timer_task.cancel()
        tasks = [inst.task for inst in self.loaded.values() if inst.task is not None]
        if grace > 0 and tasks:
            for inst in self.loaded.values():
                if inst.waiter is not None and not inst.waiter.done():
                    inst.waiter.set_exception(Park())
            await asyncio.wait(tasks, timeout=grace)
        for inst in list(self.loaded.values()):
            if inst.task is not None and not inst.task.done():
                inst.cancel_reason = CancelReason.SHUTDOWN
                inst.task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.store.flush()

    async def _resume_unfinished(self) -> None:
        horizon = self.now_ms() + self.limits.park_after_ms
        for row in await self.store.unfinished_instances():
            definition = self.definitions.get(row.workflow)
            if definition is None or definition.cls is None:
                log.warning(
                    "instance %s of unknown workflow %s left as it is", row.id, row.workflow
                )
                continue
            if row.status == InstanceStatus.WAITING_FOR_PAUSE:
                lifecycle.settle_stopped(self.store, row, self.now_ms())
            elif (
                row.status == InstanceStatus.WAITING
                and (row.wake_ms or 0) > horizon
                and not (row.waiting_for and await self._has_pending_event(row.pk, row.waiting_for))
            ):
                self._park_row(row)
            elif row.status != InstanceStatus.PAUSED:
                self._launch(LoadedInstance(row, definition), fresh=False)

    async def _has_pending_event(self, pk: int, event_type: str) -> bool:
        return any(e.type == event_type for e in await self.store.events_of(pk, pending_only=True))

    # -- lookups --

    def definition(self, workflow: str) -> WorkflowDefinition:
        try:
            return self.definitions[workflow]
        except KeyError:
            raise WorkflowNotFoundError(workflow, sorted(self.definitions)) from None

    async def get_row(self, workflow: str, instance_id: str) -> InstanceRow:
        self.definition(workflow)
        inst = self._by_key.get((workflow, instance_id))
        if inst is not None:
            return inst.row
        # An instance that left memory a moment ago (parked, paused, finished) may still have
        # its last status queued: reads go to another connection, so commit it first, or a
        # pause, resume or terminate would act on the status before.
        await self.store.flush()
        inst = self._by_key.get((workflow, instance_id))
        if inst is not None:
            return inst.row
        row = await self.store.get_instance(workflow, instance_id)
        if row is None:
            raise InstanceNotFoundError(workflow, instance_id)
        return row

    async def status(self, workflow: str, instance_id: str) -> JsDict:
        """`{status, error, output}`: both keys always there, None until set (wrangler's engine
        answers `output: null` while running)."""
        row = await self.get_row(workflow, instance_id)
        return JsDict(
            status=row.status,
            error=decode(row.error) if row.error is not None else None,
            output=decode(row.output) if row.status == InstanceStatus.COMPLETE else None,
        )

    # -- creating --

    async def create(
        self,
        workflow: str,
        instance_id: str | None = None,
        params: Any = None,
        *,
        trigger: str = "api",
    ) -> InstanceRow:
        rows = await self.create_batch(
            workflow, [(instance_id, params)], trigger=trigger, skip_existing=False
        )
        return rows[0]

    async def create_batch(
        self,
        workflow: str,
        items: list[tuple[str | None, Any]],
        *,
        trigger: str = "api",
        skip_existing: bool = True,
    ) -> list[InstanceRow]:
        """Create instances; with `skip_existing`, ids that exist already are left out."""
        definition = self.definition(workflow)
        chosen: list[tuple[str, str]] = []
        for request in check_creates(
            workflow, items, encode_params=_encode_params, skip_existing=skip_existing
        ):
            key = (workflow, request.id)
            exists = key in self._by_key or key in self._creating
            if not exists and not request.generated:  # a fresh UUID cannot collide
                exists = await self.store.get_instance(workflow, request.id) is not None
            if exists:
                if not skip_existing:
                    raise instance_exists(workflow, request.id)
                continue
            chosen.append((request.id, request.encoded))
        stamp = self.now_ms()
        rows: list[InstanceRow] = []
        for instance_id, encoded in chosen:
            self._next_pk += 1
            row = InstanceRow(
                pk=self._next_pk,
                workflow=workflow,
                id=instance_id,
                status=InstanceStatus.QUEUED,
                params=encoded,
                output=None,
                error=None,
                trigger=trigger,
                created_ms=stamp,
                started_ms=None,
                ended_ms=None,
                modified_ms=stamp,
            )
            rows.append(row)
            self._creating.add((workflow, instance_id))
            self.store.put_instance(row)
        try:
            await self.store.flush()
        finally:
            for row in rows:
                self._creating.discard((workflow, row.id))
        for row in rows:
            self._launch(LoadedInstance(row, definition), fresh=True)
        return rows

    # -- running --

    def _launch(self, inst: LoadedInstance, *, fresh: bool) -> None:
        if inst.definition.cls is None:
            return  # defined by another Worker: recorded here, run there
        self.loaded[inst.row.pk] = inst
        self._by_key[(inst.row.workflow, inst.row.id)] = inst
        self._unpark(inst.row.pk)
        inst.task = asyncio.create_task(self._run(inst, fresh), name=f"instance-{inst.row.id}")

    async def _acquire(self, inst: LoadedInstance) -> None:
        if inst.holds_slot:
            return
        if self._slots.locked() and inst.row.status != InstanceStatus.QUEUED:
            self._set_status(inst.row, InstanceStatus.QUEUED)
        await self._slots.acquire()
        inst.holds_slot = True

    def _release(self, inst: LoadedInstance) -> None:
        if inst.holds_slot:
            inst.holds_slot = False
            self._slots.release()

    def _set_status(self, row: InstanceRow, status: str) -> None:
        row.status, row.modified_ms = status, self.now_ms()
        self.store.put_instance(row)
        self._status_changed(row)

    def _status_changed(self, row: InstanceRow) -> None:
        if self.hooks is not None:
            self.hooks.status_changed(row)

    async def _run(self, inst: LoadedInstance, fresh: bool) -> None:
        inst.started = True
        row = inst.row
        execution: Execution | None = None
        try:
            await self._acquire(inst)
            steps, buffered = await self._replay_state(inst, fresh)
            known = {e.seq for e in buffered}
            buffered += [e for e in inst.early_events if e.seq not in known]
            inst.early_events.clear()
            execution = inst.execution = Execution(self, inst, steps, buffered, self.hooks)
            if self.hooks is not None:
                self.hooks.run_started(inst)
            if row.started_ms is None:
                row.started_ms = self.now_ms()
            row.wake_ms = row.waiting_for = None
            self._set_status(row, InstanceStatus.RUNNING)
            result = await self._call_run(inst, execution)
            if execution.parked:  # run() caught Park and went on: what it did next is void
                raise Park()
            if execution.fatal is not None:
                raise execution.fatal
            output = encode(result, what="The output of run()")
        except Park:
            return
        except asyncio.CancelledError:
            await self._cancelled(inst)
            return
        except Exception as exc:  # noqa: BLE001 - an uncaught error ends the instance
            if execution is not None and execution.parked:
                return
            await self._finish(inst, InstanceStatus.ERRORED, error=self._run_error(inst, exc))
            return
        finally:
            self._release(inst)
            inst.execution = None
        await self._finish(inst, InstanceStatus.COMPLETE, output=output)

    async def _replay_state(
        self, inst: LoadedInstance, fresh: bool
    ) -> tuple[list[StepRow], list[EventRow]]:
        if fresh:
            return [], []
        if inst.replay is not None:
            state, inst.replay = inst.replay, None
            return state.steps, state.events
        await self.store.flush()  # reads go to another connection: see queued writes
        pk = inst.row.pk
        return await self.store.steps_of(pk), await self.store.events_of(pk, pending_only=True)

    async def _call_run(self, inst: LoadedInstance, execution: Execution) -> Any:
        definition = inst.definition
        assert definition.cls is not None
        workflow = definition.cls(ExecutionContext(), self.env)
        row = inst.row
        event = JsDict(
            payload=decode(row.params),
            timestamp=datetime.fromtimestamp(row.created_ms / 1000, UTC).replace(tzinfo=None),
            instanceId=row.id,
            workflowName=row.workflow,
        )
        step = WorkflowStep(execution, implicit_dependencies=definition.implicit_dependencies)
        result = workflow.run(event, step)
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        for missed in step.unawaited():
            log.warning(
                'Workflow "%s", instance "%s": step "%s" was called but never awaited, so it '
                'did not run. Write "await %s()" in run().',
                row.workflow,
                row.id,
                missed._step_name,
                missed.function_name,
            )
        return result

    def _run_error(self, inst: LoadedInstance, exc: Exception) -> dict[str, str]:
        if (
            isinstance(exc, NonRetryableError)
            and not inst.definition.preserve_non_retryable_message
        ):
            return {"name": "WorkflowFatalError", "message": NRE_FATAL_MESSAGE}
        if isinstance(exc, WorkflowFatalError):
            return {"name": "WorkflowFatalError", "message": str(exc)}
        return error_dict(exc)

    async def _finish(
        self,
        inst: LoadedInstance,
        status: str,
        *,
        output: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        row = inst.row
        row.output = output
        row.error = json.dumps(error) if error is not None else None
        row.ended_ms = self.now_ms()
        row.wake_ms = row.waiting_for = None
        row.status, row.modified_ms = status, row.ended_ms
        self._unload(inst)
        await self.store.save_instance(row)
        if self.hooks is not None:
            self.hooks.status_changed(row)
        async with self.finished:
            self.finished.notify_all()

    def _unload(self, inst: LoadedInstance) -> None:
        if self.loaded.get(inst.row.pk) is inst:
            del self.loaded[inst.row.pk]
            self._by_key.pop((inst.row.workflow, inst.row.id), None)

    async def _cancelled(self, inst: LoadedInstance) -> None:
        reason, inst.cancel_reason = inst.cancel_reason, None
        if reason == CancelReason.PAUSE:
            self.park_paused(inst)
        elif reason == CancelReason.TERMINATE:
            await self._finish(inst, InstanceStatus.TERMINATED)
        else:  # shutdown, restart, delete: the caller decides what happens next
            self._unload(inst)

    # -- waiting and parking --

    @property
    def _lead_ms(self) -> int:
        return min(self.limits.wake_lead_ms, self.limits.park_after_ms)

    async def block(
        self, inst: LoadedInstance, key: StepKey, deadline_ms: int, event_type: str | None
    ) -> None:
        """Called by step `key` waiting for a deadline or an event: wait in memory or park.

        Returns once the deadline has passed (never before), an event of `event_type` came,
        or the execution's hooks skip the wait.
        """
        execution = inst.execution
        assert execution is not None
        if event_type is not None and execution.has_buffered(event_type):
            return
        hooks = execution.hooks
        if hooks is not None and hooks.skip_wait(inst, key, deadline_ms):
            return
        row = inst.row
        self._release(inst)
        row.wake_ms, row.waiting_for = deadline_ms, event_type
        self._set_status(row, InstanceStatus.WAITING)
        if deadline_ms - self.now_ms() > 0:
            if hooks is None:
                await self._wait_in_memory(inst, execution, key, deadline_ms, event_type)
            else:
                hooks.wait_began(inst, key, WAIT_KINDS[key[0]], deadline_ms, event_type)
                try:
                    await self._wait_in_memory(inst, execution, key, deadline_ms, event_type)
                finally:
                    hooks.wait_ended(inst, key)
        if self.draining:
            raise Park()
        await self._acquire(inst)
        row.wake_ms = row.waiting_for = None
        self._set_status(row, InstanceStatus.RUNNING)

    async def _wait_in_memory(
        self,
        inst: LoadedInstance,
        execution: Execution,
        key: StepKey,
        deadline_ms: int,
        event_type: str | None,
    ) -> None:
        """Wait for the deadline or the event; park (raise Park) if they are too far off."""
        limits, lead = self.limits, self._lead_ms
        now = self.now_ms()
        remaining = deadline_ms - now
        if remaining > lead and (
            self._waiting_in_memory >= limits.max_waiting_in_memory
            or (event_type is None and remaining > limits.park_after_ms)
        ):
            self._park(inst)
        park_at = now + limits.park_after_ms
        parking = False
        loop = asyncio.get_running_loop()
        wake_at, hooks = self.clock.wake_at, execution.hooks
        self._waiting_in_memory += 1
        try:
            # A timer may end a little before the deadline (now_ms() truncates, and the loop's
            # clock is not the wall clock): wait again for what is left rather than park.
            while remaining > 0:
                wait_ms = remaining
                if remaining > lead:
                    if now >= park_at:
                        parking = True
                        break
                    wait_ms = min(remaining, park_at - now)
                future: asyncio.Future[None] = loop.create_future()
                inst.waiter, inst.waiter_type = future, event_type
                timer = wake_at(now + wait_ms, future)
                try:
                    await future
                finally:
                    timer.cancel()
                if event_type is not None and execution.has_buffered(event_type):
                    return
                if hooks is not None and hooks.skip_wait(inst, key, deadline_ms):
                    return  # woken early by a hook that now skips this wait
                now = self.now_ms()
                remaining = deadline_ms - now
        except Park:
            if inst.pause_requested:
                self.park_paused(inst)
            raise
        finally:
            inst.waiter = inst.waiter_type = None
            self._waiting_in_memory -= 1
        if parking:
            self._park(inst)

    def _park(self, inst: LoadedInstance) -> None:
        """Take `inst` out of memory until its deadline or its event; unwinds its `run()`."""
        self._unload(inst)
        self._park_row(inst.row)
        raise Park()

    def _park_row(self, row: InstanceRow) -> None:
        assert row.wake_ms is not None
        self._park_pk(row.pk, row.wake_ms, row.waiting_for)

    def _park_pk(self, pk: int, wake_ms: int, waiting_for: str | None) -> None:
        self._parked[pk] = (wake_ms, waiting_for)
        heapq.heappush(self._timers, (wake_ms, pk))
        if self._timers[0][1] == pk and self._timers_changed is not None:
            _resolve(self._timers_changed)

    def park_paused(self, inst: LoadedInstance) -> None:
        """Record that `inst` reached a step boundary with a pause pending."""
        inst.pause_requested = False
        inst.row.paused_ms = self.now_ms()
        self._set_status(inst.row, InstanceStatus.PAUSED)
        self._unload(inst)

    async def _timer_loop(self) -> None:
        while True:
            due = self._take_due()
            if due:
                # Awaited, not launched: whatever comes due meanwhile joins the next batch,
                # and the wake lead leaves time for a few batches before the deadlines.
                try:
                    await self._wake(due)
                except Exception:  # noqa: BLE001 - the loop must outlive a failed read
                    log.exception("could not load %d parked instance(s)", len(due))
                continue
            changed = self._timers_changed = asyncio.get_running_loop().create_future()
            try:
                if self._timers:
                    await sleep_until(self.clock, self._timers[0][0] - self._lead_ms, changed)
                else:
                    await changed
            finally:
                self._timers_changed = None

    def _take_due(self) -> list[int]:
        """Move the parked instances due within the wake lead from the heap to `_waking`."""
        horizon = self.now_ms() + self._lead_ms
        due: list[int] = []
        while self._timers and self._timers[0][0] <= horizon:
            wake_ms, pk = heapq.heappop(self._timers)
            parked = self._parked.get(pk)
            if parked is not None and parked[0] == wake_ms:
                del self._parked[pk]
                self._waking[pk] = WakingInstance(*parked)
                due.append(pk)
        return due

    async def _wake(self, pks: list[int]) -> None:
        """Load and replay instances in `_waking`, reading all their rows in one round trip."""
        while pks:
            deletions = self._deletions
            try:
                await self.store.flush()  # reads go to another connection: see queued writes
                states = await self.store.replay_states(pks)
            except BaseException:
                # Try again in a second; the replay parks it again if its deadline is far.
                retry_at = self.now_ms() + 1000
                for pk in pks:
                    waking = self._waking.pop(pk, None)
                    if waking is not None:
                        self._park_pk(pk, retry_at, waking.waiting_for)
                raise
            if self._deleting or self._deletions != deletions:
                # A delete_all overlapped the read: rows it returned may be gone now.
                if self._deleting:
                    await asyncio.sleep(0.01)
                pks = [pk for pk in pks if pk in self._waking]
                continue
            for pk in pks:
                waking = self._waking.pop(pk, None)
                state = states.get(pk)
                if waking is None or state is None or pk in self.loaded:
                    continue  # paused, terminated, restarted or deleted meanwhile
                row = state.row
                definition = self.definitions.get(row.workflow)
                if (
                    row.status != InstanceStatus.WAITING
                    or definition is None
                    or definition.cls is None
                ):
                    continue
                inst = LoadedInstance(row, definition, replay=state)
                inst.early_events = waking.events
                self._launch(inst, fresh=False)
            return

    # -- lifecycle requests --

    async def pause(self, workflow: str, instance_id: str) -> None:
        row = await self.get_row(workflow, instance_id)
        if not lifecycle.pause_needed(row):
            return
        inst = self.loaded.get(row.pk)
        if inst is None:
            self._unpark(row.pk)
            lifecycle.pause(self.store, row, self.now_ms())
            self._status_changed(row)
            await self.store.flush()
            return
        inst.pause_requested = True
        if inst.callbacks_running > 0:
            self._set_status(row, InstanceStatus.WAITING_FOR_PAUSE)
        elif inst.waiter is not None and not inst.waiter.done():
            inst.waiter.set_exception(Park())
        elif inst.task is not None and inst.started:
            inst.cancel_reason = CancelReason.PAUSE
            inst.task.cancel()
        # A task that has not started yet (launched a moment ago) parks itself at its first
        # step boundary, where it finds the pause requested.
        await self._settle(inst)

    async def resume(self, workflow: str, instance_id: str) -> None:
        row = await self.get_row(workflow, instance_id)
        inst = self.loaded.get(row.pk)
        if inst is not None and inst.pause_requested:
            inst.pause_requested = False
            self._set_status(row, InstanceStatus.RUNNING)
            return
        if not lifecycle.resume(self.store, row, self.now_ms()):
            return
        self._status_changed(row)
        self._launch(LoadedInstance(row, self.definition(workflow)), fresh=False)

    async def terminate(self, workflow: str, instance_id: str) -> None:
        row = await self.get_row(workflow, instance_id)
        lifecycle.refuse_if_finished(row, "terminate")
        inst = self.loaded.get(row.pk)
        if inst is not None and inst.task is not None and not inst.task.done():
            inst.cancel_reason = CancelReason.TERMINATE
            inst.task.cancel()
            if not inst.started:  # it will never run, so never record its end: do it here
                await self._finish(inst, InstanceStatus.TERMINATED)
                return
            await self._settle(inst)
            return
        self._unpark(row.pk)
        lifecycle.terminate(self.store, row, self.now_ms())
        self._status_changed(row)
        await self.store.flush()

    async def restart(
        self, workflow: str, instance_id: str, from_step: dict[str, Any] | None = None
    ) -> None:
        """Run again from the start, or from a named step keeping the steps before it."""
        row = await self.get_row(workflow, instance_id)
        from_seq = await lifecycle.restart_from(self.store, row, from_step)
        await self._stop_loaded(row.pk, CancelReason.RESTART)
        self._unpark(row.pk)
        lifecycle.restart(
            self.store, row, from_seq, keep_events=from_step is not None, now_ms=self.now_ms()
        )
        self._status_changed(row)
        await self.store.flush()
        self._launch(LoadedInstance(row, self.definition(workflow)), fresh=from_step is None)

    async def delete(self, workflow: str, instance_id: str) -> None:
        row = await self.get_row(workflow, instance_id)
        await self._stop_loaded(row.pk, CancelReason.DELETE)
        self._unpark(row.pk)
        await self.store.delete_instance(row.pk)

    async def delete_all(self, workflow: str) -> None:
        self.definition(workflow)
        # Parked instances of the workflow stay in `_parked` until they come due: their rows
        # are gone by then, and the wake leaves them out (`_parked` knows no workflows).
        self._deletions += 1
        self._deleting += 1
        try:
            for inst in [i for i in self.loaded.values() if i.row.workflow == workflow]:
                await self._stop_loaded(inst.row.pk, CancelReason.DELETE)
            await self.store.delete_workflow_instances(workflow)
        finally:
            self._deleting -= 1
            self._deletions += 1

    def _unpark(self, pk: int) -> None:
        """Forget a parked or waking instance; its heap entry is skipped when it comes due."""
        self._parked.pop(pk, None)
        self._waking.pop(pk, None)

    async def _stop_loaded(self, pk: int, reason: CancelReason) -> None:
        inst = self.loaded.get(pk)
        if inst is None or inst.task is None:
            return
        inst.cancel_reason = reason
        inst.task.cancel()
        await asyncio.gather(inst.task, return_exceptions=True)
        self._unload(inst)

    async def _settle(self, inst: LoadedInstance) -> None:
        """Let a cancelled or woken task record its new state before answering."""
        if inst.task is not None and inst.row.status != InstanceStatus.WAITING_FOR_PAUSE:
            await asyncio.wait([inst.task], timeout=5)
        await self.store.flush()

    # -- events --

    async def send_event(
        self, workflow: str, instance_id: str, event_type: str, payload: Any
    ) -> None:
        """Buffer an event for an instance, durably, and wake it if it waits for this type."""
        validate_event_type(event_type)
        encoded = encode_input(payload, what="The event payload")
        row = await self.get_row(workflow, instance_id)
        self._next_event_seq += 1
        event = lifecycle.event(
            self.store, row, self._next_event_seq, event_type, encoded, self.now_ms()
        )
        await self.store.flush()
        inst = self.loaded.get(row.pk)
        if inst is not None:
            if inst.execution is not None:
                inst.execution.buffered.append(event)
            else:
                inst.early_events.append(event)
            if (
                inst.waiter is not None
                and inst.waiter_type == event_type
                and not inst.waiter.done()
            ):
                inst.waiter.set_result(None)
            return
        waking = self._waking.get(row.pk)
        if waking is not None:
            waking.events.append(event)
            return
        parked = self._parked.get(row.pk)
        if parked is not None and parked[1] == event_type:
            del self._parked[row.pk]
            self._waking[row.pk] = WakingInstance(*parked)
            await self._wake([row.pk])

    # -- waiting for outcomes (CLI --wait, tests) --

    async def wait_for(
        self,
        workflow: str,
        instance_id: str,
        statuses: tuple[str, ...],
        timeout: float | None = None,
    ) -> InstanceRow:
        """Return the instance once its status is one of `statuses`."""
        async with asyncio.timeout(timeout):
            while True:
                row = await self.get_row(workflow, instance_id)
                if row.status in statuses:
                    return row
                async with self.finished:
                    try:
                        async with asyncio.timeout(0.05):
                            await self.finished.wait()
                    except TimeoutError:
                        pass
