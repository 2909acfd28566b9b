"""wrangler dev's hotkeys in the `durable dev` terminal: b, e, x.

Active only when stdin is a terminal: it is switched to cbreak mode (keys arrive without Enter,
Ctrl-C still signals) and restored on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import termios
import tty
import webbrowser
from collections.abc import Callable, Iterator

HINT = "[b] open a browser  [e] open the dashboard  [x] exit"


@contextlib.contextmanager
def hotkeys(
    loop: asyncio.AbstractEventLoop,
    *,
    worker_url: str,
    dashboard_url: str,
    stop: Callable[[], None],
) -> Iterator[bool]:
    """Listen for hotkeys while the block runs; yields whether they are active."""
    stdin = sys.stdin
    if not stdin.isatty():
        yield False
        return
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    actions: dict[str, Callable[[], object]] = {
        "b": lambda: webbrowser.open(worker_url),
        "e": lambda: webbrowser.open(dashboard_url),
        "x": stop,
        "q": stop,
    }

    def on_key() -> None:
        key = stdin.read(1).lower()
        action = actions.get(key)
        if action is not None:
            action()

    tty.setcbreak(fd)
    loop.add_reader(fd, on_key)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
