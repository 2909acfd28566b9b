"""Shared fixtures: real projects on disk, real SQLite stores, real engines."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from durable.runtime.config import load_config
from durable.runtime.dev.project import Runtime, open_runtime
from durable.runtime.engine.clock import Clock
from durable.runtime.engine.state import Limits

# Sub-second settings for tests: park quickly, allow short event timeouts.
FAST = Limits(max_concurrency=1000, park_after_ms=200, min_event_timeout_ms=10)


def write_project(
    root: Path,
    entry: str,
    *,
    workflows: list[tuple[str, str, str]] | None = None,
    compatibility_date: str = "2026-03-01",
    flags: tuple[str, ...] = ("python_workers",),
    extra: str = "",
) -> Path:
    """Write wrangler.toml + src/entry.py; `workflows` are (name, binding, class_name)."""
    workflows = workflows or [("my-workflow", "MY_WORKFLOW", "MyWorkflow")]
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "entry.py").write_text(textwrap.dedent(entry))
    flag_list = ", ".join(f'"{f}"' for f in flags)
    sections = "".join(
        f'\n[[workflows]]\nname = "{n}"\nbinding = "{b}"\nclass_name = "{c}"\n'
        for n, b, c in workflows
    )
    config = root / "wrangler.toml"
    config.write_text(
        f'name = "test-project"\nmain = "src/entry.py"\n'
        f'compatibility_date = "{compatibility_date}"\ncompatibility_flags = [{flag_list}]\n'
        f"{extra}{sections}"
    )
    return config


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    def make(entry: str, **kwargs: Any) -> Path:
        return write_project(tmp_path, entry, **kwargs)

    return make


@pytest.fixture
async def runtime_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    opened: list[Runtime] = []

    async def make(
        config: Path,
        *,
        limits: Limits = FAST,
        persist: Path | None = None,
        clock: Clock | None = None,
    ) -> Runtime:
        runtime = await open_runtime(
            load_config(config),
            persist_dir=persist or tmp_path / ".durable",
            limits=limits,
            clock=clock,
        )
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        if not runtime.store._closed:
            await runtime.close()
