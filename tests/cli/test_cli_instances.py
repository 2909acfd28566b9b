"""`durable workflows instances …` (and its alias `durable instances …`) against a real store:
instances are run to an end state with `trigger --wait`, then listed, described and managed
with no server running (writes change the store at once; recorded as intents only while another
engine holds the store)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_support import one_line_error

from durable.runtime.engine.store import STORE_FILENAME, Store


@pytest.fixture
def instances(run, cli_project):
    """Four finished-or-parked instances of my-workflow, oldest first, by id."""
    for instance_id, params in (
        ("done", '{"a": 1, "b": 2}'),
        ("failed", '{"fail": true}'),
        ("big", '{"big": true}'),
        ("waiting", '{"wait": true}'),
    ):
        result = run("workflows", "trigger", "my-workflow", params, "--id", instance_id, "--wait")
        assert result.exit_code in (0, 1), result.output
    return ["done", "failed", "big", "waiting"]


def recorded_intents(root: Path) -> list[tuple[str | None, str, object]]:
    async def read() -> list[tuple[str | None, str, object]]:
        store = await Store.open(root / ".durable" / STORE_FILENAME)
        try:
            return [
                (i.instance_id, i.action, json.loads(i.body) if i.body else None)
                for i in await store.intents()
            ]
        finally:
            await store.close()

    return asyncio.run(read())


def table_ids(output: str) -> list[str]:
    return [i for i in re.findall(r"^│ (\S+)\s+│", output, flags=re.M) if i != "Instance"]


# --- list -----------------------------------------------------------------------------------------


def test_list_newest_first_with_emoji_status(run, instances):
    result = run("workflows", "instances", "list", "my-workflow")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Showing 4 instances from page 1:\n")
    header = result.stdout.splitlines()[2]
    assert re.search(r"Instance ID\s+│ Created\s+│ Modified\s+│ Status", header), header
    assert "Version" not in header  # local versions mean nothing; shown with --remote
    assert table_ids(result.stdout) == ["waiting", "big", "failed", "done"]
    assert "✅ Completed" in result.stdout
    assert "❌ Errored" in result.stdout
    assert "⏰ Waiting" in result.stdout


def test_list_alias_reverse_status_and_pages(run, instances):
    reverse = run("instances", "list", "my-workflow", "--reverse")
    assert table_ids(reverse.stdout) == ["done", "failed", "big", "waiting"]

    complete = run("instances", "list", "my-workflow", "--status", "complete", "--json")
    assert sorted(i["id"] for i in json.loads(complete.stdout)) == ["big", "done"]

    page = run("instances", "list", "my-workflow", "--per-page", "1", "--page", "2")
    assert page.stdout.startswith("Showing 1 of 4 instances from page 2:")
    assert table_ids(page.stdout) == ["big"]

    beyond = run("instances", "list", "my-workflow", "--page", "9")
    assert beyond.exit_code == 0 and beyond.stdout == ""
    assert "No instances found on page 9. Please try a smaller page number." in beyond.stderr

    none = run("instances", "list", "my-workflow", "--status", "paused")
    assert none.exit_code == 0 and none.stdout == ""
    assert 'There are no paused instances in workflow "my-workflow".' in none.stderr


def test_list_json_is_the_rest_result(run, instances):
    result = run("workflows", "instances", "list", "my-workflow", "--json")
    items = json.loads(result.stdout)
    assert [i["id"] for i in items] == ["waiting", "big", "failed", "done"]
    assert set(items[0]) >= {
        "id",
        "status",
        "created_on",
        "modified_on",
        "version_id",
        "workflow_id",
    }


def test_list_empty_workflow(run, cli_project):
    result = run("instances", "list", "other")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert (
        'There are no instances in workflow "other". You can trigger it with '
        '"durable workflows trigger other"' in result.stderr
    )


def test_list_invalid_status_lists_the_valid_ones(run, cli_project):
    result = run("instances", "list", "my-workflow", "--status", "finished")
    one_line_error(
        result,
        "Invalid value for '--status': 'finished' is not one of 'queued', 'running', 'paused', "
        "'errored', 'terminated', 'complete', 'waiting', 'waitingForPause'",
        code=2,
    )


# --- describe ------------------------------------------------------------------------------------


def test_describe_latest_says_so(run, instances):
    result = run("workflows", "instances", "describe", "my-workflow")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Describing latest instance:"
    assert "Instance Id:           waiting" in lines
    explicit = run("workflows", "instances", "describe", "my-workflow", "done")
    assert "Describing latest instance" not in explicit.stdout


def test_describe_a_complete_instance(run, instances):
    result = run("instances", "describe", "my-workflow", "done")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for line in (
        "Workflow Name:         my-workflow",
        "Instance Id:           done",
        "Status:                ✅ Completed",
        "Trigger:               🌎 API",
        "Success:               ✅ Yes",
        "Last Successful Step:  add-1",
        'Output:                {"total":3}',
        "Steps:",
        "  Name:      add-1",
        "  Type:      🎯 Step",
        "  Success:   ✅ Yes",
        '  Output:    {"sum":3}',
    ):
        assert line in out.splitlines(), (line, out)
    for label in ("Queued:", "Start:", "End:", "Duration:"):
        assert f"\n{label}" in out
    assert re.search(r"│ Start\s+│ End\s+│ Duration\s+│ State\s+│ Error\s+│", out)
    assert "✅ Success" in out


def test_describe_an_errored_instance_shows_attempts_and_errors(run, instances):
    result = run("instances", "describe", "my-workflow", "failed")
    out = result.stdout
    assert "Status:                ❌ Errored" in out
    assert "Success:               ❌ No" in out
    assert re.search(r"^Error: +\S*Error: .*boom", out, flags=re.M), out
    assert "  Name:      explode-1" in out
    assert "  Success:   ❌ No" in out
    # Both attempts (limit 1 → 2 attempts), each with its error, in a table with an Error column.
    assert out.count("│ ❌ Error ") == 2
    assert out.count("ValueError: boom") >= 2


def test_describe_a_waiting_instance_shows_the_event_wait(run, instances):
    out = run("instances", "describe", "my-workflow", "waiting").stdout
    assert "Status:                ⏰ Waiting" in out
    assert re.search(
        r'Waiting For: +event "approved" \(step approval-1\), times out .*\(in (59|60) minutes\)',
        out,
    ), out
    assert "  Type:        👀 Waiting for event" in out
    assert "  Event Type:  approved" in out
    assert re.search(r"  Times Out: +\S+ \S+ \(in (59|60) minutes\)", out), out


def test_describe_retries_at_uses_the_backoff(run, cli_project):
    result = run(
        "workflows", "trigger", "my-workflow", '{"retry_later": true}', "--id", "r", "--wait"
    )
    assert result.exit_code == 0, result.output
    assert "Waiting For:  retry of flaky-1" in result.stdout
    out = run("instances", "describe", "my-workflow", "r").stdout
    assert "  Success:     ▶ Running" in out
    assert re.search(r"  Retries At:  \S+ \S+ \(in (59|60) minutes\)", out), out
    assert "🔄 Working" not in out and "❌ Error" in out
    assert "RuntimeError: not yet" in out


def test_describe_step_output_truncation_and_hiding(run, instances):
    out = run("instances", "describe", "my-workflow", "big").stdout
    big = next(line for line in out.splitlines() if line.startswith("  Output:") and "xxx" in line)
    assert big.endswith('"' + "x" * 4999 + "[...output truncated]")  # 5000 characters kept

    short = run(
        "instances", "describe", "my-workflow", "done", "--truncate-output-limit", "4"
    ).stdout
    assert '  Output:    {"su[...output truncated]' in short.splitlines()

    hidden = run("instances", "describe", "my-workflow", "done", "--no-step-output").stdout
    assert "  Output:" not in hidden
    assert 'Output:                {"total":3}' in hidden  # the workflow's output stays


def test_describe_json_is_one_document_with_json_values(run, instances):
    result = run("workflows", "instances", "describe", "my-workflow", "done", "--json")
    details = json.loads(result.stdout)
    assert details["status"] == "complete"
    assert details["params"] == {"a": 1, "b": 2}
    assert details["output"] == {"total": 3}
    assert details["steps"][0]["output"] == {"sum": 3}
    assert details["trigger"] == {"source": "api"}


def test_describe_errors(run, instances):
    one_line_error(
        run("instances", "describe", "my-workflow", "nope"),
        'Instance "nope" not found in workflow "my-workflow"',
    )
    one_line_error(
        run("instances", "describe", "other"), 'There are no instances in workflow "other"'
    )
    one_line_error(
        run("instances", "describe", "my-workflow", "done", "--truncate-output-limit", "-1"), code=2
    )


# --- writes with no server: applied to the store at once ------------------------------------------


def describe_json(run, instance_id: str) -> dict:
    result = run("instances", "describe", "my-workflow", instance_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def start_engine(root: Path, instance_id: str, statuses: tuple[str, ...]) -> dict:
    """What `durable dev` does when it starts (apply intents, resume), then wait for a status."""
    from durable.runtime.api.service import Service
    from durable.runtime.config import load_config
    from durable.runtime.dev.project import open_runtime

    async def go() -> dict:
        runtime = await open_runtime(
            load_config(root / "wrangler.toml"), persist_dir=root / ".durable"
        )
        try:
            service = Service(runtime.config, runtime.store, runtime.engine)
            await runtime.engine.wait_for("my-workflow", instance_id, statuses, timeout=10)
            return await service.get_instance("my-workflow", instance_id)
        finally:
            await runtime.close()

    return asyncio.run(go())


def test_send_event_offline_is_buffered_at_once_and_delivered_when_the_engine_starts(
    run, instances
):
    result = run(
        "instances",
        "send-event",
        "my-workflow",
        "latest",
        "--type",
        "approved",
        "--payload",
        '{"by": "ann"}',
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        '📤 The event with type "approved" and payload {"by":"ann"} was sent to the instance '
        '"waiting" from my-workflow\n'
    )
    assert "No durable dev is running: the event waits, buffered" in result.stderr
    assert recorded_intents(Path.cwd()) == []
    assert start_engine(Path.cwd(), "waiting", ("complete",))["output"] == {
        "approved": {"by": "ann"}
    }


def test_pause_offline_shows_at_once_and_stays_paused(run, instances):
    result = run("instances", "pause", "my-workflow", "waiting")
    assert result.exit_code == 0, result.output
    assert result.stdout == '⏸️ The instance "waiting" from my-workflow was paused successfully\n'
    assert recorded_intents(Path.cwd()) == []
    assert describe_json(run, "waiting")["status"] == "paused"
    listed = json.loads(
        run("instances", "list", "my-workflow", "--status", "paused", "--json").stdout
    )
    assert [i["id"] for i in listed] == ["waiting"]
    # An event sent meanwhile does not wake it: the engine leaves it paused.
    assert (
        run("instances", "send-event", "my-workflow", "waiting", "--type", "approved").exit_code
        == 0
    )
    assert start_engine(Path.cwd(), "waiting", ("paused",))["status"] == "paused"
    # Resumed offline, it is queued at once, and runs (with the buffered event) on the next start.
    resumed = run("instances", "resume", "my-workflow", "waiting")
    assert resumed.stdout == '🔄 The instance "waiting" from my-workflow was resumed successfully\n'
    assert "the instance runs when durable dev starts" in resumed.stderr
    assert describe_json(run, "waiting")["status"] == "queued"
    assert start_engine(Path.cwd(), "waiting", ("complete",))["output"] == {"approved": {}}


def test_terminate_offline_shows_at_once_and_never_runs(run, instances):
    trigger = run("workflows", "trigger", "my-workflow", '{"a": 1}', "--id", "queued-one")
    assert trigger.exit_code == 0, trigger.output
    result = run("instances", "terminate", "my-workflow", "queued-one")
    assert result.stdout == (
        '🥷 The instance "queued-one" from my-workflow was terminated successfully\n'
    )
    details = describe_json(run, "queued-one")
    assert details["status"] == "terminated" and details["end"] is not None
    again = run("instances", "terminate", "my-workflow", "queued-one")
    one_line_error(again, 'Cannot terminate instance "queued-one": it is already terminated')
    one_line_error(
        run("instances", "pause", "my-workflow", "queued-one"),
        'Cannot pause instance "queued-one": it is already terminated',
    )
    after = start_engine(Path.cwd(), "queued-one", ("terminated",))
    assert after["status"] == "terminated" and after["steps"] == [
        {"type": "termination", "trigger": {"source": "api"}}
    ]


def test_restart_offline_resets_to_queued_and_runs_again(run, instances):
    result = run("instances", "restart", "my-workflow", "done")
    assert result.exit_code == 0, result.output
    assert result.stdout == '🥷 The instance "done" from my-workflow was restarted successfully\n'
    details = describe_json(run, "done")
    assert (details["status"], details["output"], details["steps"]) == ("queued", None, [])
    assert recorded_intents(Path.cwd()) == []
    assert start_engine(Path.cwd(), "done", ("complete",))["output"] == {"total": 3}


def test_writes_while_another_engine_holds_the_store_are_recorded(run, instances):
    from durable.runtime.dev.discovery import acquire_engine_lock

    busy = acquire_engine_lock(Path.cwd() / ".durable", timeout=0)  # another trigger --wait
    assert busy is not None
    try:
        for action in ("pause", "resume", "terminate", "restart"):
            result = run("workflows", "instances", action, "my-workflow", "latest")
            assert result.exit_code == 0, result.output
            assert result.stdout == (
                f'📥 No durable dev is running: recorded "{action}" for instance "waiting" of '
                'workflow "my-workflow"; durable dev applies it when it starts.\n'
            )
        event = run("instances", "send-event", "my-workflow", "waiting", "--type", "approved")
        assert 'recorded "send-event"' in event.stdout
    finally:
        busy.release()
    assert [a for _, a, _ in recorded_intents(Path.cwd())] == [
        "pause",
        "resume",
        "terminate",
        "restart",
        "event",
    ]
    assert describe_json(run, "waiting")["status"] == "waiting"
    # The next write that gets the store applies them first, in order, then its own.
    result = run("instances", "pause", "my-workflow", "waiting")
    assert result.exit_code == 0, result.output
    assert recorded_intents(Path.cwd()) == []
    details = describe_json(run, "waiting")
    assert (details["status"], details["steps"]) == ("paused", [])


def test_send_event_mistakes(run, instances):
    one_line_error(
        run(
            "instances", "send-event", "my-workflow", "waiting", "--type", "x", "--payload", "{oops"
        ),
        "--payload is not valid JSON",
        "line 1, column 2",
    )
    one_line_error(
        run("instances", "send-event", "my-workflow", "waiting", "--type", "bad type"),
        "Invalid event type 'bad type'",
    )
    one_line_error(
        run("instances", "send-event", "my-workflow", "waiting"), "Missing option '--type'", code=2
    )


def test_restart_from_a_step(run, instances):
    result = run(
        "instances",
        "restart",
        "my-workflow",
        "failed",
        "--from-step-name",
        "explode",
        "--from-step-count",
        "1",
        "--from-step-type",
        "do",
    )
    assert result.exit_code == 0, result.output
    details = describe_json(run, "failed")
    assert details["status"] == "queued"
    assert [step["name"] for step in details["steps"]] == ["add-1"]  # kept; explode forgotten
    missing = run("instances", "restart", "my-workflow", "failed", "--from-step-name", "nope")
    one_line_error(missing, 'Step "nope" not found in execution history (count 1)')


def test_restart_option_mistakes(run, instances):
    one_line_error(
        run("instances", "restart", "my-workflow", "done", "--from-step-count", "2"),
        "--from-step-name is required when using --from-step-count or --from-step-type",
        code=2,
    )
    one_line_error(
        run(
            "instances",
            "restart",
            "my-workflow",
            "done",
            "--from-step-name",
            "a",
            "--from-step-count",
            "0",
        ),
        code=2,
    )
    one_line_error(
        run(
            "instances",
            "restart",
            "my-workflow",
            "done",
            "--from-step-name",
            "a",
            "--from-step-type",
            "run",
        ),
        "'do', 'sleep', 'waitForEvent'",
        code=2,
    )


def test_terminate_a_finished_instance_is_refused(run, instances):
    one_line_error(
        run("instances", "terminate", "my-workflow", "done"),
        'Cannot terminate instance "done": it is already complete',
    )


def test_status_change_on_unknown_instance(run, instances):
    one_line_error(run("instances", "pause", "my-workflow", "ghost"), 'Instance "ghost" not found')
    one_line_error(run("instances", "pause", "my-workflow", "-x"), code=2)  # an option, not an id


def test_delete_instances(run, instances):
    result = run("instances", "delete", "my-workflow", "done", "latest", "latest")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        '🗑️  Deleted workflow instances from "my-workflow": "done", "waiting"\n'
    )
    assert recorded_intents(Path.cwd()) == []
    listed = json.loads(run("instances", "list", "my-workflow", "--json").stdout)
    assert sorted(i["id"] for i in listed) == ["big", "failed"]

    partly = run("instances", "delete", "my-workflow", "big", "ghost")
    one_line_error(
        partly, 'Failed to delete 1 workflow instance(s): ghost: Instance "ghost" not found'
    )
    assert 'Deleted workflow instances from "my-workflow": "big"' in partly.stdout

    one_line_error(run("instances", "delete", "my-workflow"), "Missing argument", code=2)
    too_many = [f"i{n}" for n in range(101)]
    one_line_error(run("instances", "delete", "my-workflow", *too_many), "at most 100")


def test_list_never_wraps_an_instance_id_in_a_narrow_terminal(run, instances):
    long_id = "0f6c1a52-93d4-4a2b-9c7e-5b8d2e4f7a10"
    trigger = run("workflows", "trigger", "my-workflow", '{"a": 1}', "--id", long_id, "--wait")
    assert trigger.exit_code == 0, trigger.output
    result = run("workflows", "instances", "list", "my-workflow", env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    assert any(f"│ {long_id} │" in line for line in result.stdout.splitlines()), result.stdout


def test_json_output_never_has_a_bare_nan(run, cli_project):
    def strict(text: str) -> Any:
        def refuse(constant: str) -> Any:
            raise AssertionError(f"bare {constant} in: {text}")

        return json.loads(text, parse_constant=refuse)

    # a + b is NaN: production's JSON.stringify writes it as null
    triggered = run(
        "workflows",
        "trigger",
        "my-workflow",
        '{"a": NaN, "b": 1}',
        "--id",
        "nan",
        "--wait",
        "--json",
    )
    assert strict(triggered.stdout)["output"] == {"total": None}
    described = strict(
        run("workflows", "instances", "describe", "my-workflow", "nan", "--json").stdout
    )
    assert described["params"] == {"a": None, "b": 1}
    assert described["steps"][0]["output"] == {"sum": None}
