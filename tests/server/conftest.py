"""Fixtures for the `durable dev` tests; the helpers live in dev_harness.py."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dev_harness import DevServer, start_dev_server


@pytest.fixture
def dev_server() -> Iterator[Callable[..., DevServer]]:
    started: list[DevServer] = []

    def start(root: Path, *args: str, **kwargs: Any) -> DevServer:
        server = start_dev_server(root, *args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(signal.SIGTERM, 5)


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
