"""The dashboard, end to end: a real `durable dev`, a real headless Chromium.

Opens /cdn-cgi/explorer/, triggers an instance of a workflow that retries a step and then waits
for an event, watches the timeline draw the completed steps, the failed attempt, the back-off and
the wait, sends the event from the page and sees the instance complete. Screenshots land in
tests/artifacts/ (git-ignored); with DURABLE_UPDATE_README_SHOT=1 the timeline one is also copied to docs/dashboard.png.

Needs Debian's `chromium` (/usr/bin/chromium) and the `playwright` package (see conftest.py);
`playwright install` is not used. Without either, the test is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
README_SHOT = REPO / "docs" / "dashboard.png"
API = "/client/v4/accounts/local/workflows"

ENTRY = """
from workers import WorkflowEntrypoint, WorkerEntrypoint, Response


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("hello from the worker")


class OrderWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("fetch order")
        async def fetch_order():
            order = event.payload["order"]
            return {
                "order": order,
                "customer": {"id": "cus_42", "name": "Ada Lovelace"},
                "items": [{"sku": f"SKU-{i:03d}", "qty": i % 3 + 1, "price": 9.5 * i} for i in range(1, 41)],
            }

        order = await fetch_order()

        @step.do("charge card", config={"retries": {"limit": 2, "delay": 400, "backoff": "constant"}})
        async def charge_card(ctx):
            if ctx["attempt"] == 1:
                raise ConnectionError("payment gateway timed out")
            return {"charge": "ch_1", "amount": 123.5}

        charge = await charge_card()
        await step.sleep("settle", 300)
        approval = await step.wait_for_event("approval", "approve", timeout="1 hour")

        @step.do("ship")
        async def ship():
            return {"shipped": True, "order": order["order"], "approved_by": approval["payload"]["by"]}

        return {"charge": charge["charge"], "shipment": await ship()}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


@pytest.fixture
def dev_server(tmp_path: Path, project: Callable[..., Path]) -> Iterator[str]:
    """A real `durable dev` on a free port, serving a project with one workflow."""
    # `project` is tests/conftest.py's write_project into tmp_path
    config = project(ENTRY, workflows=[("order-workflow", "ORDER_WORKFLOW", "OrderWorkflow")])
    port = _free_port()
    durable = Path(sys.executable).with_name("durable")
    log = (tmp_path / "dev.log").open("w")
    proc = subprocess.Popen(
        [str(durable), "dev", "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "BROWSER": "true"},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if (_get(base + API) or {}).get("success"):
                break
            time.sleep(0.1)
        else:
            pass
        if not (_get(base + API) or {}).get("success"):
            log.flush()
            output = (tmp_path / "dev.log").read_text()
            pytest.fail(f"durable dev did not serve {base}{API} (exit {proc.poll()}):\n{output}")
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _screenshot(page, path: Path) -> None:
    """A clean full-page shot: no hover state, no toasts floating over the content."""
    page.mouse.move(0, 0)
    page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)


def drive_dashboard(page, base: str, artifacts: Path, workflow: str = "order-workflow") -> Path:
    """The user journey; also usable against any server that speaks the same API."""
    from playwright.sync_api import expect

    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    artifacts.mkdir(parents=True, exist_ok=True)

    # -- the workflows page lists the workflow with its counts --
    page.goto(base + "/cdn-cgi/explorer/")
    row = page.locator(f'tr[data-workflow="{workflow}"]')
    expect(row).to_be_visible()
    expect(page.locator("#live")).to_have_attribute("data-state", "ok")

    # -- trigger from the page; the params editor refuses invalid JSON --
    row.get_by_role("button", name=f"Trigger {workflow}").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Instance ID (optional)").fill("e2e-order")
    params = dialog.get_by_label("Params (JSON)")
    params.fill('{"order": 7,}')
    expect(dialog.locator("#trigger-params-status")).to_contain_text("Invalid JSON")
    expect(dialog.get_by_role("button", name="Trigger instance")).to_be_disabled()
    params.fill('{"order": 7}')
    expect(dialog.locator("#trigger-params-status")).to_contain_text("Valid JSON")
    dialog.get_by_role("button", name="Trigger instance").click()
    expect(page.locator(".toast-success")).to_contain_text("e2e-order")
    expect(page).to_have_url(f"{base}/cdn-cgi/explorer/#/workflows/{workflow}/instances/e2e-order")

    # -- the timeline shows the finished steps, the failed attempt, the back-off and the wait --
    timeline = page.locator(".tl")
    charge = timeline.locator('.tl-row[data-step="charge card-1"]')
    expect(timeline.locator('.tl-row[data-step="fetch order-1"]')).to_have_attribute(
        "data-state", "completed"
    )
    expect(charge).to_have_attribute("data-state", "completed after 2 attempts")
    expect(charge.locator(".b-fail")).to_have_count(1)
    expect(charge.locator(".b-ok")).to_have_count(1)
    expect(charge.locator(".b-backoff")).to_have_count(1)
    expect(timeline.locator('.tl-row[data-step="settle-1"]')).to_have_attribute(
        "data-state", "slept"
    )
    wait_row = timeline.locator('.tl-row[data-step="approval-1"]')
    expect(wait_row).to_have_attribute("data-state", 'waiting for "approve"')
    expect(wait_row.locator(".b-event-rest")).to_have_count(1)
    expect(wait_row).to_contain_text("times out")
    expect(page.locator(".head-status")).to_contain_text("Waiting")
    # the failed attempt's error is one click away
    timeline.get_by_role("button", name="charge card-1: step").click()
    card = page.locator('.step-card[data-step="charge card-1"]')
    expect(card.locator(".attempts")).to_contain_text("payment gateway timed out")
    page.wait_for_timeout(300)  # let the smooth scroll settle
    _screenshot(page, artifacts / "dashboard-timeline-waiting.png")

    # -- send the event from the page; the instance completes without a reload --
    page.get_by_role("button", name="Send event").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_label("Event type")).to_have_value("approve")
    dialog.get_by_label("Payload (JSON)").fill('{"by": "ada"}')
    dialog.get_by_role("button", name="Send event").click()
    expect(page.locator(".toast-success").last).to_contain_text('Event "approve" sent')
    expect(page.locator(".head-status")).to_contain_text("Complete", timeout=5000)
    expect(timeline.locator('.tl-row[data-step="approval-1"]')).to_have_attribute(
        "data-state", 'received "approve"'
    )
    expect(timeline.locator('.tl-row[data-step="ship-1"]')).to_have_attribute(
        "data-state", "completed"
    )
    side = page.locator(".side")
    expect(side.get_by_role("group", name="Output")).to_contain_text('"approved_by"')
    expect(side).to_contain_text("Received (1)")
    expect(page.get_by_role("button", name="Terminate…")).to_be_disabled()
    # a long step output is cut, with a control to expand it
    page.locator('.tl-row[data-step="fetch order-1"] .tl-label').click()
    output = page.locator('.step-card[data-step="fetch order-1"] .json')
    expect(output).to_have_class("json json-cut")
    output.get_by_role("button", name="Show all").click()
    expect(output).to_have_class("json")
    page.locator('.step-card[data-step="fetch order-1"] > summary').click()
    page.wait_for_timeout(400)
    shot = artifacts / "dashboard-timeline.png"
    _screenshot(page, shot)

    # -- the instance list shows it, newest first, with the status filter counts --
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=workflow).click()
    expect(page.locator('tr[data-id="e2e-order"]')).to_have_attribute("data-status", "complete")
    expect(page.locator('.tab[data-status="complete"] .tab-count')).to_have_text("1")
    expect(page.locator(".page-info")).to_contain_text("of 1 instance")
    _screenshot(page, artifacts / "dashboard-instances.png")
    page.goto(base + "/cdn-cgi/explorer/#/")
    expect(page.locator(f'tr[data-workflow="{workflow}"] .big-num')).to_have_text("1")
    _screenshot(page, artifacts / "dashboard-workflows.png")

    assert not problems, problems
    return shot


def test_dashboard_drives_an_instance_end_to_end(browser_page, dev_server: str) -> None:
    shot = drive_dashboard(browser_page, dev_server, ARTIFACTS)
    if os.environ.get("DURABLE_UPDATE_README_SHOT"):  # refresh the README's picture on request
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_SHOT)
