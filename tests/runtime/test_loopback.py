"""runtime/loopback.py: the CLI's one-exchange HTTP/1.1 client for a local `durable dev`."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from durable.runtime.client.loopback import LoopbackError, exchange, parse_response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        echo = json.dumps(
            {
                "path": self.path,
                "body": body.decode(),
                "host": self.headers["Host"],
                "auth": self.headers["Authorization"],
                "connection": self.headers["Connection"],
            }
        ).encode()
        if self.path == "/chunked":
            self.send_response(201)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Twice", "a")
            self.send_header("X-Twice", "b")
            self.end_headers()
            half = len(echo) // 2
            for part in (echo[:half], echo[half:]):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_response(429)
        self.send_header("Content-Length", str(len(echo)))
        self.send_header("Retry-After", "7")
        self.end_headers()
        self.wfile.write(echo)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_exchange_with_a_content_length_response(server):
    status, headers, body = exchange(
        "127.0.0.1",
        server,
        "POST",
        "/x?y=1",
        {"Authorization": "Bearer t"},
        b'{"a": "\xc3\xa9"}',
        timeout=5,
    )
    assert status == 429 and headers["retry-after"] == "7"
    echoed = json.loads(body)
    assert echoed == {
        "path": "/x?y=1",
        "body": '{"a": "é"}',
        "host": f"127.0.0.1:{server}",
        "auth": "Bearer t",
        "connection": "close",
    }


def test_exchange_with_a_chunked_response_and_repeated_headers(server):
    status, headers, body = exchange("127.0.0.1", server, "POST", "/chunked", {}, None, timeout=5)
    assert status == 201
    assert headers["x-twice"] == "a, b"
    assert json.loads(body)["body"] == ""


def test_refused_connection_is_an_os_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(OSError):
            exchange("127.0.0.1", port, "GET", "/", {}, None, timeout=2)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",  # headers never end
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ],
)
def test_malformed_responses_are_loopback_errors(raw):
    with pytest.raises(LoopbackError):
        parse_response(raw)


def test_a_body_without_framing_runs_to_the_end_of_the_stream():
    assert parse_response(b"HTTP/1.0 200 OK\r\nX: y\r\n\r\n{}") == (200, {"x": "y"}, b"{}")


def test_an_early_answer_then_a_reset_is_still_read():
    """A server refusing a big body answers before reading it and closes: SQLite-sized params
    against durable dev's 1 MiB limit. The close resets the connection (our body is unread)."""
    answer = b"HTTP/1.1 413 Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large"
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)  # the request line and a little: the rest stays unread
        conn.sendall(answer)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        status, _, body = exchange("127.0.0.1", port, "POST", "/", {}, b"x" * 8_000_000, timeout=5)
    finally:
        thread.join(5)
        listener.close()
    assert (status, body) == (413, b"too large")
