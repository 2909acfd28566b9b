"""Who may use the management routes: loopback Host only, same-origin writes, optional token.
Plus the dashboard's static files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from dev_harness import API, DevServer, start_dev_server, write_project

from durable.runtime.api.service import Service
from durable.runtime.config import load_config
from durable.runtime.dev.server import DevApp, ServerSettings
from durable.runtime.engine.store import Store

ENTRY = """
from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        return "done"


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("worker " + (request.headers.get("host") or ""))
"""

MANAGEMENT = (
    API,
    "/cdn-cgi/local/explorer/api/workflows",
    "/cdn-cgi/explorer/api/workflows",
    "/cdn-cgi/explorer/",
)


@pytest.fixture(scope="module")
def server(module_dir: Path) -> Iterator[DevServer]:
    write_project(module_dir / "open", ENTRY)
    dev = start_dev_server(module_dir / "open")
    yield dev
    dev.stop()


@pytest.fixture(scope="module")
def token_server(module_dir: Path) -> Iterator[DevServer]:
    write_project(module_dir / "token", ENTRY)
    dev = start_dev_server(module_dir / "token", "--api-token", "s3cret")
    yield dev
    dev.stop()


@pytest.mark.parametrize("path", MANAGEMENT)
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8787", "127.0.0.1.nip.io", "192.168.1.5"]
)
def test_foreign_host_is_refused_on_management_routes(server, path, host):
    response = httpx.get(f"{server.url}{path}", headers={"host": host})
    assert response.status_code == 403
    body = response.json()
    assert body["success"] is False and "not allowed" in body["errors"][0]["message"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST"])
def test_loopback_hosts_are_welcome(server, host):
    response = httpx.get(f"{server.url}{API}", headers={"host": f"{host}:{server.port}"})
    assert response.status_code == 200 and response.json()["success"] is True


def test_the_worker_itself_answers_any_host(server):
    # Only management routes are guarded: the user's Worker decides about its own requests.
    response = httpx.get(f"{server.url}/", headers={"host": "shop.example.com"})
    assert (response.status_code, response.text) == (200, "worker shop.example.com")


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost.evil:80"])
def test_cross_origin_writes_are_refused(server, origin):
    for path in (
        f"{API}/my-workflow/instances",
        "/cdn-cgi/local/explorer/api/workflows/my-workflow/instances",
    ):
        response = httpx.post(f"{server.url}{path}", json={}, headers={"origin": origin})
        assert response.status_code == 403, response.text
        assert "Cross-origin" in response.json()["errors"][0]["message"]
    # Reading is not refused (without CORS headers a foreign page cannot read the answer).
    assert httpx.get(f"{server.url}{API}", headers={"origin": origin}).status_code == 200


def test_same_origin_writes_are_allowed(server):
    for origin in (server.url, f"http://localhost:{server.port}", f"http://[::1]:{server.port}"):
        response = httpx.post(
            f"{server.url}{API}/my-workflow/instances", json={}, headers={"origin": origin}
        )
        assert response.status_code == 200, response.text
        assert "access-control-allow-origin" not in response.headers


def test_api_token_is_required_when_set(token_server):
    url = f"{token_server.url}{API}"
    response = httpx.get(url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["code"] == 10000
    assert httpx.get(url, headers={"authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url, headers={"authorization": "s3cret"}).status_code == 401
    assert httpx.get(url, headers={"authorization": "Bearer s3cret"}).status_code == 200
    explorer = f"{token_server.url}/cdn-cgi/local/explorer/api/workflows"
    assert httpx.get(explorer).status_code == 401
    assert httpx.get(explorer, headers={"authorization": "Bearer s3cret"}).status_code == 200
    # The Worker is not the management API; the dashboard's files hold no data.
    assert httpx.get(f"{token_server.url}/").status_code == 200
    assert httpx.get(f"{token_server.url}/cdn-cgi/explorer/").status_code != 401
    # The CLI of the same user finds the token next to the port (the file is 0600).
    info = json.loads((token_server.persist_dir / "dev.json").read_text())
    assert info["api_token"] == "s3cret"


def test_unknown_cdn_cgi_paths_are_404(server):
    response = httpx.get(f"{server.url}/cdn-cgi/trace")
    assert response.status_code == 404 and response.json()["success"] is False


# -- the dashboard's static files, served in-process --------------------------------------------


@pytest.fixture
async def app_factory(tmp_path: Path) -> AsyncIterator[object]:
    config = load_config(write_project(tmp_path, ENTRY))
    store = await Store.open(tmp_path / "store.sqlite3")
    service = Service(config, store, None)

    def make(dashboard: Path) -> httpx.AsyncClient:
        app = DevApp(service, None, None, ServerSettings(dashboard_dir=dashboard))
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]  # dict-typed ASGI
            base_url="http://127.0.0.1:8787",
        )

    yield make
    await store.close()


async def test_dashboard_files_with_content_types(tmp_path, app_factory):
    folder = tmp_path / "dash"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>durable</title>")
    (folder / "app.js").write_text("console.log('hi')")
    (folder / "style.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("not for you")
    async with app_factory(folder) as client:
        index = await client.get("/cdn-cgi/explorer/")
        assert index.status_code == 200 and "durable" in index.text
        assert index.headers["content-type"].startswith("text/html")
        assert index.headers["x-frame-options"] == "DENY"
        script = await client.get("/cdn-cgi/explorer/app.js")
        assert "javascript" in script.headers["content-type"]
        style = await client.get("/cdn-cgi/explorer/style.css")
        assert style.headers["content-type"].startswith("text/css")
        redirect = await client.get("/cdn-cgi/explorer")
        assert redirect.status_code == 308 and redirect.headers["location"] == "/cdn-cgi/explorer/"
        assert (await client.get("/cdn-cgi/explorer/missing.js")).status_code == 404
        sneaky = await client.get("/cdn-cgi/explorer/%2e%2e/secret.txt")
        assert sneaky.status_code == 404 and "not for you" not in sneaky.text
        assert (await client.post("/cdn-cgi/explorer/app.js")).status_code == 405
        evil = await client.get("/cdn-cgi/explorer/", headers={"host": "evil.example"})
        assert evil.status_code == 403


async def test_empty_or_missing_dashboard_folder_is_404(tmp_path, app_factory):
    empty = tmp_path / "empty"
    empty.mkdir()
    async with app_factory(empty) as client:
        assert (await client.get("/cdn-cgi/explorer/")).status_code == 404
    async with app_factory(tmp_path / "absent") as client:
        assert (await client.get("/cdn-cgi/explorer/")).status_code == 404
        # The management API does not depend on the dashboard.
        assert (await client.get(API)).json()["success"] is True
