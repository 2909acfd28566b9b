"""The ASGI app `durable dev` serves: the user's Worker plus the management surfaces.

    /client/v4/…                         Cloudflare REST API shape      (api_rest)
    /cdn-cgi/local/explorer/api/…        wrangler's local explorer API  (api_explorer)
    /cdn-cgi/explorer/api/…              the same, for wrangler ≤ 4.86
    /cdn-cgi/explorer/                   the dashboard's static files (runtime/dashboard/)
    /cdn-cgi/… (anything else)           404, as the path is reserved on Cloudflare too
    everything else                      the Worker's fetch handler

Routing is starlette's: a `Mount` per surface, and the Worker as the router's default, so every
path no surface claims reaches the user's fetch handler. The management surfaces are guarded
here, in one place (`ManagementGuard`, a middleware inside each surface's exception handlers,
so a refusal is an envelope like any other error): a `Host`
that is not a loopback name (or the `--ip` given) is refused with 403, which defeats DNS
rebinding; a mutating request with a non-loopback `Origin` is refused with 403, which stops other
web pages from driving the API through the user's browser; with `--api-token` a bearer token is
required (401). The dashboard's static files need no token (they hold no data; the API calls the
dashboard makes do).
"""

from __future__ import annotations

import hmac
import inspect
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from durable.runtime.api import explorer as api_explorer
from durable.runtime.api import rest as api_rest
from durable.runtime.api.common import (
    DASHBOARD_PATH,
    HttpError,
    api_app,
    exception_handlers,
    read_body,
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
    "ManagementGuard",
    "ServerSettings",
    "call_fetch_handler",
    "check_management_access",
]

# runtime/dashboard/, next to this subpackage (package data of durable.runtime).
DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
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


def _host_name(host: str) -> str:
    """`[::1]:8787` → `::1`, `localhost:8787` → `localhost` (lower-cased)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def check_management_access(
    scope: Scope, settings: ServerSettings, *, needs_token: bool = True
) -> None:
    """Raise an HttpError (403/401) unless the request may use a management route."""
    allowed = _LOOPBACK_NAMES | {settings.ip.lower().strip("[]")}
    headers = Headers(scope=scope)
    host = headers.get("host")
    if host is not None and _host_name(host) not in allowed:
        raise HttpError(
            403,
            f'Host "{host}" is not allowed: the management API answers only to localhost, '
            "127.0.0.1, [::1] or the --ip address.",
            code=10000,
        )
    method = str(scope.get("method", "GET")).upper()
    origin = headers.get("origin")
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
        given = headers.get("authorization") or ""
        expected = f"Bearer {settings.api_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HttpError(
                401,
                "Authentication error: this server was started with --api-token; send "
                '"Authorization: Bearer <token>".',
                code=10000,
                headers={"www-authenticate": 'Bearer realm="durable"'},
            )


class _Mount(Mount):
    """A `Mount` that owns everything below its prefix, control characters included.

    starlette compiles a mount's `{path:path}` as `.*`, which stops at a newline, so a path
    such as `/client/v4/accounts/x/%0A0` would fall through to the user's Worker instead of
    getting the API's 404 envelope.
    """

    def __init__(self, path: str, app: ASGIApp) -> None:
        super().__init__(path, app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


class ManagementGuard:
    """Middleware: `check_management_access` before every request of a management surface.

    starlette's `TrustedHostMiddleware` does not fit: it answers 400 in plain text, refuses a
    request with no Host at all, and reads `[::1]:8787` as the host "[". The rule here is one
    function, so the Origin rule and the token sit next to the Host rule.
    """

    def __init__(self, app: ASGIApp, settings: ServerSettings, *, needs_token: bool = True):
        self.app = app
        self.settings = settings
        self.needs_token = needs_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        check_management_access(scope, self.settings, needs_token=self.needs_token)
        await self.app(scope, receive, send)


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


@dataclass
class DevApp:
    """The ASGI application of one worker process."""

    service: Service
    env: Env | None
    code: LoadedCode | None
    settings: ServerSettings = field(default_factory=ServerSettings)
    load_error: str | None = None  # set when the user's code failed to load (degraded mode)

    def __post_init__(self) -> None:
        settings = self.settings

        def guarded(app: ASGIApp) -> ASGIApp:
            return ManagementGuard(app, settings)

        rest = api_app(api_rest.rest_routes(self.service), guard=guarded)
        explorer = api_app(
            api_explorer.explorer_routes(self.service),
            error_code=api_explorer.error_code,
            guard=guarded,
        )
        # The dashboard's files need no token: they hold no data (the API calls they make do).
        # starlette's own handler answers a StaticFiles 404/405 in plain text.
        dashboard = ExceptionMiddleware(
            ManagementGuard(_Dashboard(settings.dashboard_dir), settings, needs_token=False),
            handlers=exception_handlers(),
        )
        reserved = api_app([])  # the rest of /cdn-cgi/ is reserved on Cloudflare too: 404
        routes: list[Any] = [_Mount(api_rest.PREFIX, rest), Route(api_rest.PREFIX, rest)]
        for prefix in api_explorer.PREFIXES:
            routes += [_Mount(prefix, explorer), Route(prefix, explorer)]
        dashboard_root = DASHBOARD_PATH.rstrip("/")
        routes += [
            _Mount(dashboard_root, dashboard),
            Route(dashboard_root, dashboard),
            _Mount("/cdn-cgi", reserved),
            Route("/cdn-cgi", reserved),
        ]
        self._router = Router(routes, redirect_slashes=False, default=self._fetch)
        self._fetch_missing_reported = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":  # websockets are not emulated: refuse the handshake
            await send({"type": "websocket.close", "code": 1003})
            return
        await self._router(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _fetch(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        self, scope: Scope, receive: Receive
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


class _Dashboard:
    """The dashboard's static files, with headers that keep it out of other pages' frames."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._static: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("path") == DASHBOARD_PATH.rstrip("/"):
            # Relative asset URLs in index.html need the trailing slash.
            query = bytes(scope.get("query_string") or b"").decode("latin-1")
            location = DASHBOARD_PATH + (f"?{query}" if query else "")
            await RedirectResponse(location, status_code=308)(scope, receive, send)
            return
        if not self.directory.is_dir():
            raise HTTPException(404)
        if self._static is None:
            from starlette.staticfiles import StaticFiles  # only paid for when used

            self._static = StaticFiles(directory=self.directory, html=True, check_dir=False)

        async def framed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"cache-control", b"no-cache"),
                ]
            await send(message)

        await self._static(scope, receive, framed_send)


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
