"""`durable.runtime.worker.fetch_api`: the `workers` Request/Response/Headers/fetch emulation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from http import HTTPMethod, HTTPStatus
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from durable.runtime.worker.fetch_api import (
    Headers,
    HttpStatusError,
    Request,
    Response,
    coerce_response,
    fetch,
    to_asgi_start_and_body,
)

# --- Headers ----------------------------------------------------------------------------------


def test_headers_is_an_http_message_and_a_mapping() -> None:
    headers = Headers({"Content-Type": "text/html", "X-Thing": "1"})
    assert isinstance(headers, HTTPMessage)
    assert isinstance(headers, Mapping)
    assert headers["content-type"] == "text/html"
    assert headers["CONTENT-TYPE"] == "text/html"
    assert headers.get("x-thing") == "1"
    assert "X-THING" in headers
    assert "missing" not in headers
    assert headers.get("missing") is None
    assert headers.get("missing", "dflt") == "dflt"
    assert dict(headers.items()) == {"content-type": "text/html", "x-thing": "1"}


def test_headers_names_are_lowercased_and_sorted() -> None:
    headers = Headers([("X-B", "2"), ("X-A", "1")])
    assert list(headers.keys()) == ["x-a", "x-b"]


def test_duplicate_headers_are_comma_joined_except_set_cookie() -> None:
    headers = Headers(
        [("Accept", "a"), ("accept", "b"), ("Set-Cookie", "c=1"), ("set-cookie", "d=2")]
    )
    assert headers.get("accept") == "a, b"
    assert headers.get_all("ACCEPT") == ["a, b"]
    assert headers.get_all("set-cookie") == ["c=1", "d=2"]
    assert headers.get("set-cookie") == "c=1"
    assert headers.get_all("missing") is None


def test_headers_values_are_stripped_and_names_validated() -> None:
    assert Headers({"x": "  v \t"})["x"] == "v"
    with pytest.raises(TypeError, match="Invalid header name"):
        Headers({"bad name": "v"})
    with pytest.raises(TypeError, match="Invalid header value"):
        Headers({"x": "a\r\nInjected: 1"})
    with pytest.raises(TypeError, match="unexpected type for headers"):
        Headers("x: y")  # type: ignore[arg-type]


def test_headers_accept_an_http_message() -> None:
    message = HTTPMessage()
    message["X-One"] = "1"
    assert Headers(message)["x-one"] == "1"


# --- Request ----------------------------------------------------------------------------------


def test_request_defaults() -> None:
    request = Request("https://Example.COM")
    assert request.url == "https://example.com/"
    assert request.method is HTTPMethod.GET
    assert request.method == "GET"
    assert request.body_used is False
    assert request.cf is None
    assert request.redirect == "follow"
    assert len(request.headers) == 0
    assert repr(request) == "Request(method='GET', url='https://example.com/')"
    assert Request("http://x/p?q=1#frag").url == "http://x/p?q=1#frag"


@pytest.mark.parametrize("method", ["post", "POST", HTTPMethod.POST])
def test_request_method_accepts_str_or_enum(method: str | HTTPMethod) -> None:
    assert Request("http://x/", method=method, body="b").method is HTTPMethod.POST


def test_request_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="Invalid URL"):
        Request("/relative")
    with pytest.raises(TypeError, match="Invalid HTTP method"):
        Request("http://x/", method="FROB")
    with pytest.raises(TypeError, match="GET or HEAD"):
        Request("http://x/", body="nope")
    with pytest.raises(TypeError, match="redirect"):
        Request("http://x/", redirect="sometimes")
    with pytest.raises(TypeError, match="Unsupported type in Request: dict"):
        Request("http://x/", method="POST", body={"a": 1})  # type: ignore[arg-type]


async def test_request_body_reads_once() -> None:
    request = Request("http://x/", method="POST", body='{"a": 1}')
    assert await request.json() == {"a": 1}
    assert request.body_used is True
    with pytest.raises(OSError, match="Body already used"):
        await request.text()
    with pytest.raises(OSError, match="Body already used"):
        await request.bytes()
    with pytest.raises(OSError, match="Body already used"):
        request.clone()


async def test_request_null_body_can_be_read_repeatedly() -> None:
    request = Request("http://x/")
    assert await request.text() == ""
    assert await request.bytes() == b""
    assert request.body_used is False


async def test_request_json_passes_loads_kwargs() -> None:
    request = Request("http://x/", method="PUT", body=b'{"n": 1.5}')
    assert await request.json(parse_float=str) == {"n": "1.5"}


def test_request_str_body_gets_default_content_type() -> None:
    assert Request("http://x/", method="POST", body="hi").headers["content-type"] == (
        "text/plain;charset=UTF-8"
    )
    given = Request("http://x/", method="POST", body="{}", headers={"Content-Type": "a/b"})
    assert given.headers.get_all("content-type") == ["a/b"]
    assert "content-type" not in Request("http://x/", method="POST", body=b"raw").headers


async def test_request_clone_and_copy() -> None:
    original = Request(
        "http://x/p", method="POST", body="data", headers={"X-A": "1"}, cf={"colo": "LHR"}
    )
    clone = original.clone()
    assert await clone.text() == "data"
    assert original.body_used is False
    copy = Request(original, method="PUT", headers={"X-B": "2"})
    assert copy.method is HTTPMethod.PUT
    assert copy.url == "http://x/p"
    assert copy.cf == {"colo": "LHR"}
    assert "x-a" not in copy.headers and copy.headers["x-b"] == "2"
    assert await copy.text() == "data"
    assert original.body_used is True  # the body moved into the copy, as in JS


def test_request_headers_are_a_fresh_copy() -> None:
    request = Request("http://x/", headers={"X-A": "1"})
    request.headers["X-B"] = "2"
    assert "x-b" not in request.headers


async def test_from_asgi_builds_the_full_url() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/a b",
        "raw_path": b"/a%20b",
        "query_string": b"x=1&y=2",
        "headers": [(b"host", b"localhost:8787"), (b"x-token", b"abc")],
        "server": ("127.0.0.1", 8787),
    }
    request = Request.from_asgi(scope, b"payload")
    assert request.url == "http://localhost:8787/a%20b?x=1&y=2"
    assert request.method is HTTPMethod.POST
    assert request.headers["X-Token"] == "abc"
    assert await request.text() == "payload"


def test_from_asgi_without_host_header_uses_server() -> None:
    scope = {"method": "GET", "scheme": "https", "path": "/p", "server": ("127.0.0.1", 9000)}
    request = Request.from_asgi(scope, b"")
    assert request.url == "https://127.0.0.1:9000/p"
    assert request.method is HTTPMethod.GET


# --- Response ---------------------------------------------------------------------------------


async def test_response_defaults_and_text() -> None:
    response = Response("hello")
    assert response.status == 200
    assert response.ok is True
    assert response.status_text == ""
    assert response.url == ""
    assert response.redirected is False
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    assert await response.text() == "hello"
    assert response.body_used is True
    with pytest.raises(OSError, match="Body already used"):
        await response.bytes()


async def test_response_bytes_body_has_no_default_content_type() -> None:
    response = Response(b"\x00\x01", status=HTTPStatus.CREATED, headers=[("X-A", "1")])
    assert response.status == 201
    assert "content-type" not in response.headers
    assert await response.bytes() == b"\x00\x01"


@pytest.mark.parametrize("status", [None, 0])
def test_response_falsy_status_means_200(status: int | None) -> None:
    assert Response(status=status).status == 200


def test_response_rejects_unsupported_body_types() -> None:
    with pytest.raises(TypeError) as info:
        Response({"a": 1})  # type: ignore[arg-type]
    assert str(info.value) == "Unsupported type in Response: dict"
    with pytest.raises(TypeError, match="Unsupported type in Response: list"):
        Response([1])  # type: ignore[arg-type]


def test_response_rejects_bad_statuses() -> None:
    with pytest.raises(ValueError, match="200 to 599"):
        Response("x", status=700)
    with pytest.raises(TypeError, match="null body status"):
        Response("x", status=204)
    assert Response(None, status=204).status == 204


async def test_response_json_builds_on_the_class() -> None:
    response = Response.json({"a": [1, 2]}, status=201, headers={"X-A": "1"})
    assert isinstance(response, Response)
    assert response.status == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-a"] == "1"
    assert json.loads(await response.text()) == {"a": [1, 2]}


async def test_response_json_parses_on_an_instance() -> None:
    response = Response('{"ok": true}')
    assert await response.json() == {"ok": True}
    with pytest.raises(OSError, match="Body already used"):
        await response.json()


async def test_response_json_keeps_a_given_content_type_and_from_json_is_the_same() -> None:
    response = Response.from_json([1], headers={"Content-Type": "application/vnd.x+json"})
    assert response.headers.get_all("content-type") == ["application/vnd.x+json"]
    assert await response.json() == [1]
    unbound = Response.json(Response('{"u": 1}'))
    assert await unbound == {"u": 1}


async def test_response_clone() -> None:
    response = Response("body", status=404, status_text="Not Found")
    clone = response.clone()
    assert await clone.text() == "body"
    assert clone.status == 404 and clone.status_text == "Not Found"
    assert await response.text() == "body"
    with pytest.raises(OSError, match="Body already used"):
        response.clone()


def test_response_redirect() -> None:
    response = Response.redirect("https://example.com/next")
    assert response.status == 302
    assert response.headers["location"] == "https://example.com/next"
    assert Response.redirect("https://example.com/", 301).status == 301
    with pytest.raises(ValueError, match="redirect status"):
        Response.redirect("https://example.com/", 200)


def test_response_raise_for_status() -> None:
    Response("fine").raise_for_status()
    with pytest.raises(HttpStatusError, match="404 Client Error: Not Found") as info:
        Response("x", status=404, status_text="Not Found").raise_for_status()
    assert info.value.status == 404
    assert isinstance(info.value, OSError)
    with pytest.raises(OSError, match="503 Server Error"):
        Response("x", status=503).raise_for_status()
    assert Response(status=500).ok is False


async def test_response_replace_body() -> None:
    response = Response("a", status=201, headers={"X-A": "1"}).replace_body(b"b")
    assert response.status == 201 and response.headers["x-a"] == "1"
    assert await response.bytes() == b"b"


def test_response_repr() -> None:
    assert repr(Response("x")) == "Response(status=200, content_type='text/plain;charset=UTF-8')"


# --- server helpers ---------------------------------------------------------------------------


def test_coerce_response() -> None:
    response = Response("x")
    assert coerce_response(response) is response
    with pytest.raises(TypeError) as info:
        coerce_response({"a": 1})
    assert str(info.value) == "fetch handler must return a workers.Response, got dict"
    with pytest.raises(TypeError, match="got None"):
        coerce_response(None)
    with pytest.raises(TypeError, match="got str"):
        coerce_response("text")


async def test_coerce_response_hints_at_a_missing_await() -> None:
    async def handler() -> Response:
        return Response("x")

    coroutine = handler()
    with pytest.raises(TypeError, match="forget to await"):
        coerce_response(coroutine)
    await coroutine


def test_to_asgi_start_and_body() -> None:
    response = Response("hé", status=201, headers=[("X-A", "1"), ("x-a", "2")])
    status, headers, body = to_asgi_start_and_body(response)
    assert status == 201
    assert body == "hé".encode()
    assert (b"x-a", b"1, 2") in headers
    assert (b"content-type", b"text/plain;charset=UTF-8") in headers
    assert (b"content-length", str(len(body)).encode()) in headers
    assert to_asgi_start_and_body(Response(status=204)) == (204, [], b"")


async def test_to_asgi_refuses_a_used_body() -> None:
    response = Response("x")
    await response.text()
    with pytest.raises(TypeError, match="already been used"):
        to_asgi_start_and_body(response)


# --- fetch against a real local server --------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/missing":
            self._reply(404, b"nope", [("Content-Type", "text/plain")])
        elif self.path == "/boom":
            self._reply(500, b"boom", [])
        elif self.path == "/redirect":
            self._reply(302, b"", [("Location", "/hello")])
        else:
            cookies = [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
            echo = {"path": self.path, "ua": self.headers.get("User-Agent")}
            self._reply(
                200,
                json.dumps(echo).encode(),
                [("Content-Type", "application/json")]
                + cookies
                + [("X-Multi", "1"), ("X-Multi", "2")],
            )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        echo = {
            "method": self.command,
            "body": self.rfile.read(length).decode(),
            "content_type": self.headers.get("Content-Type"),
            "token": self.headers.get("X-Token"),
        }
        self._reply(201, json.dumps(echo).encode(), [("Content-Type", "application/json")])

    do_PUT = do_POST


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_fetch_get(server_url: str) -> None:
    response = await fetch(f"{server_url}/hello?q=1")
    assert isinstance(response, Response)
    assert response.status == 200 and response.ok
    assert response.status_text == "OK"
    assert response.url == f"{server_url}/hello?q=1"
    assert response.redirected is False
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get_all("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-multi"] == "1, 2"
    assert await response.json() == {"path": "/hello?q=1", "ua": None}


async def test_fetch_post_with_headers_and_body(server_url: str) -> None:
    response = await fetch(server_url + "/echo", method="POST", body="hi", headers={"X-Token": "t"})
    assert response.status == 201
    assert await response.json() == {
        "method": "POST",
        "body": "hi",
        "content_type": "text/plain;charset=UTF-8",
        "token": "t",
    }


async def test_fetch_bytes_body_sends_no_default_content_type(server_url: str) -> None:
    response = await fetch(server_url + "/echo", method="POST", body=b"raw")
    assert (await response.json())["content_type"] is None


async def test_fetch_accepts_a_request(server_url: str) -> None:
    request = Request(server_url + "/echo", method=HTTPMethod.PUT, body=b"{}")
    response = await fetch(request, headers={"Content-Type": "application/json"})
    assert await response.json() == {
        "method": "PUT",
        "body": "{}",
        "content_type": "application/json",
        "token": None,
    }


async def test_fetch_returns_error_statuses(server_url: str) -> None:
    missing = await fetch(server_url + "/missing")
    assert missing.status == 404 and missing.ok is False
    assert missing.status_text == "Not Found"
    assert await missing.text() == "nope"
    with pytest.raises(HttpStatusError, match="404 Client Error"):
        missing.raise_for_status()
    boom = await fetch(server_url + "/boom")
    assert boom.status == 500
    assert await boom.text() == "boom"


async def test_fetch_redirect_modes(server_url: str) -> None:
    followed = await fetch(server_url + "/redirect")
    assert followed.status == 200
    assert followed.redirected is True
    assert followed.url == server_url + "/hello"
    manual = await fetch(server_url + "/redirect", redirect="manual")
    assert manual.status == 302
    assert manual.headers["location"] == "/hello"
    with pytest.raises(TypeError, match="redirect"):
        await fetch(server_url + "/redirect", redirect="error")


async def test_fetch_network_failure_raises_oserror() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.server_close()  # nothing listens on this port any more
    with pytest.raises(OSError, match="failed"):
        await fetch(f"http://127.0.0.1:{port}/")
