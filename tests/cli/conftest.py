"""Fixtures for the CLI tests: a project on disk, a fixed terminal, and `run` for CliRunner.

Projects are written with tests/conftest.py's `write_project` (the `project` fixture); the CLI
then runs in-process through typer's CliRunner against the real store in `.durable/`. Helpers
that tests import by name live in cli_support.py (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import ENTRY, WORKFLOWS
from typer.testing import CliRunner, Result

from durable.cli.app import app


@pytest.fixture(autouse=True)
def fixed_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stable tables and dates: a wide terminal, no colour, UTC, no ambient credentials."""
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("TERMINAL_WIDTH", "160")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    for var in (
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "CLOUDFLARE_API_BASE_URL",
        "DURABLE_API_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    yield
    monkeypatch.undo()
    time.tzset()  # back to the machine's zone for the tests that follow


@pytest.fixture
def cli_project(project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with two workflows; the tests run in its folder. Returns the folder."""
    config = project(ENTRY, workflows=WORKFLOWS)
    monkeypatch.chdir(config.parent)
    return config.parent


@pytest.fixture
def run() -> Callable[..., Result]:
    """`run("workflows", "list", input=None)`: invoke the CLI in-process."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **kwargs: Any) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False, **kwargs)

    return invoke
