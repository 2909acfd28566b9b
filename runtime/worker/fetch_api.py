"""`Request`, `Response`, `Headers` and `fetch` as the `workers` SDK (workers-runtime-sdk 1.9.x)
exposes them, with the observable rules of the JS Fetch API it wraps: lower-cased sorted header
names, duplicates comma-joined except `Set-Cookie`, `text/plain;charset=UTF-8` for `str` bodies,
bodies readable once (`OSError("Body already used")`), `TypeError` for unsupported body types.

What production returns as a JS object (`body`, `buffer()`) is a plain-Python stand-in from
`streams`; `js_object` itself does not exist locally and says so. An incoming request's `cf` is
Miniflare's placeholder (`LOCAL_CF`), what `wrangler dev` gives when it cannot fetch the real one.

`Request.from_asgi`, `coerce_response` and `to_asgi_start_and_body` serve the dev server.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import email.parser
import email.policy
import json as _json
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterable, Mapping
from email.message import Message
from http import HTTPMethod, HTTPStatus
from http.client import HTTPMessage
from typing import Any, overload
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from durable.runtime.errors import HttpStatusError

from .blob import Blob, File, FormData
from .jsdict import JsDict
from .streams import ArrayBuffer, ReadableStream, Uint8Array

__all__ = [
    "Headers",
    "HeadersInit",
    "HttpStatusError",
    "LOCAL_CF",
    "Request",
    "Response",
    "as_incoming",
    "coerce_response",
    "fetch",
    "incoming_cf",
    "to_asgi_start_and_body",
]

HeadersInit = Mapping[str, str] | Message | Iterable[tuple[str, str]]
# What production accepts as a body, with durable's stand-ins for the JS objects
BodyInit = str | bytes | FormData | ArrayBuffer | Uint8Array | ReadableStream | None
_BODY_TYPES = (str, bytes, FormData, ArrayBuffer, Uint8Array, ReadableStream)

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_REDIRECT_MODES = ("follow", "manual", "error")
_TEXT_PLAIN = "text/plain;charset=UTF-8"
_FORM_TYPES_ERROR = (
    "Unrecognized Content-Type header value. FormData can only parse the following MIME "
    "types: multipart/form-data, application/x-www-form-urlencoded"
)

# `request.cf` of an incoming request: Miniflare's `fallbackCf` (miniflare/src/cf.ts), the
# placeholder `wrangler dev` uses when it cannot fetch the real values from
# workers.cloudflare.com/cf.json, and always under test. Fixed values, so code that reads
# `request.cf.country` behaves the same on every machine and offline.
LOCAL_CF: dict[str, Any] = {
    "asOrganization": "",
    "asn": 395747,
    "colo": "DFW",
    "city": "Austin",
    "region": "Texas",
    "regionCode": "TX",
    "metroCode": "635",
    "postalCode": "78701",
    "country": "US",
    "continent": "NA",
    "timezone": "America/Chicago",
    "latitude": "30.27130",
    "longitude": "-97.74260",
    "clientTcpRtt": 0,
    "httpProtocol": "HTTP/1.1",
    "requestPriority": "weight=192;exclusive=0",
    "tlsCipher": "AEAD-AES128-GCM-SHA256",
    "tlsVersion": "TLSv1.3",
    "tlsClientAuth": {
        "certPresented": "0",
        "certVerified": "NONE",
        "certRevoked": "0",
        "certIssuerDN": "",
        "certSubjectDN": "",
        "certIssuerDNRFC2253": "",
        "certSubjectDNRFC2253": "",
        "certIssuerDNLegacy": "",
        "certSubjectDNLegacy": "",
        "certSerial": "",
        "certIssuerSerial": "",
        "certSKI": "",
        "certIssuerSKI": "",
        "certFingerprintSHA1": "",
        "certFingerprintSHA256": "",
        "certNotBefore": "",
        "certNotAfter": "",
    },
    "edgeRequestKeepAliveStatus": 0,
    "clientTrustScore": 99,
    "botManagement": {
        "corporateProxy": False,
        "verifiedBot": False,
        "ja3Hash": "25b4882c2bcb50cd6b469ff28c596742",
        "staticResource": False,
        "detectionIds": [],
        "score": 99,
    },
}


def _js_object(value: Any) -> Any:
    if isinstance(value, dict):
        return JsDict((key, _js_object(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_js_object(item) for item in value]
    return value


def incoming_cf() -> JsDict:
    """A fresh `cf` for one incoming request (user code may change its copy)."""
    result: JsDict = _js_object(LOCAL_CF)
    return result


# --- headers ----------------------------------------------------------------------------------


def _header_pairs(init: HeadersInit | None) -> list[tuple[str, str]]:
    """Turn any accepted headers argument into validated, lower-cased (name, value) pairs."""
    if init is None:
        return []
    if isinstance(init, Message):
        raw: Iterable[Any] = init.items()
    elif isinstance(init, Mapping):
        raw = init.items()
    elif isinstance(init, str | bytes) or not isinstance(init, Iterable):
        raise TypeError("Received unexpected type for headers argument")
    else:
        raw = init
    pairs: list[tuple[str, str]] = []
    for item in raw:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise TypeError("Headers must be a dict or a list of (name, value) pairs")
        name, value = str(item[0]), str(item[1]).strip(" \t\r\n")
        if not _TOKEN.match(name):
            raise TypeError(f"Invalid header name: {name!r}")
        if any(c in value for c in "\r\n\0"):
            raise TypeError(f"Invalid header value for {name!r}")
        pairs.append((name.lower(), value))
    return pairs


def _combine(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sort by name and comma-join duplicates (not `set-cookie`), as JS `Headers` iterates."""
    out: list[tuple[str, str]] = []
    index: dict[str, int] = {}
    for name, value in sorted(pairs, key=lambda p: p[0]):
        if name != "set-cookie" and name in index:
            i = index[name]
            out[i] = (name, f"{out[i][1]}, {value}")
        else:
            index[name] = len(out)
            out.append((name, value))
    return out


class Headers(HTTPMessage, Mapping[str, str]):  # type: ignore[misc]
    """Case-insensitive headers: an `http.client.HTTPMessage` that is also a `Mapping`.

    `get`/`[]` return one value (comma-joined for repeated headers, the first cookie for
    `set-cookie`), `get_all` every value, and a missing name gives `None` as in HTTPMessage.
    """

    def __init__(self, init: HeadersInit | None = None) -> None:
        super().__init__()
        for name, value in _combine(_header_pairs(init)):
            self[name] = value

    def __repr__(self) -> str:
        return f"Headers({list(self.items())!r})"


def _has(pairs: list[tuple[str, str]], name: str) -> bool:
    return any(n == name for n, _ in pairs)


def _encode_body(body: object, kind: str) -> tuple[bytes | None, str | None]:
    """The body's bytes and the content type JS gives it when the headers set none."""
    if body is None or isinstance(body, bytes):
        return body, None
    if isinstance(body, str):
        return body.encode("utf-8"), _TEXT_PLAIN
    if isinstance(body, FormData):
        return _encode_form(body)
    if isinstance(body, ArrayBuffer | Uint8Array):
        return body.to_bytes(), None
    if isinstance(body, ReadableStream):
        return body._drain(), None
    if _is_stream(body):  # a binding's ReadableStream (an R2 object's body): read it whole
        data = body._take_bytes()  # type: ignore[attr-defined]
        if isinstance(data, bytes):
            return data, None
    raise TypeError(f"Unsupported type in {kind}: {type(body).__name__}")


def _form_name(name: str) -> str:
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _encode_form(form: FormData) -> tuple[bytes, str]:
    """multipart/form-data, as JS serializes a FormData body."""
    boundary = f"----formdata-durable-{secrets.token_hex(12)}"
    out = bytearray()
    for key, value in form._items:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{_form_name(key)}"'.encode()
        if isinstance(value, Blob):
            filename = value.name if isinstance(value, File) else "blob"
            content_type = value.type or "application/octet-stream"
            out += f'; filename="{_form_name(filename)}"\r\nContent-Type: {content_type}'.encode()
            data = value._data
        else:
            data = str(value).encode()
        out += b"\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _parse_form(data: bytes, content_type: str) -> FormData:
    """What JS `formData()` makes of a body: urlencoded or multipart, else a TypeError."""
    mime = content_type.split(";", 1)[0].strip().lower()
    form = FormData()
    if mime == "application/x-www-form-urlencoded":
        for key, value in parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True):
            form.append(key, value)
        return form
    if mime != "multipart/form-data":
        raise TypeError(_FORM_TYPES_ERROR)
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + data)
    if not message.is_multipart() or message.get_param("boundary") is None:
        raise TypeError("FormData parse error: the multipart body has no valid boundary")
    for part in message.get_payload():
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise TypeError("FormData parse error: a part has no name")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            form.append(name, payload.decode("utf-8", "replace"))
        else:
            # the fetch spec's multipart parser: a file part with no Content-Type is text/plain
            file_type = str(part.get("content-type") or "text/plain")
            form.append(name, File([payload], filename, file_type))
    return form


def _no_js_object(kind: str) -> AttributeError:
    return AttributeError(
        f"{kind}.js_object is the JavaScript {kind} that production wraps; durable runs your "
        f"code on CPython, where there is no JavaScript object behind a {kind}. Use its Python "
        "API (headers, text(), bytes(), json(), form_data(), body…) instead."
    )


def _is_stream(body: object) -> bool:
    return callable(getattr(body, "_take_bytes", None))


class _Body:
    """The body-reading half shared by `Request` and `Response`."""

    _body: bytes | None
    _used: bool
    _headers: list[tuple[str, str]]
    _stream: ReadableStream | None = None  # made on first access to `body`

    @property
    def headers(self) -> Headers:
        """A fresh copy on each access: as in the SDK, editing it does not change the message."""
        return Headers(self._headers)

    @property
    def body_used(self) -> bool:
        return self._used

    def _raise_if_failed(self) -> None:
        if self._used:
            raise OSError("Body already used")

    def _consume(self) -> bytes:
        self._raise_if_failed()
        if self._body is None:  # a null body never counts as used, as in JS
            return b""
        data = self._body if self._stream is None else self._stream._drain()
        self._used = True
        return data

    def _mark_used(self) -> None:
        self._used = True

    def _copy(self) -> Any:
        clone = copy.copy(self)
        clone._stream = None  # a clone has a stream of its own
        return clone

    @property
    def body(self) -> ReadableStream | None:
        """The body as production hands it over: a JS ReadableStream (None for no body)."""
        if self._body is None:
            return None
        if self._stream is None:
            self._stream = ReadableStream(b"" if self._used else self._body, self._mark_used)
        return self._stream

    async def bytes(self) -> bytes:
        return self._consume()

    async def text(self) -> str:
        return self._consume().decode("utf-8", errors="replace")

    async def buffer(self) -> ArrayBuffer:
        """The body as a JS ArrayBuffer: `.to_bytes()`, `.to_memoryview()`, `.to_py()`."""
        return ArrayBuffer(self._consume())

    async def blob(self) -> Blob:
        content_type = next((v for n, v in self._headers if n == "content-type"), "")
        return Blob([self._consume()], content_type.lower())

    async def form_data(self) -> FormData:
        """The body parsed by its Content-Type: urlencoded or multipart/form-data."""
        content_type = next((v for n, v in self._headers if n == "content-type"), "")
        return _parse_form(self._consume(), content_type)

    async def _parse_json(self, **kwargs: Any) -> Any:
        return _json.loads(await self.text(), **kwargs)


# --- Request ----------------------------------------------------------------------------------


def _normalize_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or (parts.scheme.lower() in ("http", "https") and not parts.netloc):
        raise TypeError(f"Invalid URL: {url!r}")
    path = parts.path or ("/" if parts.netloc else "")
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), path, parts.query, parts.fragment)
    )


def _method(value: str | HTTPMethod) -> HTTPMethod:
    try:
        return HTTPMethod(str(value).upper())
    except ValueError:
        raise TypeError(f"Invalid HTTP method: {value!r}") from None


class Request(_Body):
    """An HTTP request, with the API of the SDK's `workers.Request`."""

    _url: str
    _method: HTTPMethod
    _redirect: str
    _cf: Any

    def __init__(
        self,
        input: str | Request,
        *,
        method: str | HTTPMethod | None = None,
        headers: HeadersInit | None = None,
        body: BodyInit = None,
        redirect: str | None = None,
        cf: Any = None,
    ) -> None:
        if isinstance(input, Request):
            if input.body_used:
                raise TypeError("Cannot construct a Request with a Request whose body is used")
            self._url, self._method, self._body = input._url, input._method, input._body
            self._headers, self._redirect, self._cf = (
                list(input._headers),
                input._redirect,
                input._cf,
            )
            if body is None and input._body is not None:
                input._used = True  # JS moves the body stream into the new Request
        elif isinstance(input, str):
            self._url = _normalize_url(input)
            self._method, self._headers, self._body = HTTPMethod.GET, [], None
            self._redirect, self._cf = "follow", None
        else:
            raise TypeError(f"Request input must be a URL str or a Request, got {type(input)}")
        self._used = False
        if method is not None:
            self._method = _method(method)
        if headers is not None:
            self._headers = _header_pairs(headers)
        if body is not None:
            self._body, default_type = _encode_body(body, "Request")
            if default_type is not None and not _has(self._headers, "content-type"):
                self._headers.append(("content-type", default_type))
        if redirect is not None:
            if redirect not in _REDIRECT_MODES:
                raise TypeError(f"Invalid redirect mode {redirect!r}: use {_REDIRECT_MODES}")
            self._redirect = redirect
        if cf is not None:
            self._cf = _js_object(cf)  # a JS object in production: `request.cf.colo` reads it
        if self._body is not None and self._method in (HTTPMethod.GET, HTTPMethod.HEAD):
            raise TypeError("Request with a GET or HEAD method cannot have a body.")

    @classmethod
    def from_asgi(cls, scope: Mapping[str, Any], body: bytes, *, cf: Any = None) -> Request:
        """Build the Request a Worker sees from an ASGI HTTP `scope` and the full body; its
        `cf` is `incoming_cf()` unless given."""
        raw_headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        host = next((v for k, v in headers if k.lower() == "host"), None)
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope.get("path") or "/")
        query = (scope.get("query_string") or b"").decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")
        method = _method(scope.get("method", "GET"))
        keep_body = body and method not in (HTTPMethod.GET, HTTPMethod.HEAD)
        return cls(
            url,
            method=method,
            headers=headers,
            body=body if keep_body else None,
            cf=incoming_cf() if cf is None else cf,
        )

    def __repr__(self) -> str:
        return f"Request(method={self._method.value!r}, url={self._url!r})"

    @property
    def url(self) -> str:
        return self._url

    @property
    def method(self) -> HTTPMethod:
        return self._method

    @property
    def redirect(self) -> str:
        return self._redirect

    @property
    def cf(self) -> Any:
        """Cloudflare request properties: `LOCAL_CF` for an incoming request, else what the
        Request was constructed with (None by default), as in production."""
        return self._cf

    @property
    def js_object(self) -> Any:
        raise _no_js_object("Request")

    # The standard members workerd leaves unimplemented read as JS `undefined`, so None in
    # Python; `integrity` and `keepalive` are its defaults.
    @property
    def cache(self) -> str | None:
        return None

    @property
    def credentials(self) -> str | None:
        return None

    @property
    def destination(self) -> str | None:
        return None

    @property
    def integrity(self) -> str:
        return ""

    @property
    def is_history_navigation(self) -> bool | None:
        return None

    @property
    def keepalive(self) -> bool:
        return False

    @property
    def mode(self) -> str | None:
        return None

    @property
    def referrer(self) -> str | None:
        return None

    @property
    def referrer_policy(self) -> str | None:
        return None

    async def json(self, **kwargs: Any) -> Any:
        return await self._parse_json(**kwargs)

    def clone(self) -> Request:
        self._raise_if_failed()
        clone: Request = self._copy()
        return clone


def as_incoming(request: Request) -> Request:
    """`request`, given the `cf` of an incoming request if it has none (durable_env.fetch)."""
    if request._cf is None:
        request._cf = incoming_cf()
    return request


# --- Response ---------------------------------------------------------------------------------


class _JsonMethod:
    """`Response.json`: a builder on the class, an async body parser on an instance."""

    @overload
    def __get__(self, instance: None, owner: type[Response]) -> Callable[..., Any]: ...

    @overload
    def __get__(
        self, instance: Response, owner: type[Response] | None = None
    ) -> Callable[..., Coroutine[Any, Any, Any]]: ...

    def __get__(self, instance: Response | None, owner: type[Response] | None = None) -> Any:
        if instance is not None:
            return instance._parse_json

        def build(data: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(data, Response) and not args and not kwargs:
                return data._parse_json()  # the unbound form `await Response.json(resp)`
            return Response.from_json(data, *args, **kwargs)

        return build


class Response(_Body):
    """An HTTP response, with the API of the SDK's `workers.Response` (and of the
    `pyodide.http.FetchResponse` it extends: `buffer`, `memoryview`, `string`…)."""

    json = _JsonMethod()
    _web_socket: Any = None

    def __init__(
        self,
        body: BodyInit = None,
        status: HTTPStatus | int | None = None,
        status_text: str = "",
        headers: HeadersInit | None = None,
        web_socket: Any = None,
    ) -> None:
        if body is not None and not isinstance(body, _BODY_TYPES) and not _is_stream(body):
            raise TypeError(f"Unsupported type in Response: {type(body).__name__}")
        code = int(status) if status else 200
        # 101 is for the WebSocket handshake, which needs the socket (workerd's rule)
        if not 200 <= code <= 599 and not (code == 101 and web_socket):
            raise ValueError(
                f"Responses may only be constructed with status codes in the "
                f"range 200 to 599, inclusive; got {code}"
            )
        if body is not None and code in _NULL_BODY_STATUSES:
            raise TypeError(f"Response with null body status ({code}) cannot have a body.")
        self._status, self._status_text = code, status_text
        self._headers = _header_pairs(headers)
        self._body, default_type = _encode_body(body, "Response")
        if default_type is not None and not _has(self._headers, "content-type"):
            self._headers.append(("content-type", default_type))
        self._used, self._url, self._redirected = False, "", False
        if web_socket:
            self._web_socket = web_socket

    @classmethod
    def _from_parts(
        cls,
        body: bytes | None,
        status: int,
        status_text: str,
        headers: list[tuple[str, str]],
        url: str = "",
        redirected: bool = False,
    ) -> Response:
        """Build a Response without the constructor's checks (fetch results, clones)."""
        response = cls.__new__(cls)
        response._body, response._status, response._status_text = body, status, status_text
        response._headers, response._url, response._redirected = list(headers), url, redirected
        response._used = False
        return response

    def __repr__(self) -> str:
        parts = [f"status={self._status}"]
        if self._status_text:
            parts.append(f"status_text={self._status_text!r}")
        content_type = self.headers.get("content-type")
        if content_type:
            parts.append(f"content_type={content_type!r}")
        if self._url:
            parts.append(f"url={self._url!r}")
        return f"Response({', '.join(parts)})"

    @property
    def status(self) -> int:
        return self._status

    @property
    def status_text(self) -> str:
        return self._status_text

    @property
    def ok(self) -> bool:
        return 200 <= self._status <= 299

    @property
    def url(self) -> str:
        return self._url

    @property
    def redirected(self) -> bool:
        return self._redirected

    @property
    def type(self) -> str:
        return "default"

    @property
    def js_object(self) -> Any:
        raise _no_js_object("Response")

    @property
    def js_response(self) -> Any:
        raise _no_js_object("Response")

    async def memoryview(self) -> builtins.memoryview:
        return memoryview(self._consume())

    async def string(self) -> str:
        """The body as text: pyodide's older name for `text()`."""
        return await self.text()

    async def formData(self) -> FormData:  # noqa: N802 - the SDK keeps the JS spelling too
        return await self.form_data()

    def clone(self) -> Response:
        self._raise_if_failed()
        clone: Response = self._copy()
        return clone

    def replace_body(self, body: BodyInit) -> Response:
        """A new Response with this one's status and headers and another body."""
        return Response(body, self._status, self._status_text, self._headers)

    def raise_for_status(self) -> None:
        if 400 <= self._status < 600:
            raise HttpStatusError(self._status, self._status_text, self._url)

    @staticmethod
    def from_json(
        data: Any,
        status: HTTPStatus | int = HTTPStatus.OK,
        status_text: str = "",
        headers: HeadersInit | None = None,
    ) -> Response:
        """A JSON response: `json.dumps(data)` with `content-type: application/json` if unset."""
        pairs = _header_pairs(headers)
        if not _has(pairs, "content-type"):
            pairs.append(("content-type", "application/json"))
        return Response(_json.dumps(data), status, status_text, pairs)

    @staticmethod
    def redirect(url: str, status: HTTPStatus | int = HTTPStatus.FOUND) -> Response:
        code = int(status)
        if code not in _REDIRECT_STATUSES:
            raise ValueError(f"Invalid redirect status {code}: use one of 301, 302, 303, 307, 308")
        return Response(None, code, headers=[("location", _normalize_url(url))])


# --- server helpers ---------------------------------------------------------------------------


def coerce_response(value: object) -> Response:
    """Check what a fetch handler returned; anything but a `Response` is a clear `TypeError`."""
    if isinstance(value, Response):
        return value
    got = "None" if value is None else type(value).__name__
    hint = " (did you forget to await it?)" if asyncio.iscoroutine(value) else ""
    raise TypeError(f"fetch handler must return a workers.Response, got {got}{hint}")


def to_asgi_start_and_body(response: Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw ASGI header list and body bytes for sending `response` over ASGI."""
    if response.body_used:
        raise TypeError(
            "The Response body has already been used; return a fresh Response "
            "or clone() it before reading the body."
        )
    if response._web_socket is not None:
        raise TypeError(
            "The fetch handler returned a WebSocket upgrade response (web_socket=...); "
            "durable dev serves plain HTTP and cannot hand over a WebSocket."
        )
    body = response._body or b""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in _combine(response._headers)]
    if response.status not in _NULL_BODY_STATUSES and not _has(response._headers, "content-length"):
        headers.append((b"content-length", str(len(body)).encode("ascii")))
    return response.status, headers, body


# --- outbound fetch ---------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back unfollowed (redirect modes "manual" and "error")."""

    def redirect_request(self, *args: Any) -> None:
        return None


class _NoFormDefault(urllib.request.BaseHandler):
    """Undo urllib's default `Content-Type: application/x-www-form-urlencoded` (JS sets none)."""

    handler_order = 900  # after HTTPHandler has added its defaults

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        if "Content-type" not in req.headers:
            req.unredirected_hdrs.pop("Content-type", None)
        return req

    https_request = http_request


def _fetch_sync(request: Request) -> Response:
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoFormDefault()]
    if request.redirect != "follow":
        handlers.append(_NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    opener.addheaders = []  # no urllib User-Agent: send exactly the Request's headers
    headers = dict(_combine(request._headers))
    outbound = urllib.request.Request(
        request.url, data=request._body, method=request.method.value, headers=headers
    )
    try:
        raw = opener.open(outbound)
    except urllib.error.HTTPError as exc:  # 4xx/5xx (and unfollowed 3xx) are responses
        raw = exc
    except urllib.error.URLError as exc:
        raise OSError(f"fetch {request.url} failed: {exc.reason}") from exc
    with raw:
        status, url, reason = int(raw.status or 0), raw.geturl(), str(raw.reason or "")
        if status in _REDIRECT_STATUSES and request.redirect == "error":
            raise TypeError(f"fetch {request.url}: redirect ({status}) with redirect mode 'error'")
        data = raw.read()
        pairs = [(k.lower(), v.strip()) for k, v in raw.headers.items()]
    if status in _NULL_BODY_STATUSES or request.method is HTTPMethod.HEAD:
        data = None
    return Response._from_parts(data, status, reason, _combine(pairs), url, url != request.url)


async def fetch(resource: str | Request, **options: Any) -> Response:
    """Outbound HTTP like `workers.fetch`: HTTP error statuses come back as Responses.

    `options` are the `Request` options (`method`, `headers`, `body`, `redirect`, `cf`).
    Network failures raise `OSError`, as pyodide's `pyfetch` does.
    """
    request = Request(resource, **options)
    return await asyncio.to_thread(_fetch_sync, request)
