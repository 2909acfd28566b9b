"""`--remote`: the same client, pointed at a server that speaks the Cloudflare REST shape
(CLOUDFLARE_API_BASE_URL), with the token and account from the environment. No wrangler
configuration is needed."""

from __future__ import annotations

import json
import re
import socket

import pytest
from cli_support import FakeCloudflare, one_line_error


@pytest.fixture
def cloudflare(monkeypatch, tmp_path):
    fake = FakeCloudflare()
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", fake.TOKEN)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", fake.ACCOUNT)
    monkeypatch.chdir(tmp_path)  # no wrangler.toml here
    yield fake
    fake.close()


def calls(fake: FakeCloudflare) -> list[tuple[object, object]]:
    return [(r["method"], r["path"]) for r in fake.requests]


PREFIX = "/client/v4/accounts/acc-123/workflows"


def test_list_workflows(run, cloudflare):
    result = run("workflows", "list", "--remote")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Showing 1 workflow from page 1:")
    assert "│ wf   │ my-worker   │ MyWorkflow │" in result.stdout
    request = cloudflare.requests[0]
    assert (request["method"], request["path"], request["query"]) == ("GET", PREFIX, {"page": "1"})
    assert request["auth"] == "Bearer tok-secret"


def test_describe_and_json(run, cloudflare):
    human = run("--remote", "workflows", "describe", "wf")
    assert human.exit_code == 0, human.output
    assert "Id:              w-1" in human.stdout
    assert "  complete:  3" in human.stdout
    as_json = run("--remote", "workflows", "describe", "wf", "--json")
    assert json.loads(as_json.stdout)["name"] == "wf"


def test_trigger_sends_instance_id_and_params(run, cloudflare):
    result = run("workflows", "trigger", "wf", '{"n": 1}', "--id", "mine", "--remote")
    assert result.exit_code == 0, result.output
    assert result.stdout == '🚀 Workflow instance "mine" has been queued successfully\n'
    request = cloudflare.requests[-1]
    assert (request["method"], request["path"]) == ("POST", f"{PREFIX}/wf/instances")
    assert request["body"] == {"instance_id": "mine", "params": {"n": 1}}

    bare = run("workflows", "trigger", "wf", "--remote", "--json")
    assert cloudflare.requests[-1]["body"] == {}
    assert json.loads(bare.stdout)["status"] == "queued"


def test_trigger_wait_polls_until_done(run, cloudflare):
    result = run("workflows", "trigger", "wf", "--id", "x", "--wait", "--remote")
    assert result.exit_code == 0, result.output
    assert "Status:    ✅ Completed" in result.stdout
    assert 'Output:    {"done":true}' in result.stdout
    assert calls(cloudflare)[-1] == ("GET", f"{PREFIX}/wf/instances/x")


def test_instances_list_follows_cursors(run, cloudflare):
    first = run("instances", "list", "wf", "--remote", "--per-page", "2")
    assert first.exit_code == 0, first.output
    assert "Version" in first.stdout.splitlines()[2]
    assert re.findall(r"│ (i\d) ", first.stdout) == ["i3", "i2"]
    assert cloudflare.requests[-1]["query"] == {"per_page": "2", "direction": "desc"}

    before = len(cloudflare.requests)
    second = run("instances", "list", "wf", "--remote", "--per-page", "2", "--page", "2")
    assert re.findall(r"│ (i\d) ", second.stdout) == ["i1"]
    made = cloudflare.requests[before:]
    assert [r["query"].get("cursor") for r in made] == [None, "2"]

    third = run("instances", "list", "wf", "--remote", "--per-page", "2", "--page", "3")
    assert third.stdout == ""
    assert "No instances found on page 3" in third.stderr


def test_describe_latest_resolves_then_gets(run, cloudflare):
    result = run("instances", "describe", "wf", "--remote")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Describing latest instance:\n")
    assert "Instance Id:           i3" in result.stdout  # newest by created_on
    assert "Version Id:            v-1" in result.stdout
    assert calls(cloudflare)[-1] == ("GET", f"{PREFIX}/wf/instances/i3")
    raw = json.loads(run("instances", "describe", "wf", "i1", "--remote", "--json").stdout)
    assert "id" not in raw  # the REST result as Cloudflare sent it


@pytest.mark.parametrize(
    ("action", "extra", "body", "message"),
    [
        ("pause", (), {"status": "pause"}, '⏸️ The instance "i2" from wf was paused successfully'),
        (
            "resume",
            (),
            {"status": "resume"},
            '🔄 The instance "i2" from wf was resumed successfully',
        ),
        (
            "terminate",
            (),
            {"status": "terminate"},
            '🥷 The instance "i2" from wf was terminated successfully',
        ),
        (
            "restart",
            ("--from-step-name", "s", "--from-step-type", "sleep"),
            {"status": "restart", "from": {"name": "s", "type": "sleep"}},
            '🥷 The instance "i2" from wf was restarted successfully from step "s"',
        ),
    ],
)
def test_status_changes(run, cloudflare, action, extra, body, message):
    result = run("instances", action, "wf", "i2", *extra, "--remote")
    assert result.exit_code == 0, result.output
    assert result.stdout == message + "\n"
    request = cloudflare.requests[-1]
    assert (request["method"], request["path"]) == ("PATCH", f"{PREFIX}/wf/instances/i2/status")
    assert request["body"] == body


def test_send_event_body_is_the_payload(run, cloudflare):
    result = run(
        "instances",
        "send-event",
        "wf",
        "latest",
        "--type",
        "go",
        "--payload",
        '{"k": [1]}',
        "--remote",
    )
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == '📤 The event with type "go" and payload {"k":[1]} was sent to the instance "i3" from wf\n'
    )
    request = cloudflare.requests[-1]
    assert (request["method"], request["path"], request["body"]) == (
        "POST",
        f"{PREFIX}/wf/instances/i3/events/go",
        {"k": [1]},
    )


def test_delete_workflow_and_instances(run, cloudflare):
    result = run("workflows", "delete", "wf", "--yes", "--remote")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('✅ Workflow "wf" removed successfully.\n')
    assert calls(cloudflare)[-1] == ("DELETE", f"{PREFIX}/wf")
    deleted = run("instances", "delete", "wf", "i1", "i2", "--remote")
    assert deleted.stdout == '🗑️  Deleted workflow instances from "wf": "i1", "i2"\n'
    assert cloudflare.requests[-1]["body"] == {"instances": ["i1", "i2"]}


def test_api_errors_carry_their_code(run, cloudflare):
    one_line_error(
        run("workflows", "describe", "broken", "--remote"),
        "A request to the Cloudflare API (/accounts/acc-123/workflows/broken) failed: "
        "workflows.api.error.internal_server [code: 10001]",
    )
    one_line_error(
        run("workflows", "describe", "missing", "--remote"), "workflow.not_found [code: 10200]"
    )
    one_line_error(
        run("workflows", "describe", "html", "--remote"), "HTTP 502", "not a JSON envelope"
    )


def test_wrong_token_is_an_api_error(run, cloudflare, monkeypatch):
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "wrong")
    one_line_error(run("workflows", "list", "--remote"), "Authentication error [code: 10000]")


def test_unreachable_remote(run, cloudflare, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", f"http://127.0.0.1:{port}/client/v4")
    one_line_error(
        run("workflows", "list", "--remote"),
        f"Could not reach the Cloudflare API at http://127.0.0.1:{port}/client/v4",
    )


def test_missing_credentials_are_named(run, cloudflare, monkeypatch):
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID")
    result = run("workflows", "list", "--remote")
    one_line_error(result, "--remote needs CLOUDFLARE_ACCOUNT_ID in the environment")
    assert "CLOUDFLARE_API_TOKEN in" not in result.stderr
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    one_line_error(
        run("workflows", "list", "--remote"), "CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID"
    )
