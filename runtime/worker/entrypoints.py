"""The classes user code subclasses, as `workers` exports them on Cloudflare.

The `workers` shim re-exports these; the engine instantiates them with `(ctx, env)`, JavaScript's
argument order, exactly as the Cloudflare runtime does.
"""

from __future__ import annotations

from typing import Any

from durable.runtime.errors import NonRetryableError as NonRetryableError


class _Entrypoint:
    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


class WorkerEntrypoint(_Entrypoint):
    """Base of a Worker's `Default` class: `async def fetch(self, request)`."""


class WorkflowEntrypoint(_Entrypoint):
    """Base of a Workflow: `async def run(self, event, step)`; the return value is the output."""


class DurableObject(_Entrypoint):
    """Present so that imports succeed; Durable Objects are not emulated by durable."""


class ExecutionContext:
    """The `ctx` handed to entrypoints: `wait_until` / `waitUntil` keep a task alive."""

    def __init__(self) -> None:
        self._tasks: set[Any] = set()

    def wait_until(self, awaitable: Any) -> None:
        import asyncio

        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    waitUntil = wait_until  # noqa: N815 - the JavaScript spelling user code uses

    def pass_through_on_exception(self) -> None:
        """Accepted for compatibility; there is no origin to pass through to locally."""

    passThroughOnException = pass_through_on_exception  # noqa: N815
