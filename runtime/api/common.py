"""HTTP plumbing shared by the two management API shapes, on starlette.

Both shapes answer with Cloudflare's envelope, `{success, errors, messages, result,
result_info?}`. Handlers take an `ApiRequest` and return a `Result` or raise a `DurableError`;
the exception handlers from `exception_handlers` are the one place where errors become envelopes
(`DurableError.http_status` and `.code`, mapped per shape), so a handler never builds an error
response itself. Anything else a handler raises is a bug: it is answered with a 500 envelope and
its traceback goes to the terminal, and the server carries on.

Routing is starlette's `Router`/`Route`, on a path where each segment is percent-decoded on its
own (`routing_path`): an encoded slash (`a%2Fb`) stays inside its segment, so it can never
change which route matches.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from starlette.convertors import Convertor, register_url_convertor
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from durable.runtime.engine.serialization import json_safe
from durable.runtime.errors import DurableError, PayloadTooLargeError, ValidationError
from durable.runtime.errors import HttpError as HttpError

from . import DASHBOARD_PATH

ASGIScope = Mapping[str, Any]

MAX_BODY_BYTES = 1024 * 1024  # the production limit on params and event payloads
# The path as the client sent it (percent-decoded), kept in the scope for messages.
REQUEST_PATH_KEY = "durable.request_path"

__all__ = [
    "DASHBOARD_PATH",
    "MAX_BODY_BYTES",
    "ASGIScope",
    "ApiRequest",
    "EnvelopeResponse",
    "Handler",
    "HttpError",
    "Result",
    "api_app",
    "api_routes",
    "error_envelope",
    "exception_handlers",
    "read_body",
    "routing_path",
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


class ApiRequest(Request):
    """One API request as a handler sees it: starlette's, with the API's body and query rules."""

    async def body(self) -> bytes:
        # Starlette's own body() reads whatever comes; the API refuses a body over the limit
        # (by its Content-Length, before reading it) with a 413 envelope.
        if not hasattr(self, "_body"):
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

    def arg(self, name: str) -> str | None:
        """A query parameter; the first of repeated ones wins (starlette's mapping keeps the last)."""
        values = self.query_params.getlist(name)
        return values[0] if values else None

    def int_query(self, name: str, default: int) -> int:
        raw = self.arg(name)
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
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ValidationError(f"{name} must be true or false, got {raw!r}")


Handler = Callable[[ApiRequest], Awaitable[Result]]


class EnvelopeResponse(Response):
    """A JSON envelope, compact and never cached."""

    media_type = "application/json; charset=utf-8"

    def __init__(
        self, payload: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        # NaN and the infinities are written as null, as production's JSON.stringify writes them
        body = json.dumps(
            json_safe(payload), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
        super().__init__(body, status_code, {"cache-control": "no-store", **(headers or {})})


def error_envelope(code: int, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": None,
    }


# -- routing ---------------------------------------------------------------------------------


class _SegmentConvertor(Convertor[str]):
    """One path segment, possibly empty; `routing_path` left only `%` and `/` encoded in it."""

    regex = "[^/]*"

    def convert(self, value: str) -> str:
        return unquote(value)

    def to_string(self, value: str) -> str:
        return quote(value, safe="")


register_url_convertor("segment", _SegmentConvertor())


def routing_path(scope: ASGIScope) -> str:
    """The path to route on: each raw segment decoded on its own, `%` and `/` re-encoded.

    Routing on the decoded `path` would let `a%2Fb` become two segments; the raw path would
    miss `%63lient`. A single trailing slash is ignored (wrangler asks for `…/instances/` when
    it resolves `latest`).
    """
    raw = scope.get("raw_path")
    if raw:
        path = "/".join(
            unquote(part, errors="replace").replace("%", "%25").replace("/", "%2F")
            if "%" in part
            else part
            for part in bytes(raw).decode("latin-1").split("?", 1)[0].split("/")
        )
    else:
        path = str(scope.get("path", "/")).replace("%", "%25")
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


class _SegmentPaths:
    """Hands the wrapped app a scope whose `path` is the `routing_path`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        child = dict(scope)
        child["path"] = routing_path(scope)
        child[REQUEST_PATH_KEY] = scope.get("path", "/")
        await self.app(child, receive, send)


class _Endpoint:
    """The handlers of one path, by method.

    One route per path, open to every method, so that the first route whose *path* fits wins
    whatever the method (`GET …/instances/batch` is a 405, never the instance "batch"), and a
    405 lists every method the path has.
    """

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.allowed = ", ".join(sorted(handlers))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method", "GET")).upper()
        handler = self.handlers.get(method) or (
            self.handlers.get("GET") if method == "HEAD" else None
        )
        if handler is None:
            raise HttpError(
                405,
                f"Method {method} not allowed here; use {self.allowed}.",
                code=10405,
                headers={"allow": self.allowed},
            )
        outcome = await handler(ApiRequest(scope, receive))
        payload: dict[str, Any] = {
            "success": True,
            "errors": [],
            "messages": [],
            "result": outcome.result,
        }
        if outcome.info is not None:
            payload["result_info"] = outcome.info
        await EnvelopeResponse(payload, outcome.status)(scope, receive, send)


def api_routes(table: Iterable[tuple[str, str, Handler]]) -> list[BaseRoute]:
    """Starlette routes from `(method, path, handler)`; `{name}` captures one segment.

    Paths with more literal segments come first, so `instances/batch` is never taken for an id.
    """
    by_path: dict[str, dict[str, Handler]] = {}
    for method, path, handler in table:
        by_path.setdefault(path, {})[method] = handler

    def literals(path: str) -> int:
        return sum(1 for part in path.split("/") if part and not part.startswith("{"))

    ordered = sorted(by_path, key=literals, reverse=True)  # stable: equal paths keep their order
    return [Route(path.replace("}", ":segment}"), _Endpoint(by_path[path])) for path in ordered]


async def _no_route(scope: Scope, receive: Receive, send: Send) -> None:
    raise HttpError(404, f"No route for {scope.get(REQUEST_PATH_KEY, scope['path'])}.", code=7003)


# -- errors ----------------------------------------------------------------------------------


ErrorCode = Callable[[DurableError], int]


def exception_handlers(error_code: ErrorCode | None = None) -> dict[Any, Any]:
    """Starlette exception handlers turning every failure into an error envelope.

    `error_code` maps an error to the code a shape reports (the explorer's differ from
    Cloudflare's); by default, the error's own code.
    """

    async def durable_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DurableError)
        code = error_code(exc) if error_code is not None else exc.code
        headers = exc.headers if isinstance(exc, HttpError) else None
        return EnvelopeResponse(error_envelope(code, exc.message), exc.http_status, headers)

    async def bug(request: Request, exc: Exception) -> Response:
        # A bug must not take the server down: answer, and show the traceback in the terminal.
        print(f"✘ [ERROR] {request.method} {request.url.path} failed:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        return EnvelopeResponse(
            error_envelope(10001, f"Internal error: {type(exc).__name__}: {exc}"), 500
        )

    return {DurableError: durable_error, Exception: bug}


def api_app(
    routes: Iterable[BaseRoute],
    *,
    error_code: ErrorCode | None = None,
    guard: Callable[[ASGIApp], ASGIApp] | None = None,
) -> ASGIApp:
    """One API shape as an ASGI app, to mount at its prefix.

    `guard` wraps the router inside the exception handlers, so its refusals (a `DurableError`)
    become envelopes like any handler's.
    """
    app: ASGIApp = Router(list(routes), redirect_slashes=False, default=_no_route)
    if guard is not None:
        app = guard(app)
    app = ExceptionMiddleware(app, handlers=exception_handlers(error_code))
    return _SegmentPaths(app)
