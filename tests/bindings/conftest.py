"""Fixtures for the binding tests: a project with a KV namespace, and real wrangler if present."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kv_support import Clock

from durable.runtime.bindings.kv import KVNamespace, KVNamespaceState

WRANGLER = Path.home() / ".cache" / "durable-wrangler" / "node_modules" / ".bin" / "wrangler"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kv(tmp_path: Path, clock: Clock) -> Iterator[KVNamespace]:
    namespace = KVNamespace(KVNamespaceState(tmp_path / "state", "world-kv", clock), "KV")
    yield namespace
    namespace.close()


def wrangler_path() -> Path | None:
    if WRANGLER.exists():
        return WRANGLER
    found = shutil.which("wrangler")
    return Path(found) if found else None


@pytest.fixture
def wrangler() -> Callable[..., str]:
    path = wrangler_path()
    if path is None or shutil.which("node") is None:
        pytest.skip("wrangler is not installed")

    def run(cwd: Path, *args: str) -> str:
        env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "1"}
        done = subprocess.run(
            [str(path), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
        )
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    return run
