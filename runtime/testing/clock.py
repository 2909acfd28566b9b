"""The virtual clock: time in a test moves only when the test says so.

While a `DurableEnv` is open, the engine reads the time from its `VirtualClock` instead of the
wall clock (the engine modules' `now_ms` is swapped for the clock's), so a sleep of one day,
a retry back-off of ten minutes or an event timeout of 24 hours is a deadline on this clock.
Nothing fires by itself: `advance()` moves the clock forward and fires, in deadline order,
the timers that come due, so a test is deterministic and never waits for real.

Step attempt *timeouts* stay real (`asyncio.timeout` around the user's callback): they bound
real work, and a test forces one with `force_step_timeout` instead.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType

from durable.runtime.api import service as _service_module
from durable.runtime.durations import parse_duration
from durable.runtime.engine import execution as _execution_module
from durable.runtime.engine import scheduler as _engine_module

# The modules that read the time through a name imported from `store`; all of them must see
# the same clock, or deadlines written by one would be compared with another's "now".
_PATCHED_MODULES: tuple[ModuleType, ...] = (
    _engine_module,
    _execution_module,
    _service_module,
)


def wall_ms() -> int:
    return int(time.time() * 1000)


class VirtualClock:
    """Milliseconds since the epoch that stand still between `advance()` calls."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = wall_ms() if start_ms is None else start_ms
        self._timers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._now

    @property
    def now(self) -> datetime:
        """The clock's time as a naive UTC datetime, the form `event.timestamp` has."""
        return datetime.fromtimestamp(self._now / 1000, UTC).replace(tzinfo=None)

    def wake_at(self, deadline_ms: int, future: asyncio.Future[None]) -> None:
        """Resolve `future` once the clock reaches `deadline_ms` (ties fire in call order)."""
        heapq.heappush(self._timers, (deadline_ms, next(self._order), future))

    def next_deadline(self) -> int | None:
        """The earliest deadline still wanted, dropping timers whose waiter went away."""
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def pending(self) -> int:
        return sum(1 for _, _, future in self._timers if not future.done())

    def move_to(self, target_ms: int) -> int:
        """Set the time (never backwards) and fire every timer due by then; returns how many."""
        self._now = max(self._now, target_ms)
        fired = 0
        while self._timers and self._timers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._timers)
            if not future.done():
                future.set_result(None)
                fired += 1
        return fired

    def catch_up(self) -> None:
        """Move to the wall clock if it is ahead: deadlines that user code computed from
        `datetime.now()` then line up with `advance()` durations."""
        self.move_to(wall_ms())

    @staticmethod
    def milliseconds(duration: object) -> int:
        return parse_duration(duration, what="advance() duration")


# -- installing the clock into the engine modules --

_active: list[VirtualClock] = []
_saved: dict[ModuleType, Callable[[], int]] = {}


def _virtual_now_ms() -> int:
    return _active[-1].now_ms()


def install(clock: VirtualClock) -> None:
    """Make the engine read `clock` (the most recently installed one, if envs are nested)."""
    if not _active:
        for module in _PATCHED_MODULES:
            _saved[module] = module.now_ms
            module.now_ms = _virtual_now_ms  # type: ignore[attr-defined]
    _active.append(clock)


def uninstall(clock: VirtualClock) -> None:
    if clock in _active:
        _active.remove(clock)
    if not _active:
        for module, original in _saved.items():
            module.now_ms = original  # type: ignore[attr-defined]
        _saved.clear()
