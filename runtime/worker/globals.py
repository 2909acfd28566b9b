"""What production's `workers` module serves lazily: `workers.env` and `workers.wait_until`.

On Cloudflare they come from `cloudflare:workers`, the env and waitUntil of the running Worker.
Locally the composition root registers the env it built (the last runtime opened wins, as one
process serves one Worker), and wait_until keeps the task referenced until it is done.
"""

from __future__ import annotations

import asyncio
from typing import Any

_current_env: Any = None
_tasks: set[asyncio.Future[Any]] = set()


def set_current_env(env: Any) -> None:
    global _current_env  # noqa: PLW0603 - one Worker per process, as in production
    _current_env = env


def current_env() -> Any:
    if _current_env is None:
        raise RuntimeError(
            "workers.env is not available yet: durable sets it once it has loaded your Worker "
            "(durable dev, durable.testing's durable_env); use self.env inside an entrypoint."
        )
    return _current_env


def wait_until(awaitable: Any) -> None:
    task = asyncio.ensure_future(awaitable)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
