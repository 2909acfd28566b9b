"""A small fake of the JavaScript side, enough for the production SDK's Python layer to run on CPython.

It models what the SDK's workflow and binding code relies on, with Pyodide's conversion rules:

* Python -> JS (`to_js`): str/bool/numbers stay, None is `undefined`, `jsnull` is `null`, list and
  tuple become Array, dict becomes Map (or what `dict_converter` makes of its entries), set becomes
  Set, bytes-like becomes Uint8Array, anything else goes to `default_converter` (or a PyProxy).
* JS -> Python at a call boundary: primitives convert, and a JS number with no fractional part
  becomes an int if it is a safe integer
  (so 5.0 arrives as 5, -0.0 as 0, 2.0**60 stays a float); objects stay proxies.
* `JsProxy.to_py`: Array -> list, plain Object and Map -> dict, Set -> set, Uint8Array ->
  memoryview (Pyodide copies buffers into a memoryview), anything else to `default_converter`.
* Crossing RPC (a step result stored by the engine, a workflow output) is a structured clone:
  functions and PyProxies cannot be cloned.
* A Python exception thrown into JS becomes a `PythonError` whose `type` is the class name and
  whose message is the formatted traceback.
"""

from __future__ import annotations

import math
import traceback
import types
from collections.abc import Callable, Iterable
from typing import Any


class _JsNull:
    def __repr__(self) -> str:
        return "jsnull"


jsnull = _JsNull()


class _Constructor:
    def __init__(self, name: str) -> None:
        self.name = name


class JsProxy:
    """A JS object seen from Python."""

    js_type = "Object"

    @property
    def constructor(self) -> _Constructor:
        return _Constructor(self.js_type)

    def to_py(self, *, default_converter: Callable[..., Any] | None = None) -> Any:
        return to_py(self, default_converter)


class JsObject(JsProxy):
    """A plain JS object (or, with `js_type`, an instance of a named class)."""

    def __init__(self, props: dict[str, Any] | None = None, js_type: str = "Object") -> None:
        object.__setattr__(self, "_props", dict(props or {}))
        object.__setattr__(self, "js_type", js_type)

    def __getattr__(self, name: str) -> Any:
        props = object.__getattribute__(self, "_props")
        if name not in props:
            # Pyodide raises AttributeError for a property that is undefined
            raise AttributeError(name)
        return boundary(props[name])

    def __setattr__(self, name: str, value: Any) -> None:
        self._props[name] = to_js(value)

    def __repr__(self) -> str:
        return f"[{self.js_type} {self._props!r}]"


class JsArray(JsProxy):
    js_type = "Array"

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.items = list(items)

    @property
    def length(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return (boundary(v) for v in self.items)

    def __getitem__(self, index: int) -> Any:
        return boundary(self.items[index])

    def push(self, value: Any) -> None:
        self.items.append(value)


class JsMap(JsProxy):
    js_type = "Map"

    def __init__(self, entries: Iterable[tuple[Any, Any]] = ()) -> None:
        self.entries = dict(entries)


class JsSet(JsProxy):
    js_type = "Set"

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.items = list(dict.fromkeys(items))


class JsUint8Array(JsProxy):
    js_type = "Uint8Array"

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)


class JsDate(JsProxy):
    js_type = "Date"

    def __init__(self, ms: float) -> None:
        # TimeClip: a Date holds whole milliseconds (new Date(1.9) is 1 ms)
        self.ms = float(math.trunc(ms)) if math.isfinite(ms) else math.nan

    def getTime(self) -> float:  # noqa: N802 - the JS name
        return self.ms


class JsError(JsProxy):
    js_type = "Error"

    def __init__(self, message: str, name: str = "Error", type_: str | None = None) -> None:
        self.name = name
        self.message = message
        self.type = type_
        if name == "PythonError":
            self.js_type = "PythonError"

    def toString(self) -> str:  # noqa: N802 - the JS name
        return f"{self.name}: {self.message}" if self.message else self.name


class PyProxy(JsProxy):
    """A Python object handed to JS by reference (functions, unconvertible objects)."""

    js_type = "PyProxy"

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self, *args: Any) -> Any:
        return self.obj(*args)

    def destroy(self) -> None:
        pass


class JsException(Exception):
    """A JS error caught in Python (pyodide.ffi.JsException).

    Made from the JS error, or as durable's engine makes one (`JsException(message, name)`),
    which it does while it serves the JS side of the oracle (conformance_engine_js)."""

    def __init__(self, error: JsError | str, name: str = "Error") -> None:
        if isinstance(error, str):
            error = JsError(error, name)
        super().__init__(error.toString())
        self.js_error = error

    @property
    def name(self) -> str:
        return self.js_error.name

    @property
    def message(self) -> str:
        return self.js_error.message


def python_error(exc: BaseException) -> JsError:
    """The JS error a Python exception becomes when it escapes into JS (a PythonError)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return JsError(text, name="PythonError", type_=type(exc).__name__)


def _is_integral_number(value: Any) -> bool:
    return (
        isinstance(value, float) and value == value and value not in (float("inf"), -float("inf"))
    )


def boundary(value: Any) -> Any:
    """What Python receives for a JS value: primitives convert, objects stay proxies.

    A number that `Number.isSafeInteger` accepts becomes an int (pyodide src/core/js2python.js).
    """
    if _is_integral_number(value) and float(value).is_integer() and abs(value) <= 2**53 - 1:
        return int(value)
    return value


def to_py(value: Any, default_converter: Callable[..., Any] | None = None) -> Any:
    def convert(v: Any) -> Any:
        v = boundary(v)
        if isinstance(v, JsArray):
            return [convert(x) for x in v.items]
        if isinstance(v, JsObject) and v.js_type == "Object":
            return {k: convert(x) for k, x in v._props.items()}
        if isinstance(v, JsMap):
            return {convert(k): convert(x) for k, x in v.entries.items()}
        if isinstance(v, JsSet):
            return {convert(x) for x in v.items}
        if isinstance(v, JsUint8Array):
            return memoryview(v.data)
        if isinstance(v, JsProxy) and default_converter is not None:
            return default_converter(v, convert, {})
        return v

    return convert(value)


def to_js(
    value: Any,
    *,
    depth: int = -1,
    default_converter: Callable[..., Any] | None = None,
    dict_converter: Callable[..., Any] | None = None,
    **_options: Any,
) -> Any:
    def convert(v: Any) -> Any:
        if v is None or v is jsnull or isinstance(v, (str, bool, int, float, JsProxy)):
            return v
        if isinstance(v, (list, tuple)):
            return JsArray(convert(x) for x in v)
        if isinstance(v, dict):
            entries = [(k, convert(x)) for k, x in v.items()]
            return dict_converter(entries) if dict_converter is not None else JsMap(entries)
        if isinstance(v, (set, frozenset)):
            return JsSet(convert(x) for x in v)
        if isinstance(v, (bytes, bytearray, memoryview)):
            return JsUint8Array(bytes(v))
        if default_converter is not None:
            return default_converter(v, convert, {})
        return PyProxy(v)

    return convert(value)


def structured_clone(value: Any) -> Any:
    """A value after crossing RPC into the Workflows engine's storage and back."""
    if isinstance(value, JsArray):
        return JsArray(structured_clone(x) for x in value.items)
    if isinstance(value, JsObject):
        # A clone keeps own properties only: an instance of a class arrives as a plain object
        return JsObject({k: structured_clone(x) for k, x in value._props.items()})
    if isinstance(value, JsMap):
        return JsMap((structured_clone(k), structured_clone(x)) for k, x in value.entries.items())
    if isinstance(value, JsSet):
        return JsSet(structured_clone(x) for x in value.items)
    if isinstance(value, JsUint8Array):
        return JsUint8Array(value.data)
    if isinstance(value, JsDate):
        return JsDate(value.ms)
    if isinstance(value, JsError):
        return JsError(value.message, value.name)
    if isinstance(value, PyProxy):
        raise JsException(JsError(f"{value.obj!r} could not be cloned.", "DataCloneError"))
    return value


class _ObjectNamespace:
    @staticmethod
    def fromEntries(entries: Iterable[Any]) -> JsObject:  # noqa: N802 - the JS name
        return JsObject({str(k): v for k, v in entries})


class _New:
    def __init__(self, factory: Callable[..., Any], name: str) -> None:
        self.new = factory
        self.name = name


def make_modules(compat_flags: types.ModuleType) -> dict[str, types.ModuleType]:
    """Fresh `js`, `pyodide`, `pyodide.ffi`, `pyodide.http` and runtime helper modules."""
    js = types.ModuleType("js")
    js.Object = _ObjectNamespace  # type: ignore[attr-defined]
    js.Date = _New(JsDate, "Date")  # type: ignore[attr-defined]
    js.Error = _New(lambda message="": JsError(str(message)), "Error")  # type: ignore[attr-defined]
    js.Array = _New(JsArray, "Array")  # type: ignore[attr-defined]
    js.queueMicrotask = lambda callback: None  # type: ignore[attr-defined]

    def js_getattr(name: str) -> Any:
        # Web classes the SDK names at import time (Headers, Response, Blob, ...)
        return _New(lambda *a, **k: JsObject(js_type=name), name)

    setattr(js, "__getattr__", js_getattr)  # noqa: B010 - a module-level __getattr__

    pyodide = types.ModuleType("pyodide")
    pyodide.__version__ = "0.28.2"  # type: ignore[attr-defined]
    pyodide.__path__ = []  # type: ignore[attr-defined]
    ffi = types.ModuleType("pyodide.ffi")
    for name, obj in {
        "JsProxy": JsProxy,
        "JsBuffer": JsUint8Array,
        "JsException": JsException,
        "to_js": to_js,
        "create_proxy": PyProxy,
        "create_once_callable": PyProxy,
        "destroy_proxies": lambda proxies: None,
        "jsnull": jsnull,
    }.items():
        setattr(ffi, name, obj)
    http = types.ModuleType("pyodide.http")

    class FetchResponse:
        pass

    async def pyfetch(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("no network in the conformance fake")

    http.FetchResponse = FetchResponse  # type: ignore[attr-defined]
    http.pyfetch = pyfetch  # type: ignore[attr-defined]
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    pyodide.http = http  # type: ignore[attr-defined]

    helper = types.ModuleType("_pyodide_entrypoint_helper")
    helper.patchWaitUntil = lambda ctx: None  # type: ignore[attr-defined]
    return {
        "js": js,
        "pyodide": pyodide,
        "pyodide.ffi": ffi,
        "pyodide.http": http,
        "_pyodide_entrypoint_helper": helper,
        "_cloudflare_compat_flags": compat_flags,
    }
