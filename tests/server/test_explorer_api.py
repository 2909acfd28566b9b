"""wrangler's local explorer API shape (`wrangler workflows … --local`), on both mount points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dev_harness import DevServer, start_dev_server, wait_until, write_project

ENTRY = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("first")
        async def first():
            return event.payload

        got = await first()
        if isinstance(got, dict) and got.get("wait"):
            approval = await step.wait_for_event("approval", "approve", timeout="1 hour")
            return {"approved": approval["payload"]}
        return got
"""

MOUNTS = ("/cdn-cgi/local/explorer/api", "/cdn-cgi/explorer/api")


@pytest.fixture(scope="module")
def server(module_dir: Path) -> Iterator[DevServer]:
    write_project(module_dir, ENTRY)
    dev = start_dev_server(module_dir)
    yield dev
    dev.stop()


@pytest.fixture(params=MOUNTS)
def explorer(server: DevServer, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}{request.param}", timeout=10) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    return body["result"]


def failed(response: httpx.Response, status: int, code: int) -> str:
    body = response.json()
    assert response.status_code == status, body
    assert body["success"] is False and body["result"] is None
    assert body["errors"][0]["code"] == code
    message: str = body["errors"][0]["message"]
    return message


def wait_status(explorer: httpx.Client, instance_id: str, status: str) -> Any:
    return wait_until(
        lambda: (
            result
            if (result := ok(explorer.get(f"/workflows/my-workflow/instances/{instance_id}")))[
                "status"
            ]
            == status
            else None
        ),
        what=f"{instance_id} {status}",
    )


def test_workflows(explorer):
    body = explorer.get("/workflows").json()
    assert body["result"] == [
        {"name": "my-workflow", "class_name": "MyWorkflow", "script_name": None}
    ]
    assert body["result_info"] == {"count": 1}
    workflow = ok(explorer.get("/workflows/my-workflow"))
    assert set(workflow) == {"name", "class_name", "script_name", "instances"}
    assert len(workflow["instances"]) == 8
    assert "not found" in failed(explorer.get("/workflows/nope"), 404, 10501)


def test_instances_lifecycle_in_the_explorer_shape(explorer, request):
    prefix = "a" if "local" in request.node.callspec.id else "b"
    iid = f"{prefix}-one"
    created = ok(
        explorer.post("/workflows/my-workflow/instances", json={"id": iid, "params": {"wait": 1}})
    )
    assert created == {"id": iid}
    generated = ok(explorer.post("/workflows/my-workflow/instances"))  # an empty body is fine
    assert len(generated["id"]) == 36

    details = wait_status(explorer, iid, "waiting")
    assert set(details) == {
        "status",
        "params",
        "queued",
        "start",
        "end",
        "output",
        "error",
        "steps",
        "step_count",
    }
    assert details["params"] == {"wait": 1} and details["step_count"] == len(details["steps"])

    listed = explorer.get("/workflows/my-workflow/instances", params={"per_page": 100}).json()
    assert {"id", "status", "created_on"} == set(listed["result"][0])
    info = listed["result_info"]
    assert {"page", "per_page", "total_count", "total_pages", "status_counts"} <= set(info)
    assert info["status_counts"]["waiting"] >= 1
    waiting = ok(explorer.get("/workflows/my-workflow/instances", params={"status": "waiting"}))
    assert iid in {i["id"] for i in waiting}
    failed(explorer.get("/workflows/my-workflow/instances", params={"per_page": 101}), 400, 10001)

    path = f"/workflows/my-workflow/instances/{iid}"
    assert ok(explorer.patch(f"{path}/status", json={"action": "pause"})) == {"success": True}
    assert ok(explorer.get(path))["status"] == "paused"
    ok(explorer.patch(f"{path}/status", json={"action": "resume"}))
    wait_status(explorer, iid, "waiting")
    message = failed(
        explorer.patch(f"{path}/status", json={"action": "pause", "rollback": True}), 400, 10001
    )
    assert message == "'rollback' is only valid when terminating."
    failed(explorer.patch(f"{path}/status", json={"action": "restart", "from": {}}), 400, 10001)
    failed(explorer.patch(f"{path}/status", json={}), 400, 10001)

    sent = explorer.post(f"{path}/events/approve", content=b'{"by": "grace"}')
    assert ok(sent) == {"success": True}
    done = wait_status(explorer, iid, "complete")
    assert done["output"] == {"approved": {"by": "grace"}}
    assert "trigger" not in done and "versionId" not in done and "success" not in done

    ok(explorer.post("/workflows/my-workflow/instances", json={"id": f"{prefix}-two"}))
    wait_status(explorer, f"{prefix}-two", "complete")
    assert ok(
        explorer.patch(
            f"/workflows/my-workflow/instances/{prefix}-two/status", json={"action": "restart"}
        )
    ) == {"success": True}
    assert ok(explorer.delete(f"/workflows/my-workflow/instances/{prefix}-two")) == {
        "success": True
    }
    failed(explorer.get(f"/workflows/my-workflow/instances/{prefix}-two"), 404, 10501)
    failed(explorer.delete(f"/workflows/my-workflow/instances/{prefix}-two"), 404, 10501)
    deleted = ok(
        explorer.post("/workflows/my-workflow/instances/batch/delete", json={"instances": [iid]})
    )
    assert deleted["deleted"] == [{"id": iid}]


def test_delete_workflow_and_errors(explorer):
    ok(explorer.post("/workflows/my-workflow/instances", json={"id": "gone"}))
    assert ok(explorer.delete("/workflows/my-workflow")) == {"status": "ok", "success": True}
    assert ok(explorer.get("/workflows/my-workflow/instances")) == []
    failed(explorer.get("/workflows/my-workflow/instances/gone"), 404, 10501)
    failed(explorer.get("/nothing"), 404, 10501)
    response = explorer.put("/workflows")
    failed(response, 405, 10405)
    failed(explorer.post("/workflows/my-workflow/instances", content=b"{"), 400, 10001)
