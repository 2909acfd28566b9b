"""The Cloudflare REST API shape served by `durable dev`: paths, bodies, objects, errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dev_harness import DevServer, start_dev_server, wait_until, write_project

ENTRY = """
from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("prepare", config={"retries": {"limit": 1, "delay": 10}})
        async def prepare():
            return {"got": event.payload}

        prepared = await prepare()
        if isinstance(event.payload, dict) and event.payload.get("wait"):
            approval = await step.wait_for_event("approval", "approve", timeout="1 hour")
            return {"prepared": prepared, "event": approval["payload"]}
        return prepared


class Sleeper(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("before")
        async def before():
            return 1

        await before()
        await step.sleep("long", "1 hour")
        return "woke"


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")
"""

ENVELOPE_KEYS = {"success", "errors", "messages", "result"}


@pytest.fixture(scope="module")
def server(module_dir: Path) -> Iterator[DevServer]:
    write_project(
        module_dir,
        ENTRY,
        workflows=[("my-workflow", "MY_WORKFLOW", "MyWorkflow"), ("sleeper", "SLEEPER", "Sleeper")],
    )
    dev = start_dev_server(module_dir)
    yield dev
    dev.stop()


@pytest.fixture
def api(server: DevServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=10) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert ENVELOPE_KEYS <= set(body) and body["success"] is True and body["errors"] == []
    return body["result"]


def failed(response: httpx.Response, status: int, code: int | None = None) -> str:
    body = response.json()
    assert response.status_code == status, body
    assert body["success"] is False and body["result"] is None and body["messages"] == []
    assert len(body["errors"]) == 1 and set(body["errors"][0]) == {"code", "message"}
    if code is not None:
        assert body["errors"][0]["code"] == code
    message: str = body["errors"][0]["message"]
    return message


def wait_status(api: httpx.Client, workflow: str, instance_id: str, *statuses: str) -> Any:
    def current() -> Any:
        result = ok(api.get(f"/{workflow}/instances/{instance_id}"))
        return result if result["status"] in statuses else None

    return wait_until(current, what=f"{instance_id} to be {statuses}")


def test_list_and_get_workflows(api):
    response = api.get("")
    body = response.json()
    assert response.headers["content-type"].startswith("application/json")
    assert body["result_info"] == {
        "page": 1,
        "per_page": 50,
        "count": 2,
        "total_count": 2,
        "total_pages": 1,
    }
    names = [w["name"] for w in body["result"]]
    assert names == ["my-workflow", "sleeper"]
    workflow = body["result"][0]
    assert set(workflow) == {
        "id",
        "name",
        "class_name",
        "script_name",
        "created_on",
        "modified_on",
        "triggered_on",
        "instances",
    }
    assert workflow["class_name"] == "MyWorkflow" and workflow["script_name"] == "test-project"
    assert set(workflow["instances"]) == {
        "queued",
        "running",
        "paused",
        "errored",
        "terminated",
        "complete",
        "waiting",
        "waitingForPause",
    }
    assert ok(api.get("/sleeper"))["name"] == "sleeper"
    assert [w["name"] for w in ok(api.get("", params={"search": "slee"}))] == ["sleeper"]
    second_page = api.get("", params={"page": 2, "per_page": 1}).json()
    assert [w["name"] for w in second_page["result"]] == ["sleeper"]
    assert ok(api.get("", params={"page": 3, "per_page": 1})) == []
    versions = ok(api.get("/my-workflow/versions"))
    assert set(versions[0]) == {"id", "class_name", "workflow_id", "created_on", "modified_on"}
    assert ok(api.get(f"/my-workflow/versions/{versions[0]['id']}")) == versions[0]
    failed(api.get("/my-workflow/versions/nope"), 404)


def test_create_with_params_as_object_or_json_string(api):
    created = ok(
        api.post("/my-workflow/instances", json={"instance_id": "obj", "params": {"a": 1}})
    )
    assert set(created) == {"id", "status", "version_id", "workflow_id"}
    assert created["id"] == "obj" and created["status"] in ("queued", "running")
    # The official SDK sends params JSON-encoded, as a string.
    ok(api.post("/my-workflow/instances", json={"instance_id": "str", "params": '{"a": 2}'}))
    ok(api.post("/my-workflow/instances", json={"instance_id": "raw", "params": "plain words"}))
    generated = ok(api.post("/my-workflow/instances"))  # no body at all: a generated id
    assert len(generated["id"]) == 36
    for instance_id, payload in (("obj", {"a": 1}), ("str", {"a": 2}), ("raw", "plain words")):
        done = wait_status(api, "my-workflow", instance_id, "complete")
        assert done["params"] == payload and done["output"] == {"got": payload}

    message = failed(
        api.post("/my-workflow/instances", json={"instance_id": "obj"}), 409, code=10409
    )
    assert "already exists" in message
    failed(api.post("/my-workflow/instances", json={"instance_id": "bad id!"}), 400, code=10021)
    failed(api.post("/my-workflow/instances", json={"instance_id": "x" * 101}), 400)
    failed(api.post("/nope/instances", json={}), 404, code=10200)


def test_instance_details_steps_attempts_simple_and_order(api):
    ok(api.post("/my-workflow/instances", json={"instance_id": "details", "params": {"n": 1}}))
    details = wait_status(api, "my-workflow", "details", "complete")
    assert {
        "id",
        "status",
        "params",
        "trigger",
        "versionId",
        "queued",
        "start",
        "end",
        "success",
        "error",
        "output",
        "steps",
    } <= set(details)
    assert details["trigger"] == {"source": "api"} and details["success"] is True
    step = details["steps"][0]
    assert step["type"] == "step" and step["name"] == "prepare-1" and step["success"] is True
    assert step["config"]["retries"]["limit"] == 1
    assert step["output"] == {"got": {"n": 1}}
    assert len(step["attempts"]) == 1 and step["attempts"][0]["success"] is True
    simple = ok(api.get("/my-workflow/instances/details", params={"simple": "true"}))
    assert "steps" not in simple and simple["step_count"] == 1
    assert ok(api.get("/my-workflow/instances/details", params={"order": "desc"}))["steps"]
    failed(api.get("/my-workflow/instances/details", params={"order": "sideways"}), 400)
    failed(api.get("/my-workflow/instances/details", params={"simple": "maybe"}), 400)
    failed(api.get("/my-workflow/instances/missing"), 404, code=10400)
    # The newer per-step endpoint.
    step_status = ok(api.get("/my-workflow/instances/details/step", params={"name": "prepare-1"}))
    assert step_status == {"status": "complete", "error": None, "output": {"got": {"n": 1}}}
    failed(api.get("/my-workflow/instances/details/step", params={"name": "nope-1"}), 404)


def test_list_instances_pages_cursor_filters_and_latest(api):
    for n in range(5):
        ok(api.post("/sleeper/instances", json={"instance_id": f"list-{n}"}))
    for n in range(5):
        wait_status(api, "sleeper", f"list-{n}", "waiting")
    first = api.get("/sleeper/instances", params={"per_page": 2}).json()
    assert [i["id"] for i in first["result"]] == ["list-4", "list-3"]
    info = first["result_info"]
    assert (info["page"], info["per_page"], info["count"], info["total_count"]) == (1, 2, 2, 5)
    assert info["total_pages"] == 3 and info["cursor"]
    item = first["result"][0]
    assert set(item) == {
        "id",
        "created_on",
        "modified_on",
        "started_on",
        "ended_on",
        "status",
        "version_id",
        "workflow_id",
    }
    # Cursor pagination, as wrangler's instance list and the SDK do it.
    seen = [i["id"] for i in first["result"]]
    cursor = info["cursor"]
    while cursor:
        page = api.get("/sleeper/instances", params={"per_page": 2, "cursor": cursor}).json()
        seen += [i["id"] for i in page["result"]]
        cursor = page["result_info"]["cursor"]
    assert seen == [f"list-{n}" for n in (4, 3, 2, 1, 0)]
    ascending = ok(api.get("/sleeper/instances", params={"direction": "asc", "per_page": 1}))
    assert ascending[0]["id"] == "list-0"
    assert {i["status"] for i in ok(api.get("/sleeper/instances", params={"status": "waiting"}))}
    assert ok(api.get("/sleeper/instances", params={"status": "complete"})) == []
    future = ok(api.get("/sleeper/instances", params={"date_start": "2999-01-01T00:00:00Z"}))
    assert future == []
    failed(api.get("/sleeper/instances", params={"status": "sleepy"}), 400)
    failed(api.get("/sleeper/instances", params={"per_page": "lots"}), 400)
    failed(api.get("/sleeper/instances", params={"cursor": "!!"}), 400)
    # wrangler resolves `latest` through `…/instances/` with a trailing slash.
    assert ok(api.get("/sleeper/instances/"))[0]["id"] == "list-4"
    assert ok(api.get("/sleeper/instances/latest"))["id"] == "list-4"


def test_events_reach_the_waiting_instance(api):
    ok(api.post("/my-workflow/instances", json={"instance_id": "ev", "params": {"wait": True}}))
    wait_status(api, "my-workflow", "ev", "waiting")
    sent = ok(
        api.post(
            "/my-workflow/instances/ev/events/approve",
            content=json.dumps({"by": "ada"}),
            headers={"content-type": "application/json"},
        )
    )
    assert sent["instanceId"] == "ev" and sent["timestamp"]
    done = wait_status(api, "my-workflow", "ev", "complete")
    assert done["output"]["event"] == {"by": "ada"}
    wait_step = [s for s in done["steps"] if s["type"] == "waitForEvent"][0]
    assert wait_step["name"] == "approval-1" and wait_step["finished"] is True
    received = ok(api.get("/my-workflow/instances/ev/events"))
    assert received["received"][0]["type"] == "approve"
    assert received["received"][0]["payload"] == {"by": "ada"}

    # An empty body is a null payload; a scalar JSON body is the payload itself.
    ok(api.post("/my-workflow/instances", json={"instance_id": "ev2", "params": {"wait": True}}))
    ok(api.post("/my-workflow/instances/ev2/events/other-type"))
    ok(api.post("/my-workflow/instances/ev2/events/approve", content=b"42"))
    done = wait_status(api, "my-workflow", "ev2", "complete")
    assert done["output"]["event"] == 42
    buffered = ok(api.get("/my-workflow/instances/ev2/events"))["buffered"]
    assert buffered == [
        {"type": "other-type", "payload": None, "received_on": buffered[0]["received_on"],
         "consumed_by": None}
    ]  # fmt: skip
    failed(api.post("/my-workflow/instances/ev2/events/bad%20type", json={}), 400)
    failed(api.post("/my-workflow/instances/ev2/events/approve", content=b"{nope"), 400)
    failed(api.post("/my-workflow/instances/ghost/events/approve", json={}), 404)


def test_pause_resume_terminate_restart(api):
    ok(api.post("/sleeper/instances", json={"instance_id": "life"}))
    wait_status(api, "sleeper", "life", "waiting")
    paused = ok(api.patch("/sleeper/instances/life/status", json={"status": "pause"}))
    assert paused["status"] == "paused" and paused["timestamp"]
    assert ok(api.get("/sleeper/instances/life"))["status"] == "paused"
    ok(api.patch("/sleeper/instances/life/status", json={"status": "resume"}))
    wait_status(api, "sleeper", "life", "waiting")
    terminated = ok(api.patch("/sleeper/instances/life/status", json={"status": "terminate"}))
    assert terminated["status"] == "terminated"
    steps = ok(api.get("/sleeper/instances/life"))["steps"]
    assert steps[-1] == {"type": "termination", "trigger": {"source": "api"}}
    message = failed(api.patch("/sleeper/instances/life/status", json={"status": "terminate"}), 409)
    assert "already terminated" in message
    ok(
        api.patch(
            "/sleeper/instances/life/status",
            json={"status": "restart", "from": {"name": "long", "type": "sleep"}},
        )
    )
    restarted = wait_status(api, "sleeper", "life", "waiting")
    assert [s["name"] for s in restarted["steps"] if s["type"] == "step"] == ["before-1"]
    failed(api.patch("/sleeper/instances/life/status", json={"status": "snooze"}), 400)
    failed(api.patch("/sleeper/instances/life/status", json={}), 400)
    failed(api.patch("/sleeper/instances/life/status", json={"status": "pause", "from": 3}), 400)


def test_batch_create_and_batch_delete(api):
    created = ok(
        api.post(
            "/my-workflow/instances/batch",
            json=[{"instance_id": "b1", "params": {"i": 1}}, {"instance_id": "b2"}, {}],
        )
    )
    assert [c["id"] for c in created[:2]] == ["b1", "b2"] and len(created) == 3
    failed(api.post("/my-workflow/instances/batch", json={"instance_id": "x"}), 400)
    failed(api.post("/my-workflow/instances/batch", json=[{}] * 101), 400)
    wait_status(api, "my-workflow", "b1", "complete")
    deleted = ok(api.post("/my-workflow/instances/batch/delete", json={"instances": ["b1", "zz"]}))
    assert deleted["deleted"] == [{"id": "b1"}]
    assert deleted["errors"][0]["id"] == "zz" and deleted["errors"][0]["code"] == 10400
    failed(api.get("/my-workflow/instances/b1"), 404)
    failed(api.post("/my-workflow/instances/batch/delete", json={"instances": "b2"}), 400)


def test_terminate_all_and_delete_workflow(api):
    for n in range(2):
        ok(api.post("/sleeper/instances", json={"instance_id": f"doomed-{n}"}))
        wait_status(api, "sleeper", f"doomed-{n}", "waiting")
    assert ok(api.put("/sleeper/instances/terminate", params={"status": "waiting"})) == {
        "status": "ok"
    }
    assert ok(api.get("/sleeper/instances/doomed-1"))["status"] == "terminated"
    failed(api.put("/sleeper/instances/terminate", params={"status": "complete"}), 400)
    assert ok(api.delete("/sleeper")) == {"status": "ok", "success": True}
    assert ok(api.get("/sleeper/instances")) == []
    assert ok(api.get("/sleeper"))["name"] == "sleeper"  # the workflow comes from the config


def test_caller_mistakes_are_4xx_envelopes(api, server):
    failed(api.get("/nope"), 404, code=10200)
    failed(api.get("/my-workflow/instances/x/y/z"), 404)
    failed(httpx.get(f"{server.url}/client/v4/nothing/here"), 404)
    response = api.put("/my-workflow/instances/some-id")
    failed(response, 405)
    assert response.headers["allow"] == "GET"
    failed(api.post("/my-workflow/instances", content=b"{broken json"), 400, code=10021)
    failed(api.post("/my-workflow/instances", json=[1, 2]), 400)
    failed(api.get("", params={"page": 0}), 400)
    big = b'{"params": "' + b"x" * (1024 * 1024) + b'"}'
    message = failed(api.post("/my-workflow/instances", content=big), 413)
    assert "too large" in message
    # Path tricks: an encoded slash stays inside its segment; dot segments name nothing.
    failed(api.get("/my-workflow/instances/a%2Fb"), 404)
    failed(api.get("/my-workflow/instances/..%2F..%2Fetc"), 404)
    failed(httpx.get(f"{server.api}/../workflows/my-workflow/instances/%2e%2e"), 404)
    failed(api.get("/%00/instances"), 404)
    assert "Traceback" not in server.output()


def test_garbage_on_the_socket_does_not_kill_the_server(server):
    for junk in (
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /x HTTP/1.1\r\n",
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall(junk)
            raw.shutdown(socket.SHUT_WR)
            try:
                raw.recv(1024)
            except OSError:
                pass
    assert httpx.get(f"{server.url}/").text == "ok"
    assert ok(httpx.get(server.api))
