"""How the management surfaces are routed (starlette's Router, on per-segment decoded paths),
in-process: which route a path reaches, 404/405 envelopes, the Worker as the default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from dev_harness import API, write_project

from durable.runtime.api.common import routing_path
from durable.runtime.api.pages import Page, page_info
from durable.runtime.api.service import Service
from durable.runtime.client import base as client_base
from durable.runtime.config import load_config
from durable.runtime.dev.server import DASHBOARD_DIR, DevApp, ServerSettings
from durable.runtime.engine.store import Store

ENTRY = """
from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        return "done"
"""
EXPLORER = "/cdn-cgi/local/explorer/api/workflows"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[DevApp]:
    config = load_config(write_project(tmp_path, ENTRY))
    store = await Store.open(tmp_path / "store.sqlite3")
    yield DevApp(Service(config, store, None), None, None, ServerSettings(log_requests=False))
    await store.close()


@pytest.fixture
async def client(app: DevApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8787"
    ) as http:
        yield http


def error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["success"] is False and body["result"] is None
    return dict(body["errors"][0])


async def test_a_literal_segment_wins_whatever_the_method(client):
    # `batch` is the batch route, not an instance id, even for a method it does not take.
    response = await client.get(f"{API}/my-workflow/instances/batch")
    assert error(response, 405) == {
        "code": 10405,
        "message": "Method GET not allowed here; use POST.",
    }
    assert response.headers["allow"] == "POST"
    terminate = await client.get(f"{API}/my-workflow/instances/terminate")
    assert error(terminate, 405)["message"] == "Method GET not allowed here; use PUT."


async def test_405_lists_every_method_of_the_path(client):
    response = await client.put(f"{EXPLORER}/my-workflow/instances")
    assert error(response, 405)["message"] == "Method PUT not allowed here; use GET, POST."
    assert response.headers["allow"] == "GET, POST"


async def test_bare_prefixes_are_management_404s_not_the_worker(client):
    for path, code in (
        ("/client/v4", 7003),
        ("/client/v4/", 7003),
        ("/cdn-cgi", 7003),
        ("/cdn-cgi/local/explorer/api", 10501),
    ):
        assert error(await client.get(path), 404) == {
            "code": code,
            "message": f"No route for {path}.",
        }


async def test_control_characters_below_a_prefix_stay_in_the_management_api(client):
    # Found by the property test: a newline below /client/v4 fell through to the Worker.
    for path in ("/client/v4/accounts/local/%0A0", "/cdn-cgi/%0D%0Ax", f"{EXPLORER}/%0A"):
        response = await client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["success"] is False


async def test_a_percent_encoded_prefix_still_reaches_the_api(client):
    response = await client.get("/client/v4/accounts/local/%77orkflows")
    assert response.status_code == 200 and response.json()["success"] is True


async def test_the_first_of_repeated_query_parameters_wins(client):
    response = await client.get(f"{API}/my-workflow/instances?per_page=2&per_page=5000")
    assert response.status_code == 200, response.text
    assert response.json()["result_info"]["per_page"] == 2


async def test_a_request_without_host_is_not_refused(app):
    # HTTP/1.0 clients send no Host; the rule refuses foreign names, not their absence.
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.0",
        "method": "GET",
        "scheme": "http",
        "path": API,
        "raw_path": API.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "server": ("127.0.0.1", 8787),
        "client": ("127.0.0.1", 50000),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 200, sent


async def test_other_paths_reach_the_worker(client):
    # No code loaded: the Worker's own 500 in plain text, not a management envelope.
    response = await client.get("/client/v5/accounts")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"


async def test_the_packaged_dashboard_is_served_by_default(client):
    assert (DASHBOARD_DIR / "index.html").is_file(), DASHBOARD_DIR
    response = await client.get("/cdn-cgi/explorer/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("raw", "routed"),
    [
        (b"/a/b", "/a/b"),
        (b"/a/b/", "/a/b"),
        (b"/", "/"),
        (b"/w/a%2Fb", "/w/a%2Fb"),
        (b"/w/%2e%2e", "/w/.."),
        (b"/%63lient/v4", "/client/v4"),
        (b"/w/100%25", "/w/100%25"),
        (b"/w/%", "/w/%25"),
        (b"/w/x?y=1", "/w/x"),
    ],
)
def test_routing_path_decodes_each_segment_on_its_own(raw, routed):
    assert routing_path({"raw_path": raw, "path": "/ignored"}) == routed


def test_one_page_type_and_one_page_info():
    assert client_base.Page is Page
    assert page_info(2, 25, 5, 30) == {
        "page": 2,
        "per_page": 25,
        "count": 5,
        "total_count": 30,
        "total_pages": 2,
    }
    assert page_info(1, 25, 0, 0)["total_pages"] == 1
