"""`DurableEnv`: the project's runtime, in process, for tests (what the `durable_env` fixture is).

It is the runtime `durable dev` runs (config, user code, store, engine, bindings built by
`open_runtime`), with three differences: the store is temporary, the engine is the harness's
(`HarnessEngine`: the harness's hooks for modifiers and the trace), and the engine is given a
virtual clock — a sleep or a retry back-off never fires by itself, `advance()` fires it.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from durable.runtime.bindings.env import Env
from durable.runtime.bindings.workflows import WorkflowInstance
from durable.runtime.config import ProjectConfig, load_config
from durable.runtime.dev.project import Runtime, open_runtime
from durable.runtime.worker.fetch_api import Request, Response, as_incoming, coerce_response

from .clock import VirtualClock
from .harness import Harness, HarnessEngine
from .introspection import harness_of
from .replay import ReplayResult, replay_instance
from .trace import Trace

DEFAULT_ORIGIN = "http://localhost:8787"


async def apply_d1_migrations(runtime: Runtime) -> None:
    """Apply each D1 database's migrations (if it has a migrations folder), in order."""
    import asyncio

    from durable.runtime.bindings.d1 import D1QueryError
    from durable.runtime.bindings.d1_migrations import Migrations, apply_migration
    from durable.runtime.errors import ValidationError

    for database in runtime.config.d1_databases:
        migrations = Migrations.of(runtime.config.root, database)
        if not migrations.folder.is_dir():
            continue
        state = getattr(runtime.env, database.binding).state
        name = migrations.table
        try:
            for name in await asyncio.to_thread(migrations.unapplied, state):
                await asyncio.to_thread(apply_migration, state, migrations, name)
        except D1QueryError as exc:
            raise ValidationError(
                f"D1 migration {name} of env.{database.binding} failed: {exc}"
            ) from None


class DurableEnv:
    """An in-process runtime for one test: `env`, `fetch`, the virtual clock, traces."""

    def __init__(self, runtime: Runtime, harness: Harness) -> None:
        self.runtime = runtime
        self.config: ProjectConfig = runtime.config
        self.env: Env = runtime.env
        assert harness.engine is not None  # set when open_runtime built the engine
        self.engine: HarnessEngine = harness.engine
        self.clock: VirtualClock = harness.clock
        self.settle_timeout = 10.0  # seconds of real time advance()/settle() allow for real work
        self._harness = harness

    def __repr__(self) -> str:
        return f"<DurableEnv {self.config.path}>"

    async def fetch(
        self,
        request: Request | str = "/",
        *,
        method: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: str | bytes | None = None,
    ) -> Response:
        """Call the Worker's fetch handler (`class Default` or legacy `on_fetch`) in process.

        `request` is a `workers.Request` or a URL; a path like "/start?x=1" is taken relative
        to http://localhost:8787, the address `durable dev` serves. Its `cf` is what
        `durable dev` gives an incoming request unless the Request has one.
        """
        # Imported here: the server module is only needed by tests that fetch.
        from durable.runtime.dev.server import call_fetch_handler

        handler = self.runtime.code.fetch_handler if self.runtime.code is not None else None
        if handler is None:
            raise LookupError(
                f"{self.config.main.name} has no fetch handler: define "
                "`class Default(WorkerEntrypoint)` with `async def fetch(self, request)`"
                + ("" if self.config.no_global_handlers else " or a module-level on_fetch")
            )
        if isinstance(request, str):
            url = DEFAULT_ORIGIN + request if request.startswith("/") else request
            request = Request(url, method=method, headers=headers, body=body)
        elif method is not None or headers is not None or body is not None:
            request = Request(request, method=method, headers=headers, body=body)
        request = as_incoming(request)
        return coerce_response(await call_fetch_handler(handler, request, self.env))

    async def advance(self, duration: Any) -> int:
        """Move the virtual clock forward by `duration` ("2 hours", or milliseconds).

        Every sleep, retry back-off and event timeout due by then fires, earliest first, and
        the instances run until they wait again or finish before the next one fires. The clock
        first catches up with the wall clock if that is ahead, so deadlines your code computed
        from `datetime.now()` line up. Returns how many timers fired.
        """
        return await self._harness.advance(duration, self.settle_timeout)

    async def settle(self) -> None:
        """Wait until every instance waits (on the clock or an event) or has finished."""
        await self._harness.settle(self.settle_timeout)

    def trace(self, instance: Any, instance_id: str | None = None) -> Trace:
        """The trace of an instance: `trace(handle)` for a handle from `create`/`get`, or
        `trace(env.MY_WORKFLOW, "id")`."""
        return self._harness.trace(self._ident(instance, instance_id))

    async def replay(
        self, instance: Any, instance_id: str | None = None, *, timeout: float = 5.0
    ) -> ReplayResult:
        """The determinism check of `durable.testing.replay` for one instance."""
        workflow, instance_id = self._ident(instance, instance_id)
        return await replay_instance(self.engine, workflow, instance_id, timeout=timeout)

    def _ident(self, instance: Any, instance_id: str | None) -> tuple[str, str]:
        if isinstance(instance, WorkflowInstance):
            return (instance._workflow, instance.id)
        harness, workflow = harness_of(instance)
        if harness is not self._harness or instance_id is None:
            raise TypeError("Pass an instance handle, or a binding of this env and an id.")
        return (workflow, instance_id)


@asynccontextmanager
async def open_env(
    config: ProjectConfig | Path | str | None = None,
    *,
    persist_dir: Path | None = None,
    cwd: Path | None = None,
    env: str | None = None,
    start_ms: int | None = None,
) -> AsyncIterator[DurableEnv]:
    """Open a `DurableEnv` outside pytest fixtures (or for a second project in one test).

    `config` is a loaded config, a path to wrangler.toml/.jsonc/.json, or None to search from
    `cwd` (default: the working directory) upwards, as wrangler does. The store goes in
    `persist_dir` (default: a temporary directory removed afterwards), and so does the KV and R2
    data (`wrangler-state/` in it, never the project's `.wrangler/state`): each test starts with
    empty namespaces and buckets and seeds them with `await env.KV.put(...)` or
    `await env.BUCKET.put(...)`. KV expirations and R2 upload times follow the virtual clock.
    Each D1 database starts empty too, with the project's migrations (its `migrations_dir`)
    applied, as `wrangler d1 migrations apply` would; seed it with
    `await env.DB.prepare(...).run()`. `start_ms` sets the virtual clock's start (default: now).
    """
    if isinstance(config, ProjectConfig):
        project = config
    else:
        project = load_config(Path(config) if config is not None else None, cwd=cwd, env=env)
    owned = persist_dir is None
    store_dir = Path(tempfile.mkdtemp(prefix="durable-test-")) if owned else persist_dir
    assert store_dir is not None
    clock = VirtualClock(start_ms)
    harness = Harness(clock)
    try:
        runtime = await open_runtime(
            project,
            persist_dir=store_dir,
            wrangler_state_dir=store_dir / "wrangler-state",  # each test: empty KV/R2 of its own
            engine_factory=functools.partial(HarnessEngine, harness=harness),
            clock=clock,
        )
        try:
            await apply_d1_migrations(runtime)
            yield DurableEnv(runtime, harness)
        finally:
            await runtime.close()
    finally:
        if owned:
            shutil.rmtree(store_dir, ignore_errors=True)
