"""`HttpClient`: the management client over the Cloudflare REST API shape.

The same class talks to a running `durable dev` (`HttpClient.local`, found through its
discovery file) and to Cloudflare (`HttpClient.cloudflare`, `--remote`); only the base URL, the
account id and the token differ. Plain-http requests go through `loopback` (one exchange per
connection over a socket, so the CLI does not import `http.client`); `https` uses `http.client`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from durable.runtime.errors import ApiError, ConfigError, TransportError

from .base import LOCAL_ACCOUNT_ID, ManagementClient, Page

if TYPE_CHECKING:
    import http.client

CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4"
_NO_BODY = object()


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
        """Send one request; return the envelope's `result` and `result_info`.

        Raises TransportError when no answer comes, ApiError when the answer is an error.
        """
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

    def _unreachable(self, reason: str) -> TransportError:
        if self.kind == "remote":
            return TransportError(
                f"Could not reach the Cloudflare API at {self.base_url} ({reason}). Check "
                "your network connection, or CLOUDFLARE_API_BASE_URL if you set it."
            )
        return TransportError(
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

    def list_workflows(
        self, *, page: int = 1, per_page: int | None = None, counts: bool = True
    ) -> Page:
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
