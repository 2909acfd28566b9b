"""The engine's time: what "now" is, and timers that resolve a waiter at a deadline.

Every deadline the engine keeps (a sleep's wake-up, a retry back-off, an event timeout, a
parked instance's wake) is epoch milliseconds on the `Clock` the engine was given. `durable dev`
and the CLI's embedded engine are given the `WallClock`; `durable.testing` gives its
`VirtualClock`, on which time moves only when a test advances it. Both implement `Clock`.

A waiter is an `asyncio.Future[None]`: `wake_at` resolves it at the deadline, and whoever
wants it woken early (an event that came, a pause) resolves it first; the waiter then cancels
the timer it no longer needs. Step attempt *timeouts* are not on this clock: they bound real
work, so they stay `asyncio.timeout` in real time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio


def wall_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return int(time.time() * 1000)


class Timer(Protocol):
    def cancel(self) -> None:
        """Drop the timer; its waiter is not resolved by it any more."""


class Clock(Protocol):
    """The engine's source of time (see the module docstring)."""

    def now_ms(self) -> int:
        """Epoch milliseconds now."""
        ...

    def wake_at(self, deadline_ms: int, waiter: asyncio.Future[None]) -> Timer:
        """Resolve `waiter` (unless it is done by then) once the clock reaches `deadline_ms`."""
        ...


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class WallClock:
    """Real time: the wall clock for "now", the event loop's timers for deadlines."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)  # not wall_ms(): one call less on the hot path

    def wake_at(self, deadline_ms: int, waiter: asyncio.Future[None]) -> Timer:
        # A plain loop timer: cheaper than asyncio.timeout, whose expiry cancels the task and
        # unwinds every frame of run() (a thousand sleepers wake at once in a burst). The
        # loop's clock is not the wall clock, so a waiter may wake a little early: callers
        # compare `now_ms()` with their deadline and wait again for what is left.
        delay = max(0, deadline_ms - self.now_ms()) / 1000
        return waiter.get_loop().call_later(delay, _resolve, waiter)


async def sleep_until(clock: Clock, deadline_ms: int, waiter: asyncio.Future[None]) -> None:
    """Wait until `deadline_ms` on `clock` or until `waiter` is resolved (woken early).

    Cancellable: cancelling the caller drops the timer. A waiter resolved with an exception
    raises it here.
    """
    timer = clock.wake_at(deadline_ms, waiter)
    try:
        await waiter
    finally:
        timer.cancel()
