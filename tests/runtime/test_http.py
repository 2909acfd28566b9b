"""`durable.runtime.worker.fetch_api`: the `workers` Request/Response/Headers/fetch emulation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from http import HTTPMethod, HTTPStatus
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from durable.runtime.worker.blob import Blob, File, FormData
from durable.runtime.worker.fetch_api import (
    LOCAL_CF,
    Headers,
    HttpStatusError,
    Request,
    Response,
    as_incoming,
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


# --- the rest of production's surface (audit 24) -----------------------------------------------


async def test_body_is_a_readable_stream_that_uses_the_body() -> None:
    request = Request("http://x/", method="POST", body=b"abc")
    stream = request.body
    assert stream is not None and stream is request.body
    assert request.body_used is False
    chunks = [chunk.to_bytes() async for chunk in stream]
    assert chunks == [b"abc"]
    assert request.body_used is True
    with pytest.raises(OSError, match="Body already used"):
        await request.text()
    assert Request("http://x/").body is None
    assert Response(None).body is None


async def test_body_reader_reads_chunks_then_done() -> None:
    response = Response("hi")
    reader = response.body.getReader()  # type: ignore[union-attr]
    assert response.body.locked  # type: ignore[union-attr]
    first = await reader.read()
    assert (first.done, first.value.to_bytes(), first.value.length) == (False, b"hi", 2)
    last = await reader.read()
    assert (last.done, last.value) == (True, None)
    assert response.body_used is True


async def test_a_stream_read_whole_and_given_back_as_a_body() -> None:
    request = Request("http://x/", method="PUT", body="payload")
    _ = request.body  # looked at, not read: text() still reads all of it
    echo = Response(Request("http://x/", method="PUT", body="again").body)
    assert await request.text() == "payload"
    assert await echo.text() == "again"
    assert "content-type" not in echo.headers


async def test_clone_has_its_own_stream() -> None:
    response = Response("both")
    original = response.body
    clone = response.clone()
    assert clone.body is not original
    assert await clone.text() == "both" and await response.text() == "both"


async def test_buffer_is_an_array_buffer_and_takes_the_body() -> None:
    response = Response(b"\x00\x01")
    buffer = await response.buffer()
    assert (buffer.to_bytes(), buffer.byteLength, bytes(buffer.to_py())) == (
        b"\x00\x01",
        2,
        b"\x00\x01",
    )
    assert bytes(buffer.to_memoryview()) == b"\x00\x01"
    assert response.body_used is True
    assert await Response(buffer).bytes() == b"\x00\x01"
    request = Request("http://x/", method="POST", body="é")
    assert (await request.buffer()).to_string() == "é"


async def test_blob_has_the_content_type() -> None:
    blob = await Response("text", headers={"Content-Type": "Text/Plain"}).blob()
    assert (blob.content_type, blob.size, await blob.text()) == ("text/plain", 4, "text")
    request = Request("http://x/", method="POST", body=b"\x01")
    assert (await request.blob()).content_type == ""
    with pytest.raises(OSError, match="Body already used"):
        await request.blob()


async def test_form_data_parses_urlencoded() -> None:
    request = Request(
        "http://x/",
        method="POST",
        body="a=1&b=two+words&a=%C3%A9&empty",
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
    )
    form = await request.form_data()
    assert form["a"] == "1"
    assert form.get_all("a") == ["1", "é"]
    assert (form["b"], form["empty"]) == ("two words", "")


async def test_form_data_round_trips_multipart_with_files() -> None:
    sent = FormData({"name": "Ada"})
    sent.append("file", File([b"\x00bin"], "a.bin", "application/octet-stream"))
    sent.append("note", Blob(["memo"], "text/plain"))
    request = Request("http://x/", method="POST", body=sent)
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    form = await Request(request).form_data()
    assert form["name"] == "Ada"
    upload = form["file"]
    assert isinstance(upload, File)
    assert (upload.name, upload.content_type, await upload.bytes()) == (
        "a.bin",
        "application/octet-stream",
        b"\x00bin",
    )
    note = form["note"]
    assert isinstance(note, File) and (note.name, await note.text()) == ("blob", "memo")
    response = Response(sent)
    assert (await response.formData())["name"] == "Ada"


async def test_form_data_refuses_other_content_types() -> None:
    with pytest.raises(TypeError, match="FormData can only parse"):
        await Response("{}", headers={"Content-Type": "application/json"}).form_data()


def test_js_object_says_there_is_none() -> None:
    with pytest.raises(AttributeError, match="no JavaScript object behind a Request"):
        Request("http://x/").js_object  # noqa: B018
    with pytest.raises(AttributeError, match="no JavaScript object behind a Response"):
        Response("x").js_object  # noqa: B018
    assert not hasattr(Response("x"), "js_response")


def test_request_standard_members_read_as_workerd_gives_them() -> None:
    request = Request("http://x/")
    unimplemented = (
        request.mode,
        request.cache,
        request.credentials,
        request.destination,
        request.referrer,
        request.referrer_policy,
        request.is_history_navigation,
    )
    assert unimplemented == (None,) * 7
    assert (request.integrity, request.keepalive) == ("", False)


def test_incoming_requests_carry_the_local_cf() -> None:
    scope = {"method": "GET", "scheme": "http", "path": "/", "headers": [(b"host", b"h")]}
    first = Request.from_asgi(scope, b"")
    assert first.cf.colo == "DFW" and first.cf["country"] == "US"
    assert (first.cf.asn, first.cf.httpProtocol, first.cf.tlsVersion) == (
        395747,
        "HTTP/1.1",
        "TLSv1.3",
    )
    assert first.cf.tlsClientAuth.certVerified == "NONE"
    first.cf.colo = "changed"
    assert Request.from_asgi(scope, b"").cf.colo == "DFW"  # each request has its own
    assert Request.from_asgi(scope, b"", cf={"colo": "LHR"}).cf == {"colo": "LHR"}
    assert as_incoming(Request("http://x/")).cf == LOCAL_CF
    assert as_incoming(Request("http://x/", cf={"colo": "AMS"})).cf == {"colo": "AMS"}


async def test_response_memoryview_and_string() -> None:
    assert bytes(await Response(b"mv").memoryview()) == b"mv"
    response = Response("s")
    assert await response.string() == "s"
    with pytest.raises(OSError, match="Body already used"):
        await response.string()


def test_response_web_socket_is_accepted_with_status_101() -> None:
    socket = object()  # production passes the client end of a js.WebSocketPair
    response = Response(None, status=101, web_socket=socket)
    assert response.status == 101
    with pytest.raises(ValueError, match="200 to 599"):
        Response(None, status=101)
    with pytest.raises(TypeError, match="cannot hand over a WebSocket"):
        to_asgi_start_and_body(response)
    assert Response("plain", web_socket=None).status == 200


def test_response_redirect_has_no_body() -> None:
    response = Response.redirect("https://example.com/a", HTTPStatus.SEE_OTHER)
    assert (response.status, response.body, response.headers["location"]) == (
        303,
        None,
        "https://example.com/a",
    )
    with pytest.raises(TypeError, match="Invalid URL"):
        Response.redirect("/relative")
