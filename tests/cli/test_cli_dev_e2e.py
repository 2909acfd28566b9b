"""End to end: the CLI against a real `durable dev` subprocess, found through its discovery file.

One test walks the whole story, because starting a server is the expensive part: a trigger
recorded while no server ran is applied when `durable dev` starts; then every command talks to
the server over HTTP (never recording intents, never running an engine itself).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from durable.runtime.dev.discovery import find_server


def durable_command() -> list[str]:
    script = Path(sys.executable).parent / "durable"
    return [str(script)] if script.exists() else [sys.executable, "-m", "durable.cli.app"]


@pytest.fixture
def dev_server(cli_project: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Call it to start `durable dev --port 0` in the project; it is stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []
    log = (cli_project / "dev.log").open("wb")

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [*durable_command(), "dev", "--port", "0", "--no-reload"],
            cwd=cli_project,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    log.close()


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def test_cli_against_a_running_durable_dev(run, cli_project, dev_server, monkeypatch):
    persist = cli_project / ".durable"

    def details(instance_id: str) -> dict[str, Any]:
        result = run("instances", "describe", "my-workflow", instance_id, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    # Recorded while no server runs ...
    pre = run("workflows", "trigger", "my-workflow", '{"a": 20, "b": 1}', "--id", "pre")
    assert pre.exit_code == 0, pre.output
    assert pre.stdout == '🚀 Workflow instance "pre" has been queued successfully\n'
    assert "No durable dev is running" in pre.stderr
    assert details("pre")["status"] == "queued"  # it exists from the moment it is acknowledged

    proc = dev_server()
    server = wait_until(lambda: find_server(persist), what="the discovery file")
    assert proc.poll() is None
    wait_until(lambda: run("workflows", "list", "--json").exit_code == 0, what="the API")

    listed = run("-v", "workflows", "list", "--json")
    assert f"Using durable dev at http://127.0.0.1:{server.port}" in listed.stderr
    assert [w["name"] for w in json.loads(listed.stdout)] == ["my-workflow", "other"]

    # ... and applied when the server started.
    wait_until(lambda: details("pre")["status"] == "complete", what="the recorded trigger")
    assert details("pre")["output"] == {"total": 21}

    # trigger --wait polls the server; no engine runs in the CLI.
    waited = run("workflows", "trigger", "my-workflow", '{"a": 2, "b": 3}', "--wait", "--json")
    assert waited.exit_code == 0, waited.output
    assert json.loads(waited.stdout)["output"] == {"total": 5}
    assert "runs in this process" not in waited.stderr
    assert "⏳" not in waited.stderr  # --json: no progress lines

    # Ctrl-C while waiting on the server: the instance carries on there, and the CLI says so.
    from durable.runtime.client.http import HttpClient

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(HttpClient, "wait", interrupted)
        stopped = run("workflows", "trigger", "my-workflow", "--id", "cc", "--wait")
    assert stopped.exit_code == 130
    assert stopped.stderr.splitlines()[-1] == (
        f'✘ [ERROR] Interrupted: instance "cc" is still running in durable dev at '
        f"http://127.0.0.1:{server.port}."
    )

    # A live trigger, an event wait, and the event that ends it.
    live = run("workflows", "trigger", "my-workflow", '{"wait": true}', "--id", "ev")
    assert live.stdout == '🚀 Workflow instance "ev" has been queued successfully\n'
    wait_until(lambda: details("ev")["status"] == "waiting", what="the event wait")
    described = run("instances", "describe", "my-workflow", "latest")
    assert described.stdout.startswith("Describing latest instance:\n")
    assert "  Event Type:  approved" in described.stdout
    sent = run(
        "instances",
        "send-event",
        "my-workflow",
        "ev",
        "--type",
        "approved",
        "--payload",
        '{"ok": true}',
    )
    assert sent.stdout == (
        '📤 The event with type "approved" and payload {"ok":true} was sent to the instance '
        '"ev" from my-workflow\n'
    )
    wait_until(lambda: details("ev")["status"] == "complete", what="the event to be taken")
    assert details("ev")["output"]["approved"] == {"ok": True}

    # Lifecycle of a sleeping instance.
    run("workflows", "trigger", "my-workflow", '{"nap": true}', "--id", "nap")
    wait_until(lambda: details("nap")["status"] == "waiting", what="the sleep")
    paused = run("instances", "pause", "my-workflow", "nap")
    assert paused.exit_code == 0, paused.output
    assert paused.stdout in (
        '⏸️ The instance "nap" from my-workflow was paused successfully\n',
        '⏱️ The instance "nap" from my-workflow pauses when its running step ends\n',
    )
    wait_until(lambda: details("nap")["status"] == "paused", what="the pause")
    resumed = run("instances", "resume", "my-workflow", "nap")
    assert resumed.stdout == '🔄 The instance "nap" from my-workflow was resumed successfully\n'
    terminated = run("instances", "terminate", "my-workflow", "nap")
    assert (
        terminated.stdout == '🥷 The instance "nap" from my-workflow was terminated successfully\n'
    )
    wait_until(lambda: details("nap")["status"] == "terminated", what="the termination")
    ended = run("instances", "describe", "my-workflow", "nap")
    assert "Status:                🚫 Terminated" in ended.stdout
    assert "  Type:     🚫 Termination\n  Trigger:  🌎 API\n" in ended.stdout
    refused = run("instances", "terminate", "my-workflow", "nap")
    assert refused.exit_code == 1 and refused.stderr.startswith("✘ [ERROR] ")
    restarted = run("instances", "restart", "my-workflow", "nap")
    assert restarted.stdout == '🥷 The instance "nap" from my-workflow was restarted successfully\n'

    # Human tables come from the server's data too.
    table = run("instances", "list", "my-workflow", "--status", "complete")
    assert table.exit_code == 0, table.output
    assert "│ ev " in table.stdout and "✅ Completed" in table.stdout

    # --port reaches the server when the persist dir has no discovery file.
    empty = cli_project / "empty-persist"
    empty.mkdir()
    by_port = run(
        "--persist-to", str(empty), "--port", str(server.port), "-v", "workflows", "list", "--json"
    )
    assert by_port.exit_code == 0, by_port.output
    assert f"Using durable dev at http://127.0.0.1:{server.port}" in by_port.stderr

    # --remote is the same client: pointed at durable dev's REST API, it works too.
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", f"{server.url}/client/v4")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "unused-locally")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "local")
    remote = run(
        "--remote", "instances", "list", "my-workflow", "--per-page", "1", "--page", "2", "--json"
    )
    assert remote.exit_code == 0, remote.output
    assert len(json.loads(remote.stdout)) == 1  # page 2 reached by following the cursor
    remote_latest = run("--remote", "instances", "describe", "my-workflow", "--json")
    assert remote_latest.exit_code == 0, remote_latest.output
    assert json.loads(remote_latest.stdout)["id"] == "nap"
    for var in ("CLOUDFLARE_API_BASE_URL", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"):
        monkeypatch.delenv(var)

    # Deletes.
    deleted = run("instances", "delete", "my-workflow", "ev")
    assert deleted.stdout == '🗑️  Deleted workflow instances from "my-workflow": "ev"\n'
    gone = run("instances", "describe", "my-workflow", "ev")
    assert gone.exit_code == 1 and 'Instance "ev" not found' in gone.stderr
    wiped = run("workflows", "delete", "my-workflow", "--yes")
    assert wiped.stdout == '✅ Workflow "my-workflow" instances removed successfully.\n'
    assert json.loads(run("instances", "list", "my-workflow", "--json").stdout) == []

    # Errors from the server keep their message and code.
    unknown = run("workflows", "describe", "nope")
    assert unknown.exit_code == 1
    assert 'Workflow "nope" not found. Known workflows: my-workflow, other.' in unknown.stderr
    assert "[code: 10200]" in unknown.stderr


def test_writes_to_a_durable_dev_whose_code_does_not_load_are_kept_and_visible(
    run, cli_project, dev_server
):
    """A broken entry module: every acknowledged write exists at once, and runs once it loads."""
    persist = cli_project / ".durable"
    entry = cli_project / "src" / "entry.py"
    good = entry.read_text()
    entry.write_text("import module_that_is_not_installed\n" + good)
    proc = dev_server()
    wait_until(lambda: find_server(persist), what="the discovery file")

    def details(instance_id: str) -> dict[str, Any]:
        result = run("instances", "describe", "my-workflow", instance_id, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    triggered = run("workflows", "trigger", "my-workflow", '{"a": 1, "wait": true}', "--id", "c1")
    assert triggered.exit_code == 0, triggered.output
    assert triggered.stdout == '🚀 Workflow instance "c1" has been queued successfully\n'
    listed = run("instances", "list", "my-workflow", "--json")
    assert [(i["id"], i["status"]) for i in json.loads(listed.stdout)] == [("c1", "queued")]
    assert details("c1")["params"] == {"a": 1, "wait": True}
    counts = json.loads(run("workflows", "describe", "my-workflow", "--json").stdout)
    assert counts["instances"]["queued"] == 1

    # The other writes take effect in the store too, and show.
    sent = run("instances", "send-event", "my-workflow", "c1", "--type", "approved")
    assert sent.exit_code == 0, sent.output
    paused = run("instances", "pause", "my-workflow", "c1")
    assert paused.stdout == '⏸️ The instance "c1" from my-workflow was paused successfully\n'
    assert details("c1")["status"] == "paused"
    resumed = run("instances", "resume", "my-workflow", "c1")
    assert resumed.exit_code == 0, resumed.output
    assert details("c1")["status"] == "queued"
    run("workflows", "trigger", "my-workflow", "--id", "gone")
    terminated = run("instances", "terminate", "my-workflow", "gone")
    assert terminated.exit_code == 0, terminated.output
    assert details("gone")["status"] == "terminated"

    # Fixed code: the next durable dev runs what was accepted, with the event sent meanwhile.
    proc.send_signal(signal.SIGINT)
    proc.wait(15)
    entry.write_text(good)
    dev_server()
    wait_until(lambda: find_server(persist), what="the second server")
    wait_until(lambda: details("c1")["status"] == "complete", what="the queued instance to run")
    assert details("c1")["output"] == {"approved": {}}
    assert details("gone")["status"] == "terminated"


def test_offline_writes_show_at_once_and_durable_dev_continues_from_them(
    run, cli_project, dev_server
):
    """Offline writes change the store at once; `durable dev` then continues from that state.
    Writes recorded while another engine held the store are applied before anything resumes,
    so a recorded pause stops a queued instance before it runs a step."""
    from durable.runtime.dev.discovery import acquire_engine_lock

    persist = cli_project / ".durable"

    def details(instance_id: str) -> dict[str, Any]:
        result = run("instances", "describe", "my-workflow", instance_id, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def ok(*args: str) -> Any:
        result = run(*args)
        assert result.exit_code == 0, result.output
        return result

    ok("workflows", "trigger", "my-workflow", '{"wait": true}', "--id", "w", "--wait")
    ok("instances", "send-event", "my-workflow", "w", "--type", "approved", "--payload", "5")
    ok("workflows", "trigger", "my-workflow", '{"a": 1}', "--id", "t")
    ok("instances", "terminate", "my-workflow", "t")
    ok("workflows", "trigger", "my-workflow", '{"a": 2}', "--id", "q")
    ok("instances", "pause", "my-workflow", "q")
    ok("workflows", "trigger", "my-workflow", '{"a": 3}', "--id", "p")
    assert [details(i)["status"] for i in ("w", "t", "q", "p")] == [
        "waiting",
        "terminated",
        "paused",
        "queued",
    ]
    busy = acquire_engine_lock(persist, timeout=0)  # as another `trigger --wait` would
    assert busy is not None
    try:
        for n in range(30):  # recorded writes ahead of the pause, applied in order
            ok("instances", "send-event", "my-workflow", "q", "--type", f"noise{n}")
        paused = ok("instances", "pause", "my-workflow", "p")
        assert 'recorded "pause" for instance "p"' in paused.stdout
    finally:
        busy.release()

    dev_server()
    wait_until(lambda: find_server(persist), what="the discovery file")
    wait_until(lambda: details("w")["status"] == "complete", what="the buffered event")
    assert details("w")["output"] == {"approved": 5}
    p = details("p")
    assert (p["status"], p["steps"]) == ("paused", [])  # no step ran before the pause
    assert details("q")["status"] == "paused"
    t = details("t")
    assert t["status"] == "terminated"
    assert t["steps"] == [{"type": "termination", "trigger": {"source": "api"}}]
    ok("instances", "resume", "my-workflow", "p")
    wait_until(lambda: details("p")["status"] == "complete", what="the resumed instance")
    assert details("p")["output"] == {"total": 3}
