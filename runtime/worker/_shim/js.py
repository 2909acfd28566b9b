"""`js` on CPython: the JavaScript globals Python Workers code imports, where they make sense here.

In production `js` is the JavaScript global scope seen through Pyodide. Locally there is no
JavaScript, so this module offers plain-Python equivalents of the globals binding examples use:
`Object.fromEntries` (the `dict_converter` of `to_js`) gives a `JsDict`, which durable's bindings
accept wherever production accepts a JS object; `JSON`, `Date`, `console`, `fetch`, `Response`,
`URL`. Any other name raises an error that says it needs the Workers runtime.
"""

from __future__ import annotations

import json as _json
import sys as _sys
import time as _time
import urllib.parse as _urlparse
from collections.abc import Iterable as _Iterable
from typing import Any as _Any

from durable.runtime.worker.fetch_api import Response as _Response
from durable.runtime.worker.fetch_api import fetch
from durable.runtime.worker.jsdict import JsDict as _JsDict
from durable.runtime.worker.unavailable import not_available as _not_available

__all__ = ["JSON", "URL", "Date", "Object", "Response", "console", "fetch"]


class Object:
    """The static methods of JavaScript's `Object` that Python code uses."""

    @staticmethod
    def fromEntries(entries: _Iterable[_Any]) -> _JsDict:  # noqa: N802 - the JS name
        # JS property keys are strings: {1: "a"} becomes {"1": "a"}, as in production
        return _JsDict((str(key), value) for key, value in entries)

    @staticmethod
    def keys(obj: _Any) -> list[str]:
        return [str(key) for key in dict(obj)]

    @staticmethod
    def values(obj: _Any) -> list[_Any]:
        return list(dict(obj).values())

    @staticmethod
    def entries(obj: _Any) -> list[list[_Any]]:
        return [[str(key), value] for key, value in dict(obj).items()]

    @staticmethod
    def new() -> _JsDict:
        return _JsDict()


class JSON:
    @staticmethod
    def stringify(value: _Any, replacer: _Any = None, space: int | str | None = None) -> str:
        if replacer is not None:
            raise _not_available("js.JSON", "stringify(value, replacer)")
        if space is None:
            return _json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return _json.dumps(value, indent=space, ensure_ascii=False)

    @staticmethod
    def parse(text: str) -> _Any:
        return _json.loads(text, object_hook=_JsDict)


class _DateValue:
    """A JavaScript Date: milliseconds since the epoch, UTC."""

    def __init__(self, ms: float) -> None:
        self._ms = float(ms)

    def getTime(self) -> float:  # noqa: N802 - the JS name
        return self._ms

    valueOf = getTime  # noqa: N815 - the JS name

    def toISOString(self) -> str:  # noqa: N802 - the JS name
        seconds, ms = divmod(int(self._ms), 1000)
        return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(seconds)) + f".{ms:03d}Z"

    def __repr__(self) -> str:
        return f"Date({self.toISOString()})"


class Date:
    @staticmethod
    def now() -> int:
        return _time.time_ns() // 1_000_000

    @staticmethod
    def new(value: float | str | None = None) -> _DateValue:
        if value is None:
            return _DateValue(Date.now())
        if isinstance(value, str):
            import datetime as _datetime

            parsed = _datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=_datetime.UTC)
            return _DateValue(parsed.timestamp() * 1000)
        return _DateValue(value)


class _Console:
    """`console.*` prints like wrangler dev shows it: log/info/debug on stdout, warn/error on
    stderr, arguments joined by spaces."""

    @staticmethod
    def _print(stream: _Any, args: tuple[_Any, ...]) -> None:
        print(*args, file=stream, flush=True)

    def log(self, *args: _Any) -> None:
        self._print(_sys.stdout, args)

    info = debug = log

    def warn(self, *args: _Any) -> None:
        self._print(_sys.stderr, args)

    error = warn


console = _Console()


class Response:
    """`js.Response`: `Response.new(body, init)` and `Response.json(data, init)`, giving
    `workers.Response` (what durable's server accepts from a fetch handler)."""

    @staticmethod
    def new(body: _Any = None, init: _Any = None) -> _Response:
        options = dict(init or {})
        return _Response(body, status=options.get("status", 200), headers=options.get("headers"))

    @staticmethod
    def json(data: _Any, init: _Any = None) -> _Response:
        options = dict(init or {})
        response: _Response = _Response.json(
            data, status=options.get("status", 200), headers=options.get("headers")
        )
        return response


class _URLValue:
    def __init__(self, url: str, base: str | None = None) -> None:
        if base is not None:
            url = _urlparse.urljoin(base, url)
        parts = _urlparse.urlsplit(url)
        if not parts.scheme:
            raise TypeError(f"Invalid URL: {url!r}")
        self.protocol = parts.scheme + ":"
        self.host = parts.netloc.rsplit("@", 1)[-1]
        self.hostname = parts.hostname or ""
        self.port = str(parts.port) if parts.port is not None else ""
        self.pathname = parts.path or "/"
        self.search = f"?{parts.query}" if parts.query else ""
        self.hash = f"#{parts.fragment}" if parts.fragment else ""
        self.origin = f"{parts.scheme}://{self.host}"
        self.href = _urlparse.urlunsplit(
            (parts.scheme, parts.netloc, self.pathname, parts.query, parts.fragment)
        )
        self.searchParams = _JsDict(_urlparse.parse_qsl(parts.query))  # noqa: N815

    def toString(self) -> str:  # noqa: N802 - the JS name
        return self.href

    __str__ = toString


class URL:
    @staticmethod
    def new(url: str, base: str | None = None) -> _URLValue:
        return _URLValue(url, base)


def __getattr__(name: str) -> _Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise _not_available("js", name)
