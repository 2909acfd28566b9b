"""The `durable_env` fixture: config selection, `env`, `fetch`, the strict JSON round trip."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from durable.testing import DurableEnv, introspect_workflow_instance

ENTRY = """
from workers import Request, Response, WorkerEntrypoint, WorkflowEntrypoint


class OrderWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("price")
        async def price():
            kind = event.payload.get("bad")
            if kind == "tuple":
                return (1, 2)
            return {"total": event.payload["qty"] * 3, "currency": self.env.CURRENCY}

        result = await price()
        if event.payload.get("bad") == "output":
            return [bytearray(b"x")]
        return result


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.method == "POST":
            body = await request.json()
            instance = await self.env.ORDERS.create(id=body["id"], params={"qty": body["qty"]})
            return Response.json({"id": instance.id}, status=202)
        status = await (await self.env.ORDERS.get(request.url.rsplit("/", 1)[-1])).status()
        return Response.json(status)
"""


@pytest.fixture
def durable_config(tmp_path: Path) -> Path:
    """This module's project, written for each test: the `durable_config` override."""
    root = tmp_path / "shop"
    (root / "src").mkdir(parents=True)
    (root / "src" / "entry.py").write_text(textwrap.dedent(ENTRY))
    (root / "wrangler.toml").write_text(
        'name = "shop"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
        'compatibility_flags = ["python_workers"]\n[vars]\nCURRENCY = "EUR"\n'
        '[[workflows]]\nname = "orders"\nbinding = "ORDERS"\nclass_name = "OrderWorkflow"\n'
    )
    return root / "wrangler.toml"


async def test_the_fixture_uses_the_overridden_config(
    durable_env: DurableEnv, durable_config: Path, tmp_path: Path
) -> None:
    assert durable_env.config.path == durable_config
    assert durable_env.env.CURRENCY == "EUR"
    assert (tmp_path / ".durable" / "durable.sqlite3").exists()  # the store is in tmp_path


async def test_fetch_calls_the_default_entrypoint(durable_env: DurableEnv) -> None:
    env = durable_env.env
    async with introspect_workflow_instance(env.ORDERS, "o-1") as instance:
        response = await durable_env.fetch(
            "/orders",
            method="POST",
            headers={"content-type": "application/json"},
            body=json.dumps({"id": "o-1", "qty": 2}),
        )
        assert response.status == 202
        assert await response.json() == {"id": "o-1"}
        await instance.wait_for_status("complete")
        assert await instance.get_output() == {"total": 6, "currency": "EUR"}
    from workers import Request

    response = await durable_env.fetch(Request("https://shop.example/orders/o-1"))
    assert (await response.json())["status"] == "complete"


async def test_the_strict_json_round_trip_applies(durable_env: DurableEnv) -> None:
    orders = durable_env.env.ORDERS
    async with introspect_workflow_instance(orders, "t") as instance:
        await instance.modify(lambda m: m.disable_retry_delays())
        await orders.create(id="t", params={"qty": 1, "bad": "tuple"})
        await instance.wait_for_status("errored")
        error = await instance.get_error()
        assert error["message"] == "<class 'tuple'> cannot be sent over RPC."
        assert instance.trace.failures("price")[0]["name"] == "TypeError"
    async with introspect_workflow_instance(orders, "s") as instance:
        await orders.create(id="s", params={"qty": 1, "bad": "output"})
        await instance.wait_for_status("errored")
        error = await instance.get_error()
        assert error["message"] == "<class 'bytearray'> cannot be sent over RPC."
    with pytest.raises(TypeError, match=r"^<class 'bytearray'> cannot be sent over RPC\.$"):
        await orders.create(params={"raw": bytearray(b"\x00")})


@pytest.mark.durable_config("legacy_worker/wrangler.toml")
async def test_the_marker_selects_a_config_and_on_fetch_works(durable_env: DurableEnv) -> None:
    assert durable_env.config.name == "legacy-worker"
    response = await durable_env.fetch("/make/first")
    assert response.status == 201
    assert await response.text() == "created first"
    async with introspect_workflow_instance(durable_env.env.LEGACY, "first") as instance:
        await instance.wait_for_status("complete")
        assert await instance.get_output() == "HELLO FROM VARS"


async def test_fetch_without_a_handler_says_so(open_project) -> None:  # type: ignore[no-untyped-def]
    denv = await open_project(
        "from workers import WorkflowEntrypoint\nclass MyWorkflow(WorkflowEntrypoint):\n    async def run(self, event, step):\n        return 1\n"
    )
    with pytest.raises(LookupError, match="no fetch handler"):
        await denv.fetch("/")


async def test_fetch_gives_the_request_the_local_cf(open_project) -> None:  # type: ignore[no-untyped-def]
    """Audit 24: a request reaching the handler is an incoming one, with `cf` set."""
    denv = await open_project(
        textwrap.dedent(
            """
            from workers import Response, WorkerEntrypoint, WorkflowEntrypoint

            class MyWorkflow(WorkflowEntrypoint):
                async def run(self, event, step):
                    return 1

            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    cf = request.cf
                    return Response(f"{cf.colo} {cf.country} {cf.httpProtocol}")
            """
        )
    )
    assert await (await denv.fetch("/")).text() == "DFW US HTTP/1.1"
    from workers import Request

    own = Request(
        "http://localhost:8787/", cf={"colo": "LHR", "country": "GB", "httpProtocol": "x"}
    )
    assert await (await denv.fetch(own)).text() == "LHR GB x"
