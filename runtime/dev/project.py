"""The composition root: config + user code + store + engine + bindings, wired together.

Everything that runs workflows (`durable dev`'s worker, `trigger --wait` with no server, the
test harness) builds its runtime here, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from durable.runtime.bindings.env import Env, build_env
from durable.runtime.bindings.miniflare import state_root
from durable.runtime.config import DEFAULT_PERSIST_DIRNAME as DEFAULT_PERSIST_DIRNAME
from durable.runtime.config import ProjectConfig, persist_dir_for
from durable.runtime.engine.clock import Clock, WallClock
from durable.runtime.engine.scheduler import Engine
from durable.runtime.engine.state import Limits, WorkflowDefinition
from durable.runtime.engine.store import STORE_FILENAME, Store
from durable.runtime.worker.globals import set_current_env
from durable.runtime.worker.loader import LoadedCode, load_code
from durable.runtime.worker.timezone import enter_utc, leave_utc


def store_path(persist_dir: Path) -> Path:
    return persist_dir / STORE_FILENAME


def definitions_for(
    config: ProjectConfig, code: LoadedCode | None
) -> dict[str, WorkflowDefinition]:
    classes = code.workflow_classes if code is not None else {}
    return {
        wf.name: WorkflowDefinition(
            name=wf.name,
            binding=wf.binding,
            class_name=wf.class_name,
            cls=classes.get(wf.name),
            script_name=wf.script_name,
            step_limit=wf.step_limit,
            implicit_dependencies=config.implicit_step_dependencies,
            dependencies_chosen_by=config.flag_reason("implicit_step_dependencies"),
            preserve_non_retryable_message=config.preserve_non_retryable_error_message,
        )
        for wf in config.workflows
    }


@dataclass
class Runtime:
    config: ProjectConfig
    code: LoadedCode | None
    store: Store
    engine: Engine
    env: Env
    holds_utc: bool = field(default=False, repr=False)  # user code's zone is UTC until close

    async def close(self, grace: float = 0.0) -> None:
        try:
            await self.engine.stop(grace)
            await self.store.close()
            for ns in self.config.kv_namespaces:
                getattr(self.env, ns.binding).close()
            for db in self.config.d1_databases:
                getattr(self.env, db.binding).close()
            for bucket in self.config.r2_buckets:
                getattr(self.env, bucket.binding).close()
        finally:
            if self.holds_utc:
                self.holds_utc = False
                leave_utc()


async def open_runtime(
    config: ProjectConfig,
    *,
    persist_dir: Path | None = None,
    limits: Limits | None = None,
    resume: bool = True,
    load_user_code: bool = True,
    code: LoadedCode | None = None,
    engine_factory: Callable[..., Engine] = Engine,
    clock: Clock | None = None,
    before_start: Callable[[Store], Awaitable[None]] | None = None,
    wrangler_state_dir: Path | None = None,
) -> Runtime:
    """Load the user's code (unless given), open the store and start the engine.

    The engine reads time from `clock`: the wall clock unless told otherwise (the test harness
    gives its virtual clock). `engine_factory` builds the engine from
    `(store, definitions, limits=..., clock=...)`; the test harness passes its Engine subclass
    (its hooks: trace and step mocks) here. `before_start` gets the store before the engine
    reads it (`durable dev` applies recorded writes there, before anything resumes). KV and R2
    data lives in wrangler's own local state, `wrangler_state_dir` (default `.wrangler/state`
    next to the config).

    User code's local time zone is UTC from here until `Runtime.close()` (worker/timezone.py).
    """
    enter_utc()
    try:
        return await _open_runtime(
            config,
            persist_dir,
            limits,
            resume,
            load_user_code,
            code,
            engine_factory,
            clock,
            before_start,
            wrangler_state_dir,
        )
    except BaseException:
        leave_utc()
        raise


async def _open_runtime(
    config: ProjectConfig,
    persist_dir: Path | None,
    limits: Limits | None,
    resume: bool,
    load_user_code: bool,
    code: LoadedCode | None,
    engine_factory: Callable[..., Engine],
    clock: Clock | None,
    before_start: Callable[[Store], Awaitable[None]] | None,
    wrangler_state_dir: Path | None,
) -> Runtime:
    if code is None and load_user_code:
        code = load_code(config)
    store = await Store.open(store_path(persist_dir or persist_dir_for(config)))
    if before_start is not None:
        try:
            await before_start(store)
        except BaseException:
            await store.close()
            raise
    clock = clock if clock is not None else WallClock()
    engine = engine_factory(store, definitions_for(config, code), limits=limits, clock=clock)
    env = build_env(
        engine,
        config.vars,
        {wf.binding: wf.name for wf in config.workflows},
        kv_namespaces=config.kv_namespaces,
        d1_databases=config.d1_databases,
        r2_buckets=config.r2_buckets,
        state_dir=wrangler_state_dir or state_root(config.root),
        now_ms=clock.now_ms,
    )
    engine.env = env
    set_current_env(env)  # `workers.env`, as production's module-level env
    try:
        await engine.start(resume=resume and load_user_code)
    except BaseException:
        await store.close()
        raise
    return Runtime(config, code, store, engine, env, holds_utc=True)
