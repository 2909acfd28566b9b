"""The bad-input catalogue: every kind of mistake a user can make, and what durable answers.

Four tables, one per area, each row one case:

* CONFIG_CASES   wrangler.toml / wrangler.jsonc mistakes and broken user code (at load time);
* CLI_CASES      `durable …` with bad arguments, run against a running `durable dev` and again
                 with no server (the store read directly); STORE_CASES: unusable persist dirs;
* API_CASES      requests to the management API (REST and explorer shapes);
* CODE_CASES     workflows whose code misbehaves at run time.

Every case asserts the same contract: a clear message (what is wrong, where, and how to fix it,
checked by the fragments listed in the row), a non-zero exit code or a 4xx (or, where production
accepts the input, the documented outcome: a warning, or the result production gives), no
traceback anywhere (CLI output, API body, the `durable dev` terminal), the server still up,
and no data lost: a canary instance created before the catalogue still reads back unchanged.

A config case is also applied to the running `durable dev` (TOML and code cases: the file is
changed under it, the reload fails with the message and the last good version keeps serving,
then the file is restored) or given to a fresh `durable dev` (JSONC cases: it refuses to start).
The size of each table and the outcome of each case go to tests/artifacts/reliability-bad-inputs.json.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from durable.cli.app import app
from tests.server.dev_harness import DevServer, durable_command, start_dev_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
API = "/client/v4/accounts/local/workflows"
EXPLORER = "/cdn-cgi/local/explorer/api/workflows"
OUTCOMES: dict[str, str] = {}  # case id -> "ok" once the case passed

ENTRY = """
import asyncio
from datetime import datetime

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class Main(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("add")
        async def add():
            return {"sum": event.payload.get("a", 0) + event.payload.get("b", 0)}

        got = await add()
        if event.payload.get("wait"):
            got["event"] = (await step.wait_for_event("w", "go", timeout="1 hour"))["payload"]
        return got


class Outside(WorkflowEntrypoint):
    async def run(self, event, step):
        settings = {}
        return settings["missing-key"]  # an exception outside any step


class Unserialisable(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("tags", config={"retries": {"limit": 0, "delay": 1}})
        async def tags():
            return {"pair": ("a", "b")}

        return await tags()


class TooBig(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("blob", config={"retries": {"limit": 0, "delay": 1}})
        async def blob():
            return "x" * (1024 * 1024 + 10)

        return await blob()


class Hangs(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("forever", config={"retries": {"limit": 1, "delay": 10}, "timeout": 300})
        async def forever():
            await asyncio.sleep(3600)

        return await forever()


class Unawaited(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("forgotten")
        async def forgotten():
            return 1

        forgotten()  # no await
        return "finished without the step"


class Dupes(WorkflowEntrypoint):
    async def run(self, event, step):
        results = []
        for i in range(3):
            @step.do("same name")
            async def same():
                return i

            results.append(await same())
        return results


class Past(WorkflowEntrypoint):
    async def run(self, event, step):
        await step.sleep_until("too late", datetime(2000, 1, 1))
        return "unreachable"


class BadEventType(WorkflowEntrypoint):
    async def run(self, event, step):
        return await step.wait_for_event("approval", "needs approval!", timeout="1 hour")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")
"""

WORKFLOWS = [
    ("wf", "WF", "Main"),
    ("outside", "OUTSIDE", "Outside"),
    ("unserialisable", "UNSERIALISABLE", "Unserialisable"),
    ("too-big", "TOO_BIG", "TooBig"),
    ("hangs", "HANGS", "Hangs"),
    ("unawaited", "UNAWAITED", "Unawaited"),
    ("dupes", "DUPES", "Dupes"),
    ("past", "PAST", "Past"),
    ("bad-event-type", "BAD_EVENT_TYPE", "BadEventType"),
]


def toml(
    *,
    workflows: list[tuple[str, str, str]] = WORKFLOWS,
    main: str | None = "src/entry.py",
    extra: str = "",
    first_section: str = "[[workflows]]",
) -> str:
    text = 'name = "catalogue"\n'
    if main is not None:
        text += f'main = "{main}"\n'
    text += 'compatibility_date = "2026-03-01"\ncompatibility_flags = ["python_workers"]\n' + extra
    for index, (name, binding, class_name) in enumerate(workflows):
        header = first_section if index == 0 else "[[workflows]]"
        text += f'\n{header}\nname = "{name}"\nbinding = "{binding}"\nclass_name = "{class_name}"\n'
    return text


GOOD_TOML = toml()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def jsonc(workflow: str) -> str:
    return (
        "{\n  // a comment, as wrangler.jsonc allows\n"
        '  "name": "catalogue",\n  "main": "src/entry.py",\n'
        '  "compatibility_date": "2026-03-01",\n  "compatibility_flags": ["python_workers"],\n'
        f'  "workflows": [\n    {workflow},\n  ],\n}}\n'
    )


# --- the tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigCase:
    id: str
    files: dict[str, str]  # project-relative path -> content replacing the good one
    expect: tuple[str, ...]  # fragments of the message: what, where, how to fix
    command: tuple[str, ...] = ("workflows", "list")
    warning: bool = False  # production accepts it with a warning: exit 0
    live: bool = True  # also applied to the running durable dev (else: a fresh one refuses)


BROKEN_SECTION = toml(first_section="[[workflows]")
UNTERMINATED = GOOD_TOML.replace('name = "catalogue"', 'name = "catalogue', 1)
CODE = "src/entry.py"
RUN = ("workflows", "trigger", "wf", "--wait")  # imports the user's code
CONFIG_CASES = [
    ConfigCase(
        "toml-syntax-error",
        {"wrangler.toml": BROKEN_SECTION},
        (
            f"wrangler.toml:{line_of(BROKEN_SECTION, '[[workflows]')}:12:",
            "invalid TOML",
            "Expected ']]' at the end of an array declaration",
        ),
    ),
    ConfigCase(
        "toml-unterminated-string",
        {"wrangler.toml": UNTERMINATED},
        ("wrangler.toml:1:18:", "invalid TOML", "Illegal character"),
    ),
    ConfigCase(
        "jsonc-syntax-error",
        {
            "wrangler.jsonc": jsonc(
                '{ "name": "wf", "binding": "WF", "class_name": "Main" '
            ).rstrip()[:-2]
        },
        ("wrangler.jsonc:", "invalid JSON"),
        live=False,
    ),
    ConfigCase(
        "jsonc-bad-token",
        {"wrangler.jsonc": jsonc('{ "name": wf, "binding": "WF", "class_name": "Main" }')},
        ("wrangler.jsonc:8:", "invalid JSON"),
        live=False,
    ),
    ConfigCase(
        "jsonc-mistyped-field",
        {"wrangler.jsonc": jsonc('{ "name": "wf", "binding": 5, "class_name": "Main" }')},
        (
            "wrangler.jsonc",
            '"workflows[0]"',
            'should have a string "binding" field',
            '"binding": 5',
        ),
        live=False,
    ),
    ConfigCase(
        "missing-field",
        {"wrangler.toml": GOOD_TOML.replace('binding = "WF"\n', "", 1)},
        ("wrangler.toml", '"workflows[0]"', 'should have a string "binding" field'),
    ),
    ConfigCase(
        "mistyped-field",
        {"wrangler.toml": GOOD_TOML.replace('binding = "WF"', "binding = 5", 1)},
        ("wrangler.toml", '"workflows[0]"', 'should have a string "binding" field', '"binding": 5'),
    ),
    ConfigCase(
        "mistyped-workflows",
        {"wrangler.toml": toml(workflows=[], extra='workflows = "wf"\n')},
        ("wrangler.toml", 'The field "workflows" should be an array but got "wf"'),
    ),
    ConfigCase(
        "duplicate-workflow-names",
        {"wrangler.toml": toml(workflows=[*WORKFLOWS, ("wf", "WF2", "Main")])},
        ("wrangler.toml", 'unique "name" values; duplicate(s) found: "wf"', "its own name"),
    ),
    ConfigCase(
        "duplicate-bindings",
        {"wrangler.toml": toml(workflows=[*WORKFLOWS, ("wf2", "WF", "Main")])},
        ("wrangler.toml", "WF assigned to multiple Workflow bindings", "its own binding"),
    ),
    ConfigCase(
        "class-name-not-found",
        {"wrangler.toml": GOOD_TOML.replace('class_name = "Main"', 'class_name = "Nope"', 1)},
        (
            "wrangler.toml",
            'workflows[0].class_name "Nope"',
            "not a WorkflowEntrypoint class in src/entry.py",
            "found: BadEventType, Dupes",
        ),
        command=RUN,
    ),
    ConfigCase(
        "main-file-missing",
        {"wrangler.toml": toml(main="src/nope.py")},
        ("wrangler.toml", 'The entry-point file at "src/nope.py" was not found'),
    ),
    ConfigCase(
        "main-not-set",
        {"wrangler.toml": toml(main=None)},
        ("wrangler.toml", "Missing entry-point", 'add "main" to wrangler.toml'),
    ),
    ConfigCase(
        "import-error-in-user-code",
        {CODE: "import not_a_module_xyz\n" + ENTRY},
        ("Could not import src/entry.py", "src/entry.py:1", "No module named 'not_a_module_xyz'"),
        command=RUN,
    ),
    ConfigCase(
        "syntax-error-in-user-code",
        {CODE: ENTRY + "\ndef broken(:\n    pass\n"},
        ("Syntax error in", f"src/entry.py:{ENTRY.count(chr(10)) + 2}", "invalid syntax"),
        command=RUN,
    ),
    ConfigCase(
        "exception-at-import-time",
        {CODE: ENTRY + "\nraise RuntimeError('boom at import')\n"},
        ("Could not import src/entry.py", "RuntimeError: boom at import"),
        command=RUN,
    ),
    ConfigCase(
        "unknown-top-level-key",
        {"wrangler.toml": toml(extra="frobnicate = 1\n")},
        ('Unexpected fields found in top-level field: "frobnicate"',),
        warning=True,
    ),
    ConfigCase(
        "unknown-workflow-key",
        {
            "wrangler.toml": GOOD_TOML.replace(
                'class_name = "Main"', 'class_name = "Main"\nretries = 3', 1
            )
        },
        ("Unexpected fields found in", '"retries"'),
        warning=True,
    ),
]


@dataclass(frozen=True)
class CliCase:
    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    code: int = 1  # 1: a mistake reported; 2: a usage error


CLI_CASES = [
    CliCase("invalid-json-params", ("workflows", "trigger", "wf", '{"a": 1,'), ("PARAMS is not valid JSON", "line 1, column 9")),
    CliCase("invalid-json-payload", ("instances", "send-event", "wf", "canary", "--type", "go", "--payload", "{x}"), ("not valid JSON", "line 1, column 2")),
    CliCase("oversized-params", ("workflows", "trigger", "wf", json.dumps({"x": "y" * (1024 * 1024)})), ("too large",)),
    CliCase("invalid-instance-id", ("workflows", "trigger", "wf", "--id", "bad id!"), ("Invalid instance id 'bad id!'", "use 1-100 letters, digits, '-' or '_'")),
    CliCase("oversized-instance-id", ("workflows", "trigger", "wf", "--id", "x" * 101), ("Invalid instance id", "1-100")),
    CliCase("path-trick-instance-id", ("workflows", "trigger", "wf", "--id", "../etc"), ("Invalid instance id '../etc'",)),
    CliCase("unknown-workflow", ("workflows", "instances", "list", "nope"), ('Workflow "nope" not found', "Known workflows: wf, outside")),
    CliCase("unknown-workflow-trigger", ("workflows", "trigger", "nope"), ('Workflow "nope" not found',)),
    CliCase("unknown-instance", ("instances", "describe", "wf", "no-such-id"), ('Instance "no-such-id" not found in workflow "wf"', 'durable workflows instances list wf')),
    CliCase("unknown-instance-pause", ("instances", "pause", "wf", "no-such-id"), ('Instance "no-such-id" not found',)),
    CliCase("duplicate-instance-id", ("workflows", "trigger", "wf", "--id", "canary"), ('An instance with id "canary" already exists in workflow "wf"',)),
    CliCase("terminate-finished-instance", ("instances", "terminate", "wf", "canary"), ('Cannot terminate instance "canary": it is already complete',)),
    CliCase("invalid-event-type", ("instances", "send-event", "wf", "canary", "--type", "bad type!"), ("Invalid event type 'bad type!'", "letters, digits")),
    CliCase("invalid-status-filter", ("instances", "list", "wf", "--status", "bogus"), ("'bogus' is not one of", "--status"), code=2),
    CliCase("page-zero", ("instances", "list", "wf", "--page", "0"), ("--page", "0 is not in the range x>=1"), code=2),
    CliCase("per-page-zero", ("instances", "list", "wf", "--per-page", "0"), ("--per-page",), code=2),
    CliCase("per-page-too-large", ("instances", "list", "wf", "--per-page", "5000"), ("per_page must be between 1 and 1000, got 5000",)),
    CliCase("page-out-of-range", ("instances", "list", "wf", "--page", str(10**20)), ("page 100000000000000000000 is out of range", "smaller page number")),
    CliCase("page-not-a-number", ("instances", "list", "wf", "--page", "two"), ("'two' is not a valid integer",), code=2),
]  # fmt: skip


@dataclass(frozen=True)
class StoreCase:
    id: str
    setup: str  # "file-parent" | "corrupt" | "newer-schema"
    expect: tuple[str, ...]


STORE_CASES = [
    StoreCase(
        "persist-dir-not-writable",
        "file-parent",
        ("Cannot", "not-a-dir/store", "Not a directory", "--persist-to with a writable directory"),
    ),
    StoreCase(
        "corrupt-store",
        "corrupt",
        ("durable.sqlite3 is not a valid durable store", "Move it aside to start afresh"),
    ),
    StoreCase(
        "store-from-newer-schema",
        "newer-schema",
        ("was written by a newer version of durable (schema 99", "Upgrade durable"),
    ),
]


@dataclass(frozen=True)
class ApiCase:
    id: str
    method: str
    path: str  # sent as is (http.client does not normalise `..` or percent-escapes)
    status: int
    expect: tuple[str, ...]
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


BIG = b'{"params": "' + b"x" * (1024 * 1024) + b'"}'
API_CASES = [
    ApiCase("malformed-json-create", "POST", f"{API}/wf/instances", 400, ("The request body is not valid JSON",), b'{"params": '),
    ApiCase("malformed-json-event", "POST", f"{API}/wf/instances/canary/events/go", 400, ("not valid JSON",), b"{x"),
    ApiCase("malformed-json-explorer", "POST", f"{EXPLORER}/wf/instances", 400, ("not valid JSON",), b"[1,"),
    ApiCase("body-not-an-object", "POST", f"{API}/wf/instances", 400, ("must be a JSON object, got list",), b"[1, 2]"),
    ApiCase("batch-not-an-array", "POST", f"{API}/wf/instances/batch", 400, ("must be a JSON array",), b'{"a": 1}'),
    ApiCase("wrong-type-instance-id", "POST", f"{API}/wf/instances", 400, ("Invalid instance id 5",), b'{"instance_id": 5}'),
    ApiCase("wrong-type-status", "PATCH", f"{API}/wf/instances/canary/status", 400, ('needs "status"',), b'{"status": 5}'),
    ApiCase("unknown-status-action", "PATCH", f"{API}/wf/instances/canary/status", 400, ('Invalid status change "explode"',), b'{"status": "explode"}'),
    ApiCase("wrong-type-from", "PATCH", f"{API}/wf/instances/canary/status", 400, ('"from" must be an object',), b'{"status": "restart", "from": "add"}'),
    ApiCase("wrong-type-delete-ids", "POST", f"{API}/wf/instances/batch/delete", 400, ('"instances": an array',), b'{"instances": "canary"}'),
    ApiCase("per-page-not-a-number", "GET", f"{API}/wf/instances?per_page=abc", 400, ("per_page must be an integer, got 'abc'",)),
    ApiCase("per-page-zero", "GET", f"{API}/wf/instances?per_page=0", 400, ("per_page must be between 1 and 1000",)),
    ApiCase("page-out-of-range", "GET", f"{API}/wf/instances?page=1e20", 400, ("is out of range",)),
    ApiCase("invalid-status-filter", "GET", f"{API}/wf/instances?status=bogus", 400, ('Invalid status "bogus"', "Valid statuses are")),
    ApiCase("invalid-direction", "GET", f"{API}/wf/instances?direction=sideways", 400, ('Invalid direction "sideways"',)),
    ApiCase("invalid-cursor", "GET", f"{API}/wf/instances?cursor=!!!", 400, ("Invalid cursor", "pass the cursor from result_info")),
    ApiCase("invalid-date", "GET", f"{API}/wf/instances?date_start=yesterday", 400, ("date_start must be an ISO 8601 date",)),
    ApiCase("invalid-boolean", "GET", f"{API}/wf/instances/canary?simple=maybe", 400, ("simple must be true or false",)),
    ApiCase("body-over-1mib", "POST", f"{API}/wf/instances", 413, ("Request body is too large", "1024 KiB"), BIG),
    ApiCase("body-over-1mib-chunked", "POST", f"{API}/wf/instances/canary/events/go", 413, ("Request body is too large",), BIG, (("Transfer-Encoding", "chunked"),)),
    ApiCase("batch-over-100", "POST", f"{API}/wf/instances/batch", 400, ("at most 100 instances, got 101",), json.dumps([{}] * 101).encode()),
    ApiCase("unknown-route", "GET", "/client/v4/accounts/local/workers", 404, ("No route for /client/v4/accounts/local/workers",)),
    ApiCase("unknown-sub-route", "GET", f"{API}/wf/instances/canary/bogus", 404, ("No route",)),
    ApiCase("unknown-workflow", "GET", f"{API}/nope", 404, ('Workflow "nope" not found', "Known workflows")),
    ApiCase("unknown-instance", "GET", f"{API}/wf/instances/no-such-id", 404, ('Instance "no-such-id" not found',)),
    ApiCase("dot-dot-id", "GET", f"{API}/wf/instances/..", 404, ('Instance ".." not found',)),
    ApiCase("dot-dot-traversal", "GET", f"{API}/wf/instances/../../../../../../etc/passwd", 404, ("No route",)),
    ApiCase("encoded-slash-id", "GET", f"{API}/wf/instances/..%2F..%2Fetc", 404, ('Instance "../../etc" not found',)),
    ApiCase("encoded-slash-workflow", "GET", f"{API}/wf%2Finstances", 404, ('Workflow "wf/instances" not found',)),
    ApiCase("path-trick-create-id", "POST", f"{API}/wf/instances", 400, ("Invalid instance id '../etc'",), b'{"instance_id": "../etc"}'),
    ApiCase("encoded-slash-event-type", "POST", f"{API}/wf/instances/canary/events/a%2Fb", 400, ("Invalid event type 'a/b'",), b"{}"),
    ApiCase("invalid-event-type", "POST", f"{API}/wf/instances/canary/events/bad%20type", 400, ("Invalid event type 'bad type'",), b"{}"),
    ApiCase("nul-byte-id", "GET", f"{API}/wf/instances/a%00b", 404, ("not found",)),
    ApiCase("wrong-method-instance", "DELETE", f"{API}/wf/instances/canary", 405, ("Method DELETE not allowed here; use GET",)),
    ApiCase("wrong-method-list", "PUT", f"{API}", 405, ("Method PUT not allowed here; use GET",)),
    ApiCase("wrong-method-explorer", "PUT", f"{EXPLORER}/wf/instances", 405, ("Method PUT not allowed",)),
    ApiCase("duplicate-id", "POST", f"{API}/wf/instances", 409, ('An instance with id "canary" already exists',), b'{"instance_id": "canary"}'),
    ApiCase("terminate-finished", "PATCH", f"{API}/wf/instances/canary/status", 409, ('Cannot terminate instance "canary": it is already complete',), b'{"status": "terminate"}'),
    ApiCase("foreign-host-header", "GET", f"{API}", 403, ('Host "evil.example" is not allowed',), None, (("Host", "evil.example"),)),
]  # fmt: skip


@dataclass(frozen=True)
class CodeCase:
    id: str
    workflow: str
    status: str  # the instance's final status, as production would give it
    expect: tuple[str, ...]  # in the CLI's report (error, or output)
    log: tuple[str, ...] = ()  # in the durable dev terminal
    code: int = 1  # `trigger --wait` exits 1 when the instance errored


CODE_CASES = [
    CodeCase("exception-outside-steps", "outside", "errored", ("KeyError: 'missing-key'",)),
    CodeCase("step-output-unserialisable", "unserialisable", "errored", ("TypeError: <class 'tuple'> cannot be sent over RPC.",)),
    CodeCase("step-output-over-1mib", "too-big", "errored", ('Step "blob-1" output is too large', "Maximum allowed size is 1MiB")),
    CodeCase("step-never-returns", "hangs", "errored", ("WorkflowTimeoutError: Execution timed out after 300ms",)),
    CodeCase("run-never-awaits-a-step", "unawaited", "complete", ('"finished without the step"',), ('step "forgotten" was called but never awaited, so it did not run', 'Write "await forgotten()"'), code=0),
    CodeCase("duplicate-step-names-in-a-loop", "dupes", "complete", ("[0,1,2]",), code=0),
    CodeCase("sleep-until-in-the-past", "past", "errored", ("Error: You can't sleep until a time in the past, time-traveler",)),
    CodeCase("event-type-with-invalid-characters", "bad-event-type", "errored", ("Invalid event type 'needs approval!'", "use 1-100 letters, digits, '-' or '_'")),
]  # fmt: skip

# --- fixtures --------------------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def good_project(root: Path) -> Path:
    write_tree(root, {"wrangler.toml": GOOD_TOML, CODE: ENTRY})
    return root


@dataclass
class Live:
    """The running `durable dev` of the catalogue, and its canary instance."""

    server: DevServer
    root: Path
    canary: dict[str, Any] = field(default_factory=dict)
    mark: int = 0  # where in the terminal output the current case began

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            given = {k.lower() for k, _ in headers}
            conn.putrequest(method, path, skip_host="host" in given, skip_accept_encoding=True)
            for key, value in headers:
                conn.putheader(key, value)
            chunked = ("transfer-encoding", "chunked") in {(k.lower(), v) for k, v in headers}
            if body is not None and not chunked:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body is not None and chunked:
                for start in range(0, len(body), 65536):
                    piece = body[start : start + 65536]
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.send(b"0\r\n\r\n")
            elif body is not None:
                conn.send(body)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def canary_now(self) -> dict[str, Any]:
        status, _, data = self.request("GET", f"{API}/wf/instances/canary")
        assert status == 200, data
        return json.loads(data)["result"]

    def output(self) -> str:
        return self.server.output()[self.mark :]

    def check_still_fine(self, case: str) -> None:
        """The server serves, the canary is intact, no traceback reached the terminal."""
        assert self.server.proc.poll() is None, f"{case}: durable dev died:\n{self.output()}"
        status, _, data = self.request("GET", API)
        assert status == 200, (case, data)
        now = self.canary_now()
        assert (now["status"], now["output"], now["params"]) == (
            self.canary["status"],
            self.canary["output"],
            self.canary["params"],
        ), (case, now)
        assert "Traceback" not in self.output(), f"{case}: a traceback:\n{self.output()}"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = good_project(tmp_path_factory.mktemp("catalogue-live"))
    server = start_dev_server(root)
    live = Live(server, root)
    try:
        status, _, data = live.request(
            "POST",
            f"{API}/wf/instances",
            json.dumps({"instance_id": "canary", "params": {"a": 40, "b": 2}}).encode(),
        )
        assert status == 200, data
        deadline = time.monotonic() + 15
        while live.canary_now()["status"] != "complete" and time.monotonic() < deadline:
            time.sleep(0.05)
        live.canary = live.canary_now()
        assert live.canary["output"] == {"sum": 42}
        yield live
    finally:
        server.stop()


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with no server; its canary ran to completion in an embedded engine."""
    root = good_project(tmp_path_factory.mktemp("catalogue-offline"))
    result = subprocess.run(
        [
            *durable_command(),
            "workflows",
            "trigger",
            "wf",
            '{"a": 40, "b": 2}',
            "--id",
            "canary",
            "--wait",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return root


def cli(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(root)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def assert_clear_failure(result: Result, code: int, expect: tuple[str, ...], what: str) -> str:
    """Exit code, one `✘ [ERROR]` line naming every fragment, no traceback anywhere."""
    text = result.stdout + result.stderr
    assert result.exit_code == code, (what, result.exit_code, text)
    assert "Traceback" not in text, (what, text)
    errors = [line for line in result.stderr.splitlines() if line.startswith("✘ [ERROR] ")]
    assert len(errors) == 1, (what, result.stderr)
    for fragment in expect:
        assert fragment in errors[0], (what, fragment, errors[0])
    return errors[0]


def offline_canary(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli(root, "instances", "describe", "wf", "canary", "--json", monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)
    assert (details["status"], details["output"]) == ("complete", {"sum": 42})


def wait_for_output(live: Live, pattern: str, count_before: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(re.findall(pattern, live.server.output())) > count_before:
            return
        assert live.server.proc.poll() is None, live.output()
        time.sleep(0.02)
    raise AssertionError(f"{pattern!r} not seen:\n{live.output()}")


# --- config cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda c: c.id)
def test_config_case(
    case: ConfigCase, live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1. The CLI on a project with this mistake.
    scratch = good_project(tmp_path / "project")
    if any(name.startswith("wrangler.") and name != "wrangler.toml" for name in case.files):
        (scratch / "wrangler.toml").unlink()
    write_tree(scratch, case.files)
    result = cli(scratch, *case.command, monkeypatch=monkeypatch)
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    if case.warning:
        assert result.exit_code == 0, text
        warnings = [line for line in result.stderr.splitlines() if line.startswith("▲ [WARNING] ")]
        assert any(all(f in line for f in case.expect) for line in warnings), result.stderr
    else:
        assert_clear_failure(result, 1, case.expect, case.id)

    if not case.live:
        # 2. A fresh `durable dev` on it refuses to start, with the same message.
        started = subprocess.run(
            [*durable_command(), "dev", "--port", "0"],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert started.returncode == 1, started.stdout + started.stderr
        assert "Traceback" not in started.stdout + started.stderr
        assert all(f in started.stderr for f in case.expect), started.stderr
        live.check_still_fine(case.id)
        OUTCOMES[f"config:{case.id}"] = "ok"
        return

    # 2. The same mistake saved under the running `durable dev`: the reload fails with the
    #    message and the last good version keeps serving; restoring the file brings it back.
    live.mark = len(live.server.output())
    keeps, ready = "The last good version keeps serving", "Local server updated and ready"
    before = (live.server.output().count(keeps), live.server.output().count(ready))
    originals = {name: (live.root / name).read_text() for name in case.files}
    try:
        write_tree(live.root, case.files)
        if case.warning:
            wait_for_output(live, re.escape(ready), before[1])
            assert all(f in live.output() for f in case.expect), live.output()
            before = (before[0], before[1] + 1)
        else:
            wait_for_output(live, re.escape(keeps), before[0])
            errors = [ln for ln in live.output().splitlines() if ln.startswith("✘ [ERROR] ")]
            assert any(all(f in ln for f in case.expect) for ln in errors), live.output()
        live.check_still_fine(case.id)
    finally:
        write_tree(live.root, originals)
    wait_for_output(live, re.escape(ready), before[1])
    live.check_still_fine(case.id)
    OUTCOMES[f"config:{case.id}"] = "ok"


# --- CLI cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["server", "no-server"])
@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli_case(
    case: CliCase, target: str, live: Live, offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = live.root if target == "server" else offline
    live.mark = len(live.server.output())
    result = cli(root, *case.args, monkeypatch=monkeypatch)
    assert_clear_failure(result, case.code, case.expect, f"{case.id} ({target})")
    if target == "server":
        live.check_still_fine(case.id)
    else:
        offline_canary(offline, monkeypatch)
    OUTCOMES[f"cli:{case.id}:{target}"] = "ok"


@pytest.mark.parametrize("case", STORE_CASES, ids=lambda c: c.id)
def test_store_case(
    case: StoreCase, live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = good_project(tmp_path / "project")
    persist = root / ".durable"
    if case.setup == "file-parent":  # as root, permissions do not stop us: a file does
        (root / "not-a-dir").write_text("a regular file")
        persist = root / "not-a-dir" / "store"
    else:
        made = cli(
            root, "workflows", "trigger", "wf", "--id", "before", "--wait", monkeypatch=monkeypatch
        )
        assert made.exit_code == 0, made.output
        store = persist / "durable.sqlite3"
        if case.setup == "corrupt":
            data = bytearray(store.read_bytes())
            data[0:100] = os.urandom(100)  # the header: SQLite no longer knows the file
            store.write_bytes(bytes(data))
        else:
            conn = sqlite3.connect(store)
            conn.execute("PRAGMA user_version = 99")
            conn.close()
        found = store.read_bytes()
    flag = ("--persist-to", str(persist))
    for args in (
        ("instances", "list", "wf", *flag),
        ("workflows", "trigger", "wf", *flag),
        ("workflows", "trigger", "wf", "--wait", *flag),
    ):
        assert_clear_failure(
            cli(root, *args, monkeypatch=monkeypatch), 1, case.expect, f"{case.id} {args}"
        )
    started = subprocess.run(
        [*durable_command(), "dev", "--port", "0", *flag],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert started.returncode == 1, started.stdout + started.stderr
    assert "Traceback" not in started.stdout + started.stderr
    assert all(f in started.stderr for f in case.expect), started.stderr
    if case.setup == "corrupt":  # left as it was found: nothing "repaired" or overwritten
        assert (persist / "durable.sqlite3").read_bytes() == found
    elif case.setup == "newer-schema":  # not migrated down, its data intact
        conn = sqlite3.connect(persist / "durable.sqlite3")
        try:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
            assert conn.execute("SELECT id, status FROM instances").fetchall() == [
                ("before", "complete")
            ]
        finally:
            conn.close()
    live.check_still_fine(case.id)
    OUTCOMES[f"store:{case.id}"] = "ok"


# --- API cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
def test_api_case(case: ApiCase, live: Live) -> None:
    live.mark = len(live.server.output())
    status, headers, data = live.request(case.method, case.path, case.body, case.headers)
    assert status == case.status, (case.id, status, data[:500])
    assert headers.get("content-type", "").startswith("application/json"), headers
    envelope = json.loads(data)
    assert envelope["success"] is False and envelope["result"] is None, envelope
    (error,) = envelope["errors"]
    assert isinstance(error["code"], int)
    for fragment in case.expect:
        assert fragment in error["message"], (case.id, fragment, error["message"])
    assert "Traceback" not in error["message"]
    if status == 405:
        assert headers.get("allow"), headers
    live.check_still_fine(case.id)
    OUTCOMES[f"api:{case.id}"] = "ok"


# --- user code cases -------------------------------------------------------------------------


@pytest.mark.parametrize("case", CODE_CASES, ids=lambda c: c.id)
def test_code_case(case: CodeCase, live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    live.mark = len(live.server.output())
    result = cli(
        live.root, "workflows", "trigger", case.workflow, "--wait", monkeypatch=monkeypatch
    )
    text = result.stdout + result.stderr
    assert result.exit_code == case.code, (case.id, text)
    assert "Traceback" not in text, text
    status_line = {"errored": "❌ Errored", "complete": "✅ Completed"}[case.status]
    assert status_line in result.stdout, result.stdout
    for fragment in case.expect:
        assert fragment in result.stdout, (case.id, fragment, result.stdout)
    if case.log:
        deadline = time.monotonic() + 5
        while not all(f in live.output() for f in case.log) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert all(f in live.output() for f in case.log), live.output()
    live.check_still_fine(case.id)
    OUTCOMES[f"code:{case.id}"] = "ok"


def test_zz_write_catalogue_figures() -> None:
    """Runs last in this module: the size of each table and how many cases passed."""
    tables = {
        "config": len(CONFIG_CASES),
        "cli": len(CLI_CASES) * 2 + len(STORE_CASES),
        "api": len(API_CASES),
        "code": len(CODE_CASES),
    }
    prefixes = {
        "config": ("config:",),
        "cli": ("cli:", "store:"),
        "api": ("api:",),
        "code": ("code:",),
    }
    passed = {area: sum(1 for k in OUTCOMES if k.startswith(prefixes[area])) for area in tables}
    figures = {
        "cases": tables,
        "cases_total": sum(tables.values()),
        "distinct_inputs": len(CONFIG_CASES)
        + len(CLI_CASES)
        + len(STORE_CASES)
        + len(API_CASES)
        + len(CODE_CASES),
        "passed": passed,
        "passed_total": sum(passed.values()),
        "areas_with_failures": sorted(a for a in tables if passed[a] != tables[a]),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reliability-bad-inputs.json").write_text(json.dumps(figures, indent=2) + "\n")
