"""Clients written by others drive `durable dev`: the official `cloudflare` Python SDK, and
`wrangler` from npm (against the REST API with CLOUDFLARE_API_BASE_URL, and with --local).

wrangler is found at $DURABLE_TEST_WRANGLER (the executable), else installed once with npm into
$DURABLE_WRANGLER_DIR (default ~/.cache/durable-wrangler). The pinned version is the newest that
runs on Node 20 (4.87+ need Node 22.12) and has `--local`; it uses the explorer mount point
`/cdn-cgi/explorer/api`, newer wranglers use `/cdn-cgi/local/explorer/api` (both are served; set
DURABLE_TEST_WRANGLER_VERSION to test another). The wrangler tests skip only when node or npm is
missing. CI installs it beforehand with:

    npm install --prefix ~/.cache/durable-wrangler --no-audit --no-fund wrangler@4.86.0
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dev_harness import DevServer, start_dev_server, wait_until, write_project

ENTRY = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("greet")
        async def greet():
            return {"hello": event.payload}

        greeting = await greet()
        approval = await step.wait_for_event("approval", "approve", timeout="1 hour")
        return {"greeting": greeting, "approval": approval["payload"]}
"""

WRANGLER_VERSION = os.environ.get("DURABLE_TEST_WRANGLER_VERSION", "4.86.0")
ACCOUNT = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def server(module_dir: Path) -> Iterator[DevServer]:
    write_project(module_dir, ENTRY)
    dev = start_dev_server(module_dir)
    yield dev
    dev.stop()


def status_of(server: DevServer, instance_id: str) -> str:
    import httpx

    body = httpx.get(f"{server.api}/my-workflow/instances/{instance_id}").json()
    return str(body["result"]["status"]) if body["success"] else "missing"


# -- the official Python SDK --------------------------------------------------------------------


def test_cloudflare_python_sdk(server):
    from cloudflare import Cloudflare, NotFoundError

    client = Cloudflare(api_token="local-token", base_url=f"{server.url}/client/v4", max_retries=0)
    workflows = list(client.workflows.list(account_id=ACCOUNT))
    assert [w.name for w in workflows] == ["my-workflow"]
    assert workflows[0].class_name == "MyWorkflow"
    assert client.workflows.get("my-workflow", account_id=ACCOUNT).name == "my-workflow"

    created = client.workflows.instances.create(
        "my-workflow", account_id=ACCOUNT, instance_id="sdk-1", params=json.dumps({"n": 1})
    )
    assert created.id == "sdk-1" and created.status in ("queued", "running")
    client.workflows.instances.create("my-workflow", account_id=ACCOUNT, instance_id="sdk-2")
    listed = list(client.workflows.instances.list("my-workflow", account_id=ACCOUNT))
    assert {i.id for i in listed} == {"sdk-1", "sdk-2"}

    wait_until(lambda: status_of(server, "sdk-1") == "waiting", what="sdk-1 waiting")
    got = client.workflows.instances.get("sdk-1", account_id=ACCOUNT, workflow_name="my-workflow")
    assert got.status == "waiting" and got.params == {"n": 1}
    assert got.trigger.source == "api" and got.version_id
    assert got.steps[0].name == "greet-1"  # type: ignore[union-attr]  # a step, not a sleep

    client.workflows.instances.events.create(
        "approve",
        account_id=ACCOUNT,
        workflow_name="my-workflow",
        instance_id="sdk-1",
        body={"by": "sdk"},
    )
    wait_until(lambda: status_of(server, "sdk-1") == "complete", what="sdk-1 complete")
    done = client.workflows.instances.get("sdk-1", account_id=ACCOUNT, workflow_name="my-workflow")
    assert done.output == {  # type: ignore[comparison-overlap]  # the SDK types it str | float
        "greeting": {"hello": {"n": 1}},
        "approval": {"by": "sdk"},
    }

    wait_until(lambda: status_of(server, "sdk-2") == "waiting", what="sdk-2 waiting")
    status = client.workflows.instances.status
    common: dict[str, Any] = {"account_id": ACCOUNT, "workflow_name": "my-workflow"}
    assert status.edit("sdk-2", status="pause", **common).status == "paused"
    assert status.edit("sdk-2", status="resume", **common).status in (
        "queued",
        "running",
        "waiting",
    )
    assert status.edit("sdk-2", status="terminate", **common).status == "terminated"

    with pytest.raises(NotFoundError):
        client.workflows.instances.get("ghost", account_id=ACCOUNT, workflow_name="my-workflow")


# -- wrangler -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wrangler() -> Path:
    explicit = os.environ.get("DURABLE_TEST_WRANGLER")
    if explicit:
        return Path(explicit)
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm are not installed: the wrangler compatibility tests need them")
    folder = Path(
        os.environ.get("DURABLE_WRANGLER_DIR", Path.home() / ".cache" / "durable-wrangler")
    )
    executable = folder / "node_modules" / ".bin" / "wrangler"
    package = folder / "node_modules" / "wrangler" / "package.json"
    installed = json.loads(package.read_text())["version"] if package.exists() else None
    if installed != WRANGLER_VERSION:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund",
             "--loglevel=error", f"wrangler@{WRANGLER_VERSION}"],
            check=True,
            timeout=600,
        )  # fmt: skip
    return executable


def run_wrangler(wrangler: Path, cwd: Path, server: DevServer, *args: str, ok: bool = True) -> str:
    env = {
        **os.environ,
        "CLOUDFLARE_API_BASE_URL": f"{server.url}/client/v4",
        "CLOUDFLARE_API_TOKEN": "local-token",
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
        "WRANGLER_SEND_METRICS": "false",
        "WRANGLER_HIDE_BANNER": "true",  # also skips its update check against npm
        "XDG_CONFIG_HOME": str(cwd / ".config"),
        "CI": "1",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
    }
    proc = subprocess.run(
        [str(wrangler), "workflows", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    if ok:
        assert proc.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def wrangler_cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # An empty folder: wrangler needs no configuration for these commands (the account comes
    # from CLOUDFLARE_ACCOUNT_ID), and must not pick up the Python project's wrangler.toml.
    return tmp_path_factory.mktemp("wrangler-cwd")


@pytest.mark.slow
def test_wrangler_against_the_rest_api(wrangler, wrangler_cwd, server):
    def w(*args: str, ok: bool = True) -> str:
        return run_wrangler(wrangler, wrangler_cwd, server, *args, ok=ok)

    listed = w("list")
    assert "my-workflow" in listed and "MyWorkflow" in listed
    assert 'Workflow instance "wr-1" has been queued successfully' in w(
        "trigger", "my-workflow", '{"from": "wrangler"}', "--id", "wr-1"
    )
    wait_until(lambda: status_of(server, "wr-1") == "waiting", what="wr-1 waiting")
    instances = w("instances", "list", "my-workflow")
    assert "wr-1" in instances and "Waiting" in instances
    described = w("instances", "describe", "my-workflow", "latest")
    assert "wr-1" in described and "greet-1" in described and "🎯 Step" in described
    assert re.search(r'Output:\s+\{"hello":\{"from":"wrangler"\}\}', described), described

    assert "was paused successfully" in w("instances", "pause", "my-workflow", "wr-1")
    assert status_of(server, "wr-1") == "paused"
    assert "was resumed successfully" in w("instances", "resume", "my-workflow", "wr-1")
    wait_until(lambda: status_of(server, "wr-1") == "waiting", what="wr-1 waiting again")
    sent = w(
        "instances", "send-event", "my-workflow", "wr-1", "--type", "approve",
        "--payload", '{"by": "wrangler"}',
    )  # fmt: skip
    assert 'The event with type "approve"' in sent
    wait_until(lambda: status_of(server, "wr-1") == "complete", what="wr-1 complete")

    w("trigger", "my-workflow", "--id", "wr-2")
    wait_until(lambda: status_of(server, "wr-2") == "waiting", what="wr-2 waiting")
    assert "was terminated successfully" in w("instances", "terminate", "my-workflow", "wr-2")
    assert status_of(server, "wr-2") == "terminated"
    # A refusal comes back as wrangler's API error, with our message and code.
    refused = w("instances", "terminate", "my-workflow", "wr-2", ok=False)
    assert "already terminated" in refused and "10409" in refused


@pytest.mark.slow
def test_wrangler_local_against_the_explorer_api(wrangler, wrangler_cwd, server):
    def w(*args: str) -> str:
        return run_wrangler(
            wrangler, wrangler_cwd, server, *args, "--local", "--port", str(server.port)
        )

    assert "my-workflow" in w("list")
    assert "triggered successfully" in w("trigger", "my-workflow", '{"x": 1}', "--id", "loc-1")
    wait_until(lambda: status_of(server, "loc-1") == "waiting", what="loc-1 waiting")
    assert "loc-1" in w("instances", "list", "my-workflow")
    described = w("instances", "describe", "my-workflow", "latest")
    assert 'Latest instance is "loc-1"' in described and "greet-1" in described
    assert "paused successfully" in w("instances", "pause", "my-workflow", "loc-1")
    assert status_of(server, "loc-1") == "paused"
    assert "resumed successfully" in w("instances", "resume", "my-workflow", "loc-1")
    wait_until(lambda: status_of(server, "loc-1") == "waiting", what="loc-1 waiting again")
    w("instances", "send-event", "my-workflow", "loc-1", "--type", "approve", "--payload", "{}")
    wait_until(lambda: status_of(server, "loc-1") == "complete", what="loc-1 complete")
    w("trigger", "my-workflow", "--id", "loc-2")
    wait_until(lambda: status_of(server, "loc-2") == "waiting", what="loc-2 waiting")
    assert "terminated successfully" in w("instances", "terminate", "my-workflow", "loc-2")
    assert status_of(server, "loc-2") == "terminated"
