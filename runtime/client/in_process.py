"""`ServiceClient`: the management client when no server runs, `runtime/service.py` in-process.

*offline* (the default): no engine. The service runs over an `OfflineStore` without an event
loop: reads come straight from the store; a write takes the engine lock and changes the store
as the engine would (a queued instance, a buffered event, a paused instance, ...), visible to
every read at once; only while another process's `trigger --wait` holds the lock is a write
recorded as an intent for the next holder (`durable dev`, or the next write here). This is the path
of `durable workflows instances list` with nothing running, and it is kept free of asyncio and
the engine because their imports would dominate the command's time.

*embedded*: an engine runs in this process for as long as the client is open (`trigger --wait`
with no server), on its own event loop.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durable.runtime.api.service import Service
from durable.runtime.engine.store import STORE_FILENAME, OfflineStore, run_now
from durable.runtime.errors import ConflictError, ValidationError

from .base import ManagementClient, Page, wait_is_over

if TYPE_CHECKING:
    import asyncio

    from durable.runtime.config import ProjectConfig
    from durable.runtime.dev.discovery import FileLock
    from durable.runtime.dev.project import Runtime

# How long `trigger --wait` with no server waits for another engine on the store to finish.
ENGINE_LOCK_WAIT = 30.0


class ServiceClient(ManagementClient):
    """Calls `runtime/service.py` in-process for a sync caller, offline or with an engine.

    The embedded engine takes the store's engine lock, so it never runs next to `durable dev`
    or another embedded engine.
    """

    def __init__(
        self,
        config: ProjectConfig,
        persist_dir: Path,
        *,
        embedded: bool = False,
        limits: Any = None,
    ) -> None:
        self.config = config
        self.persist_dir = Path(persist_dir)
        self.embedded = embedded
        self.limits = limits
        self.kind = "embedded" if embedded else "offline"
        self.description = (
            f"an engine in this process on {self.persist_dir}"
            if embedded
            else f"the store in {self.persist_dir} (no durable dev running)"
        )
        self.poll_interval = 0.05
        self._runner: asyncio.Runner | None = None
        self._service: Service | None = None
        self._runtime: Runtime | None = None
        self._lock: FileLock | None = None

    @property
    def offline(self) -> bool:
        return not self.embedded

    def _run(self, coro_fn: Callable[[Service], Coroutine[Any, Any, Any]]) -> Any:
        if not self.embedded:
            # No engine: the service's coroutines only touch an OfflineStore, which never
            # suspends, so they run to completion here without an event loop.
            return run_now(coro_fn(self._offline_service()))
        import asyncio

        if self._runner is None:
            self._runner = asyncio.Runner()
        with self._quiet_stdout():
            if self._service is None:
                self._service = self._runner.run(self._open_embedded())
            return self._runner.run(coro_fn(self._service))

    def _offline_service(self) -> Service:
        if self._service is None:
            self._service = Service(
                self.config, OfflineStore.open_now(self.persist_dir / STORE_FILENAME), None
            )
        return self._service

    @contextlib.contextmanager
    def _quiet_stdout(self) -> Iterator[None]:
        """While user code runs here, its prints go to stderr: stdout is the CLI's output."""
        if not self.embedded:
            yield
            return
        with contextlib.redirect_stdout(sys.stderr):
            yield

    async def _open_embedded(self) -> Service:
        from durable.runtime.dev.project import open_runtime

        self._lock = await self._engine_lock()
        try:
            # resume=False: only what this client creates runs here; every other unfinished
            # instance (and every recorded intent) is left for `durable dev`.
            self._runtime = await open_runtime(
                self.config, persist_dir=self.persist_dir, limits=self.limits, resume=False
            )
        except BaseException:
            self._lock.release()
            self._lock = None
            raise
        return Service(self.config, self._runtime.store, self._runtime.engine)

    async def _engine_lock(self) -> FileLock:
        """Become the only engine on the store, waiting for another `trigger --wait` to end.

        Two `trigger --wait` run side by side (say, parallel CI jobs) take turns rather than
        fail. If a `durable dev` starts meanwhile, waiting longer would not help: say so.
        """
        import asyncio

        from durable.runtime.dev.discovery import acquire_engine_lock, find_server

        deadline = time.monotonic() + ENGINE_LOCK_WAIT
        while True:
            lock = acquire_engine_lock(self.persist_dir, timeout=0)
            if lock is not None:
                return lock
            if find_server(self.persist_dir) is not None:
                raise ConflictError(
                    f"A durable dev started on {self.persist_dir} while this command waited for "
                    "the store: run the command again to use it."
                )
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"Another engine kept {self.persist_dir} busy for {ENGINE_LOCK_WAIT:.0f} "
                    "seconds (a durable dev starting or stopping, or another trigger --wait). "
                    "Wait for it to finish and try again."
                )
            await asyncio.sleep(0.02)

    def close(self) -> None:
        if not self.embedded:
            if self._service is not None:
                run_now(self._service.store.close())
                self._service = None
            return
        if self._runner is None:
            return
        try:
            if self._service is not None:
                with self._quiet_stdout():
                    if self._runtime is not None:
                        self._runner.run(self._runtime.close())
        finally:
            self._runner.close()
            self._runner = None
            self._service = None
            self._runtime = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    @staticmethod
    def _page(page: Page) -> Page:
        return Page(list(page.items), dict(page.info))

    def list_workflows(
        self, *, page: int = 1, per_page: int | None = None, counts: bool = True
    ) -> Page:
        return self._page(
            self._run(lambda s: s.list_workflows(page=page, per_page=per_page or 50, counts=counts))
        )

    def get_workflow(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._run(lambda s: s.get_workflow(name))
        return result

    def delete_workflow(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._write(lambda s: s.delete_workflow(name))
        return result

    def create_instance(
        self, name: str, *, instance_id: str | None = None, params: Any = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._write(
            lambda s: s.create_instance(name, instance_id=instance_id, params=params)
        )
        return result

    def _write(self, write: Callable[[Service], Coroutine[Any, Any, Any]]) -> Any:
        """A write: to the embedded engine, or with no server to the store, visible at once.

        Offline that needs the engine lock: nothing runs meanwhile, so the write leaves the
        store as the engine would, after the intents recorded earlier (they come first). A
        durable dev holding the lock means one started since this command looked: say so. A
        `trigger --wait` holding it (an embedded engine, maybe for minutes) leaves the write
        recorded as an intent, for whoever holds the lock next.
        """
        if self.embedded:
            return self._run(write)
        from durable.runtime.dev.discovery import acquire_engine_lock, find_server

        lock = acquire_engine_lock(self.persist_dir, timeout=0)
        if lock is None:
            if find_server(self.persist_dir) is not None:
                raise ConflictError(
                    f"A durable dev started on {self.persist_dir} while this command ran: run "
                    "the command again to send it there."
                )
            self.last_write_recorded = True
            return self._run(write)
        try:
            service = self._offline_service()
            service.exclusive = True
            try:
                self.intent_problems += tuple(run_now(service.apply_intents()))
                result = run_now(write(service))
            finally:
                service.exclusive = False
        finally:
            lock.release()
        self.last_write_recorded = False
        return result

    def list_instances(
        self,
        name: str,
        *,
        status: str | None = None,
        page: int = 1,
        per_page: int | None = None,
        direction: str = "desc",
    ) -> Page:
        return self._page(
            self._run(
                lambda s: s.list_instances(
                    name, status=status, page=page, per_page=per_page or 25, direction=direction
                )
            )
        )

    def get_instance(self, name: str, instance_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._run(lambda s: s.get_instance(name, instance_id))
        return result

    def change_status(
        self, name: str, instance_id: str, action: str, from_step: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._write(
            lambda s: s.change_status(name, instance_id, action, from_step)
        )
        return result

    def send_event(self, name: str, instance_id: str, event_type: str, payload: Any) -> None:
        self._write(lambda s: s.send_event(name, instance_id, event_type, payload))

    def delete_instances(self, name: str, ids: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self._write(lambda s: s.delete_instances(name, ids))
        return result

    def wait(
        self,
        name: str,
        instance_id: str,
        *,
        timeout: float | None = None,
        until: Callable[[Mapping[str, Any]], bool] = wait_is_over,
        on_poll: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        if not self.embedded:
            raise ValidationError(
                "No engine runs here to wait for: start `durable dev`, or trigger with --wait."
            )

        async def poll(service: Service) -> dict[str, Any]:
            import asyncio

            async with asyncio.timeout(timeout):
                while True:
                    details: dict[str, Any] = await service.get_instance(name, instance_id)
                    if on_poll is not None:
                        on_poll(details)
                    if until(details):
                        return details
                    await asyncio.sleep(self.poll_interval)

        result: dict[str, Any] = self._run(poll)
        return result
