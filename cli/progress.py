"""What `trigger --wait` shows while it waits: the instance's progress, on stderr.

On a terminal, one line updated in place (rich's Live, transient: the outcome replaces it).
Otherwise one plain line per change of state, so a CI log says what the minutes went on. With
`--json`, nothing: stdout is one document and stderr stays quiet.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from . import render

if TYPE_CHECKING:
    from rich.live import Live


def describe(details: Mapping[str, Any], now: datetime) -> tuple[tuple[Any, ...], str]:
    """(what identifies the state, the line that says it) for an instance's REST details.

    The key leaves out what only the clock changes ("in 20 seconds"), so that plain output
    prints a line per change of state, not per poll.
    """
    from durable.runtime.client.base import pending_wait

    status = details.get("status")
    label = render.status_label(status)
    load_error = details.get("load_error")
    if load_error:
        # durable dev runs nothing while the code does not load; a fix saved makes it run.
        first = str(load_error).strip().splitlines()[0] if str(load_error).strip() else ""
        return (status, "load_error", first), (
            f"{label}: the Worker's code does not load, so nothing runs until a fix is saved: "
            f"{first}"
        )
    if status == "waiting":
        wait = pending_wait(details)
        if wait is not None:
            step = _current_step(details) if wait.kind == "retry" else None
            attempts = len(step.get("attempts") or []) if step else 0
            text = render.waiting_for(details, now) or ""
            if wait.kind == "retry" and attempts:
                error = (step or {}).get("attempts", [{}])[-1].get("error") or {}
                failed = f"attempt {attempts} failed"
                if isinstance(error, Mapping) and error.get("message"):
                    failed += f": {error.get('name') or 'Error'}: {error['message']}"
                text = f"back-off before attempt {attempts + 1} of {wait.step} ({failed}), " + (
                    render.relative(wait.until, now)
                )
            key = (status, wait.kind, wait.step, wait.until, attempts)
            return key, f"{label}: {text}"
    if status == "running":
        step = _current_step(details)
        if step is not None:
            tried: list[Mapping[str, Any]] = step.get("attempts") or []
            running = bool(tried) and tried[-1].get("end") is None
            attempt = len(tried) if running else len(tried) + 1
            name = step.get("name", "")
            return (status, name, attempt), f"{label}: step {name}, attempt {attempt}"
    return (status,), label


def _current_step(details: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for step in reversed(details.get("steps") or []):
        if step.get("type") == "step" and step.get("success") is None:
            return cast("Mapping[str, Any]", step)
    return None


class Progress:
    """Call with each poll's details; `close()` before printing the outcome."""

    def __init__(self, instance_id: str, *, live: bool) -> None:
        self.instance_id = instance_id
        self.live_mode = live
        self._live: Live | None = None
        self._key: tuple[Any, ...] | None = None

    def __call__(self, details: Mapping[str, Any]) -> None:
        key, text = describe(details, datetime.now(UTC))
        line = f'⏳ Instance "{self.instance_id}": {text}'
        if self.live_mode:
            if self._live is None:
                from rich.live import Live
                from rich.text import Text

                from .common import console

                # stdout is not redirected: `trigger --wait` with no server points it at
                # stderr while user code runs, and Live would restore that on stop.
                self._live = Live(
                    Text(line),
                    console=console(stderr=True),
                    transient=True,
                    auto_refresh=False,
                    redirect_stdout=False,
                )
                self._live.start()
            from rich.text import Text

            self._live.update(Text(line), refresh=True)
        elif key != self._key:
            print(line, file=sys.stderr, flush=True)
        self._key = key

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def for_wait(instance_id: str, *, as_json: bool) -> Progress | None:
    """The progress display `--wait` should use here, or None (`--json`)."""
    if as_json:
        return None
    return Progress(instance_id, live=sys.stderr.isatty())
