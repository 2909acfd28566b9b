"""`durable dev` as a user meets it: banner, fetch handler, bindings, stop, discovery, refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from dev_harness import durable_command, start_dev_server, wait_until, write_project

from durable.runtime.dev.discovery import ServerInfo, find_server, write_discovery

ENTRY = """
import json
import os
from urllib.parse import urlsplit

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("greet")
        async def greet():
            return {"greeting": self.env.GREETING, "payload": event.payload}

        return await greet()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlsplit(request.url).path
        if path == "/env":
            return Response.json({"GREETING": self.env.GREETING, "SECRET": self.env.SECRET})
        if path == "/create":
            instance = await self.env.MY_WORKFLOW.create(params={"from": "fetch"})
            return Response.json({"id": instance.id})
        if path == "/echo":
            body = await request.text()
            return Response(
                f"{request.method} {body} {request.headers.get('x-test')}",
                status=201,
                headers={"x-echo": "yes"},
            )
        if path == "/boom":
            raise RuntimeError("boom from the handler")
        if path == "/pid":
            return Response(str(os.getpid()))
        return Response("hello")
"""


def make_project(root: Path, entry: str = ENTRY, **kwargs: object) -> Path:
    config = write_project(root, entry, extra='[vars]\nGREETING = "hi"\n', **kwargs)
    (root / ".dev.vars").write_text("SECRET=s3cret\n")
    return config


def test_banner_bindings_and_fetch_handler(tmp_path, dev_server):
    make_project(tmp_path)
    server = dev_server(tmp_path)
    out = server.output()
    assert "Your Worker has access to the following bindings:" in out
    assert "env.MY_WORKFLOW (MyWorkflow)      Workflow" in out
    assert "Workflow                  local" in out or "Workflow      local" in out
    assert 'env.GREETING ("hi")' in out and "Environment Variable      local" in out
    assert 'env.SECRET ("(hidden)")' in out and "s3cret" not in out
    assert f"Ready on {server.url}" in out
    assert f"Dashboard: {server.url}/cdn-cgi/explorer/" in out
    assert server.url == f"http://127.0.0.1:{server.port}"

    client = server.client()
    response = client.get("/")
    assert (response.status_code, response.text) == (200, "hello")
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    assert client.get("/env").json() == {"GREETING": "hi", "SECRET": "s3cret"}

    echoed = client.post("/echo", content="ping", headers={"x-test": "t"})
    assert (echoed.status_code, echoed.text) == (201, "POST ping t")
    assert echoed.headers["x-echo"] == "yes"

    created = client.get("/create").json()
    url = f"{server.api}/my-workflow/instances/{created['id']}"
    wait_until(
        lambda: client.get(url).json()["result"]["status"] == "complete",
        what="instance to complete",
    )
    instance = client.get(url).json()["result"]
    assert instance["output"] == {"greeting": "hi", "payload": {"from": "fetch"}}
    assert instance["trigger"] == {"source": "binding"}
    server.wait_for_output(r"\[durable:info\] GET /env 200 OK \(\d+ms\)")


def test_handler_exception_is_a_500_and_the_server_keeps_serving(tmp_path, dev_server):
    make_project(tmp_path)
    server = dev_server(tmp_path)
    client = server.client()
    response = client.get("/boom")
    assert response.status_code == 500
    assert "RuntimeError: boom from the handler" in response.text
    out = server.wait_for_output("Traceback")
    assert "boom from the handler" in out and "entry.py" in out
    assert client.get("/").text == "hello"


def test_legacy_on_fetch_gets_env(tmp_path, dev_server):
    write_project(
        tmp_path,
        """
        from workers import Response, WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                return 1

        async def on_fetch(request, env):
            return Response(f"legacy {env.GREETING} {request.method}")
        """,
        compatibility_date="2025-01-01",
        flags=("python_workers", "python_workflows"),
        extra='[vars]\nGREETING = "hey"\n',
    )
    server = dev_server(tmp_path)
    assert server.client().get("/x").text == "legacy hey GET"


def test_on_fetch_ignored_by_the_date_is_reported_at_start(tmp_path, dev_server):
    write_project(
        tmp_path,
        """
        from workers import Response, WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                return 1

        async def on_fetch(request, env):
            return Response("legacy")
        """,
        compatibility_date="2026-03-01",
    )
    server = dev_server(tmp_path)
    # Before "Ready" and before any request: the warning comes with the code's loading.
    before_ready = server.output().split("Ready on")[0]
    assert (
        "▲ [WARNING] src/entry.py defines a module-level on_fetch, which is ignored: this "
        "Worker's compatibility_date 2026-03-01 (on or after 2025-08-14) selects class handlers"
    ) in before_ready
    assert '"disable_python_no_global_handlers"' in before_ready
    assert server.client().get("/").status_code == 500


def test_worker_without_fetch_handler_answers_500(tmp_path, dev_server):
    write_project(
        tmp_path,
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                return 1
        """,
    )
    server = dev_server(tmp_path)
    response = server.client().get("/")
    assert response.status_code == 500
    assert "fetch" in response.text
    # The management API works without a fetch handler.
    assert server.client().get(f"{server.api}").json()["success"] is True


def test_discovery_file_and_second_instance_refused(tmp_path, dev_server):
    make_project(tmp_path)
    server = dev_server(tmp_path)
    info = json.loads((tmp_path / ".durable" / "dev.json").read_text())
    assert info["pid"] == server.proc.pid
    assert (info["ip"], info["port"], info["url"]) == ("127.0.0.1", server.port, server.url)
    assert info["started"]
    found = find_server(tmp_path / ".durable")
    assert found is not None and found.port == server.port

    second = subprocess.run(
        [*durable_command(), "dev", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert f"pid {server.proc.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    # The refused second server did not disturb the first one.
    assert server.client().get("/").text == "hello"

    assert server.stop(signal.SIGTERM) == 0
    assert not (tmp_path / ".durable" / "dev.json").exists()
    assert find_server(tmp_path / ".durable") is None
    # The lock went with the first server: a new one starts.
    again = dev_server(tmp_path)
    assert again.client().get("/").text == "hello"


def test_stale_discovery_file_is_ignored(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    info = ServerInfo(dead.pid, "127.0.0.1", 1, "http://127.0.0.1:1", "2026-01-01T00:00:00Z")
    write_discovery(tmp_path, info)
    assert find_server(tmp_path) is None
    write_discovery(tmp_path, ServerInfo(os.getpid(), "127.0.0.1", 2, "http://x", "now"))
    assert find_server(tmp_path) == ServerInfo(os.getpid(), "127.0.0.1", 2, "http://x", "now")
    assert oct((tmp_path / "dev.json").stat().st_mode & 0o777) == "0o600"
    (tmp_path / "dev.json").write_text("{not json")
    assert find_server(tmp_path) is None


def test_missing_config_is_one_clean_error(tmp_path):
    result = subprocess.run(
        [*durable_command(), "dev", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert "✘ [ERROR]" in result.stderr and "wrangler" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_port_in_use_is_one_clean_error(tmp_path):
    make_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*durable_command(), "dev", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert result.returncode == 1
    assert "Address already in use" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".durable" / "dev.json").exists()


SLOW_STEP = """
import asyncio
from pathlib import Path

from workers import WorkflowEntrypoint

MARKS = Path({marks!r})


def mark(text):
    with MARKS.open("a") as f:
        f.write(text + "\\n")


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("slow")
        async def slow():
            mark("start")
            await asyncio.sleep(event.payload["seconds"])
            mark("end")
            return "slow done"

        first = await slow()

        @step.do("after")
        async def after():
            mark("after")
            return first + "!"

        return await after()
"""


def test_sigterm_lets_the_running_step_finish_and_nothing_is_lost(tmp_path, dev_server):
    marks = tmp_path / "marks.txt"
    write_project(tmp_path, SLOW_STEP.format(marks=str(marks)))
    server = dev_server(tmp_path, "--no-reload")
    client = server.client()
    created = client.post(
        f"{server.api}/my-workflow/instances",
        json={"instance_id": "slow-1", "params": {"seconds": 0.4}},
    )
    assert created.status_code == 200, created.text
    wait_until(lambda: marks.exists() and "start" in marks.read_text(), what="step start")
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    # The step that was running when SIGTERM came was allowed to finish and was recorded …
    assert marks.read_text().split()[:2] == ["start", "end"]
    # … so the next `durable dev` resumes after it and never runs it again.
    again = dev_server(tmp_path, "--no-reload")
    url = f"{again.api}/my-workflow/instances/slow-1"
    wait_until(
        lambda: again.client().get(url).json()["result"]["status"] == "complete",
        what="resumed instance to complete",
    )
    assert again.client().get(url).json()["result"]["output"] == "slow done!"
    assert marks.read_text().split() == ["start", "end", "after"]


def test_second_ctrl_c_exits_at_once(tmp_path):
    marks = tmp_path / "marks.txt"
    write_project(tmp_path, SLOW_STEP.format(marks=str(marks)))
    server = start_dev_server(tmp_path, "--no-reload")
    try:
        client = server.client()
        client.post(
            f"{server.api}/my-workflow/instances",
            json={"instance_id": "long", "params": {"seconds": 30}},
        )
        wait_until(lambda: marks.exists(), what="step start")
        started = time.monotonic()
        server.proc.send_signal(signal.SIGINT)
        server.wait_for_output("press Ctrl-C again")
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(5) == 130
        assert time.monotonic() - started < 3
        assert not (tmp_path / ".durable" / "dev.json").exists()
        wait_until(lambda: not server.worker_pids(), what="workers gone")
    finally:
        server.stop(signal.SIGKILL)


def test_dev_reads_global_options_given_before_the_command(tmp_path, dev_server):
    make_project(tmp_path / "proj")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store = tmp_path / "store"
    config = str(tmp_path / "proj" / "wrangler.toml")
    server = dev_server(
        elsewhere, pre_args=("--config", config, "--persist-to", str(store)), persist_dir=store
    )
    assert (store / "dev.json").exists()
    assert not (tmp_path / "proj" / ".durable").exists()
    assert server.client().get("/").text == "hello"
    listed = server.client().get(server.api).json()
    assert listed["result"][0]["name"] == "my-workflow"


def test_max_concurrency_queues_the_rest(tmp_path, dev_server):
    marks = tmp_path / "marks.txt"
    write_project(tmp_path, SLOW_STEP.format(marks=str(marks)))
    server = dev_server(tmp_path, "--max-concurrency", "1", "--no-reload")
    client = server.client()
    for name in ("one", "two"):
        client.post(
            f"{server.api}/my-workflow/instances",
            json={"instance_id": name, "params": {"seconds": 0.6}},
        )
    wait_until(lambda: marks.exists(), what="first step")

    def status(name: str) -> str:
        return str(
            client.get(f"{server.api}/my-workflow/instances/{name}").json()["result"]["status"]
        )

    assert sorted([status("one"), status("two")]) == ["queued", "running"]
    wait_until(lambda: status("two") == "complete" and status("one") == "complete", what="both")


def test_env_selects_the_environment_section(tmp_path, dev_server):
    write_project(
        tmp_path,
        ENTRY,
        extra='[vars]\nGREETING = "top"\nSECRET = "-"\n\n'
        '[env.staging.vars]\nGREETING = "staging"\nSECRET = "-"\n\n'
        '[[env.staging.workflows]]\nname = "my-workflow"\nbinding = "MY_WORKFLOW"\n'
        'class_name = "MyWorkflow"\n\n',
    )
    server = dev_server(tmp_path, "--env", "staging")
    assert server.client().get("/env").json()["GREETING"] == "staging"


def test_writes_recorded_while_no_server_ran_are_applied_at_start(tmp_path, dev_server):
    import asyncio

    from durable.runtime.api.service import Service
    from durable.runtime.config import load_config
    from durable.runtime.dev.project import store_path
    from durable.runtime.engine.store import Store

    config = make_project(tmp_path)

    async def record() -> None:
        store = await Store.open(store_path(tmp_path / ".durable"))
        try:
            await Service(load_config(config), store, None).create_instance(
                "my-workflow", "offline-1", {"queued": "offline"}
            )
        finally:
            await store.close()

    asyncio.run(record())
    server = dev_server(tmp_path)
    url = f"{server.api}/my-workflow/instances/offline-1"
    wait_until(
        lambda: (server.client().get(url).json()["result"] or {}).get("status") == "complete",
        what="recorded instance to run",
    )


def test_fetch_without_a_request_parameter(tmp_path, dev_server):
    write_project(
        tmp_path,
        """
        from workers import Response, WorkerEntrypoint, WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                return 1

        class Default(WorkerEntrypoint):
            def fetch(self):
                return Response("no request needed")
        """,
    )
    server = dev_server(tmp_path)
    assert server.client().get("/").text == "no request needed"
