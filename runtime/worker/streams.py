"""The JS objects the SDK's Request/Response hand to Python, in plain Python.

Production returns JS objects through Pyodide from a few members: `buffer()` an `ArrayBuffer`,
`body` a `ReadableStream` whose chunks are `Uint8Array`s. User code reads them with Pyodide's
buffer methods (`to_bytes()`, `to_memoryview()`, `to_py()`, `to_string()`) and the JS stream
API (`async for chunk in body`, `getReader().read()`), so these classes offer exactly that over
bytes; durable's Request/Response also accept them back as a body, as production accepts the JS
objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from .jsdict import JsDict

__all__ = ["ArrayBuffer", "ReadableStream", "ReadableStreamDefaultReader", "Uint8Array"]


class _JsBuffer:
    """Pyodide's JsBuffer methods over bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)

    @property
    def byteLength(self) -> int:  # noqa: N802 - the JS name
        return len(self._data)

    def to_bytes(self) -> bytes:
        return self._data

    def to_memoryview(self) -> memoryview:
        return memoryview(self._data)

    def to_py(self, **_options: Any) -> memoryview:
        return memoryview(self._data)

    def to_string(self, encoding: str | None = None) -> str:
        return self._data.decode(encoding or "utf-8")

    def __repr__(self) -> str:
        return f"[object {type(self).__name__}]"  # how a JsProxy prints


class ArrayBuffer(_JsBuffer):
    """What `await request.buffer()` / `await response.buffer()` returns."""


class Uint8Array(_JsBuffer):
    """A chunk read from a `ReadableStream`."""

    @property
    def length(self) -> int:
        return len(self._data)


class ReadableStream:
    """`request.body` / `response.body`: the body as a JS ReadableStream of `Uint8Array`s.

    Reading it uses the body up, as in JS: afterwards `body_used` is true and `text()` raises
    `OSError("Body already used")`. `on_disturb` tells the owning Request/Response.
    """

    def __init__(self, data: bytes, on_disturb: Callable[[], None] | None = None) -> None:
        self._chunks: list[bytes] = [data] if data else []
        self._locked = False
        self._disturbed = False
        self._on_disturb = on_disturb

    def __repr__(self) -> str:
        return "[object ReadableStream]"

    @property
    def locked(self) -> bool:
        return self._locked

    def _lock(self) -> None:
        if self._locked:
            raise TypeError("This ReadableStream is currently locked to a reader.")
        self._locked = True

    def _take(self) -> bytes | None:
        if not self._disturbed:
            self._disturbed = True
            if self._on_disturb is not None:
                self._on_disturb()
        return self._chunks.pop(0) if self._chunks else None

    def _drain(self) -> bytes:
        """Everything left, for a body method (`text()`…) that reads the stream whole."""
        self._lock()
        data = b"".join(chunk for chunk in iter(self._take, None))
        return data

    def getReader(self) -> ReadableStreamDefaultReader:  # noqa: N802 - the JS name
        self._lock()
        return ReadableStreamDefaultReader(self)

    async def cancel(self, reason: Any = None) -> None:
        self._take()
        self._chunks.clear()

    async def __aiter__(self) -> AsyncIterator[Uint8Array]:
        self._lock()
        try:
            while (chunk := self._take()) is not None:
                yield Uint8Array(chunk)
        finally:
            self._locked = False


class ReadableStreamDefaultReader:
    """What `body.getReader()` returns: `await reader.read()` gives `{done, value}`."""

    def __init__(self, stream: ReadableStream) -> None:
        self._stream: ReadableStream | None = stream

    async def read(self) -> JsDict:
        if self._stream is None:
            raise TypeError("This ReadableStreamDefaultReader has been released.")
        chunk = self._stream._take()
        if chunk is None:
            return JsDict(done=True, value=None)
        return JsDict(done=False, value=Uint8Array(chunk))

    def releaseLock(self) -> None:  # noqa: N802 - the JS name
        if self._stream is not None:
            self._stream._locked = False
            self._stream = None

    async def cancel(self, reason: Any = None) -> None:
        if self._stream is not None:
            await self._stream.cancel(reason)
