"""A `[[kv_namespaces]]` binding: `env.KV`, over wrangler's own local state.

The Python surface is production's (what workers-runtime-sdk's generic wrapper forwards to
workerd's `KvNamespace`): camelCase methods, keyword arguments as the trailing options object,
`JsDict` results, `None` for null, failures as `pyodide.ffi.JsException` with the text workerd
and Miniflare give:

    await env.KV.get("k")                          str or None
    await env.KV.get("k", "json") / type="json"    parsed JSON (objects are JsDicts)
    await env.KV.get("k", "arrayBuffer")           bytes;  "stream": an async iterable of bytes
    await env.KV.get(["a", "b"])                   {"a": ..., "b": None}  (text or json, ≤ 100)
    await env.KV.getWithMetadata("k")              {value, metadata, cacheStatus}
    await env.KV.put("k", "v" | b"v", expiration=…, expirationTtl=…, metadata=…)
    await env.KV.delete("k")
    await env.KV.list(prefix=…, limit=…, cursor=…) {keys: [{name, expiration?, metadata?}],
                                                    list_complete, cursor?, cacheStatus}

Storage is Miniflare's (see `miniflare.py`): the namespace is the SQLite file
`v3/kv/miniflare-KVNamespaceObject/<doid>.sqlite` (table `_mf_entries`, expiration in ms,
metadata as JSON text) and each value a blob file `v3/kv/<namespace id>/blobs/<blob id>`. A key
is only ever a row in that table, never part of a path. Expired entries are removed when read,
as Miniflare does. The SQL lives here, in Miniflare's schema; durable's own store is not used.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable.runtime.errors import JsException
from durable.runtime.worker.jsdict import JsDict

from .miniflare import blob_id, durable_object_id, is_blob_id, open_object_db, sanitise_path

__all__ = ["KVEntry", "KVNamespace", "KVNamespaceState", "MAX_VALUE_SIZE"]

UNIQUE_KEY = "miniflare-KVNamespaceObject"
MAX_KEY_SIZE = 512
MAX_VALUE_SIZE = 25 * 1024 * 1024
MAX_METADATA_SIZE = 1024
MAX_LIST_KEYS = 1000
MAX_BULK_GET_KEYS = 100
MIN_EXPIRATION_TTL = 60
MIN_CACHE_TTL = 30
_STREAM_CHUNK = 64 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS _mf_entries (
  key TEXT PRIMARY KEY,
  blob_id TEXT NOT NULL,
  expiration INTEGER,
  metadata TEXT
);
CREATE INDEX IF NOT EXISTS _mf_entries_expiration_idx ON _mf_entries(expiration);
"""
TABLES: dict[str, tuple[str, ...]] = {"_mf_entries": ("key", "blob_id", "expiration", "metadata")}


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class KVEntry:
    key: str
    value: bytes
    expiration_ms: int | None
    metadata: str | None  # JSON text, as stored


class KVNamespaceState:
    """One namespace's files: the entries database and the blob folder (blocking calls)."""

    def __init__(self, root: Path, namespace_id: str, now_ms: Callable[[], int] = wall_ms) -> None:
        self.root = root
        self.namespace_id = namespace_id
        self.now_ms = now_ms
        self.db_path = (
            root
            / "v3"
            / "kv"
            / UNIQUE_KEY
            / f"{durable_object_id(UNIQUE_KEY, namespace_id)}.sqlite"
        )
        self.blob_dir = root / "v3" / "kv" / sanitise_path(namespace_id) / "blobs"
        self._db: Any = None
        self._lock = threading.Lock()

    def _conn(self) -> Any:
        if self._db is None:
            self._db = open_object_db(self.db_path, SCHEMA, TABLES)
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _blob_path(self, blob: str) -> Path | None:
        return self.blob_dir / blob if is_blob_id(blob) else None

    def _delete_blob(self, blob: str | None) -> None:
        path = self._blob_path(blob) if blob else None
        if path is not None:
            path.unlink(missing_ok=True)

    def get(self, key: str) -> KVEntry | None:
        with self._lock:
            db = self._conn()
            row = db.execute(
                "SELECT key, blob_id, expiration, metadata FROM _mf_entries WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            if row[2] is not None and row[2] <= self.now_ms():
                db.execute("DELETE FROM _mf_entries WHERE key = ?", (key,))
                self._delete_blob(row[1])
                return None
            path = self._blob_path(row[1])
            try:
                value = path.read_bytes() if path is not None else None
            except FileNotFoundError:
                value = None
            if value is None:
                return None
            return KVEntry(row[0], value, row[2], row[3])

    def put(self, key: str, value: bytes, expiration_ms: int | None, metadata: str | None) -> None:
        blob = blob_id(secrets.token_bytes(32), wall_ms())
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        path = self.blob_dir / blob
        partial = path.with_name(f".{blob}.partial")
        partial.write_bytes(value)
        os.replace(partial, path)
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
                old = db.execute("SELECT blob_id FROM _mf_entries WHERE key = ?", (key,)).fetchone()
                db.execute(
                    "INSERT OR REPLACE INTO _mf_entries (key, blob_id, expiration, metadata) "
                    "VALUES (?, ?, ?, ?)",
                    (key, blob, expiration_ms, metadata),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                path.unlink(missing_ok=True)
                raise
            if old is not None:
                self._delete_blob(old[0])

    def delete(self, key: str) -> None:
        with self._lock:
            row = (
                self._conn()
                .execute("DELETE FROM _mf_entries WHERE key = ? RETURNING blob_id", (key,))
                .fetchone()
            )
            if row is not None:
                self._delete_blob(row[0])

    def list(
        self, prefix: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[str, int | None, str | None]], str | None]:
        """Keys in order (`(key, expiration_ms, metadata)`) and the next cursor, if any."""
        start_after = _b64decode(cursor) if cursor else ""
        now = self.now_ms()
        with self._lock:
            db = self._conn()
            rows = db.execute(
                "SELECT key, expiration, metadata FROM _mf_entries "
                "WHERE substr(key, 1, length(?1)) = ?1 AND key > ?2 "
                "AND (expiration IS NULL OR expiration >= ?3) ORDER BY key LIMIT ?4",
                (prefix, start_after, now, limit + 1),
            ).fetchall()
            expired = db.execute(
                "DELETE FROM _mf_entries WHERE expiration < ? RETURNING blob_id", (now,)
            ).fetchall()
            for (blob,) in expired:
                self._delete_blob(blob)
        more = len(rows) > limit
        rows = rows[:limit]
        return [(r[0], r[1], r[2]) for r in rows], _b64encode(rows[-1][0]) if more else None


def _b64encode(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _b64decode(text: str) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(text + "=" * (-len(text) % 4)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


# --- the binding ----------------------------------------------------------------------------


def _js_json(value: Any) -> str:
    """`JSON.stringify` as workerd serialises metadata."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JsException(f"Could not serialize metadata: {exc}", "TypeError") from None


def _options(options: Any, kwargs: dict[str, Any], method: str) -> dict[str, Any]:
    if options is None:
        options = {}
    if isinstance(options, str):
        options = {"type": options}
    if not isinstance(options, dict):
        raise JsException(
            f"Failed to execute '{method}' on 'KvNamespace': parameter 2 is not of type "
            "'string or object'.",
            "TypeError",
        )
    return {**options, **kwargs}


def _number(value: Any) -> float:
    """`parseInt` of the value as a query parameter: NaN (as 0 in Miniflare's text) if none."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(int(value)) if value == value else float("nan")
    try:
        return float(int(str(value).strip()))
    except ValueError:
        return float("nan")


def _shown(value: float) -> str:
    return "0" if value != value else str(int(value))


class KVStream:
    """What `get(key, "stream")` returns: the value's bytes, as an async iterable of chunks."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), _STREAM_CHUNK):
            yield self._data[start : start + _STREAM_CHUNK]

    async def read(self) -> bytes:
        return self._data


class KVNamespace:
    """`env.KV`: production's KvNamespace methods over one namespace's local files."""

    def __init__(self, state: KVNamespaceState, binding: str | None = None) -> None:
        self._state = state
        self._binding = binding

    def __repr__(self) -> str:
        return f"<KvNamespace {self._binding or ''} ({self._state.namespace_id})>"

    @property
    def namespace_id(self) -> str:
        return self._state.namespace_id

    def close(self) -> None:
        self._state.close()

    async def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(call, *args)

    @staticmethod
    def _check_key(key: Any, method: str) -> str:
        key = key if isinstance(key, str) else "null" if key is None else str(key)
        assert isinstance(key, str)
        if key == "":
            raise JsException("Key name cannot be empty.", "TypeError")
        if key in (".", ".."):
            raise JsException(f'"{key}" is not allowed as a key name.', "TypeError")
        size = len(key.encode("utf-8", "surrogatepass"))
        if size > MAX_KEY_SIZE:
            raise JsException(
                f"KV {method} failed: 414 UTF-8 encoded length of {size} exceeds key length "
                f"limit of {MAX_KEY_SIZE}."
            )
        return key

    @staticmethod
    def _check_cache_ttl(options: dict[str, Any], method: str) -> None:
        if options.get("cacheTtl") is None:
            return
        ttl = _number(options["cacheTtl"])
        if ttl != ttl or ttl < MIN_CACHE_TTL:
            raise JsException(
                f"KV {method} failed: 400 Invalid cache_ttl of {_shown(ttl)}. Cache TTL must be "
                f"at least {MIN_CACHE_TTL}."
            )

    async def get(self, key: Any, options: Any = None, /, **kwargs: Any) -> Any:
        opts = _options(options, kwargs, "get")
        if isinstance(key, list):
            return await self._get_bulk(key, opts, with_metadata=False)
        kind = opts.get("type") or "text"
        if kind not in ("text", "json", "arrayBuffer", "stream"):
            raise JsException(
                'Unknown response type. Possible types are "text", "arrayBuffer", '
                '"json", and "stream".',
                "TypeError",
            )
        key = self._check_key(key, "GET")
        self._check_cache_ttl(opts, "GET")
        entry = await self._run(self._state.get, key)
        return None if entry is None else _decode(entry.value, kind)

    async def getWithMetadata(self, key: Any, options: Any = None, /, **kwargs: Any) -> Any:  # noqa: N802 - production's name
        opts = _options(options, kwargs, "getWithMetadata")
        if isinstance(key, list):
            return await self._get_bulk(key, opts, with_metadata=True)
        kind = opts.get("type") or "text"
        key = self._check_key(key, "GET")
        self._check_cache_ttl(opts, "GET")
        entry = await self._run(self._state.get, key)
        if entry is None:
            return JsDict(value=None, metadata=None, cacheStatus=None)
        return JsDict(
            value=_decode(entry.value, kind),
            metadata=_metadata(entry.metadata),
            cacheStatus=None,
        )

    async def _get_bulk(self, keys: list[Any], opts: dict[str, Any], *, with_metadata: bool) -> Any:
        kind = opts.get("type") or "text"
        if kind not in ("text", "json"):
            raise JsException(
                f'KV GET_BULK failed: 400 "{kind}" is not a valid type. Use "json" or "text"'
            )
        if len(keys) > MAX_BULK_GET_KEYS:
            raise JsException(
                f"KV GET_BULK failed: 400 You can request a maximum of {MAX_BULK_GET_KEYS} keys"
            )
        if not keys:
            raise JsException("KV GET_BULK failed: 400 You must request a minimum of 1 key")
        result: dict[str, Any] = {}
        total = 0
        for raw in keys:
            key = self._check_key(raw, "GET_BULK")
            self._check_cache_ttl(opts, "GET_BULK")
            entry = await self._run(self._state.get, key)
            if entry is None:
                result[key] = None
                continue
            text = entry.value.decode("utf-8", "replace")
            total += len(text)
            try:
                value = _decode(entry.value, kind)
            except JsException:
                raise JsException(
                    f"KV GET_BULK failed: 400 At least one of the requested keys corresponds to "
                    f"a non-{kind} value"
                ) from None
            result[key] = (
                JsDict(value=value, metadata=_metadata(entry.metadata)) if with_metadata else value
            )
        if total > MAX_VALUE_SIZE:
            raise JsException(
                "KV GET_BULK failed: 413 Total size of request exceeds the limit of 25MB"
            )
        return result

    async def put(self, key: Any, value: Any, options: Any = None, /, **kwargs: Any) -> None:
        opts = _options(options, kwargs, "put")
        key = self._check_key(key, "PUT")
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
        elif isinstance(value, (bytes, memoryview)):
            data = bytes(value)
        elif isinstance(value, (bytearray, tuple)):
            raise TypeError(f"{type(value)} cannot be sent over RPC.")
        else:
            raise JsException(
                "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and "
                "ReadableStreams as values.",
                "TypeError",
            )
        now_s = self._state.now_ms() // 1000
        expiration: int | None = None
        if opts.get("expirationTtl") is not None:
            ttl = _number(opts["expirationTtl"])
            if ttl != ttl or ttl <= 0:
                raise JsException(
                    f"KV PUT failed: 400 Invalid expiration_ttl of {_shown(ttl)}. Please specify "
                    "integer greater than 0."
                )
            if ttl < MIN_EXPIRATION_TTL:
                raise JsException(
                    f"KV PUT failed: 400 Invalid expiration_ttl of {_shown(ttl)}. Expiration TTL "
                    f"must be at least {MIN_EXPIRATION_TTL}."
                )
            expiration = now_s + int(ttl)
        elif opts.get("expiration") is not None:
            at = _number(opts["expiration"])
            if at != at or at <= now_s:
                raise JsException(
                    f"KV PUT failed: 400 Invalid expiration of {_shown(at)}. Please specify "
                    "integer greater than the current number of seconds since the UNIX epoch."
                )
            if at < now_s + MIN_EXPIRATION_TTL:
                raise JsException(
                    f"KV PUT failed: 400 Invalid expiration of {_shown(at)}. Expiration times "
                    f"must be at least {MIN_EXPIRATION_TTL} seconds in the future."
                )
            expiration = int(at)
        metadata: str | None = None
        if opts.get("metadata") is not None:
            metadata = _js_json(opts["metadata"])
            size = len(metadata.encode())
            if size > MAX_METADATA_SIZE:
                raise JsException(
                    f"KV PUT failed: 413 Metadata length of {size} exceeds limit of "
                    f"{MAX_METADATA_SIZE}."
                )
        if len(data) > MAX_VALUE_SIZE:
            raise JsException(
                f"KV PUT failed: 413 Value length of {len(data)} exceeds limit of {MAX_VALUE_SIZE}."
            )
        await self._run(
            self._state.put, key, data, None if expiration is None else expiration * 1000, metadata
        )

    async def delete(self, key: Any) -> None:
        key = self._check_key(key, "DELETE")
        await self._run(self._state.delete, key)

    async def list(self, options: Any = None, /, **kwargs: Any) -> JsDict:
        opts = _options(options, kwargs, "list")
        limit = MAX_LIST_KEYS if opts.get("limit") is None else _number(opts["limit"])
        if limit != limit or limit < 1:
            raise JsException(
                f"KV LIST failed: 400 Invalid key_count_limit of {_shown(limit)}. Please specify "
                "an integer greater than 0."
            )
        if limit > MAX_LIST_KEYS:
            raise JsException(
                f"KV LIST failed: 400 Invalid key_count_limit of {_shown(limit)}. Please specify "
                f"an integer less than {MAX_LIST_KEYS}."
            )
        prefix = opts.get("prefix")
        prefix = "" if prefix is None else str(prefix)
        size = len(prefix.encode())
        if size > MAX_KEY_SIZE:
            raise JsException(
                f"KV LIST failed: 414 UTF-8 encoded length of {size} exceeds key length limit "
                f"of {MAX_KEY_SIZE}."
            )
        cursor = opts.get("cursor") or None
        rows, next_cursor = await self._run(self._state.list, prefix, int(limit), cursor)
        keys = []
        for name, expiration_ms, metadata in rows:
            item = JsDict(name=name)
            if expiration_ms is not None:
                item["expiration"] = expiration_ms // 1000
            if metadata is not None:
                item["metadata"] = _metadata(metadata)
            keys.append(item)
        result = JsDict(keys=keys, list_complete=next_cursor is None)
        if next_cursor is not None:
            result["cursor"] = next_cursor
        result["cacheStatus"] = None
        return result


def _metadata(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text, object_hook=JsDict)
    except ValueError:
        return None


def _decode(value: bytes, kind: str) -> Any:
    if kind == "arrayBuffer":
        return value
    if kind == "stream":
        return KVStream(value)
    text = value.decode("utf-8", "replace")
    if kind == "json":
        try:
            return json.loads(text, object_hook=JsDict)
        except ValueError as exc:
            raise JsException(f"Unexpected token in JSON: {exc}", "SyntaxError") from None
    return text
