"""The `js` and `pyodide.ffi` modules beside the `workers` shim: production's binding examples
import them, so they must import and behave on CPython, and fail clearly where they cannot."""

from __future__ import annotations

import importlib
import json
import textwrap
from pathlib import Path

import pytest

from durable.runtime.worker.jsdict import JsDict
from durable.runtime.worker.loader import ensure_shim_on_path
from durable.testing import open_env

ensure_shim_on_path()
js = importlib.import_module("js")
ffi = importlib.import_module("pyodide.ffi")


def test_to_js_with_object_from_entries_gives_a_js_like_dict() -> None:
    value = ffi.to_js({"id": "x", "params": {1: [1, (2, 3)]}}, dict_converter=js.Object.fromEntries)
    assert isinstance(value, JsDict)
    assert value.params == {"1": [1, [2, 3]]}  # JS keys are strings, tuples become arrays
    assert isinstance(value.params, JsDict)
    assert ffi.to_js({"a": {"b": 1}}) == {"a": {"b": 1}}  # without a converter: a Map, a dict


def test_json_date_console_url() -> None:
    assert js.JSON.stringify({"a": [1, None]}) == '{"a":[1,null]}'
    assert js.JSON.parse('{"a": {"b": 2}}').a.b == 2
    assert abs(js.Date.now() - js.Date.new().getTime()) < 5_000
    assert js.Date.new(0).toISOString() == "1970-01-01T00:00:00.000Z"
    assert js.Date.new("2026-01-01T00:00:00Z").getTime() == 1_767_225_600_000
    url = js.URL.new("/a/b?x=1#h", "https://example.com:8443/")
    assert (url.hostname, url.port, url.pathname, url.search, url.hash) == (
        "example.com",
        "8443",
        "/a/b",
        "?x=1",
        "#h",
    )
    assert url.searchParams == {"x": "1"}


def test_console_prints_like_wrangler(capsys: pytest.CaptureFixture[str]) -> None:
    js.console.log("hello", 1)
    js.console.error("bad")
    out, err = capsys.readouterr()
    assert (out, err) == ("hello 1\n", "bad\n")


async def test_js_response_is_a_workers_response() -> None:
    workers = importlib.import_module("workers")
    response = js.Response.new("hi", {"status": 201})
    assert isinstance(response, workers.Response)
    assert (response.status, await response.text()) == (201, "hi")


def test_proxies_and_exceptions() -> None:
    proxy = ffi.create_proxy(lambda x: x + 1)
    assert proxy(1) == 2
    proxy.destroy()
    once = ffi.create_once_callable(lambda: "ok")
    assert once() == "ok"
    with pytest.raises(ffi.JsException):
        once()
    error = ffi.JsException("boom", "TypeError")
    assert (error.name, error.message, str(error)) == ("TypeError", "boom", "TypeError: boom")
    assert not isinstance({}, ffi.JsProxy)


def test_what_needs_the_workers_runtime_says_so() -> None:
    with pytest.raises(ImportError, match="exists only inside the Cloudflare Workers runtime"):
        exec("from js import WebSocketPair", {})  # noqa: S102
    with pytest.raises(ImportError, match="pyodide.ffi.run_sync exists only inside"):
        exec("from pyodide.ffi import run_sync", {})  # noqa: S102
    with pytest.raises(ImportError, match="js.caches exists only inside"):
        js.caches  # noqa: B018


DOCS_EXAMPLE = """
from pyodide.ffi import to_js
from js import Object
from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("greet")
        async def greet():
            return f"hello {event.payload['name']}"

        return await greet()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        instance = await self.env.MY_WORKFLOW.create(
            to_js({"id": "docs-1", "params": {"name": "ada"}}, dict_converter=Object.fromEntries)
        )
        status = await instance.status()
        return Response.json({"id": instance.id, "status": status.status})
"""


async def test_the_docs_binding_example_runs(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text(textwrap.dedent(DOCS_EXAMPLE))
    (tmp_path / "wrangler.toml").write_text(
        'name = "docs"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
        'compatibility_flags = ["python_workers"]\n'
        '[[workflows]]\nname = "my-workflow"\nbinding = "MY_WORKFLOW"\nclass_name = "MyWorkflow"\n'
    )
    async with open_env(tmp_path / "wrangler.toml", persist_dir=tmp_path / ".durable") as env:
        response = await env.fetch("/")
        assert json.loads(await response.text())["id"] == "docs-1"
        await env.settle()
        status = await (await env.env.MY_WORKFLOW.get("docs-1")).status()
        assert (status["status"], status["output"]) == ("complete", "hello ada")


def test_the_workers_shim_has_production_surface() -> None:
    workers = importlib.import_module("workers")
    with pytest.raises(TypeError):
        workers.Headers({"a": "b"})  # a type alias in production, not a class
    assert not hasattr(workers, "JsDict")
    with pytest.raises(ImportError, match="only inside the Cloudflare Workers runtime"):
        workers.import_from_javascript("cloudflare:workers")
    form = workers.FormData({"a": "1"})
    form.append("a", workers.Blob(["x"]), filename="x.txt")
    assert [type(v).__name__ for v in form.get_all("a")] == ["str", "File"]


async def test_module_level_env_and_patch_env(tmp_path: Path) -> None:
    workers = importlib.import_module("workers")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text(textwrap.dedent(DOCS_EXAMPLE))
    (tmp_path / "wrangler.toml").write_text(
        'name = "docs"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
        'compatibility_flags = ["python_workers"]\n[vars]\nGREETING = "hi"\n'
        '[[workflows]]\nname = "my-workflow"\nbinding = "MY_WORKFLOW"\nclass_name = "MyWorkflow"\n'
    )
    async with open_env(tmp_path / "wrangler.toml", persist_dir=tmp_path / ".durable") as env:
        assert workers.env is env.env
        with workers.patch_env(GREETING="patched", EXTRA=1):
            assert (workers.env.GREETING, workers.env.EXTRA) == ("patched", 1)
        assert workers.env.GREETING == "hi" and not hasattr(workers.env, "EXTRA")
        done: list[int] = []

        async def later() -> None:
            done.append(1)

        workers.wait_until(later())
        await env.settle()
        import asyncio

        await asyncio.sleep(0)
        assert done == [1]
