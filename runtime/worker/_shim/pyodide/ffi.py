"""`pyodide.ffi` on CPython: the conversions binding code calls, as no-ops over Python values.

Production converts Python values to JS objects before handing them to a binding; durable's
bindings take Python values directly, so `to_js` returns a Python value of the same shape: with
`dict_converter=Object.fromEntries` a dict becomes a `JsDict` (string keys), as the JS object it
would be. Nothing here is ever a real JS object, so no value is an instance of `JsProxy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from durable.runtime.errors import JsException
from durable.runtime.worker.unavailable import not_available

__all__ = [
    "JsException",
    "JsProxy",
    "create_once_callable",
    "create_proxy",
    "destroy_proxies",
    "to_js",
]


class JsProxy:
    """The type of JS objects seen from Python; there are none on CPython."""


def to_js(
    value: Any,
    *,
    depth: int = -1,
    default_converter: Callable[..., Any] | None = None,
    dict_converter: Callable[..., Any] | None = None,
    **_options: Any,
) -> Any:
    """`value` with dicts passed through `dict_converter` (or kept as dicts, JS Maps) and
    tuples as lists, recursively."""

    def convert(item: Any, level: int) -> Any:
        if level == 0:
            return item
        if isinstance(item, dict):
            entries = [(key, convert(v, level - 1)) for key, v in item.items()]
            return dict_converter(entries) if dict_converter is not None else dict(entries)
        if isinstance(item, (list, tuple)):
            return [convert(v, level - 1) for v in item]
        return item

    return convert(value, depth)


class _Proxy:
    """What `create_proxy` returns: calls go to the object; `destroy()` is accepted."""

    def __init__(self, obj: Any, once: bool = False) -> None:
        self._obj = obj
        self._once = once
        self._used = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._once and self._used:
            raise JsException("This borrowed proxy was automatically destroyed", "Error")
        self._used = True
        return self._obj(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)

    def destroy(self) -> None:
        """Nothing to free on CPython."""


def create_proxy(obj: Any, **_options: Any) -> Any:
    return _Proxy(obj)


def create_once_callable(obj: Callable[..., Any], **_options: Any) -> Any:
    return _Proxy(obj, once=True)


def destroy_proxies(proxies: Any) -> None:
    """Nothing to free on CPython."""


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise not_available("pyodide.ffi", name)
