"""The error tree is whole: one module defines every exception, and its docstring draws it."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from durable.runtime import errors
from durable.runtime.client.http import HttpClient
from durable.runtime.errors import ApiError, DurableError, TransportError

ROOT = Path(__file__).resolve().parents[1]
# Private control-flow signals, not errors anyone catches or reads.
ALLOWED_ELSEWHERE = {"Park", "_Incomplete"}


def _exception_bases(node: ast.ClassDef) -> list[str]:
    names = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
    return [n for n in names if re.search(r"(Error|Exception)$", n)]


def test_no_exception_class_is_defined_outside_errors_py() -> None:
    elsewhere = []
    for path in sorted(p for d in ("runtime", "cli") for p in (ROOT / d).rglob("*.py")):
        if path == ROOT / "runtime" / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and _exception_bases(node):
                if node.name not in ALLOWED_ELSEWHERE:
                    elsewhere.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert elsewhere == []


def _defined() -> dict[str, type[BaseException]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and cls.__module__ == errors.__name__
    }


def _tree() -> list[tuple[int, str]]:
    """(column, name) of every class the docstring's tree draws, in order."""
    drawn = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*(?:[│ ]*[├└]── )?)([A-Z]\w*(?:Error|Exception))\b", line)
        if match and (line.startswith("    ") or "──" in line):
            drawn.append((len(match.group(1)), match.group(2)))
    return drawn


def test_the_docstring_draws_every_class_with_its_real_parent() -> None:
    drawn = _tree()
    assert sorted(name for _, name in drawn if name in _defined()) == sorted(_defined())
    stack: list[tuple[int, str]] = []
    for column, name in drawn:
        while stack and stack[-1][0] >= column:
            stack.pop()
        cls = getattr(errors, name, None) or getattr(builtins, name)
        if stack:
            parent = getattr(errors, stack[-1][1], None) or getattr(builtins, stack[-1][1])
            assert parent in cls.__bases__, f"{name} is drawn under {parent.__name__}"
        else:
            assert cls.__bases__[0] in (Exception, BaseException, object) or name in dir(
                builtins
            ), f"{name} is drawn as a root but derives from {cls.__bases__[0].__name__}"
        stack.append((column, name))


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("durable.runtime.dev.discovery", "DevServerRunningError"),
        ("durable.runtime.dev.supervisor", "ListenError"),
        ("durable.runtime.api.common", "HttpError"),
        ("durable.runtime.worker.fetch_api", "HttpStatusError"),
        ("durable.runtime.worker.entrypoints", "NonRetryableError"),
        ("durable.runtime.client.loopback", "LoopbackError"),
        ("durable.runtime.engine.execution", "StepFailedError"),
        ("durable.testing", "DeterminismError"),
        ("durable.testing", "UnexpectedStatusError"),
        ("durable.testing", "IntrospectionError"),
        ("durable.testing", "StepFailedError"),
        ("workers.workflows", "NonRetryableError"),
        ("pyodide.ffi", "JsException"),
    ],
)
def test_old_homes_re_export_the_same_class(module: str, name: str) -> None:
    if module.startswith(("workers", "pyodide")):
        from durable.runtime.worker.loader import ensure_shim_on_path

        ensure_shim_on_path()
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


# --- transport failures are not API answers ---------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("scheme", "kind", "advice"),
    [
        ("http", "dev", 'Make sure "durable dev" is running'),
        ("http", "remote", "Check your network connection"),
        ("https", "remote", "Check your network connection"),  # the http.client path
    ],
)
def test_no_server_is_a_transport_error(scheme: str, kind: str, advice: str) -> None:
    client = HttpClient(f"{scheme}://127.0.0.1:{_closed_port()}/client/v4", "acc", kind=kind)
    with pytest.raises(TransportError) as caught:
        client.request("GET", "")
    assert not isinstance(caught.value, ApiError)
    assert advice in str(caught.value)


class _Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path.endswith("/garbage"):
            # Not HTTP at all: the exchange itself failed.
            self.wfile.write(b"SSH-2.0-nope\r\n\r\n")
            return
        body = b'{"success": false, "errors": [{"code": 10200, "message": "nope"}]}'
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/client/v4"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_an_error_answer_is_an_api_error_and_a_broken_one_a_transport_error(server: str) -> None:
    client = HttpClient(server, "acc")
    with pytest.raises(ApiError) as answered:
        client.request("GET", "/wf")
    assert (answered.value.code, answered.value.http_status) == (10200, 404)
    assert not isinstance(answered.value, TransportError)
    with pytest.raises(TransportError, match="not an HTTP/1.x response"):
        client.request("GET", "/garbage")


@pytest.mark.parametrize(
    "error",
    [TransportError("Could not connect to x (refused). Start it."), ApiError("nope [code: 1]")],
)
def test_the_cli_boundary_renders_both_as_one_line(
    error: DurableError, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.common import handle_errors

    def fail() -> None:
        raise error

    assert handle_errors(fail) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [f"✘ [ERROR] {error.message}"]
