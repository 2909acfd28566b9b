"""Fixtures for the harness's own tests: a project on disk per test, opened with `open_env`."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from durable.testing import DurableEnv, open_env

IMPLICIT = "2026-03-01"  # step.do with implicit dependencies (parameters named after steps)
LEGACY = "2025-11-02"  # step.do("name", depends=[...])

OpenProject = Callable[..., Awaitable[DurableEnv]]


def write_project(
    root: Path,
    entry: str,
    *,
    compatibility_date: str = IMPLICIT,
    workflows: list[tuple[str, str, str]] | None = None,
    extra: str = "",
) -> Path:
    """wrangler.toml + src/entry.py under `root`; `workflows` are (name, binding, class)."""
    workflows = workflows or [("my-workflow", "MY_WORKFLOW", "MyWorkflow")]
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "entry.py").write_text(textwrap.dedent(entry))
    sections = "".join(
        f'\n[[workflows]]\nname = "{n}"\nbinding = "{b}"\nclass_name = "{c}"\n'
        for n, b, c in workflows
    )
    config = root / "wrangler.toml"
    config.write_text(
        f'name = "harness-test"\nmain = "src/entry.py"\n'
        f'compatibility_date = "{compatibility_date}"\n'
        f'compatibility_flags = ["python_workers"]\n{extra}{sections}'
    )
    return config


@pytest.fixture
async def open_project(tmp_path: Path) -> AsyncIterator[OpenProject]:
    """`await open_project(entry_source, compatibility_date=...)` → an open DurableEnv."""
    opened = 0
    async with AsyncExitStack() as stack:

        async def make(entry: str, **options: Any) -> DurableEnv:
            nonlocal opened
            opened += 1
            root = tmp_path / f"project{opened}"
            config = write_project(root, entry, **options)
            return await stack.enter_async_context(open_env(config, persist_dir=root / ".durable"))

        yield make
