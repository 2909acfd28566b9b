"""Running a conformance workflow on durable's engine: a project on disk, opened like `open_env`
but with an engine that parks every wait, so that run() is replayed after each one.

Both sides of the oracle run here. durable's side is the corpus workflow itself under durable's
`workers` shim; the production side (conformance_engine_js) is the same workflow under the
production SDK, whose JS-side step calls durable's engine serves. One driver runs both: create
the instance, let it run, send the case's events, then move the virtual clock an hour at a time
until the instance ends.
"""

from __future__ import annotations

import asyncio
import functools
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from durable.runtime.config import load_config
from durable.runtime.dev.project import open_runtime
from durable.runtime.engine.state import Limits
from durable.testing.clock import VirtualClock
from durable.testing.env import DurableEnv
from durable.testing.harness import Harness, HarnessEngine

IMPLICIT_DATE = "2026-03-01"  # step.do with implicit dependencies
LEGACY_DATE = "2025-11-02"  # step.do("name", depends=[...])
TERMINAL = {"complete", "errored", "terminated"}
INSTANCE_ID = "conformance-1"

# Every wait (a sleep, a retry back-off, an event wait) parks the instance out of memory, and
# the engine replays run() from the top when it wakes: as production does after a hibernation.
# (durable.testing's own engine keeps every wait in memory, and so never replays.)
REPLAYING_LIMITS = Limits(
    max_concurrency=1000,
    park_after_ms=0,
    max_waiting_in_memory=0,
    min_event_timeout_ms=1000,
    wake_lead_ms=0,
)


def write_project(
    root: Path, source: str, class_name: str, implicit: bool, env_vars: dict[str, str]
) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "worker.py").write_text(textwrap.dedent(source))
    date = IMPLICIT_DATE if implicit else LEGACY_DATE
    var_lines = "".join(f'{k} = "{v}"\n' for k, v in env_vars.items())
    config = root / "wrangler.toml"
    config.write_text(
        f'name = "conformance"\nmain = "src/worker.py"\ncompatibility_date = "{date}"\n'
        # The SDK rethrows a NonRetryableError as it is: the preserving behaviour
        'compatibility_flags = ["python_workers", "workflows_preserve_non_retryable_error_message"]\n'
        + (f"[vars]\n{var_lines}" if var_lines else "")
        + f'[[workflows]]\nname = "conformance"\nbinding = "CASE"\nclass_name = "{class_name}"\n'
    )
    return config


@asynccontextmanager
async def open_replaying_env(config: Path, persist_dir: Path) -> AsyncIterator[DurableEnv]:
    """`durable.testing.open_env`, with an engine given REPLAYING_LIMITS."""
    clock = VirtualClock()
    harness = Harness(clock)
    runtime = await open_runtime(
        load_config(config),
        persist_dir=persist_dir,
        wrangler_state_dir=persist_dir / "wrangler-state",
        engine_factory=functools.partial(HarnessEngine, harness=harness),
        clock=clock,
        limits=REPLAYING_LIMITS,
    )
    try:
        yield DurableEnv(runtime, harness)
    finally:
        await runtime.close()


async def quiesce(env: DurableEnv) -> None:
    """Settle, and also wait for parked instances that are due to be loaded and replayed
    (`settle` sees only instances in memory; a wake reads the store first)."""
    engine = env.engine
    for _ in range(2000):
        await env.settle()
        now = engine.now_ms()
        waking = engine._waking or any(wake <= now for wake, _ in engine._parked.values())
        if not waking:
            return
        await asyncio.sleep(0.002)
    raise AssertionError("parked instances were never replayed")


async def drive(
    root: Path,
    worker_source: str,
    class_name: str,
    *,
    params: Any,
    implicit: bool,
    env_vars: dict[str, str],
    events: list[tuple[str, Any]],
) -> dict[str, Any]:
    """Run one instance to its end; its last status()."""
    config = write_project(root, worker_source, class_name, implicit, env_vars)
    async with open_replaying_env(config, root / ".durable") as env:
        handle = await env.env.CASE.create(id=INSTANCE_ID, params=params)
        await quiesce(env)
        for event_type, payload in events:
            await handle.send_event(type=event_type, payload=payload)
            await quiesce(env)
        for _ in range(100):
            status = await handle.status()
            if status["status"] in TERMINAL:
                break
            await env.advance("1 hour")
            await quiesce(env)
        else:
            raise AssertionError(f"the instance never finished: {status}")
        return dict(status)


def outcome_of(status: dict[str, Any]) -> tuple[str, Any]:
    """("complete", output) or ("errored", (name, message)) from a status()."""
    if status["status"] == "complete":
        return ("complete", status.get("output"))
    error = status.get("error") or {}
    return (status["status"], (error.get("name"), error.get("message")))


async def run_workflow(
    root: Path,
    source: str,
    class_name: str,
    *,
    params: Any,
    implicit: bool,
    env_vars: dict[str, str] | None = None,
    events: list[tuple[str, Any]] | None = None,
) -> tuple[str, Any]:
    """Run one instance through durable's shim: ("complete", output) or ("errored", (name,
    message))."""
    status = await drive(
        root,
        source,
        class_name,
        params=params,
        implicit=implicit,
        env_vars=env_vars or {},
        events=events or [],
    )
    return outcome_of(status)
