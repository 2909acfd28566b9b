"""Hot reload and crash recovery of a real `durable dev`: no instance lost, no connection refused."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx
from dev_harness import DevServer, wait_until, write_project

from durable.runtime.config import load_config
from durable.runtime.dev.discovery import find_server
from durable.runtime.dev.watch import watch_plan

ENTRY = """
import os
from pathlib import Path

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint

VERSION = "v1"
MARKS = Path({marks!r})


def mark(text):
    with MARKS.open("a") as f:
        f.write(text + "\\n")


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("first")
        async def first():
            mark("first " + VERSION)
            return VERSION

        started_on = await first()
        await step.sleep("nap", event.payload.get("nap", 1200))

        @step.do("second")
        async def second():
            mark("second " + VERSION)
            return {{"started_on": started_on, "finished_on": VERSION}}

        return await second()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/pid"):
            return Response(str(os.getpid()))
        return Response(VERSION + " " + str(getattr(self.env, "COLOR", "-")))
"""


def project(root: Path) -> Path:
    marks = root / "marks.txt"
    write_project(root, ENTRY.format(marks=str(marks)))
    return root / "src" / "entry.py"


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def reloaded(server: DevServer, since: int, timeout: float = 10.0) -> None:
    server.wait_for_output(r"Local server (updated|restarted) and ready", timeout, after=since)


def status(server: DevServer, instance_id: str) -> str | None:
    url = f"{server.api}/my-workflow/instances/{instance_id}"
    result = server.client().get(url).json()["result"]
    return None if result is None else str(result["status"])


def create(server: DevServer, instance_id: str, nap: int = 1200) -> None:
    response = server.client().post(
        f"{server.api}/my-workflow/instances",
        json={"instance_id": instance_id, "params": {"nap": nap}},
    )
    assert response.status_code == 200, response.text


def test_reload_while_an_instance_sleeps_finishes_it_on_the_new_code(tmp_path, dev_server):
    entry = project(tmp_path)
    server = dev_server(tmp_path)
    client = server.client()
    assert client.get("/").text == "v1 -"
    create(server, "sleeper")
    wait_until(lambda: status(server, "sleeper") == "waiting", what="instance asleep")

    since = len(server.output())
    edit(entry, 'VERSION = "v1"', 'VERSION = "v2"')
    reloaded(server, since)
    assert "src/entry.py" in server.output()[since:]
    assert client.get("/").text == "v2 -"

    wait_until(lambda: status(server, "sleeper") == "complete", what="instance to complete")
    details = client.get(f"{server.api}/my-workflow/instances/sleeper").json()["result"]
    # The completed step kept its v1 output; the step after the reload ran the new code.
    assert details["output"] == {"started_on": "v1", "finished_on": "v2"}
    assert (tmp_path / "marks.txt").read_text().split("\n")[:2] == ["first v1", "second v2"]


def test_broken_config_keeps_the_old_code_serving_then_recovers(tmp_path, dev_server):
    project(tmp_path)
    config = tmp_path / "wrangler.toml"
    good = config.read_text()
    server = dev_server(tmp_path)
    client = server.client()

    since = len(server.output())
    config.write_text(good + "\n[vars\nbroken = \n")
    out = server.wait_for_output(r"✘ \[ERROR\].*wrangler\.toml(.|\n)*keeps serving", after=since)
    assert "Traceback" not in out
    assert client.get("/").text == "v1 -"

    since = len(server.output())
    config.write_text(good + '\n[vars]\nCOLOR = "blue"\n')
    reloaded(server, since)
    assert client.get("/").text == "v1 blue"
    # The bindings table is printed again when the config changed what it shows.
    assert 'env.COLOR ("blue")' in server.output()[since:]

    # Secrets in .dev.vars reload too (and override [vars], as in wrangler).
    since = len(server.output())
    (tmp_path / ".dev.vars").write_text("COLOR=red\n")
    reloaded(server, since)
    assert client.get("/").text == "v1 red"


def test_syntax_error_keeps_the_old_code_serving_then_recovers(tmp_path, dev_server):
    entry = project(tmp_path)
    helper = tmp_path / "src" / "lib" / "helper.py"
    helper.parent.mkdir()
    helper.write_text("WORD = 'one'\n")
    edit(entry, 'VERSION = "v1"', "from lib.helper import WORD\nVERSION = 'v1-' + WORD")
    server = dev_server(tmp_path)
    client = server.client()
    assert client.get("/").text == "v1-one -"

    since = len(server.output())
    helper.write_text("WORD = 'two\n")  # unterminated string
    out = server.wait_for_output(r"✘ \[ERROR\].*helper\.py(.|\n)*keeps serving", after=since)
    assert "Traceback" not in out[since:]
    assert client.get("/").text == "v1-one -"

    since = len(server.output())
    helper.write_text("WORD = 'three'\n")  # a module in a subfolder of the entry's folder
    reloaded(server, since)
    assert client.get("/").text == "v1-three -"


def test_no_connection_is_refused_or_dropped_during_reloads(tmp_path, dev_server):
    entry = project(tmp_path)
    server = dev_server(tmp_path)
    seen: set[str] = set()
    failures: list[str] = []
    done = threading.Event()

    def hammer() -> None:
        while not done.is_set():
            try:
                # A new connection each time: what must never happen is a refused connect.
                with httpx.Client(base_url=server.url, timeout=10) as fresh:
                    response = fresh.get("/")
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")
                else:
                    seen.add(response.text)
            except httpx.HTTPError as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for version in ("v2", "v3", "v4"):
            since = len(server.output())
            text = entry.read_text()
            entry.write_text(text.replace(text.split('VERSION = "')[1].split('"')[0], version, 1))
            reloaded(server, since)
            wait_until(lambda v=version: f"{v} -" in seen, what=f"{version} served")
    finally:
        done.set()
        for thread in threads:
            thread.join(10)
    assert failures == []
    assert {"v1 -", "v2 -", "v3 -", "v4 -"} <= seen


def test_sigkill_of_the_worker_restarts_it_and_resumes_instances(tmp_path, dev_server):
    project(tmp_path)
    server = dev_server(tmp_path)
    client = server.client()
    create(server, "survivor", nap=800)
    wait_until(lambda: status(server, "survivor") == "waiting", what="instance asleep")
    pid = int(client.get("/pid").text)
    assert pid in server.worker_pids()

    since = len(server.output())
    os.kill(pid, signal.SIGKILL)
    out = server.wait_for_output("restarted and ready", after=since)
    assert "exited unexpectedly (signal SIGKILL)" in out[since:]
    assert int(client.get("/pid").text) != pid
    wait_until(lambda: status(server, "survivor") == "complete", what="instance to complete")
    assert (tmp_path / "marks.txt").read_text().split("\n")[:2] == ["first v1", "second v1"]


def test_sigkill_of_the_supervisor_leaves_nothing_behind_and_the_next_dev_resumes(
    tmp_path, dev_server
):
    project(tmp_path)
    server = dev_server(tmp_path)
    client = server.client()
    create(server, "orphan", nap=1500)
    wait_until(lambda: status(server, "orphan") == "waiting", what="instance asleep")
    workers = server.worker_pids()
    assert workers

    server.proc.kill()
    server.proc.wait(5)
    client.close()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0

    # The worker noticed its supervisor is gone and stopped by itself (no orphan on the store).
    wait_until(lambda: all(gone(pid) for pid in workers), timeout=10, what="workers to exit")
    assert (tmp_path / ".durable" / "dev.json").exists()  # left behind by the SIGKILL …
    assert find_server(tmp_path / ".durable") is None  # … and recognised as stale

    again = dev_server(tmp_path)
    assert "Resuming 1 unfinished instance" in again.output()
    wait_until(lambda: status(again, "orphan") == "complete", what="instance to complete")
    assert (tmp_path / "marks.txt").read_text().split("\n")[:2] == ["first v1", "second v1"]


def test_code_broken_at_start_serves_the_api_then_recovers(tmp_path, dev_server):
    entry = project(tmp_path)
    good = entry.read_text()
    entry.write_text(good + "\ndef broken(:\n")
    server = dev_server(tmp_path)
    assert "✘ [ERROR] Syntax error" in server.output()
    client = server.client()
    response = client.get("/")
    assert response.status_code == 500 and "Syntax error" in response.text
    listed = client.get(server.api).json()
    assert listed["success"] and listed["result"][0]["name"] == "my-workflow"
    # A write is kept at once: the instance exists, queued, and runs once the code loads.
    created = client.post(
        f"{server.api}/my-workflow/instances", json={"instance_id": "early", "params": {"nap": 10}}
    )
    assert created.json()["result"]["status"] == "queued"
    shown = client.get(f"{server.api}/my-workflow/instances/early").json()["result"]
    assert (shown["status"], shown["params"]) == ("queued", {"nap": 10})
    listed = client.get(f"{server.api}/my-workflow/instances").json()["result"]
    assert [i["id"] for i in listed] == ["early"]

    since = len(server.output())
    entry.write_text(good)
    reloaded(server, since)
    assert client.get("/").text == "v1 -"
    wait_until(lambda: status(server, "early") == "complete", what="recorded instance to run")


def test_only_code_config_and_dev_vars_are_watched(tmp_path):
    write_project(tmp_path, "x = 1\n")
    config = load_config(tmp_path / "wrangler.toml")
    plan = watch_plan(config, tmp_path / ".durable")
    assert plan.recursive == (tmp_path / "src",)
    assert plan.relevant(tmp_path / "wrangler.toml")
    assert plan.relevant(tmp_path / ".dev.vars")
    assert plan.relevant(tmp_path / ".env.staging")
    assert plan.relevant(tmp_path / "src" / "entry.py")
    assert plan.relevant(tmp_path / "src" / "pkg" / "mod.py")
    assert not plan.relevant(tmp_path / "src" / "notes.txt")
    assert not plan.relevant(tmp_path / "src" / "__pycache__" / "entry.cpython-311.py")
    assert not plan.relevant(tmp_path / "other.py")

    # Entry next to the config: the folder is watched flat, subfolders recursively, minus the
    # store, virtualenvs and the like (else every SQLite write would reload).
    (tmp_path / "entry.py").write_text("x = 1\n")
    for name in (".durable", ".venv", "node_modules", "pkg"):
        (tmp_path / name).mkdir(exist_ok=True)
    (tmp_path / "wrangler.toml").write_text(
        (tmp_path / "wrangler.toml").read_text().replace("src/entry.py", "entry.py")
    )
    config = load_config(tmp_path / "wrangler.toml")
    plan = watch_plan(config, tmp_path / ".durable")
    assert tmp_path in plan.flat
    assert set(plan.recursive) == {tmp_path / "pkg", tmp_path / "src"}
    assert plan.relevant(tmp_path / "entry.py")
    assert not plan.relevant(tmp_path / ".durable" / "x.py")
    assert not plan.relevant(tmp_path / ".venv" / "lib" / "x.py")


def test_trigger_wait_on_broken_code_says_why_and_runs_once_fixed(tmp_path, dev_server):
    import subprocess
    import sys

    entry = project(tmp_path)
    good = entry.read_text()
    entry.write_text(good + "\ndef broken(:\n")
    server = dev_server(tmp_path)
    assert "✘ [ERROR] Syntax error" in server.output()
    # The instance's REST object says why it waits (an extra field; the shape is unchanged).
    early = server.client().post(f"{server.api}/my-workflow/instances", json={"instance_id": "e"})
    assert early.json()["result"]["status"] == "queued"
    shown = server.client().get(f"{server.api}/my-workflow/instances/e").json()["result"]
    assert shown["status"] == "queued" and "Syntax error" in shown["load_error"]

    script = Path(sys.executable).parent / "durable"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "durable.cli.app"]
    waiting = subprocess.Popen(
        [*command, "workflows", "trigger", "my-workflow", '{"nap": 1}', "--id", "w", "--wait"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    lines: list[str] = []
    assert waiting.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(waiting.stderr or []), daemon=True)
    reader.start()
    try:
        wait_until(
            lambda: any("does not load" in line for line in list(lines)),
            what="the progress line naming the load error",
        )
        line = next(line for line in list(lines) if "does not load" in line)
        assert line.startswith('⏳ Instance "w": ⌛ Queued: the Worker\'s code does not load')
        assert "Syntax error" in line
        assert waiting.poll() is None  # it keeps waiting
        entry.write_text(good)  # a fix saved makes it run
        out, _ = waiting.communicate(timeout=30)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, (out, lines)
    assert "Complete" in out
