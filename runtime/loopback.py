"""One HTTP/1.1 exchange with a `durable dev` on this machine, over a plain socket.

The CLI talks to a local `durable dev` for every command while one runs. `http.client` would do,
but importing it pulls in the `email` package and `ssl` (~19 ms, more than the request itself
takes), and a command sends one or two requests to a server we wrote, on loopback. So plain
`http://` requests go through `exchange` below; anything else (`--remote`, https) uses
`http.client`. The request asks the server to close the connection, so the response ends where
the stream ends, whatever framing the server chose.
"""

from __future__ import annotations

import socket

__all__ = ["LoopbackError", "exchange"]

# Far above any management response (a 1,000-instance page is ~300 KB).
MAX_RESPONSE_BYTES = 256 * 1024 * 1024


class LoopbackError(OSError):
    """The server could not be reached, or its answer was not HTTP/1.x."""


def exchange(
    host: str,
    port: int,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    timeout: float,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return the status, the headers (lower-case names) and the body."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {_host_header(host, port)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Connection: close", f"Content-Length: {len(body or b'')}", "", ""]
    request = "\r\n".join(lines).encode("latin-1") + (body or b"")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks: list[bytes] = []
        size = 0
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise LoopbackError(f"the response exceeded {MAX_RESPONSE_BYTES} bytes")
    return parse_response(b"".join(chunks))


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split a complete HTTP/1.x response (read until the server closed) into its parts."""
    try:
        return _parse(raw)
    except ValueError as exc:  # a length or chunk size that is not a number
        raise LoopbackError(f"a malformed HTTP response ({exc})") from None


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        raise LoopbackError("the connection closed before a complete HTTP response")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise LoopbackError(f"not an HTTP/1.x response: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _unchunk(body)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(body) < length:
            raise LoopbackError("the connection closed in the middle of the response body")
        body = body[:length]
    return int(code), headers, body


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    position = 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            raise LoopbackError("the connection closed in the middle of a chunked body")
        size = int(data[position:line_end].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(out)
        start = line_end + 2
        if start + size > len(data):
            raise LoopbackError("the connection closed in the middle of a chunked body")
        out += data[start : start + size]
        position = start + size + 2


def _host_header(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
