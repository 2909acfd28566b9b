"""The virtual clock: time in a test moves only when the test says so.

A `DurableEnv` gives its engine a `VirtualClock` (the engine's `Clock` protocol, see
`durable.runtime.engine.clock`), so a sleep of one day, a retry back-off of ten minutes or an
event timeout of 24 hours is a deadline on this clock. Nothing fires by itself: `advance()`
moves the clock forward and fires, in deadline order, the timers that come due, so a test is
deterministic and never waits for real. Each engine reads only its own clock: two envs open at
once keep their own time.

Step attempt *timeouts* stay real (`asyncio.timeout` around the user's callback): they bound
real work, and a test forces one with `force_step_timeout` instead.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime

from durable.runtime.durations import parse_duration
from durable.runtime.engine.clock import wall_ms

__all__ = ["VirtualClock", "wall_ms"]


class _Timer:
    """One `wake_at`: dropped once cancelled or once its waiter is done."""

    __slots__ = ("cancelled", "waiter")

    def __init__(self, waiter: asyncio.Future[None]) -> None:
        self.waiter = waiter
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    @property
    def alive(self) -> bool:
        return not self.cancelled and not self.waiter.done()


class VirtualClock:
    """Milliseconds since the epoch that stand still between `advance()` calls."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = wall_ms() if start_ms is None else start_ms
        self._timers: list[tuple[int, int, _Timer]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._now

    @property
    def now(self) -> datetime:
        """The clock's time as a naive UTC datetime, the form `event.timestamp` has."""
        return datetime.fromtimestamp(self._now / 1000, UTC).replace(tzinfo=None)

    def wake_at(self, deadline_ms: int, waiter: asyncio.Future[None]) -> _Timer:
        """Resolve `waiter` once the clock reaches `deadline_ms` (ties fire in call order)."""
        timer = _Timer(waiter)
        heapq.heappush(self._timers, (deadline_ms, next(self._order), timer))
        return timer

    def next_deadline(self) -> int | None:
        """The earliest deadline still wanted, dropping timers cancelled or whose waiter is done."""
        while self._timers and not self._timers[0][2].alive:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def pending(self) -> int:
        return sum(1 for _, _, timer in self._timers if timer.alive)

    def move_to(self, target_ms: int) -> int:
        """Set the time (never backwards) and fire every timer due by then; returns how many."""
        self._now = max(self._now, target_ms)
        fired = 0
        while self._timers and self._timers[0][0] <= self._now:
            _, _, timer = heapq.heappop(self._timers)
            if timer.alive:
                timer.waiter.set_result(None)
                fired += 1
        return fired

    @staticmethod
    def milliseconds(duration: object) -> int:
        return parse_duration(duration, what="advance() duration")
