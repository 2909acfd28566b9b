"""The ASGI app `durable dev` serves: the user's Worker plus the management surfaces.

    /client/v4/…                         Cloudflare REST API shape      (api_rest)
    /cdn-cgi/local/explorer/api/…        wrangler's local explorer API  (api_explorer)
    /cdn-cgi/explorer/api/…              the same, for wrangler ≤ 4.86
    /cdn-cgi/explorer/                   the dashboard's static files (runtime/dashboard/)
    /cdn-cgi/… (anything else)           404, as the path is reserved on Cloudflare too
    everything else                      the Worker's fetch handler

The management surfaces are guarded here, in one place (`check_management_access`): a `Host`
that is not a loopback name (or the `--ip` given) is refused with 403, which defeats DNS
rebinding; a mutating request with a non-loopback `Origin` is refused with 403, which stops other
web pages from driving the API through the user's browser; with `--api-token` a bearer token is
required (401). The dashboard's static files need no token (they hold no data; the API calls the
dashboard makes do).
"""

from __future__ import annotations

import hmac
import inspect
import sys
import time
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from durable.runtime.api import explorer as api_explorer
from durable.runtime.api import rest as api_rest
from durable.runtime.api.common import (
    DASHBOARD_PATH,
    ASGIScope,
    HttpError,
    Receive,
    Router,
    Send,
    error_envelope,
    read_body,
    respond,
    send_json,
)
from durable.runtime.api.service import Service
from durable.runtime.bindings.env import Env
from durable.runtime.errors import DurableError
from durable.runtime.worker.entrypoints import ExecutionContext
from durable.runtime.worker.fetch_api import Request, coerce_response, to_asgi_start_and_body
from durable.runtime.worker.loader import LoadedCode

__all__ = [
    "DASHBOARD_DIR",
    "DASHBOARD_PATH",
    "DevApp",
    "ServerSettings",
    "call_fetch_handler",
    "check_management_access",
]

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "dashboard"
# Cloudflare accepts request bodies up to 100 MB on the Free and Pro plans.
FETCH_BODY_LIMIT = 100 * 1024 * 1024
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class ServerSettings:
    ip: str = "127.0.0.1"
    api_token: str | None = None
    dashboard_dir: Path = DASHBOARD_DIR
    log_requests: bool = True


def _header(scope: ASGIScope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _host_name(host: str) -> str:
    """`[::1]:8787` → `::1`, `localhost:8787` → `localhost` (lower-cased)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def check_management_access(
    scope: ASGIScope, settings: ServerSettings, *, needs_token: bool = True
) -> None:
    """Raise an HttpError (403/401) unless the request may use a management route."""
    allowed = _LOOPBACK_NAMES | {settings.ip.lower().strip("[]")}
    host = _header(scope, b"host")
    if host is not None and _host_name(host) not in allowed:
        raise HttpError(
            403,
            f'Host "{host}" is not allowed: the management API answers only to localhost, '
            "127.0.0.1, [::1] or the --ip address.",
            code=10000,
        )
    method = str(scope.get("method", "GET")).upper()
    origin = _header(scope, b"origin")
    if origin is not None and method in _MUTATING:
        try:
            origin_host = urlsplit(origin).hostname or ""
        except ValueError:
            origin_host = ""
        if origin_host.lower() not in allowed:
            raise HttpError(
                403,
                f'Cross-origin request from "{origin}" refused: only pages served from '
                "localhost may change state.",
                code=10000,
            )
    if needs_token and settings.api_token is not None:
        given = _header(scope, b"authorization") or ""
        expected = f"Bearer {settings.api_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HttpError(
                401,
                "Authentication error: this server was started with --api-token; send "
                '"Authorization: Bearer <token>".',
                code=10000,
                headers=[(b"www-authenticate", b'Bearer realm="durable"')],
            )


async def call_fetch_handler(handler: Any, request: Request, env: Env | None) -> Any:
    """Call the Worker's entry point the way the Python Workers runtime does.

    `class Default(WorkerEntrypoint)` is instantiated per request with `(ctx, env)` and its
    `fetch(request)` awaited (a `fetch(self)` without the request is accepted too). A legacy
    module-level `on_fetch` gets as many of `(request, env, ctx)` as it declares.
    """
    ctx = ExecutionContext()
    if inspect.isclass(handler):
        entrypoint: Any = handler(ctx, env)  # type: ignore[call-arg]
        fetch = getattr(entrypoint, "fetch", None)
        if not callable(fetch):
            raise TypeError(f"{handler.__name__} has no fetch(self, request) method")
        args: tuple[Any, ...] = (request,) if _positional_count(fetch) >= 1 else ()
        result = fetch(*args)
    else:
        count = _positional_count(handler)
        result = handler(*(request, env, ctx)[: max(1, min(count, 3))])
    if inspect.isawaitable(result):
        result = await result
    return result


def _positional_count(func: Any) -> int:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 3
    return sum(
        1
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


async def _send_text(
    send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain;charset=UTF-8"),
                (b"content-length", str(len(body)).encode("ascii")),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class DevApp:
    """The ASGI application of one worker process."""

    service: Service
    env: Env | None
    code: LoadedCode | None
    settings: ServerSettings = field(default_factory=ServerSettings)
    load_error: str | None = None  # set when the user's code failed to load (degraded mode)

    def __post_init__(self) -> None:
        self._rest: Router = api_rest.rest_router(self.service)
        self._explorer: Router = api_explorer.explorer_router(self.service)
        self._static: Any = None
        self._fetch_missing_reported = False

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":  # websockets are not emulated: refuse the handshake
            await send({"type": "websocket.close", "code": 1003})
            return
        segments = str(scope.get("path", "/")).split("/")[1:]
        try:
            if segments[:2] == ["client", "v4"]:
                check_management_access(scope, self.settings)
                await respond(
                    self._rest,
                    scope,
                    receive,
                    send,
                    prefix_segments=api_rest.PREFIX_SEGMENTS,
                )
            elif segments and segments[0] == "cdn-cgi":
                await self._cdn_cgi(scope, receive, send, segments)
            else:
                await self._fetch(scope, receive, send)
        except HttpError as exc:
            await send_json(
                send, exc.http_status, error_envelope(exc.code, exc.message), exc.headers
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _cdn_cgi(
        self, scope: dict[str, Any], receive: Receive, send: Send, segments: list[str]
    ) -> None:
        for prefix in api_explorer.PREFIXES:
            if tuple(segments[: len(prefix)]) == prefix:
                check_management_access(scope, self.settings)
                await respond(
                    self._explorer,
                    scope,
                    receive,
                    send,
                    prefix_segments=len(prefix),
                    error_code=api_explorer.error_code,
                )
                return
        if segments[:2] == ["cdn-cgi", "explorer"]:
            check_management_access(scope, self.settings, needs_token=False)
            await self._dashboard(scope, receive, send)
            return
        raise HttpError(404, f"No route for {scope.get('path')}.", code=7003)

    async def _dashboard(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope.get("path") == DASHBOARD_PATH.rstrip("/"):
            # Relative asset URLs in index.html need the trailing slash.
            query = scope.get("query_string") or b""
            location = DASHBOARD_PATH + (f"?{query.decode('latin-1')}" if query else "")
            await _send_text(send, 308, "", [(b"location", location.encode("latin-1"))])
            return
        if not self.settings.dashboard_dir.is_dir():
            await _send_text(send, 404, "Not Found")
            return
        from starlette.exceptions import HTTPException  # only paid for when used

        if self._static is None:
            from starlette.staticfiles import StaticFiles

            self._static = StaticFiles(
                directory=self.settings.dashboard_dir, html=True, check_dir=False
            )
        child = dict(scope)
        child["root_path"] = str(scope.get("root_path", "")) + DASHBOARD_PATH.rstrip("/")
        child["path"] = str(scope.get("root_path", "")) + str(scope.get("path", ""))

        async def guarded_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"cache-control", b"no-cache"),
                ]
            await send(message)

        try:
            await self._static(child, receive, guarded_send)
        except HTTPException as exc:  # StaticFiles signals 404/405 by raising
            extra = [
                (k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in (exc.headers or {}).items()
            ]
            await _send_text(send, exc.status_code, exc.detail or "", extra)

    async def _fetch(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method = str(scope.get("method", "GET"))
        status = 500
        try:
            status, headers, body = await self._run_fetch(scope, receive)
        except DurableError as exc:  # a body over the limit: answered like Cloudflare would
            status, headers, body = exc.http_status, [], exc.message.encode()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.settings.log_requests:
            elapsed = (time.perf_counter() - started) * 1000
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = ""
            print(
                f"[durable:info] {method} {scope.get('path', '/')} {status} {phrase} "
                f"({elapsed:.0f}ms)",
                flush=True,
            )

    async def _run_fetch(
        self, scope: dict[str, Any], receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body = await read_body(receive, scope, FETCH_BODY_LIMIT)
        if self.load_error is not None:
            return _plain(500, f"The Worker's code failed to load:\n\n{self.load_error}\n")
        handler = self.code.fetch_handler if self.code is not None else None
        if handler is None:
            if not self._fetch_missing_reported:
                self._fetch_missing_reported = True
                print(
                    "▲ [WARNING] The Worker has no fetch handler: define "
                    "`class Default(WorkerEntrypoint)` with `async def fetch(self, request)`.",
                    file=sys.stderr,
                    flush=True,
                )
            return _plain(500, "Handler does not export a fetch() function.\n")
        try:
            request = Request.from_asgi(scope, body)
            response = coerce_response(await call_fetch_handler(handler, request, self.env))
            return to_asgi_start_and_body(response)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - user code: report, keep serving
            print(
                f"✘ [ERROR] Uncaught exception in the fetch handler "
                f"({scope.get('method')} {scope.get('path')}):",
                file=sys.stderr,
            )
            traceback.print_exception(exc, file=sys.stderr)
            sys.stderr.flush()
            return _plain(500, f"Internal Server Error\n\n{type(exc).__name__}: {exc}\n")


def _plain(status: int, text: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = text.encode("utf-8")
    return (
        status,
        [
            (b"content-type", b"text/plain;charset=UTF-8"),
            (b"content-length", str(len(body)).encode("ascii")),
        ],
        body,
    )
