"""`durable workflows list|describe|delete|trigger`, the global options and the error boundary,
against a real store with no server running (reads from the store, writes recorded as intents,
`trigger --wait` on an embedded engine)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_support import one_line_error

from durable.cli.app import app
from durable.runtime.engine.store import STORE_FILENAME, Store, StoreQueries


def intents(persist: Path) -> list[tuple[str, str | None, str]]:
    async def read() -> list[tuple[str, str | None, str]]:
        store = await Store.open(persist / STORE_FILENAME)
        try:
            return [(i.workflow, i.instance_id, i.action) for i in await store.intents()]
        finally:
            await store.close()

    return asyncio.run(read())


# --- help, version, completion ----------------------------------------------------------------


def test_help_lists_every_command_and_completion(run):
    result = run("--help")
    assert result.exit_code == 0, result.output
    for command in ("dev", "init", "workflows", "instances"):
        assert f"  {command} " in result.stdout
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout
    for option in (
        "--config",
        "--env",
        "--cwd",
        "--persist-to",
        "--port",
        "--remote",
        "--version",
        "--verbose",
    ):
        assert option in result.stdout

    workflows = run("workflows", "--help")
    assert workflows.exit_code == 0
    for command in ("list", "describe", "delete", "trigger", "instances"):
        assert f"  {command} " in workflows.stdout
    for group in (("workflows", "instances"), ("instances",)):
        listed = run(*group, "--help")
        assert listed.exit_code == 0
        for command in (
            "list",
            "describe",
            "send-event",
            "pause",
            "resume",
            "terminate",
            "restart",
            "delete",
        ):
            assert f"  {command} " in listed.stdout


def _all_commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    ctx = typer.Context(command)
    for name in getattr(command, "list_commands", lambda ctx: [])(ctx):
        found += _all_commands(command.get_command(ctx, name), (*path, name))
    return found


def test_every_group_and_command_is_listed():
    paths = _all_commands(typer.main.get_command(app))
    instance_commands = {"list", "describe", "send-event", "pause", "resume", "terminate"}
    instance_commands |= {"restart", "delete"}
    assert {p[-1] for p in paths if p[:-1] == ("instances",)} == instance_commands
    assert {p[-1] for p in paths if p[:-1] == ("workflows", "instances")} == instance_commands
    assert {p[-1] for p in paths if p[:-1] == ("workflows",)} == {
        "list",
        "describe",
        "delete",
        "trigger",
        "instances",
    }
    assert {p for p in paths if len(p) == 1} == {
        ("dev",),
        ("init",),
        ("workflows",),
        ("instances",),
        ("kv",),
        ("d1",),
        ("r2",),
    }
    assert {p[-1] for p in paths if p[:-1] == ("kv", "key")} == {"put", "get", "list", "delete"}
    assert {p[-1] for p in paths if p[:-1] == ("d1",)} == {"execute", "migrations"}
    assert {p[-1] for p in paths if p[:-1] == ("d1", "migrations")} == {"create", "list", "apply"}
    assert {p[-1] for p in paths if p[:-1] == ("r2", "object")} == {"put", "get", "delete"}


@pytest.mark.parametrize("path", _all_commands(typer.main.get_command(app)), ids=" ".join)
def test_every_command_has_help(run, path):
    result = run(*path, "--help")
    assert result.exit_code == 0, result.output
    summary = result.stdout.split("\n\n")[1].strip()
    assert summary and not summary.startswith("Options"), result.stdout


def test_version_is_the_installed_distributions(run):
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"durable {version('durable')}\n"


def test_group_without_command_shows_its_help(run):
    result = run("workflows")
    assert result.exit_code == 2
    assert "Usage: durable workflows" in result.output


# --- list and describe --------------------------------------------------------------------------


def test_list_shows_configured_workflows(run, cli_project):
    result = run("workflows", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Showing 2 workflows from page 1:\n")
    header = result.stdout.splitlines()[2]
    for column in ("Name", "Script name", "Class name", "Created", "Modified"):
        assert column in header
    assert "│ my-workflow │ test-project │ MyWorkflow │" in result.stdout
    assert "│ other       │ test-project │ Other      │" in result.stdout


def test_list_json_is_the_rest_result(run, cli_project):
    result = run("workflows", "list", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [item["name"] for item in items] == ["my-workflow", "other"]
    assert set(items[0]) >= {"id", "name", "class_name", "script_name", "created_on", "modified_on"}
    assert set(items[0]["instances"]) >= {"queued", "running", "complete", "errored"}


def test_the_list_table_does_not_count_instances(run, cli_project, monkeypatch):
    # Counting scans every instance (100k rows in the benchmark) for numbers the table never
    # shows; only --json, the REST shape, needs them.
    counted: list[str] = []
    original = StoreQueries.status_counts

    async def spy(self: Any, workflow: str) -> dict[str, int]:
        counted.append(workflow)
        return await original(self, workflow)

    monkeypatch.setattr(StoreQueries, "status_counts", spy)
    assert run("workflows", "list").exit_code == 0
    assert counted == []
    assert run("workflows", "list", "--json").exit_code == 0
    assert counted == ["my-workflow", "other"]


def test_list_pages(run, cli_project):
    second = run("workflows", "list", "--page", "2", "--per-page", "1")
    assert second.exit_code == 0
    assert second.stdout.startswith("Showing 1 workflow from page 2:")
    assert "│ other" in second.stdout and "my-workflow" not in second.stdout
    empty = run("workflows", "list", "--page", "3")
    assert empty.exit_code == 0
    assert empty.stdout == ""
    assert "No Workflows found on page 3. Please try a smaller page number." in empty.stderr


def test_describe_shows_binding_and_counts(run, cli_project):
    run("workflows", "trigger", "my-workflow", '{"a": 1}', "--wait")
    result = run("workflows", "describe", "my-workflow")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Name:            my-workflow\n" in out
    assert "Binding:         MY_WORKFLOW\n" in out
    assert "Class Name:      MyWorkflow\n" in out
    assert "Script Name:     test-project\n" in out
    assert "Instance Status Counts:\n" in out
    assert "  complete:         1\n" in out
    assert "  waitingForPause:  0\n" in out

    as_json = json.loads(run("workflows", "describe", "my-workflow", "--json").stdout)
    assert as_json["name"] == "my-workflow"
    assert as_json["instances"]["complete"] == 1
    assert "binding" not in as_json  # the REST result, as Cloudflare shapes it


def test_unknown_workflow_lists_the_known_ones(run, cli_project):
    for args in (
        ("workflows", "describe", "nope"),
        ("workflows", "trigger", "nope"),
        ("workflows", "delete", "nope", "--yes"),
        ("workflows", "instances", "list", "nope"),
        ("instances", "describe", "nope"),
    ):
        result = run(*args)
        one_line_error(result, 'Workflow "nope" not found', "Known workflows: my-workflow, other")
        assert result.stdout == ""


# --- trigger ------------------------------------------------------------------------------------


def test_trigger_without_server_queues_a_visible_instance(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", '{"a": 1}', "--id", "later")
    assert result.exit_code == 0, result.output
    assert result.stdout == '🚀 Workflow instance "later" has been queued successfully\n'
    assert result.stderr == (
        "No durable dev is running: the instance waits, queued, and runs when durable dev "
        "starts. Run it now instead with --wait.\n"
    )
    # Acknowledged means it exists: queued, with its params, for every read, not an intent.
    assert intents(cli_project / ".durable") == []
    listed = json.loads(run("instances", "list", "my-workflow", "--json").stdout)
    assert [(i["id"], i["status"]) for i in listed] == [("later", "queued")]
    details = json.loads(run("instances", "describe", "my-workflow", "later", "--json").stdout)
    assert (details["status"], details["params"]) == ("queued", {"a": 1})
    again = run("workflows", "trigger", "my-workflow", "--id", "later")
    assert again.exit_code == 1
    assert 'An instance with id "later" already exists' in again.stderr


def test_trigger_without_server_while_another_engine_holds_the_store_records_it(run, cli_project):
    from durable.runtime.dev.discovery import acquire_engine_lock

    lock = acquire_engine_lock(cli_project / ".durable", timeout=0)  # a `trigger --wait`
    assert lock is not None
    try:
        result = run("workflows", "trigger", "my-workflow", "--id", "later")
    finally:
        lock.release()
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        '📥 No durable dev is running: recorded "trigger" for instance "later" of workflow '
        '"my-workflow"; durable dev applies it when it starts.\n'
    )
    assert intents(cli_project / ".durable") == [("my-workflow", "later", "create")]


def test_trigger_json_prints_the_create_result(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", "--id", "j1", "--json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["id"] == "j1"
    assert created["status"] == "queued"
    assert set(created) == {"id", "status", "version_id", "workflow_id"}
    assert "runs when durable dev starts" in result.stderr


def test_trigger_wait_runs_the_workflow_here(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", '{"a": 1, "b": 2}', "--id", "w1", "--wait")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == '🚀 Workflow instance "w1" has been queued successfully'
    assert "Status:    ✅ Completed" in lines
    assert 'Output:    {"total":3}' in lines
    assert "runs in this process" in result.stderr
    # It really ran and was recorded: the store has it, complete.
    listed = json.loads(run("instances", "list", "my-workflow", "--json").stdout)
    assert [(i["id"], i["status"]) for i in listed] == [("w1", "complete")]


def test_trigger_wait_json_is_one_document_with_json_values(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", '{"a": 5}', "--wait", "--json")
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)
    assert details["status"] == "complete"
    assert details["output"] == {"total": 5}
    assert details["params"] == {"a": 5}
    assert details["steps"][0]["output"] == {"sum": 5}


def test_trigger_wait_exits_1_when_errored(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", '{"fail": true}', "--wait")
    assert result.exit_code == 1, result.output
    assert "Status:    ❌ Errored" in result.stdout
    assert "Error:" in result.stdout and "boom" in result.stdout
    as_json = run("workflows", "trigger", "my-workflow", '{"fail": true}', "--wait", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["status"] == "errored"


def test_trigger_wait_reports_an_event_wait_and_stops(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", '{"wait": true}', "--id", "ev", "--wait")
    assert result.exit_code == 0, result.output
    assert "Status:       ⏰ Waiting" in result.stdout
    assert 'Waiting For:  event "approved" (step approval-1), times out' in result.stdout
    assert "durable workflows instances send-event my-workflow ev --type approved" in result.stderr
    assert "durable dev resumes it when it starts" in result.stderr


def test_trigger_wait_reports_a_long_sleep(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", '{"nap": true}', "--wait")
    assert result.exit_code == 0, result.output
    assert "Status:       ⏰ Waiting" in result.stdout
    assert "Waiting For:  sleep nap-1, wakes" in result.stdout
    assert "(in 2 hours)" in result.stdout


def test_trigger_wait_refuses_a_workflow_without_python_workflows(run, project, monkeypatch):
    """Audit 7: before 2025-09-20 python_workers does not imply python_workflows."""
    from cli_support import ENTRY, WORKFLOWS

    config = project(ENTRY, workflows=WORKFLOWS, compatibility_date="2025-09-01")
    monkeypatch.chdir(config.parent)
    result = run("workflows", "trigger", "my-workflow", "--wait")
    one_line_error(
        result,
        "Python Workflows need the python_workflows compatibility flag",
        'Fix: add "python_workflows" to compatibility_flags',
    )


def test_trigger_params_from_stdin(run, cli_project):
    result = run(
        "workflows", "trigger", "my-workflow", "-", "--wait", "--json", input='{"a": 40, "b": 2}'
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == {"total": 42}


def test_trigger_invalid_json_names_the_position(run, cli_project):
    result = run("workflows", "trigger", "my-workflow", '{"a": 1,}')
    one_line_error(result, "PARAMS is not valid JSON", "line 1, column 9")
    assert not (cli_project / ".durable").exists()  # refused before anything was opened


def test_trigger_invalid_and_duplicate_ids(run, cli_project):
    one_line_error(
        run("workflows", "trigger", "my-workflow", "--id", "-bad"), "Invalid instance id '-bad'"
    )
    assert run("workflows", "trigger", "my-workflow", "--id", "dup", "--wait").exit_code == 0
    one_line_error(
        run("workflows", "trigger", "my-workflow", "--id", "dup"),
        'An instance with id "dup" already exists in workflow "my-workflow"',
    )


def test_trigger_waits_for_a_second_engine_then_gives_up(run, cli_project, monkeypatch):
    from durable.runtime.client import in_process as service_client
    from durable.runtime.dev.discovery import acquire_engine_lock

    monkeypatch.setattr(service_client, "ENGINE_LOCK_WAIT", 0.3)  # 30 s for real
    lock = acquire_engine_lock(cli_project / ".durable", timeout=0)
    assert lock is not None
    try:
        one_line_error(
            run("workflows", "trigger", "my-workflow", "--wait"), "Another engine kept", "busy"
        )
    finally:
        lock.release()


# --- delete -------------------------------------------------------------------------------------


def test_delete_without_a_tty_does_not_ask(run, cli_project):
    run("workflows", "trigger", "my-workflow", "--id", "gone")
    result = run("workflows", "delete", "my-workflow")
    assert result.exit_code == 0, result.output
    assert result.stdout == '✅ Workflow "my-workflow" instances removed successfully.\n'
    assert intents(cli_project / ".durable") == []
    assert run("instances", "list", "my-workflow", "--json").stdout.strip() == "[]"


def test_delete_asks_on_a_tty(run, cli_project, monkeypatch):
    monkeypatch.setattr("durable.cli.workflows.stdin_is_tty", lambda: True)
    run("workflows", "trigger", "my-workflow", "--wait")
    refused = run("workflows", "delete", "my-workflow", input="n\n")
    assert refused.exit_code == 1
    assert 'Delete the 1 instance of workflow "my-workflow"? [y/N]' in refused.output
    assert refused.stderr.strip().endswith("✘ [ERROR] Aborted.")
    assert intents(cli_project / ".durable") == []

    accepted = run("workflows", "delete", "my-workflow", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert 'Workflow "my-workflow" instances removed successfully' in accepted.stdout
    assert run("instances", "list", "my-workflow", "--json").stdout.strip() == "[]"

    skipped = run("workflows", "delete", "my-workflow", "--yes")
    assert skipped.exit_code == 0
    assert "[y/N]" not in skipped.output


# --- global options -----------------------------------------------------------------------------


def test_global_options_work_before_and_after_the_command(run, cli_project, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = str(cli_project / "wrangler.toml")
    for args in (
        ("-c", config, "workflows", "list", "--json"),
        ("workflows", "list", "--json", "-c", config),
        ("workflows", "list", "--json", "--cwd", str(cli_project)),
        ("--cwd", str(cli_project), "workflows", "list", "--json"),
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert len(json.loads(result.stdout)) == 2


def test_persist_to_chooses_the_store(run, cli_project):
    result = run(
        "--persist-to", "state", "workflows", "trigger", "my-workflow", "--id", "p1", "--wait"
    )
    assert result.exit_code == 0, result.output
    assert (cli_project / "state" / STORE_FILENAME).exists()
    here = run("instances", "list", "my-workflow", "--json", "--persist-to", "state")
    assert [i["id"] for i in json.loads(here.stdout)] == ["p1"]
    default = run("instances", "list", "my-workflow", "--json")
    assert json.loads(default.stdout) == []


def test_env_selects_the_environment(run, project, monkeypatch):
    from cli_support import ENTRY

    config = project(
        ENTRY,
        extra='[env.staging]\nname = "staged"\n[[env.staging.workflows]]\nname = "staged-flow"\n'
        'binding = "STAGED"\nclass_name = "Other"\n',
    )
    monkeypatch.chdir(config.parent)
    result = run("workflows", "list", "--json", "-e", "staging")
    assert result.exit_code == 0, result.output
    assert [w["name"] for w in json.loads(result.stdout)] == ["staged-flow"]


def test_verbose_names_the_target(run, cli_project):
    result = run("-v", "workflows", "list", "--json")
    assert result.exit_code == 0
    assert "Using the store in" in result.stderr and "(no durable dev running)" in result.stderr
    json.loads(result.stdout)  # stdout stays one document


def test_port_without_a_server_fails_clearly(run, cli_project):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens on it once closed
    result = run("workflows", "list", "--port", str(port))
    one_line_error(
        result, f"Could not connect to durable dev at http://127.0.0.1:{port}", "durable dev"
    )


# --- configuration errors and usage errors --------------------------------------------------------


def test_missing_configuration(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_error(run("workflows", "list"), "No wrangler configuration found", "durable init")


def test_broken_configuration_names_file_and_line(run, tmp_path, monkeypatch):
    (tmp_path / "wrangler.toml").write_text('name = "x"\nmain = \n')
    monkeypatch.chdir(tmp_path)
    result = run("workflows", "list")
    one_line_error(result, "wrangler.toml:2")


def test_invalid_configuration_names_the_field(run, tmp_path, monkeypatch):
    (tmp_path / "wrangler.toml").write_text(
        'name = "x"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
        'compatibility_flags = ["python_workers"]\n[[workflows]]\nname = "w"\nbinding = "W"\n'
    )
    monkeypatch.chdir(tmp_path)
    result = run("workflows", "list")
    # Every problem at once (the runtime's ConfigError lists them, one per line).
    assert result.exit_code == 1
    assert result.stderr.startswith(f"✘ [ERROR] {tmp_path / 'wrangler.toml'}: found 2 problems:")
    assert '"workflows[0]"' in result.stderr and '"class_name"' in result.stderr
    assert "Traceback" not in result.output


def test_usage_errors_exit_2_with_one_line(run, cli_project):
    one_line_error(
        run("workflows", "list", "--bogus"),
        "No such option: --bogus",
        'See "durable workflows list --help"',
        code=2,
    )
    one_line_error(run("workflows", "describe"), "Missing argument", code=2)
    one_line_error(run("workflows", "list", "--page", "0"), "0 is not in the range x>=1", code=2)
    one_line_error(
        run("workflows", "list", "--page", "two"), "'two' is not a valid integer", code=2
    )
    one_line_error(run("--cwd", "/no/such/dir", "workflows", "list"), "does not exist", code=2)
    typo = run("workflows", "instance", "list", "my-workflow")
    one_line_error(typo, code=2)
    assert typo.stderr == (
        "✘ [ERROR] No such command 'instance'. Did you mean 'instances'? "
        'See "durable workflows --help".\n'
    )


def test_piped_tables_take_their_contents_width_not_80_columns(run, cli_project, monkeypatch):
    monkeypatch.delenv("COLUMNS")
    monkeypatch.delenv("TERMINAL_WIDTH")
    run("workflows", "trigger", "my-workflow", "--id", "an-instance-id-long-enough-to-wrap-at-80")
    for args, lines in ((("workflows", "list"), 3), (("instances", "list", "my-workflow"), 2)):
        result = run(*args)  # CliRunner's stdout is not a terminal, as in `| grep`
        assert result.exit_code == 0, result.output
        rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
        assert len(rows) == lines, result.stdout  # the header and a line per row: no wrapping
    assert "an-instance-id-long-enough-to-wrap-at-80" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) > 80
    # An explicit COLUMNS is still obeyed.
    monkeypatch.setenv("COLUMNS", "60")
    narrow = run("workflows", "list")
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60


def test_remote_without_credentials_names_them(run, cli_project):
    result = run("workflows", "list", "--remote")
    one_line_error(result, "CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID")


def test_broken_user_code_is_one_line(run, project, monkeypatch):
    config = project("from workers import WorkflowEntrypoint\nimport no_such_module_here\n")
    monkeypatch.chdir(config.parent)
    result = run("workflows", "trigger", "my-workflow", "--wait")
    one_line_error(result, "src/entry.py", "No module named 'no_such_module_here'")


# --- trigger --wait: progress and Ctrl-C ---------------------------------------------------------

FLAKY = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("flaky", config={"retries": {"limit": 2, "delay": 300, "backoff": "constant"}})
        async def flaky(ctx):
            if ctx["attempt"] < 3:
                raise RuntimeError(f"not yet {ctx['attempt']}")
            return ctx["attempt"]

        if event.payload.get("nap"):
            await step.sleep("nap", "1 minute")
        return await flaky()
"""


def test_trigger_wait_prints_a_line_per_change_of_state_when_not_a_terminal(
    run, project, monkeypatch
):
    monkeypatch.chdir(project(FLAKY).parent)
    result = run("workflows", "trigger", "my-workflow", "--id", "f1", "--wait")
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if line.startswith("⏳")]
    assert len(progress) == len(set(progress))  # one per change, not one per poll
    assert progress[-1] == '⏳ Instance "f1": ✅ Completed'
    backoffs = [line for line in progress if "back-off" in line]
    assert backoffs[0].startswith(
        '⏳ Instance "f1": ⏰ Waiting: back-off before attempt 2 of flaky-1 (attempt 1 failed: '
        "RuntimeError: not yet 1), "
    )
    assert backoffs[-1].startswith(
        '⏳ Instance "f1": ⏰ Waiting: back-off before attempt 3 of flaky-1 (attempt 2 failed: '
        "RuntimeError: not yet 2), "
    )
    assert "Output:    3" in result.stdout  # the outcome, on stdout, as before


def test_trigger_wait_on_a_terminal_updates_one_line_in_place(project):
    import os
    import pty
    import subprocess
    import sys

    root = project(FLAKY).parent
    script = Path(sys.executable).parent / "durable"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "durable.cli.app"]
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*command, "workflows", "trigger", "my-workflow", "--id", "t1", "--wait"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "200"},
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    out = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0
    text = shown.decode()
    assert "back-off before attempt 2 of flaky-1" in text
    assert "\x1b[2K" in text  # the line is erased and redrawn, not appended to
    # The outcome is on stdout, where it belongs, even though stderr was the live display.
    assert "Status:    ✅ Completed" in out and "Output:    3" in out
    assert "⏳" not in out


def test_trigger_wait_json_shows_no_progress(run, project, monkeypatch):
    monkeypatch.chdir(project(FLAKY).parent)
    result = run("workflows", "trigger", "my-workflow", "--wait", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == 3
    assert "⏳" not in result.stderr


def test_progress_names_the_step_attempt_and_what_is_awaited():
    from datetime import UTC, datetime

    from durable.cli.progress import describe

    now = datetime(2026, 1, 1, tzinfo=UTC)
    running = {
        "status": "running",
        "steps": [
            {"type": "step", "name": "a-1", "success": True, "attempts": []},
            {
                "type": "step",
                "name": "charge-1",
                "success": None,
                "attempts": [{"start": "x", "end": "y", "success": False}, {"end": None}],
            },
        ],
    }
    assert describe(running, now)[1] == "▶ Running: step charge-1, attempt 2"
    waiting = {
        "status": "waiting",
        "steps": [
            {
                "type": "waitForEvent",
                "name": "approval-1",
                "event_type": "approved",
                "timeout": "2026-01-01T01:00:00.000Z",
                "finished": False,
            }
        ],
    }
    key, text = describe(waiting, now)
    assert text == (
        '⏰ Waiting: event "approved" (step approval-1), times out 2026-01-01 01:00:00 (in 1 hour)'
    )
    assert describe(waiting, datetime(2026, 1, 1, 0, 30, tzinfo=UTC))[0] == key


def test_ctrl_c_during_trigger_wait_with_no_server_says_the_instance_is_kept(project):
    import os
    import signal
    import subprocess
    import sys
    import time

    root = project(FLAKY).parent
    script = Path(sys.executable).parent / "durable"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "durable.cli.app"]
    err_path = root / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [*command, "workflows", "trigger", "my-workflow", '{"nap": 1}', "--id", "n1", "--wait"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=err,
            env={**os.environ, "NO_COLOR": "1"},
        )
        deadline = time.monotonic() + 20
        while "sleep nap-1" not in err_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert err_path.read_text().splitlines()[-1] == (
        '✘ [ERROR] Interrupted: instance "n1" is left waiting; resume it with `durable dev`.'
    )
    listed = subprocess.run(
        [*command, "instances", "list", "my-workflow", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [(i["id"], i["status"]) for i in json.loads(listed.stdout)] == [("n1", "waiting")]


# --- shell completion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("durable workflows ", ["list", "describe", "delete", "trigger", "instances"]),
        ("durable workflows describe ", ["my-workflow", "other"]),
        ("durable instances list o", ["other"]),
        ("durable instances list my-workflow --status wait", ["waiting", "waitingForPause"]),
    ],
)
def test_shell_completion(run, cli_project, words, expected):
    env = {
        "_DURABLE_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    result = run(env=env, prog_name="durable")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == expected
