"""User code's local time zone is UTC, as in workerd, whatever the host's zone.

`datetime.now()`, naive datetimes and `time.localtime()` read the process's zone (the `TZ`
variable, then /etc/localtime), so while user code may run the process is switched to UTC:
`durable dev`'s server process for its whole life, the embedded engine of `trigger --wait` and
`durable_env` while their runtime is open. Leaving restores the host's zone, so what the CLI
prints afterwards (dates localised to the host's zone, as wrangler does) is unaffected.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

_UNSET = object()
_depth = 0
_saved: object = _UNSET


def _set_tz(value: object) -> None:
    if value is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = str(value)
    if hasattr(time, "tzset"):  # not on Windows
        time.tzset()


def enter_utc() -> None:
    """Make UTC the process's local zone until the matching `leave_utc()` (calls nest)."""
    global _depth, _saved
    if _depth == 0:
        _saved = os.environ.get("TZ")
        _set_tz("UTC")
    _depth += 1


def leave_utc() -> None:
    """Undo one `enter_utc()`; the last one restores the host's zone."""
    global _depth, _saved
    if _depth == 0:
        return
    _depth -= 1
    if _depth == 0:
        _set_tz(_saved)
        _saved = _UNSET


@contextmanager
def utc_local_time() -> Iterator[None]:
    enter_utc()
    try:
        yield
    finally:
        leave_utc()
