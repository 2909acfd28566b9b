"""The engine's data: its limits, the workflows it runs, and the instances it holds in memory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from durable.runtime.states import CancelReason

from .store import EventRow, InstanceRow, ReplayState

if TYPE_CHECKING:
    from .execution import Execution


@dataclass(frozen=True)
class Limits:
    """Engine settings; the defaults are production's (min_event_timeout_ms) or sensible locally."""

    max_concurrency: int = 1000
    # A wait shorter than this stays in memory; a longer one parks the instance out of memory.
    park_after_ms: int = 1000
    # At most this many instances wait in memory at once; beyond it every wait parks at once,
    # which keeps memory flat with 100,000 instances waiting for events. A wait due within
    # the wake lead stays in memory regardless: the timer loop would load it again at once.
    max_waiting_in_memory: int = 1000
    min_event_timeout_ms: int = 1000
    # A parked instance is loaded (row, steps, events read, run() replayed) this long before
    # its deadline, so that it waits in memory when the deadline comes: reading and replaying
    # a thousand instances due together takes far longer than the lateness allowed. Capped at
    # park_after_ms, so that a wait this short never parks.
    wake_lead_ms: int = 300


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    binding: str
    class_name: str
    cls: type | None
    script_name: str | None = None
    step_limit: int = 1024
    implicit_dependencies: bool = True
    preserve_non_retryable_message: bool = True
    # What chose the step.do signature ("compatibility_date 2026-06-01 (on or after …)"), for
    # the TypeError that explains a call in the other signature.
    dependencies_chosen_by: str = ""


@dataclass(eq=False)
class LoadedInstance:
    row: InstanceRow
    definition: WorkflowDefinition
    task: asyncio.Task[None] | None = None
    execution: Execution | None = None
    pause_requested: bool = False
    callbacks_running: int = 0
    cancel_reason: CancelReason | None = None
    waiter: asyncio.Future[None] | None = None
    waiter_type: str | None = None
    holds_slot: bool = False
    early_events: list[EventRow] = field(default_factory=list)
    # False until the task's coroutine runs: a task cancelled before that never runs its
    # `except CancelledError` bookkeeping, so pause and terminate must not rely on it.
    started: bool = False
    # Read by the timer loop along with many others: the first replay needs no reads of its own.
    replay: ReplayState | None = None


@dataclass(eq=False, slots=True)
class WakingInstance:
    """A parked instance taken off the timer heap whose rows are being read to replay it."""

    wake_ms: int
    waiting_for: str | None
    # Sent while its rows were read: the read may predate them (see `_run`'s early events).
    events: list[EventRow] = field(default_factory=list)
