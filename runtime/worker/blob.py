"""`Blob`, `File` and `FormData` as the production SDK exports them, in plain Python.

Production wraps the JS classes; locally the contents live in Python. Only what user code can
construct and read is provided: the parts and type, `bytes()`/`text()`, and FormData as a
mapping of field name to values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from enum import StrEnum
from typing import Any, TypeAlias


class BlobEnding(StrEnum):
    TRANSPARENT = "transparent"
    NATIVE = "native"


BlobValue: TypeAlias = "str | bytes | memoryview | Blob"


class Blob:
    """Bytes with a content type, as the SDK's `workers.Blob`."""

    _data: bytes

    def __init__(
        self,
        blob_parts: Iterable[BlobValue] | None = None,
        content_type: str | None = None,
        endings: BlobEnding | str | None = None,
    ) -> None:
        data = bytearray()
        for part in blob_parts or ():
            if isinstance(part, Blob):
                data += part._data
            elif isinstance(part, str):
                data += part.encode()
            else:
                data += bytes(part)
        self._data = bytes(data)
        self.type = content_type or ""

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def content_type(self) -> str:
        """The MIME type, production's name for it (JS `blob.type`)."""
        return self.type

    async def bytes(self) -> bytes:
        return self._data

    async def text(self) -> str:
        return self._data.decode()

    def slice(
        self, start: int | None = None, end: int | None = None, content_type: str | None = None
    ) -> Blob:
        return Blob([self._data[start:end]], content_type)


class File(Blob):
    def __init__(
        self,
        blob_parts: Iterable[BlobValue] | None,
        filename: str,
        content_type: str | None = None,
        endings: BlobEnding | str | None = None,
        last_modified: int | None = None,
    ) -> None:
        super().__init__(blob_parts, content_type, endings)
        self.name = filename
        self.last_modified = last_modified or 0


FormDataValue: TypeAlias = "str | Blob | File"


class FormData(MutableMapping[str, FormDataValue]):
    """Field name to value; `append` keeps several values, `get_all` returns them."""

    def __init__(self, form_data: dict[str, Any] | FormData | None = None) -> None:
        self._items: list[tuple[str, FormDataValue]] = []
        for key, value in (form_data or {}).items():
            self.append(key, value)

    def append(self, key: str, value: FormDataValue, filename: str | None = None) -> None:
        if filename is not None and isinstance(value, Blob) and not isinstance(value, File):
            value = File([value], filename, value.type)
        self._items.append((key, value))

    def get_all(self, key: str) -> list[FormDataValue]:
        return [v for k, v in self._items if k == key]

    def __getitem__(self, key: str) -> FormDataValue:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __setitem__(self, key: str, value: FormDataValue) -> None:
        self.delete(key)
        self._items.append((key, value))

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.delete(key)

    def delete(self, key: str) -> None:
        self._items = [(k, v) for k, v in self._items if k != key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(k for k, _ in self._items))
