"""Helpers the CLI tests import by name (`from cli_support import ...`)."""

from __future__ import annotations

from typing import Any

from typer.testing import Result

# One workflow that can do everything the CLI shows: params, output, a retried failure, an event
# wait, a long output, a sleep. What it does is chosen by its params.
ENTRY = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        params = event.payload

        @step.do("add")
        async def add():
            return {"sum": params.get("a", 0) + params.get("b", 0)}

        result = await add()
        if params.get("fail"):
            @step.do("explode", config={"retries": {"limit": 1, "delay": 10, "backoff": "constant"}})
            async def explode():
                raise ValueError("boom")

            await explode()
        if params.get("retry_later"):
            @step.do("flaky", config={"retries": {"limit": 2, "delay": "1 hour"}})
            async def flaky():
                raise RuntimeError("not yet")

            await flaky()
        if params.get("big"):
            @step.do("big")
            async def big():
                return "x" * 6000

            await big()
        if params.get("nap"):
            await step.sleep("nap", "2 hours")
        if params.get("wait"):
            got = await step.wait_for_event("approval", "approved", timeout="1 hour")
            return {"approved": got["payload"]}
        return {"total": result["sum"]}


class Other(WorkflowEntrypoint):
    async def run(self, event, step):
        return "other"
"""

WORKFLOWS = [("my-workflow", "MY_WORKFLOW", "MyWorkflow"), ("other", "OTHER", "Other")]


def one_line_error(result: Result, *fragments: str, code: int = 1) -> None:
    """The contract for user mistakes: exit code, one `✘ [ERROR]` line, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("✘ [ERROR] "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# --- a stand-in for api.cloudflare.com ----------------------------------------------------------


class FakeCloudflare:
    """A tiny HTTP server speaking the Cloudflare REST shape for `--remote` tests.

    It holds one workflow ("wf") with three instances and records every request. Workflow
    "broken" answers a 500 error envelope; "html" answers a non-JSON 502, as a proxy might.
    """

    ACCOUNT = "acc-123"
    TOKEN = "tok-secret"

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, object]] = []
        self.instances = [
            {
                "id": f"i{n}",
                "created_on": f"2026-01-0{n}T00:00:00.000Z",
                "modified_on": f"2026-01-0{n}T00:00:01.000Z",
                "status": "complete",
                "version_id": "v-1",
                "workflow_id": "w-1",
            }
            for n in (3, 2, 1)
        ]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/client/v4"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler: object) -> None:
        import json
        from urllib.parse import parse_qs, unquote, urlsplit

        h: Any = handler
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append(
            {
                "method": h.command,
                "path": url.path,
                "query": query,
                "body": body,
                "auth": h.headers.get("Authorization"),
            }
        )
        prefix = f"/client/v4/accounts/{self.ACCOUNT}/workflows"
        status, payload = 404, self._error(10404, "not found")
        if h.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            status, payload = 403, self._error(10000, "Authentication error")
        elif url.path.startswith(prefix):
            parts = [unquote(p) for p in url.path[len(prefix) :].split("/") if p]
            status, payload = self._route(h.command, parts, query, body)
        if payload is None:  # a proxy's error page
            data = b"<html><body>502 Bad Gateway</body></html>"
            h.send_response(502)
            h.send_header("Content-Type", "text/html")
        else:
            data = json.dumps(payload).encode()
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _ok(result: object, info: dict[str, object] | None = None) -> dict[str, object]:
        envelope: dict[str, object] = {
            "success": True,
            "errors": [],
            "messages": [],
            "result": result,
        }
        if info is not None:
            envelope["result_info"] = info
        return envelope

    @staticmethod
    def _error(code: int, message: str) -> dict[str, object]:
        return {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        }

    def _route(
        self, method: str, parts: list[str], query: dict[str, str], body: object
    ) -> tuple[int, dict[str, object] | None]:
        workflow = {
            "id": "w-1",
            "name": "wf",
            "class_name": "MyWorkflow",
            "script_name": "my-worker",
            "created_on": "2026-01-01T00:00:00.000Z",
            "modified_on": "2026-01-02T00:00:00.000Z",
            "triggered_on": None,
            "instances": {"complete": 3, "errored": 0},
        }
        if parts and parts[0] == "broken":
            return 500, self._error(10001, "workflows.api.error.internal_server")
        if parts and parts[0] == "html":
            return 502, None
        if parts and parts[0] != "wf":
            return 404, self._error(10200, "workflows.api.error.workflow.not_found")
        if not parts:
            return 200, self._ok(
                [workflow], {"page": 1, "per_page": 10, "count": 1, "total_count": 1}
            )
        rest = parts[1:]
        if not rest:
            if method == "DELETE":
                return 200, self._ok({"status": "ok", "success": True})
            return 200, self._ok(workflow)
        if rest == ["instances"] and method == "POST":
            assert isinstance(body, dict)
            return 200, self._ok(
                {
                    "id": body.get("instance_id", "generated"),
                    "status": "queued",
                    "version_id": "v-1",
                    "workflow_id": "w-1",
                }
            )
        if rest == ["instances"]:
            per_page = int(query.get("per_page", "25"))
            start = int(query.get("cursor") or 0)
            items = self.instances[start : start + per_page]
            more = start + per_page < len(self.instances)
            cursor = str(start + per_page) if more else ""
            return 200, self._ok(
                items, {"cursor": cursor, "per_page": per_page, "count": len(items)}
            )
        if rest == ["instances", "batch", "delete"]:
            assert isinstance(body, dict)
            return 200, self._ok({"deleted": [{"id": i} for i in body["instances"]], "errors": []})
        if len(rest) == 2 and rest[0] == "instances":
            # Cloudflare's InstanceDetails carries no id, and no next_retry on attempts.
            return 200, self._ok(
                {
                    "status": "complete",
                    "params": {"x": 1},
                    "trigger": {"source": "api"},
                    "versionId": "v-1",
                    "queued": "2026-01-03T00:00:00.000Z",
                    "start": "2026-01-03T00:00:00.000Z",
                    "end": "2026-01-03T00:00:02.000Z",
                    "success": True,
                    "error": None,
                    "output": {"done": True},
                    "steps": [
                        {
                            "type": "step",
                            "name": "s-1",
                            "start": "2026-01-03T00:00:00.000Z",
                            "end": "2026-01-03T00:00:01.000Z",
                            "success": True,
                            "output": 7,
                            "config": {
                                "retries": {"limit": 5, "delay": 10000, "backoff": "exponential"},
                                "timeout": "10 minutes",
                            },
                            "attempts": [
                                {
                                    "start": "2026-01-03T00:00:00.000Z",
                                    "end": "2026-01-03T00:00:01.000Z",
                                    "success": True,
                                    "error": None,
                                }
                            ],
                        }
                    ],
                }
            )
        if len(rest) == 3 and rest[2] == "status":
            assert isinstance(body, dict)
            return 200, self._ok(
                {
                    "status": "paused" if body["status"] == "pause" else "running",
                    "timestamp": "2026-01-03T00:00:00.000Z",
                }
            )
        if len(rest) == 4 and rest[2] == "events":
            return 200, self._ok(None)
        return 404, self._error(10404, "no such route")
