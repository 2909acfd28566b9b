"""HTTP plumbing shared by the two management API shapes: routing, bodies, the envelope.

Both shapes answer with Cloudflare's envelope, `{success, errors, messages, result,
result_info?}`. Handlers return a `Result` or raise a `DurableError`; `respond` is the one place
where errors become envelopes (`DurableError.http_status` and `.code`), so a handler never builds
an error response itself. Anything else a handler raises is a bug: it is answered with a 500
envelope and its traceback goes to the terminal, and the server carries on.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from durable.runtime.errors import DurableError, PayloadTooLargeError, ValidationError
from durable.runtime.errors import HttpError as HttpError

ASGIScope = Mapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024  # the production limit on params and event payloads
DASHBOARD_PATH = "/cdn-cgi/explorer/"  # here so the supervisor can print it without the server

__all__ = [
    "DASHBOARD_PATH",
    "MAX_BODY_BYTES",
    "Call",
    "Handler",
    "HttpError",
    "Result",
    "Router",
    "error_envelope",
    "path_segments",
    "read_body",
    "respond",
    "send_json",
]


@dataclass
class Result:
    result: Any
    info: dict[str, Any] | None = None
    status: int = 200


async def read_body(receive: Receive, scope: ASGIScope, limit: int) -> bytes:
    """The whole request body, refusing more than `limit` bytes without reading it all."""
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise HttpError(400, "Invalid Content-Length header.", code=10021) from None
            if declared > limit:
                raise PayloadTooLargeError(_too_large(limit), code=10021)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(_too_large(limit), code=10021)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"Request body is too large: the limit is {limit // 1024} KiB."


@dataclass
class Call:
    """One API request as a handler sees it."""

    scope: ASGIScope
    receive: Receive
    params: dict[str, str]
    query: dict[str, str]
    _body: bytes | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        return str(self.scope.get("method", "GET")).upper()

    async def body(self) -> bytes:
        if self._body is None:
            self._body = await read_body(self.receive, self.scope, MAX_BODY_BYTES)
        return self._body

    async def json(self, *, empty: Any = None) -> Any:
        """The body parsed as JSON; an empty body is `empty`; malformed JSON is a 400."""
        raw = await self.body()
        if not raw.strip():
            return empty
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ValidationError(f"The request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ValidationError(
                "The request body is nested too deeply; flatten it (fewer levels of lists "
                "and dicts)."
            ) from None

    async def json_object(self) -> dict[str, Any]:
        data = await self.json(empty={})
        if not isinstance(data, dict):
            raise ValidationError(
                f"The request body must be a JSON object, got {type(data).__name__}."
            )
        return data

    def int_query(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            number = float(raw)
        except ValueError:
            number = float("nan")
        if not number.is_integer():
            raise ValidationError(f"{name} must be an integer, got {raw!r}")
        return int(number)

    def bool_query(self, name: str, default: bool = False) -> bool:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ValidationError(f"{name} must be true or false, got {raw!r}")


Handler = Callable[[Call], Awaitable[Result]]
_PARAM = re.compile(r"^\{(\w+)\}$")


class Router:
    """Routes by path segments; a `{name}` segment captures one (percent-decoded) segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[tuple[str, ...], dict[str, Handler]]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        parts = tuple(p for p in pattern.strip("/").split("/") if p)
        for existing, methods in self._routes:
            if existing == parts:
                methods[method] = handler
                return
        self._routes.append((parts, {method: handler}))

    def match(self, segments: list[str]) -> tuple[dict[str, Handler], dict[str, str]] | None:
        """The handlers of the first route whose shape fits, and the captured segments.

        Literal segments win over captures, so `instances/batch` is never taken for an id.
        """
        best: tuple[int, dict[str, Handler], dict[str, str]] | None = None
        for parts, methods in self._routes:
            if len(parts) != len(segments):
                continue
            params: dict[str, str] = {}
            literals = 0
            for part, segment in zip(parts, segments, strict=True):
                capture = _PARAM.match(part)
                if capture:
                    params[capture.group(1)] = segment
                elif part == segment:
                    literals += 1
                else:
                    break
            else:
                if best is None or literals > best[0]:
                    best = (literals, methods, params)
        return None if best is None else (best[1], best[2])


def path_segments(scope: ASGIScope, prefix_segments: int) -> list[str]:
    """The request path split on `/` *before* percent-decoding, minus the first segments.

    Decoding each segment on its own keeps an encoded slash (`a%2Fb`) inside its segment, so it
    can never change which route matches. A single trailing slash is ignored (wrangler asks for
    `…/instances/` when it resolves `latest`).
    """
    raw = scope.get("raw_path")
    if raw:
        path = raw.decode("latin-1").split("?", 1)[0]
        parts = [unquote(p, errors="replace") for p in path.split("/")]
    else:
        parts = str(scope.get("path", "/")).split("/")
    parts = parts[1:]  # the empty string before the leading slash
    if parts and parts[-1] == "":
        parts.pop()
    return parts[prefix_segments:]


def query_params(scope: ASGIScope) -> dict[str, str]:
    raw = (scope.get("query_string") or b"").decode("latin-1")
    result: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        result.setdefault(key, value)  # the first of repeated parameters wins
    return result


def error_envelope(code: int, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": None,
    }


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def send_json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = _json_bytes(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def respond(
    router: Router,
    scope: ASGIScope,
    receive: Receive,
    send: Send,
    *,
    prefix_segments: int,
    error_code: Callable[[DurableError], int] | None = None,
) -> None:
    """Route one request and answer it, turning every failure into an error envelope."""
    try:
        segments = path_segments(scope, prefix_segments)
        found = router.match(segments)
        if found is None:
            raise HttpError(404, f"No route for {scope.get('path', '/')}.", code=7003)
        methods, params = found
        method = str(scope.get("method", "GET")).upper()
        handler = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise HttpError(
                405,
                f"Method {method} not allowed here; use {allowed}.",
                code=10405,
                headers=[(b"allow", allowed.encode("ascii"))],
            )
        call = Call(scope, receive, params, query_params(scope))
        outcome = await handler(call)
        payload: dict[str, Any] = {
            "success": True,
            "errors": [],
            "messages": [],
            "result": outcome.result,
        }
        if outcome.info is not None:
            payload["result_info"] = outcome.info
        await send_json(send, outcome.status, payload)
    except DurableError as exc:
        code = error_code(exc) if error_code is not None else exc.code
        headers = exc.headers if isinstance(exc, HttpError) else None
        await send_json(send, exc.http_status, error_envelope(code, exc.message), headers)
    except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
        print(
            f"✘ [ERROR] {scope.get('method')} {scope.get('path')} failed:",
            file=sys.stderr,
        )
        traceback.print_exc(file=sys.stderr)
        await send_json(
            send,
            500,
            error_envelope(10001, f"Internal error: {type(exc).__name__}: {exc}"),
        )
