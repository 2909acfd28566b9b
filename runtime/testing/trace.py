"""What ran, for assertions: every step attempt, sleep and event wait of an instance.

A trace records what the harness saw happen, not what is stored: an attempt is recorded when
its callback starts (or a modifier decides its outcome instead), and a step served from the
step cache on replay records nothing. `order` is one counter shared by every instance of the
environment, so it orders attempts across instances; two attempts *overlap* when one started
before the other ended, which is how a test checks that `concurrent=True` steps really ran
side by side.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from durable.runtime.durations import format_ms


@dataclass
class AttemptRecord:
    step: str
    index: int  # occurrence of the step name in the run, from 1
    attempt: int  # from 1
    order: int
    started_ms: int  # on the virtual clock
    ended_ms: int | None = None
    end_order: int | None = None
    outcome: str | None = None  # "success" | "error" | "timeout" | "interrupted"; None: running
    error: dict[str, str] | None = None
    mocked: str | None = None  # "result" | "error" | "timeout" when a modifier decided it
    overlapped: set[str] = field(default_factory=set)


@dataclass
class SleepRecord:
    name: str
    index: int
    started_ms: int
    deadline_ms: int | None = None
    ended_ms: int | None = None
    disabled: bool = False


@dataclass
class EventWaitRecord:
    name: str
    index: int
    event_type: str
    started_ms: int
    ended_ms: int | None = None
    outcome: str | None = None  # "received" | "timeout"
    payload: Any = None
    forced_timeout: bool = False


class Trace:
    """The steps, attempts, sleeps and event waits of one instance, in the order they ran."""

    def __init__(self, workflow: str, instance_id: str, order: itertools.count[int]) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.runs = 0  # how often run() was started: 1 + replays after pause, restart …
        self.records: list[AttemptRecord] = []
        self.sleeps: list[SleepRecord] = []
        self.events: list[EventWaitRecord] = []
        self.max_concurrency = 0
        self._order = order
        self._in_flight: list[AttemptRecord] = []

    # -- recording (the harness calls these) --

    def start_attempt(self, step: str, index: int, attempt: int, now_ms: int) -> AttemptRecord:
        for earlier in reversed(self.records):
            # An attempt cut off by the engine's timeout ends with a cancellation; the next
            # attempt of the same step proves it was a timeout, not a terminate.
            if (earlier.step, earlier.index) == (step, index):
                if earlier.outcome == "interrupted" and earlier.attempt + 1 == attempt:
                    earlier.outcome = "timeout"
                break
        record = AttemptRecord(step, index, attempt, next(self._order), now_ms)
        for other in self._in_flight:
            other.overlapped.add(step)
            record.overlapped.add(other.step)
        self._in_flight.append(record)
        self.max_concurrency = max(self.max_concurrency, len(self._in_flight))
        self.records.append(record)
        return record

    def end_attempt(
        self,
        record: AttemptRecord,
        outcome: str,
        now_ms: int,
        error: dict[str, str] | None = None,
    ) -> None:
        record.outcome, record.error = outcome, error
        record.ended_ms, record.end_order = now_ms, next(self._order)
        if record in self._in_flight:
            self._in_flight.remove(record)

    def step_timed_out(self, step: str, index: int) -> None:
        """The engine gave up on the step with a timeout: its cut-off attempt timed out."""
        for record in reversed(self.records):
            if (record.step, record.index) == (step, index):
                if record.outcome == "interrupted":
                    record.outcome = "timeout"
                return

    # -- reading --

    def _select(self, step: str | None, index: int | None) -> list[AttemptRecord]:
        return [
            r
            for r in self.records
            if (step is None or r.step == step) and (index is None or r.index == index)
        ]

    def attempts(self, step: str, index: int | None = None) -> int:
        """Attempts of `step` (every occurrence of the name, or only the `index`-th)."""
        return len(self._select(step, index))

    def calls(self, step: str, index: int | None = None) -> int:
        """How often the step's own callback ran (mocked attempts do not call it)."""
        return sum(1 for r in self._select(step, index) if r.mocked is None)

    def ran(self, step: str) -> bool:
        return bool(self._select(step, None))

    def steps(self) -> list[str]:
        """Step names in the order their first attempt started (a name repeats per occurrence)."""
        seen: set[tuple[str, int]] = set()
        names: list[str] = []
        for record in self.records:
            if (record.step, record.index) not in seen:
                seen.add((record.step, record.index))
                names.append(record.step)
        return names

    def completed(self) -> list[str]:
        """Step names in the order they succeeded."""
        done = [r for r in self.records if r.outcome == "success"]
        return [r.step for r in sorted(done, key=lambda r: r.end_order or 0)]

    def failures(self, step: str, index: int | None = None) -> list[dict[str, str]]:
        """The `{name, message}` of each failed attempt of `step`."""
        return [
            r.error or {"name": r.outcome or "", "message": ""}
            for r in self._select(step, index)
            if r.outcome in ("error", "timeout")
        ]

    def concurrent(self, first: str, second: str) -> bool:
        """True if an attempt of `first` and one of `second` were running at the same time."""
        return any(second in r.overlapped for r in self._select(first, None))

    def slept(self, name: str) -> list[SleepRecord]:
        return [s for s in self.sleeps if s.name == name]

    def __str__(self) -> str:
        lines = [f"trace of {self.workflow}/{self.instance_id} ({self.runs} run(s)):"]
        for r in self.records:
            label = r.step if r.index == 1 else f"{r.step}#{r.index}"
            outcome = r.outcome or "running"
            if r.error:
                outcome += f" {r.error.get('name')}: {r.error.get('message')}"
            mocked = f" (mocked {r.mocked})" if r.mocked else ""
            lines.append(f"  #{r.order:<3} {label} attempt {r.attempt}: {outcome}{mocked}")
        for s in self.sleeps:
            length = format_ms((s.deadline_ms or s.started_ms) - s.started_ms)
            state = "disabled" if s.disabled else ("done" if s.ended_ms is not None else "waiting")
            lines.append(f"  sleep {s.name} ({length}): {state}")
        for e in self.events:
            lines.append(f"  wait_for_event {e.name} [{e.event_type}]: {e.outcome or 'waiting'}")
        return "\n".join(lines)

    __repr__ = __str__
