"""What crosses the engine boundary, crosses it the way Cloudflare's does.

On Cloudflare a value returned from a step, from `run()`, or sent as params or an event payload
is converted to JavaScript and stored with structured clone. Locally every such value is encoded
as JSON on its way into the store, so that what passes here passes in production:

* dicts come back as `JsDict` (a dict that also allows attribute access), lists as lists;
* datetimes survive as naive UTC datetimes with millisecond precision;
* tuples, bytes, sets and arbitrary objects are refused with a TypeError, as `python_to_rpc`
  refuses them;
* more than 1 MiB of encoded value is refused, as production refuses it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from durable.runtime.errors import PayloadTooLargeError, ValidationError
from durable.runtime.worker.jsdict import JsDict

MAX_VALUE_BYTES = 1024 * 1024
_DATE_TAG = "$durable:date"


def _check(value: Any, path: str) -> Any:
    """Return `value` converted to plain JSON types, or raise TypeError naming `path`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return value  # structured clone keeps NaN/Infinity; json writes them as literals
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str | int | float) or isinstance(key, bool):
                raise TypeError(f"{path} has a key of type {type(key).__name__}; use str keys")
            out[str(key)] = _check(item, f"{path}[{key!r}]")
        return out
    if isinstance(value, list):
        return [_check(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return {_DATE_TAG: value.isoformat(timespec="milliseconds")}
    if isinstance(value, tuple):
        raise TypeError(f"{path} is a tuple, which Cloudflare cannot serialise; use a list")
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(
            f"{path} is {type(value).__name__}, which durable cannot store; "
            "encode it (base64) into a str"
        )
    raise TypeError(
        f"{path} is a {type(value).__name__}, which is not serialisable; "
        "return dicts, lists, str, int, float, bool, None or datetime"
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
    """Encode params or an event payload given by a caller; refuse it as production would."""
    try:
        return encode(value, what=what)
    except TypeError as exc:
        raise ValidationError(str(exc)) from None
    except ValueError as exc:
        raise PayloadTooLargeError(str(exc)) from None


def _to_python(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _DATE_TAG in value:
            return datetime.fromisoformat(value[_DATE_TAG])
        return JsDict({k: _to_python(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_to_python(v) for v in value]
    return value


def decode(text: str | None) -> Any:
    """Decode a stored value into what user code sees (JsDict, lists, datetimes)."""
    if text is None:
        return None
    return _to_python(json.loads(text))


def _to_api(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _DATE_TAG in value:
            return value[_DATE_TAG] + "Z"
        return {k: _to_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_api(v) for v in value]
    return value


def decode_for_api(text: str | None) -> Any:
    """Decode a stored value into plain JSON for the REST API (datetimes as ISO strings)."""
    if text is None:
        return None
    value = json.loads(text)
    return _to_api(value) if _DATE_TAG in text else value


def round_trip(value: Any, *, what: str = "value") -> Any:
    """What user code gets back after `value` crossed the boundary."""
    return decode(encode(value, what=what))
