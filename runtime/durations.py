"""Durations as Cloudflare Workflows reads them.

A number is milliseconds (the engine's reading, whatever older docs say); a string is
`"N unit"` with unit millisecond/second/minute/hour/day/week/month/year, singular or plural
(`"10 seconds"`, `"1 day"`), or a bare number of milliseconds (`"1500"`). Months are 30 days and
years 365.25 days, as in the engine's `ms()` helper.
"""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import ValidationError
from .states import Backoff

_UNIT_MS: dict[str, float] = {
    "ms": 1,
    "millisecond": 1,
    "second": 1_000,
    "sec": 1_000,
    "s": 1_000,
    "minute": 60_000,
    "min": 60_000,
    "m": 60_000,
    "hour": 3_600_000,
    "hr": 3_600_000,
    "h": 3_600_000,
    "day": 86_400_000,
    "d": 86_400_000,
    "week": 604_800_000,
    "w": 604_800_000,
    "month": 2_592_000_000,
    "year": 31_557_600_000,
    "y": 31_557_600_000,
}

# ASCII digits only, as JavaScript's `\d` in the engine's `ms()` parser.
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$", re.ASCII)

DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
# Far beyond any real wait (~285,000 years), and small enough that deadlines computed from it
# stay exact floats and fit the store's 64-bit integers.
MAX_DURATION_MS = 2**53


def parse_duration(value: object, *, what: str = "duration") -> int:
    """Return `value` in whole milliseconds, or raise ValidationError naming `what`."""
    if isinstance(value, bool):
        raise ValidationError(
            f"Invalid {what} {value!r}: use milliseconds or a string like '10 seconds'."
        )
    if isinstance(value, int | float):
        if value < 0 or value != value:  # NaN is not equal to itself
            raise ValidationError(f"Invalid {what} {value!r}: it must not be negative.")
        return _bounded(value, value, what)
    if isinstance(value, timedelta):
        # Production passes a timedelta through to JavaScript, where it fails; fail here too.
        raise ValidationError(
            f"Invalid {what}: a timedelta is not accepted by Cloudflare Workflows; "
            f"pass '{value.total_seconds():g} seconds' or milliseconds instead."
        )
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            number, unit = float(match.group(1)), match.group(2).lower()
            if unit.endswith("s") and unit not in _UNIT_MS:
                unit = unit[:-1]
            factor = _UNIT_MS.get(unit) if unit else 1
            if factor is not None and number >= 0:
                return _bounded(number * factor, value, what)
    raise ValidationError(
        f"Invalid {what} {value!r}: use milliseconds or a string like '10 seconds' "
        "(units: second, minute, hour, day, week, month, year)."
    )


def _bounded(ms: float, value: object, what: str) -> int:
    if ms > MAX_DURATION_MS:  # also infinity (a float overflowing, `float("inf")`)
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValidationError(
            f"Invalid {what} {shown}: it is too long (the limit is {MAX_DURATION_MS} ms)."
        )
    return int(ms)


def retry_delay_ms(delay_ms: int, backoff: str, failures: int) -> int:
    """The wait before the attempt that follows the `failures`-th failed one.

    Cloudflare's back-off: constant d, linear d·n, exponential d·2^(n−1) (also for an unknown
    name, as exponential is the default). Capped so a deadline fits the store's 64-bit integers
    whatever limit and delay a step gives.
    """
    if backoff == Backoff.CONSTANT:
        delay = delay_ms
    elif backoff == Backoff.LINEAR:
        delay = delay_ms * failures
    else:
        delay = delay_ms * 2 ** (failures - 1)
    return int(min(delay, MAX_DURATION_MS))


def format_ms(ms: float) -> str:
    """Render milliseconds the way a person reads them: `250ms`, `4.2s`, `3m 5s`, `2h 1m`."""
    if ms < 1000:
        return f"{ms:.0f}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s".replace(".0s", "s")
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"
