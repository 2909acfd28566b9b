"""What a lifecycle request does to the stored state of an instance no task runs.

One function per rule, used by the engine (for an instance that is parked, paused, queued or
not yet resumed) and by the service with no engine under the store's engine lock (the CLI with
no `durable dev`), so that a write made offline leaves the store exactly as the engine would.
The engine adds what only it has: tasks to cancel, timers to forget, instances to launch.

Each function changes `row` in place and queues the writes on `store`; the caller flushes.
Imports no asyncio: the CLI with no server uses it.
"""

from __future__ import annotations

from typing import Any

from durable.runtime.errors import ConflictError, ValidationError
from durable.runtime.states import InstanceStatus, StepType

from .store import EventRow, InstanceRow, StoreQueries


def refuse_if_finished(row: InstanceRow, verb: str) -> None:
    """Pause and terminate refuse an instance that has finished."""
    if row.finished:
        raise ConflictError(f'Cannot {verb} instance "{row.id}": it is already {row.status}.')


def pause_needed(row: InstanceRow) -> bool:
    """Raise if a pause is refused; False when the instance is paused (or pausing) already."""
    refuse_if_finished(row, "pause")
    return row.status not in (InstanceStatus.PAUSED, InstanceStatus.WAITING_FOR_PAUSE)


def _set(store: StoreQueries, row: InstanceRow, status: str, now_ms: int) -> None:
    row.status, row.modified_ms = status, now_ms
    store.put_instance(row)


def settle_stopped(store: StoreQueries, row: InstanceRow, now_ms: int) -> None:
    """An instance left pausing when its engine stopped is paused (no callback runs now)."""
    if row.status == InstanceStatus.WAITING_FOR_PAUSE:
        row.paused_ms = now_ms
        _set(store, row, InstanceStatus.PAUSED, now_ms)


def pause(store: StoreQueries, row: InstanceRow, now_ms: int) -> None:
    """Pause at once (after `pause_needed`): nothing runs, so no step boundary to wait for."""
    row.paused_ms = now_ms
    _set(store, row, InstanceStatus.PAUSED, now_ms)


def resume(store: StoreQueries, row: InstanceRow, now_ms: int) -> bool:
    """Queue a paused instance again, its open timers moved later by the time it was paused.

    False (nothing done) when it is not paused: resuming is then a no-op, as in production.
    """
    if row.status != InstanceStatus.PAUSED:
        return False
    if row.paused_ms is not None:
        store.shift_deadlines(row.pk, now_ms - row.paused_ms)
    row.paused_ms = None
    _set(store, row, InstanceStatus.QUEUED, now_ms)
    return True


def terminate(store: StoreQueries, row: InstanceRow, now_ms: int) -> None:
    """End an instance as terminated (refused when it has finished)."""
    refuse_if_finished(row, "terminate")
    row.ended_ms = now_ms
    row.wake_ms = row.waiting_for = None
    _set(store, row, InstanceStatus.TERMINATED, now_ms)


async def restart_from(
    store: StoreQueries, row: InstanceRow, from_step: dict[str, Any] | None
) -> int:
    """The seq of the first step a restart discards (0: all), checking `from_step`."""
    if from_step is None:
        return 0
    name = from_step.get("name")
    given = from_step.get("type") or StepType.DO
    kind = StepType(given).kind if given in tuple(StepType) else None
    count = from_step.get("count") or 1
    if not isinstance(name, str) or not name or kind is None:
        raise ValidationError(
            'Restart "from" needs a step name and a type of do, sleep or waitForEvent.'
        )
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError('Restart "from.count" must be a positive integer.')
    for step in await store.steps_of(row.pk):
        if step.kind == kind and step.name == name and step.count == count:
            return step.seq
    raise ValidationError(f'Step "{name}" not found in execution history (count {count}).')


def restart(
    store: StoreQueries, row: InstanceRow, from_seq: int, *, keep_events: bool, now_ms: int
) -> None:
    """Queue the instance to run again, forgetting the steps from `from_seq` on (and, for a
    restart from the start, its events)."""
    store.delete_steps(row.pk, from_seq)
    if not keep_events:
        store.delete_events(row.pk)
    row.output = row.error = None
    row.started_ms = row.ended_ms = row.paused_ms = row.wake_ms = None
    row.waiting_for = None
    _set(store, row, InstanceStatus.QUEUED, now_ms)


def event(
    store: StoreQueries,
    row: InstanceRow,
    seq: int,
    event_type: str,
    encoded: str | None,
    now_ms: int,
) -> EventRow:
    """Buffer an event (type checked, payload encoded) for the instance; the caller flushes."""
    row_event = EventRow(seq, row.pk, event_type, encoded, now_ms)
    store.put_event(row_event)
    return row_event
