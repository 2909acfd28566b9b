"""One HTTP/1.1 exchange with a `durable dev` on this machine, over a plain socket.

The CLI talks to a local `durable dev` for every command while one runs. `http.client` would do,
but importing it pulls in the `email` package and `ssl` (~19 ms, more than the request itself
takes), and a command sends one or two requests to a server we wrote, on loopback. So plain
`http://` requests go through `exchange` below; anything else (`--remote`, https) uses
`http.client`. The response is read as far as its framing says (Content-Length or chunked), so
a server that answers early and resets the connection (a body it refuses) is still understood.
"""

from __future__ import annotations

import socket

from durable.runtime.errors import LoopbackError

__all__ = ["LoopbackError", "exchange"]

# Far above any management response (a 1,000-instance page is ~300 KB).
MAX_RESPONSE_BYTES = 256 * 1024 * 1024


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
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered early (a body it refuses, say) and closed: its answer may be there
        received = bytearray()
        needed = 0  # bytes the response is known to span, once its Content-Length is seen
        while True:
            try:
                chunk = sock.recv(262144)
            except ConnectionResetError:
                chunk = b""  # a reset after the answer (our unread body): the answer counts
            received += chunk
            if len(received) > MAX_RESPONSE_BYTES:
                raise LoopbackError(f"the response exceeded {MAX_RESPONSE_BYTES} bytes")
            if chunk and len(received) < needed:
                continue
            try:
                return _parse(bytes(received), complete=not chunk)
            except _Incomplete as more:
                needed = more.needed


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split a complete HTTP/1.x response (the stream up to the server's close) into its parts."""
    return _parse(raw, complete=True)


class _Incomplete(Exception):
    """More of the response is to come (`needed`: its total size in bytes, when known)."""

    def __init__(self, needed: int = 0) -> None:
        super().__init__()
        self.needed = needed


def _parse(raw: bytes, *, complete: bool) -> tuple[int, dict[str, str], bytes]:
    """The response in `raw`; `_Incomplete` while more may come (`complete`: the stream ended)."""
    try:
        return _split(raw, complete)
    except _Incomplete:
        if complete:
            raise LoopbackError("the connection closed in the middle of the response") from None
        raise
    except ValueError as exc:  # a length or chunk size that is not a number
        raise LoopbackError(f"a malformed HTTP response ({exc})") from None


def _split(raw: bytes, complete: bool) -> tuple[int, dict[str, str], bytes]:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        raise _Incomplete
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
            raise _Incomplete(len(head) + 4 + length)
        body = body[:length]
    elif not complete:
        raise _Incomplete  # no framing: the body ends where the stream does
    return int(code), headers, body


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    position = 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            raise _Incomplete
        size = int(data[position:line_end].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(out)
        start = line_end + 2
        if start + size + 2 > len(data):
            raise _Incomplete
        out += data[start : start + size]
        position = start + size + 2


def _host_header(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
