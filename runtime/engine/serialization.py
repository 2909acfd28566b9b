"""What crosses the engine boundary, crosses it the way Cloudflare's does.

On Cloudflare a value returned from a step, from `run()`, or sent as params or an event payload
goes through the SDK's `python_to_rpc` (workers/rpc.py) into JavaScript, is stored with structured
clone, and comes back through Pyodide's conversion and `python_from_rpc`. Locally every such value
is encoded as JSON on its way into the store, so that what passes here passes in production and
comes back as it would:

* dicts come back as `JsDict` (a dict that also allows attribute access), lists as lists;
* a float with no fractional part comes back as an int (5.0 -> 5, -0.0 -> 0), as Pyodide converts
  a JS number that is a safe integer; NaN and the infinities stay floats;
* datetimes survive as naive UTC datetimes with millisecond precision (a JS Date);
* a set comes back as a set (a JS Set), bytes and memoryviews as a memoryview (a Uint8Array),
  and an exception as `Exception("Error: <message>")` (a JS Error);
* tuples and bytearrays are refused with production's TypeError
  (`<class 'tuple'> cannot be sent over RPC.`), other objects with a TypeError too;
* more than 1 MiB of encoded value is refused, as production refuses it.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

from durable.runtime.errors import PayloadTooLargeError, ValidationError
from durable.runtime.worker.jsdict import JsDict

MAX_VALUE_BYTES = 1024 * 1024
MAX_SAFE_INTEGER = 2**53 - 1  # JS Number.MAX_SAFE_INTEGER: Pyodide makes an int up to this
_DATE_TAG = "$durable:date"
_SET_TAG = "$durable:set"
_BYTES_TAG = "$durable:bytes"
_ERROR_TAG = "$durable:error"
_TAGS = (_DATE_TAG, _SET_TAG, _BYTES_TAG, _ERROR_TAG)


def rpc_refusal(value: Any) -> TypeError | None:
    """The TypeError production's `python_to_rpc` raises for `value`, if it refuses it.

    Like `_raise_on_disabled_type` (rpc.py): a tuple or bytearray anywhere in dict values, lists
    and sets is refused before anything is converted.
    """
    if isinstance(value, tuple | bytearray):
        return TypeError(f"{type(value)} cannot be sent over RPC.")
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list | set | frozenset):
        items = value
    else:
        return None
    for item in items:
        refusal = rpc_refusal(item)
        if refusal is not None:
            return refusal
    return None


def check_rpc(value: Any) -> None:
    """Raise production's TypeError if `python_to_rpc` would refuse `value` (binding inputs)."""
    refusal = rpc_refusal(value)
    if refusal is not None:
        raise refusal


def _number(value: float) -> int | float:
    if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)  # -0.0 too: Number.isSafeInteger(-0) holds, and int(-0.0) == 0
    return value


def _key(key: Any, path: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        number = _number(key)
        return str(number) if isinstance(number, int) else repr(key)
    raise TypeError(f"{path} has a key of type {type(key).__name__}; use str keys")


def _check(value: Any, path: str) -> Any:
    """Return `value` converted to plain JSON types, or raise TypeError naming `path`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # NaN and the infinities stay (structured clone keeps them); json writes them as literals
        return _number(value) if math.isfinite(value) else value
    if isinstance(value, dict):
        return {_key(key, path): _check(item, f"{path}[{key!r}]") for key, item in value.items()}
    if isinstance(value, list):
        return [_check(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return {_DATE_TAG: value.isoformat(timespec="milliseconds")}
    if isinstance(value, tuple | bytearray):
        error = TypeError(f"{type(value)} cannot be sent over RPC.")
        error.add_note(f"durable: {path} is a {type(value).__name__}; use a list or bytes")
        raise error
    if isinstance(value, set | frozenset):
        items = [_check(item, f"{path} item") for item in value]
        unique = list({json.dumps(item, sort_keys=True): item for item in items}.values())
        return {_SET_TAG: unique}
    if isinstance(value, bytes | memoryview):
        return {_BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Exception):
        return {_ERROR_TAG: str(value)}
    raise TypeError(
        f"{path} is a {type(value).__name__}, which is not serialisable; "
        "return dicts, lists, str, int, float, bool, None, datetime, set or bytes"
    )


def encode(value: Any, *, what: str = "value") -> str:
    """Encode `value` for the store; raise TypeError/ValueError as production would refuse it."""
    try:
        text = json.dumps(_check(value, what), separators=(",", ":"), ensure_ascii=False)
    except RecursionError:
        raise TypeError(
            f"{what} is nested too deeply to be stored; flatten it (fewer levels of lists "
            "and dicts)"
        ) from None
    if len(text) > MAX_VALUE_BYTES and len(text.encode()) > MAX_VALUE_BYTES:
        raise ValueError(
            f"{what} is too large ({len(text.encode()):,} bytes). Maximum allowed size is 1MiB."
        )
    return text


def encode_input(value: Any, *, what: str) -> str:
    """Encode params or an event payload given by a caller (the API, the CLI, the engine).

    What cannot be stored is a ValidationError (a bad request), too large a value a
    PayloadTooLargeError. A binding refuses a tuple or bytearray before this, with production's
    TypeError (`check_rpc`).
    """
    try:
        return encode(value, what=what)
    except TypeError as exc:
        raise ValidationError(str(exc)) from None
    except ValueError as exc:
        raise PayloadTooLargeError(str(exc)) from None


def _tagged(value: dict[str, Any]) -> str | None:
    if len(value) == 1:
        (key,) = value
        if key in _TAGS:
            return key
    return None


def _to_python(value: Any) -> Any:
    if isinstance(value, dict):
        tag = _tagged(value)
        if tag == _DATE_TAG:
            return datetime.fromisoformat(value[tag])
        if tag == _SET_TAG:
            return {_to_python(v) for v in value[tag]}
        if tag == _BYTES_TAG:
            return memoryview(base64.b64decode(value[tag]))
        if tag == _ERROR_TAG:
            message = value[tag]
            return Exception(f"Error: {message}" if message else "Error")
        return JsDict({k: _to_python(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_to_python(v) for v in value]
    return value


def decode(text: str | None) -> Any:
    """Decode a stored value into what user code sees (JsDict, lists, datetimes, sets…)."""
    if text is None:
        return None
    return _to_python(json.loads(text))


def _to_api(value: Any) -> Any:
    """What `JSON.stringify` makes of the JS value: a Date is its ISO string, NaN and the
    infinities are null, a Set or an Error is `{}`, a Uint8Array is `{"0": byte, …}`."""
    if isinstance(value, dict):
        tag = _tagged(value)
        if tag == _DATE_TAG:
            return value[tag] + "Z"
        if tag in (_SET_TAG, _ERROR_TAG):
            return {}
        if tag == _BYTES_TAG:
            return {str(i): b for i, b in enumerate(base64.b64decode(value[tag]))}
        return {k: _to_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_api(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_safe(value: Any) -> Any:
    """`value` with NaN and the infinities replaced by None, as `JSON.stringify` writes them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def decode_for_api(text: str | None) -> Any:
    """Decode a stored value into plain JSON for the REST API, as production serialises it."""
    if text is None:
        return None
    return _to_api(json.loads(text))


def round_trip(value: Any, *, what: str = "value") -> Any:
    """What user code gets back after `value` crossed the boundary."""
    return decode(encode(value, what=what))
