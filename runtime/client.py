"""The management client: one interface over every place workflows can be managed from.

The `durable workflows …` commands talk to exactly one of these, chosen by `connect()`:

    ManagementClient              the interface, in Cloudflare REST `result` shapes
    ├── HttpClient                the Cloudflare REST API (`/client/v4/accounts/{id}/workflows`)
    │     ├── local               a running `durable dev`, found through its discovery file
    │     └── remote              api.cloudflare.com (`--remote`), or CLOUDFLARE_API_BASE_URL
    └── ServiceClient             no server: `runtime/service.py` called directly on the store
          ├── offline             reads come from the store; writes are recorded as intents
          └── embedded            an engine runs here (`trigger --wait` with no server)
                                  (in `service_client.py`)

Every method returns what the REST API would put in `result` (a `Page` for list calls), so a
command renders the same data whichever target answers. The HTTP side uses only `http.client`
from the standard library: no requests/httpx, so the CLI starts fast. This module imports the
engine, store and service lazily, only when no server runs.
"""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import ApiError, ConfigError, NotFoundError

if TYPE_CHECKING:
    import http.client

    from .config import ProjectConfig

__all__ = [
    "CLOUDFLARE_API_BASE_URL",
    "FINISHED_STATUSES",
    "LOCAL_ACCOUNT_ID",
    "WAIT_THROUGH_MS",
    "HttpClient",
    "ManagementClient",
    "Page",
    "PendingWait",
    "connect",
    "next_retry",
    "pending_wait",
    "wait_is_over",
]

CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4"
# `durable dev` accepts any account id in its REST paths; the CLI uses this one.
LOCAL_ACCOUNT_ID = "local"
FINISHED_STATUSES = ("complete", "errored", "terminated")
# `--wait` waits through a sleep or a retry back-off that ends within this horizon (it covers
# the default retry schedule: 10 + 20 + 40 + 80 + 160 s) and reports anything longer.
WAIT_THROUGH_MS = 5 * 60 * 1000
_NO_BODY = object()


@dataclass
class Page:
    """One page of a list call: the `result` items and the `result_info` of the envelope."""

    items: list[dict[str, Any]]
    info: dict[str, Any]


@dataclass(frozen=True)
class PendingWait:
    """What a `waiting` instance waits for: `kind` is "event", "sleep" or "retry"."""

    kind: str
    step: str
    until: str | None = None  # ISO time of the wake-up (or of the event wait's timeout)
    event_type: str | None = None


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pending_wait(details: Mapping[str, Any]) -> PendingWait | None:
    """What an instance (REST InstanceDetails with steps) is waiting for, if it can be told."""
    for step in reversed(details.get("steps") or []):
        kind = step.get("type")
        if kind == "waitForEvent" and not step.get("finished"):
            return PendingWait(
                "event", step.get("name", ""), step.get("timeout"), step.get("event_type")
            )
        if kind == "sleep" and not step.get("finished"):
            return PendingWait("sleep", step.get("name", ""), step.get("end"))
        if kind == "step" and step.get("success") is None:
            retry = next_retry(step)
            if retry is not None:
                return PendingWait("retry", step.get("name", ""), retry)
    return None


def next_retry(step: Mapping[str, Any]) -> str | None:
    """When a retrying step (REST step object) runs again, as an ISO time; None if it won't.

    `durable dev` sends each failed attempt's `next_retry`. For an API that does not, the time
    is computed from the step's retry config with the real back-off — constant d, linear d·n,
    exponential d·2^(n−1) after attempt n — unlike wrangler, which ignores the back-off.
    """
    attempts = step.get("attempts") or []
    if not attempts or attempts[-1].get("success") is not False:
        return None
    last = attempts[-1]
    if last.get("next_retry"):
        return str(last["next_retry"])
    retries = (step.get("config") or {}).get("retries") or {}
    ended = parse_iso(last.get("end"))
    if ended is None or "delay" not in retries:
        return None
    if len(attempts) > int(retries.get("limit", 5)):
        return None  # that was the last attempt
    from datetime import timedelta

    from .durations import parse_duration
    from .errors import DurableError

    try:
        delay = parse_duration(retries["delay"], what="retry delay")
    except DurableError:
        return None
    n = len(attempts)
    backoff = retries.get("backoff", "exponential")
    factor = {"constant": 1, "linear": n}.get(backoff, 2 ** (n - 1))
    moment = ended + timedelta(milliseconds=delay * factor)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wait_is_over(details: Mapping[str, Any], now: datetime | None = None) -> bool:
    """True when `--wait` should stop: finished, paused, or waiting for more than a moment.

    An instance waiting for an event waits for someone else, so `--wait` stops and says so. A
    sleep or a retry back-off ends by itself: `--wait` waits through it unless the wake-up is
    more than WAIT_THROUGH_MS away.
    """
    status = details.get("status")
    if status in FINISHED_STATUSES or status in ("paused", "unknown"):
        return True
    if status != "waiting":
        return False
    wait = pending_wait(details)
    if wait is None:
        # Between two writes (a failed attempt recorded, its retry time not yet) the reason
        # is not visible: look again rather than stop on a moment that passes by itself.
        return False
    if wait.kind == "event":
        return True
    wake = parse_iso(wait.until)
    if wake is None:
        return True
    now = now or datetime.now(UTC)
    return (wake - now).total_seconds() * 1000 > WAIT_THROUGH_MS


class ManagementClient(ABC):
    """The management operations, in the Cloudflare REST API's `result` shapes."""

    #: "dev" (a running durable dev), "remote" (Cloudflare), "offline" or "embedded".
    kind: str = ""
    #: Where requests go, for `-v` and messages ("durable dev at http://127.0.0.1:8787").
    description: str = ""
    #: Seconds between two polls of `wait()`.
    poll_interval: float = 0.2

    @property
    def offline(self) -> bool:
        """True when writes are recorded as intents that `durable dev` applies when it starts."""
        return False

    # -- workflows --

    @abstractmethod
    def list_workflows(self, *, page: int = 1, per_page: int | None = None) -> Page: ...

    @abstractmethod
    def get_workflow(self, name: str) -> dict[str, Any]: ...

    @abstractmethod
    def delete_workflow(self, name: str) -> dict[str, Any]: ...

    # -- instances --

    @abstractmethod
    def create_instance(
        self, name: str, *, instance_id: str | None = None, params: Any = None
    ) -> dict[str, Any]:
        """Create an instance; `params` None means none given (the instance gets `{}`)."""

    @abstractmethod
    def list_instances(
        self,
        name: str,
        *,
        status: str | None = None,
        page: int = 1,
        per_page: int | None = None,
        direction: str = "desc",
    ) -> Page: ...

    @abstractmethod
    def get_instance(self, name: str, instance_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def change_status(
        self, name: str, instance_id: str, action: str, from_step: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`action` is pause, resume, terminate or restart; `from_step` only with restart."""

    @abstractmethod
    def send_event(self, name: str, instance_id: str, event_type: str, payload: Any) -> None: ...

    @abstractmethod
    def delete_instances(self, name: str, ids: list[str]) -> dict[str, Any]: ...

    def resolve_id(self, name: str, instance_id: str) -> str:
        """`latest` is the most recently created instance of the workflow; other ids pass."""
        if instance_id != "latest":
            return instance_id
        page = self.list_instances(name, page=1, per_page=25, direction="desc")
        if not page.items:
            raise NotFoundError(
                f'There are no instances in workflow "{name}", so "latest" names none. '
                f'Trigger one with "durable workflows trigger {name}".',
                code=10400,
            )
        # The API orders by creation already; sort anyway (stable, so same-millisecond
        # instances keep the API's order), as the API only promises the filter, not the order.
        items = sorted(page.items, key=lambda item: item.get("created_on") or "", reverse=True)
        return str(items[0]["id"])

    def wait(
        self,
        name: str,
        instance_id: str,
        *,
        timeout: float | None = None,
        until: Callable[[Mapping[str, Any]], bool] = wait_is_over,
    ) -> dict[str, Any]:
        """Poll the instance until `until(details)`; raise TimeoutError after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            details = self.get_instance(name, instance_id)
            if until(details):
                return details
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f'Instance "{instance_id}" is still {details.get("status")}.')
            time.sleep(self.poll_interval)

    def close(self) -> None:  # noqa: B027 - most clients hold nothing; those that do override
        """Release what the client holds (connections, the store, an engine)."""

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- HTTP: a running durable dev, or Cloudflare ------------------------------------------------


class HttpClient(ManagementClient):
    """Speaks the Cloudflare REST API: `{base_url}/accounts/{account_id}/workflows/…`.

    The same class talks to a local `durable dev` (`HttpClient.local`) and to Cloudflare
    (`HttpClient.cloudflare`); only the base URL, the account id and the token differ.
    """

    def __init__(
        self,
        base_url: str,
        account_id: str,
        *,
        token: str | None = None,
        kind: str = "dev",
        timeout: float = 30.0,
        user_agent: str = "durable",
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"Invalid API base URL {base_url!r}: expected http(s)://host[:port]/path."
            )
        self.base_url = base_url.rstrip("/")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path
        self.account_id = account_id
        self.token = token
        self.kind = kind
        self.timeout = timeout
        self.user_agent = user_agent
        self.poll_interval = 2.0 if kind == "remote" else 0.2
        self.description = (
            f"the Cloudflare API at {self.base_url} (account {account_id})"
            if kind == "remote"
            else f"durable dev at {parts.scheme}://{parts.netloc}"
        )
        self._conn: http.client.HTTPSConnection | None = None

    @classmethod
    def local(cls, url: str, *, token: str | None = None, timeout: float = 30.0) -> HttpClient:
        """A `durable dev` serving at `url` (`http://127.0.0.1:8787`)."""
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        # A server bound to every interface is reached on loopback (its Host check wants that).
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        return cls(
            f"{parts.scheme or 'http'}://{netloc}/client/v4",
            LOCAL_ACCOUNT_ID,
            token=token,
            kind="dev",
            timeout=timeout,
        )

    @classmethod
    def cloudflare(cls, environ: Mapping[str, str] | None = None) -> HttpClient:
        """Cloudflare, from CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_BASE_URL."""
        environ = os.environ if environ is None else environ
        token = environ.get("CLOUDFLARE_API_TOKEN", "").strip()
        account = environ.get("CLOUDFLARE_ACCOUNT_ID", "").strip()
        missing = [
            var
            for var, value in (("CLOUDFLARE_API_TOKEN", token), ("CLOUDFLARE_ACCOUNT_ID", account))
            if not value
        ]
        if missing:
            raise ConfigError(
                f"--remote needs {' and '.join(missing)} in the environment. Create an API "
                "token with Workflows access at https://dash.cloudflare.com/profile/api-tokens "
                "and export CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID."
            )
        base = environ.get("CLOUDFLARE_API_BASE_URL", "").strip() or CLOUDFLARE_API_BASE_URL
        return cls(base, account, token=token, kind="remote")

    # -- transport --

    def _connection(self) -> http.client.HTTPSConnection:
        """The kept-alive https connection (plain http goes through `loopback.exchange`)."""
        if self._conn is None:
            import http.client

            self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _path(self, *segments: str) -> str:
        # Every segment is percent-encoded: unlike wrangler, a name or id never breaks a path.
        encoded = "/".join(quote(segment, safe="") for segment in segments)
        return f"/accounts/{quote(self.account_id, safe='')}/workflows" + (
            f"/{encoded}" if encoded else ""
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = _NO_BODY,
    ) -> tuple[Any, dict[str, Any]]:
        """Send one request; return the envelope's `result` and `result_info` or raise ApiError."""
        target = self._prefix + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            target += "?" + urlencode(params)
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not _NO_BODY:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        status, response_headers, raw = self._send(method, target, data, headers)
        return self._unwrap(path, status, response_headers, raw)

    def _send(
        self, method: str, target: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """One exchange; the response headers come back with lower-case names."""
        if self._scheme == "http":
            from .loopback import exchange

            try:
                return exchange(
                    self._host,
                    self._port or 80,
                    method,
                    target,
                    headers,
                    data,
                    timeout=self.timeout,
                )
            except OSError as exc:
                raise self._unreachable(str(exc) or type(exc).__name__) from None
        import http.client

        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, target, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                names = {name.lower(): value for name, value in response.getheaders()}
                return response.status, names, raw
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed meanwhile: retry once, afresh.
                self.close()
                if attempt == 2:
                    raise self._unreachable("the connection was closed") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._unreachable(str(exc) or type(exc).__name__) from None
        raise AssertionError("unreachable")

    def _unreachable(self, reason: str) -> ApiError:
        if self.kind == "remote":
            return ApiError(
                f"Could not reach the Cloudflare API at {self.base_url} ({reason}). Check "
                "your network connection, or CLOUDFLARE_API_BASE_URL if you set it."
            )
        return ApiError(
            f'Could not connect to {self.description} ({reason}). Make sure "durable dev" is '
            "running (without one, leave out --port and the CLI uses the store directly)."
        )

    def _unwrap(
        self, path: str, status: int, headers: Mapping[str, str], raw: bytes
    ) -> tuple[Any, dict[str, Any]]:
        try:
            envelope = json.loads(raw) if raw else {}
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            snippet = raw[:200].decode("utf-8", "replace").strip()
            raise ApiError(
                f"{self._failed(path)}: HTTP {status} with a body that is not a JSON envelope"
                + (f": {snippet}" if snippet else "."),
                http_status=status,
            )
        if 200 <= status < 300 and envelope.get("success", True) is not False:
            info = envelope.get("result_info")
            return envelope.get("result"), info if isinstance(info, dict) else {}
        errors = [e for e in envelope.get("errors") or [] if isinstance(e, dict)]
        code = 10001
        if errors and isinstance(errors[0].get("code"), int):
            code = errors[0]["code"]
        text = "; ".join(f"{e.get('message', '')} [code: {e.get('code')}]" for e in errors)
        if not text:
            text = f"HTTP {status}"
        retry_after = headers.get("retry-after")
        if retry_after:
            text += f" (retry after {retry_after} s)"
        if self.kind == "remote":
            text = f"{self._failed(path)}: {text}"
        raise ApiError(text, code=code, http_status=status)

    def _failed(self, path: str) -> str:
        if self.kind == "remote":
            return f"A request to the Cloudflare API ({path}) failed"
        return f"durable dev answered {path}"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- operations --

    def list_workflows(self, *, page: int = 1, per_page: int | None = None) -> Page:
        result, info = self.request("GET", self._path(), query={"page": page, "per_page": per_page})
        return Page(list(result or []), info)

    def get_workflow(self, name: str) -> dict[str, Any]:
        result, _ = self.request("GET", self._path(name))
        return dict(result or {})

    def delete_workflow(self, name: str) -> dict[str, Any]:
        result, _ = self.request("DELETE", self._path(name))
        return dict(result or {})

    def create_instance(
        self, name: str, *, instance_id: str | None = None, params: Any = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if instance_id is not None:
            body["instance_id"] = instance_id
        if params is not None:
            body["params"] = params
        result, _ = self.request("POST", self._path(name, "instances"), body=body)
        return dict(result or {})

    def list_instances(
        self,
        name: str,
        *,
        status: str | None = None,
        page: int = 1,
        per_page: int | None = None,
        direction: str = "desc",
    ) -> Page:
        query: dict[str, Any] = {"status": status, "per_page": per_page, "direction": direction}
        path = self._path(name, "instances")
        if self.kind != "remote":
            result, info = self.request("GET", path, query={**query, "page": page})
            return Page(list(result or []), info)
        # Cloudflare pages instance lists by cursor (wrangler moved to it when page numbers
        # proved unreliable): page N is N requests, each following the previous cursor.
        cursor: str | None = None
        for number in range(1, page + 1):
            result, info = self.request("GET", path, query={**query, "cursor": cursor})
            if number == page:
                return Page(list(result or []), {**info, "page": page})
            cursor = info.get("cursor") or None
            if not cursor:
                break
        return Page([], {"page": page, "count": 0})

    def get_instance(self, name: str, instance_id: str) -> dict[str, Any]:
        result, _ = self.request("GET", self._path(name, "instances", instance_id))
        return dict(result or {})

    def change_status(
        self, name: str, instance_id: str, action: str, from_step: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"status": action}
        if from_step is not None:
            body["from"] = from_step
        result, _ = self.request(
            "PATCH", self._path(name, "instances", instance_id, "status"), body=body
        )
        return dict(result or {})

    def send_event(self, name: str, instance_id: str, event_type: str, payload: Any) -> None:
        # The body *is* the payload (any JSON value), as in Cloudflare's API.
        self.request(
            "POST", self._path(name, "instances", instance_id, "events", event_type), body=payload
        )

    def delete_instances(self, name: str, ids: list[str]) -> dict[str, Any]:
        result, _ = self.request(
            "POST", self._path(name, "instances", "batch", "delete"), body={"instances": ids}
        )
        return dict(result or {})


# --- choosing the target ----------------------------------------------------------------------


def connect(
    config: ProjectConfig | None,
    *,
    persist_dir: Path | None = None,
    remote: bool = False,
    port: int | None = None,
    embedded: bool = False,
    environ: Mapping[str, str] | None = None,
) -> ManagementClient:
    """The client for this invocation.

    `remote` → Cloudflare. Otherwise the `durable dev` named by the discovery file in
    `persist_dir`; else, with `port`, a `durable dev` on 127.0.0.1:port (like wrangler's
    `--local --port`); else the store itself: offline, or `embedded` with an engine.
    """
    environ = os.environ if environ is None else environ
    if remote:
        return HttpClient.cloudflare(environ)
    if config is None or persist_dir is None:
        raise ConfigError("A wrangler configuration is needed to manage local workflows.")
    from .discovery import find_server

    token = environ.get("DURABLE_API_TOKEN") or None
    server = find_server(persist_dir)
    if server is not None:
        return HttpClient.local(server.url, token=server.api_token or token)
    if port is not None:
        return HttpClient.local(f"http://127.0.0.1:{port}", token=token)
    from .service_client import ServiceClient

    return ServiceClient(config, persist_dir, embedded=embedded)
