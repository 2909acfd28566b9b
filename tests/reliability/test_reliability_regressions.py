"""Regression tests for the bugs the reliability suites found (see RELIABILITY.md).

1. An attempt interrupted before its start was committed ran again under the *same* attempt
   number (`ctx.attempt`), so two executions carried one number (found by the crash suite).
2. A huge `--page` / `?page=` overflowed SQLite's 64-bit OFFSET: a traceback in the CLI, a 500
   from the API (found by the bad-input catalogue).
3. A step called but never awaited only produced Python's "coroutine 'WorkflowStep._run' was
   never awaited" (found by the bad-input catalogue).
4. `parse_duration` raised OverflowError for infinite or huge durations, and a retry back-off
   could grow past the store's 64-bit integers (found by the property tests).
5. With no server, an event / pause / resume for an instance whose trigger was just recorded
   failed with "not found" (found by the concurrency suite).
6. Two `trigger --wait` with no server at once: the second failed at once instead of waiting
   for the first to finish (found by the concurrency suite).
7. A pause or terminate that reached an instance launched a moment before, whose task had not
   started yet, left it stuck: "running" forever, or never terminated (found with 5.).
8. A resume right after a pause took effect was lost: the instance had just left memory and
   the engine read its status from the store before "paused" was committed (found by the
   concurrency suite: paused-then-resumed instances stayed paused).
"""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import warnings
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from durable.cli.app import app
from durable.runtime.api.service import Service
from durable.runtime.config import load_config
from durable.runtime.dev.server import DevApp
from durable.runtime.durations import MAX_DURATION_MS, parse_duration
from durable.runtime.engine.execution import resolve_config
from durable.runtime.engine.store import Store
from durable.runtime.errors import ValidationError
from tests.conftest import write_project
from tests.server.dev_harness import durable_command

KILLED_IN_ATTEMPT = """
import os
import signal

from workers import WorkflowEntrypoint

LOG = {log!r}


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("once")
        async def once(ctx):
            first = not os.path.exists(LOG)
            with open(LOG, "a") as f:
                f.write(f"{{ctx['attempt']}}\\n")
            if first:  # the process dies in the middle of attempt 1, before any await
                os.kill(os.getpid(), signal.SIGKILL)
            return ctx["attempt"]

        return await once()
"""


async def test_attempt_killed_before_any_await_reruns_as_the_next_attempt(
    tmp_path: Path, runtime_factory
) -> None:
    log = tmp_path / "attempts.log"
    config = write_project(tmp_path, KILLED_IN_ATTEMPT.format(log=str(log)))
    # `trigger --wait` with no server runs the instance in the CLI process, which dies.
    killed = subprocess.run(
        [*durable_command(), "workflows", "trigger", "my-workflow", "--id", "k1", "--wait"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    runtime = await runtime_factory(config)  # resumes the instance by itself
    row = await runtime.engine.wait_for("my-workflow", "k1", ("complete", "errored"), timeout=10)
    assert json.loads(row.output) == 2
    assert log.read_text().split() == ["1", "2"]  # never attempt 1 twice
    (step,) = await runtime.store.steps_of(row.pk)
    attempts = json.loads(step.attempts)
    assert [a.get("interrupted", False) for a in attempts] == [True, False]


ENTRY = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("forgotten")
        async def forget_me():
            return 1

        forget_me()  # no await: the step never runs
        return "done"
"""


async def test_huge_page_is_a_validation_error(tmp_path: Path) -> None:
    config = load_config(write_project(tmp_path, ENTRY))
    store = await Store.open(tmp_path / ".durable" / "durable.sqlite3")
    try:
        service = Service(config, store, None)
        with pytest.raises(ValidationError, match="out of range"):
            await service.list_instances("my-workflow", page=10**20)
        last = (2**63 - 1) // 1000 + 1
        assert (await service.list_instances("my-workflow", page=last, per_page=1000)).items == []
        app_ = DevApp(service, None, None)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app_),  # type: ignore[arg-type]  # dict-typed ASGI
            base_url="http://127.0.0.1:8787",
        ) as client:
            response = await client.get(
                "/client/v4/accounts/local/workflows/my-workflow/instances",
                params={"page": "1e20"},
            )
        assert response.status_code == 400 and "out of range" in response.text
    finally:
        await store.close()


def test_huge_page_in_the_cli_is_one_line(tmp_path: Path, monkeypatch) -> None:
    write_project(tmp_path, ENTRY)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["instances", "list", "my-workflow", "--page", str(10**20)], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("✘ [ERROR] page 100000000000000000000 is out of range")


async def test_a_step_never_awaited_is_named_in_a_warning(
    tmp_path: Path, runtime_factory, caplog
) -> None:
    runtime = await runtime_factory(write_project(tmp_path, ENTRY))
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        await runtime.env.MY_WORKFLOW.create({"id": "lazy"})
        row = await runtime.engine.wait_for("my-workflow", "lazy", ("complete",), timeout=5)
        gc.collect()
    assert json.loads(row.output) == "done"
    assert (
        'Workflow "my-workflow", instance "lazy": step "forgotten" was called but never awaited, '
        'so it did not run. Write "await forget_me()" in run().'
    ) in caplog.text
    assert not [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert await runtime.store.steps_of(row.pk) == []


@pytest.mark.parametrize(
    "value", [float("inf"), 1e400, 10**400, "1" + "0" * 400 + " seconds", MAX_DURATION_MS + 1]
)
def test_overlong_durations_are_validation_errors(value: object) -> None:
    with pytest.raises(ValidationError, match="too long"):
        parse_duration(value)


def test_retry_backoff_stays_within_the_store_integers() -> None:
    config = resolve_config("s", {"retries": {"limit": 1000, "delay": "1 year"}})
    assert config.delay_after(1) == 31_557_600_000
    assert config.delay_after(900) == MAX_DURATION_MS


WAITS = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        got = await step.wait_for_event("w", "go", timeout="1 hour")
        return got["payload"]
"""


def test_offline_writes_to_an_offline_trigger_are_recorded_and_applied(
    tmp_path, monkeypatch
) -> None:
    import asyncio

    from durable.runtime.dev.project import open_runtime

    config = write_project(tmp_path, WAITS)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (
        ["workflows", "trigger", "my-workflow", "--id", "later"],
        ["instances", "pause", "my-workflow", "later"],
        ["instances", "send-event", "my-workflow", "later", "--type", "go", "--payload", "7"],
        ["instances", "resume", "my-workflow", "later"],
    ):
        result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        if args[0] == "workflows":  # the instance itself is in the store at once, queued
            assert result.stdout == '🚀 Workflow instance "later" has been queued successfully\n'
        else:  # and so does every write to it: applied to the store, nothing recorded
            assert "recorded" not in result.stdout
    missing = runner.invoke(app, ["instances", "pause", "my-workflow", "nope"])
    assert missing.exit_code == 1 and 'Instance "nope" not found' in missing.stderr

    async def start_dev_like() -> None:  # what `durable dev` does when it starts
        runtime = await open_runtime(load_config(config), persist_dir=tmp_path / ".durable")
        try:
            assert (
                await Service(runtime.config, runtime.store, runtime.engine).apply_intents() == []
            )
            row = await runtime.engine.wait_for("my-workflow", "later", ("complete",), timeout=5)
            assert json.loads(row.output) == 7
        finally:
            await runtime.close()

    asyncio.run(start_dev_like())


def test_two_embedded_runs_take_turns(tmp_path, monkeypatch) -> None:
    import threading
    import time

    from durable.runtime.dev.discovery import acquire_engine_lock

    write_project(tmp_path, ENTRY)
    monkeypatch.chdir(tmp_path)
    busy = acquire_engine_lock(tmp_path / ".durable", timeout=0)  # another trigger --wait
    assert busy is not None
    threading.Timer(0.5, busy.release).start()
    began = time.monotonic()
    result = CliRunner().invoke(
        app, ["workflows", "trigger", "my-workflow", "--wait"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Completed" in result.stdout and time.monotonic() - began >= 0.4


async def test_pause_and_terminate_right_after_create(tmp_path: Path, runtime_factory) -> None:
    runtime = await runtime_factory(write_project(tmp_path, WAITS))
    engine = runtime.engine
    # No await that yields between the create and the request: the task has not started.
    await engine.create("my-workflow", "p")
    await engine.pause("my-workflow", "p")
    assert (await engine.get_row("my-workflow", "p")).status == "paused"
    await engine.send_event("my-workflow", "p", "go", "after pause")
    await engine.resume("my-workflow", "p")
    row = await engine.wait_for("my-workflow", "p", ("complete",), timeout=5)
    assert json.loads(row.output) == "after pause"

    await engine.create("my-workflow", "t")
    await engine.terminate("my-workflow", "t")
    row = await engine.wait_for("my-workflow", "t", ("terminated",), timeout=5)
    assert (await runtime.store.get_instance("my-workflow", "t")).status == "terminated"
    assert "t" not in {inst.row.id for inst in engine.loaded.values()}


GATED = """
import asyncio

from workers import WorkflowEntrypoint

GATE = asyncio.Event()


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("slow")
        async def slow():
            await GATE.wait()
            return 1

        await slow()
        got = await step.wait_for_event("w", "go", timeout="1 hour")
        return got["payload"]
"""


async def test_resume_right_after_a_pause_took_effect(
    tmp_path: Path, runtime_factory, monkeypatch
) -> None:
    import asyncio
    import threading

    import durable.runtime.engine.store as store_module

    # Hold back the commit of the "paused" status for a moment, as a busy writer would.
    released = threading.Event()
    commit = store_module._commit_batch

    def slow_commit(conn, ops):
        if any(op[0] == "put" and op[1] == "instances" and op[3][3] == "paused" for op in ops):
            released.wait(5)
        return commit(conn, ops)

    monkeypatch.setattr(store_module, "_commit_batch", slow_commit)
    runtime = await runtime_factory(write_project(tmp_path, GATED))
    engine = runtime.engine
    row = await engine.create("my-workflow", "r")
    inst = engine.loaded[row.pk]
    while inst.callbacks_running == 0:
        await asyncio.sleep(0.01)
    await engine.pause("my-workflow", "r")  # the step runs: the pause waits for its end
    assert (await engine.get_row("my-workflow", "r")).status == "waitingForPause"
    threading.Timer(0.3, released.set).start()
    runtime.code.module.GATE.set()  # the step ends; the instance parks, paused
    await asyncio.wait([inst.task], timeout=5)
    await engine.resume("my-workflow", "r")  # before "paused" is committed
    await engine.send_event("my-workflow", "r", "go", "resumed")
    row = await engine.wait_for("my-workflow", "r", ("complete", "paused"), timeout=5)
    assert (row.status, json.loads(row.output or "null")) == ("complete", "resumed")
