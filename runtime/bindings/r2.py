"""A `[[r2_buckets]]` binding: `env.BUCKET`, over wrangler's own local state.

The Python surface is production's (what workers-runtime-sdk's generic wrapper forwards to
workerd's `R2Bucket`): camelCase methods, keyword arguments as the trailing options object,
`JsDict` results, `None` for null, failures as `pyodide.ffi.JsException` with workerd's text
(`Error: get: The requested range is not satisfiable (10039)`):

    await env.BUCKET.put(key, "text" | b"bytes" | stream | None, httpMetadata=…,
                         customMetadata=…, md5=… | sha1=… | sha256=…, onlyIf=…)
                                                  R2Object, or None when onlyIf failed
    await env.BUCKET.get(key, range=…, onlyIf=…)  R2ObjectBody (text(), json(), arrayBuffer(),
                                                  bytes(), blob(), body), None if missing, an
                                                  R2Object without a body when onlyIf failed
    await env.BUCKET.head(key)                    R2Object or None
    await env.BUCKET.delete(key | [keys])
    await env.BUCKET.list(prefix=…, limit=…, cursor=…, delimiter=…, startAfter=…,
                          include=…)              {objects, truncated, cursor?, delimitedPrefixes}
    await env.BUCKET.createMultipartUpload(key, httpMetadata=…, customMetadata=…)
    env.BUCKET.resumeMultipartUpload(key, uploadId)
        await upload.uploadPart(n, value) -> {partNumber, etag};  await upload.complete(parts)
        await upload.abort()

Every R2Object has `key, version, size, etag, httpEtag, uploaded` (a naive UTC datetime, as the
SDK converts a JS Date), `httpMetadata`, `customMetadata`, `checksums`, `range`,
`storageClass` and `writeHttpMetadata(headers)`. An object's `body` can be handed to
`Response(...)` as is.

Storage is Miniflare's R2 simulator's (see `miniflare.py`): the bucket is the SQLite file
`v3/r2/miniflare-R2BucketObject/<doid>.sqlite` (`_mf_objects`, `_mf_multipart_uploads`,
`_mf_multipart_parts`, in Miniflare's schema and JSON encodings) and each value or part a blob
file `v3/r2/<bucket name>/blobs/<blob id>`. A key is only ever a row in that table, never part of
a path. Validation, preconditions, ranges, listing and multipart rules are Miniflare's
(workers-sdk `packages/miniflare/src/workers/r2/*.worker.ts`), the argument checks workerd's
(`src/workerd/api/r2-bucket.c++`, `r2-multipart.c++`). A body is read from its blob(s) when
`get` returns, so it stays readable whatever is written next.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import email.utils
import hashlib
import json
import os
import re
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from durable.runtime.errors import JsException, R2Error
from durable.runtime.worker.blob import Blob
from durable.runtime.worker.jsdict import JsDict

from .miniflare import blob_id, durable_object_id, is_blob_id, open_object_db, sanitise_path

__all__ = [
    "MIN_MULTIPART_PART_SIZE",
    "R2Bucket",
    "R2BucketState",
    "R2MultipartUpload",
    "R2Object",
    "R2ObjectBody",
    "R2Stream",
]

UNIQUE_KEY = "miniflare-R2BucketObject"
MAX_LIST_KEYS = 1000
MAX_KEY_SIZE = 1024
MAX_VALUE_SIZE = 5_368_709_120 - 5_242_880  # 5 GiB - 5 MiB
MAX_METADATA_SIZE = 2048
MIN_MULTIPART_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
_STREAM_CHUNK = 64 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS _mf_objects (
    key TEXT PRIMARY KEY,
    blob_id TEXT,
    version TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    uploaded INTEGER NOT NULL,
    checksums TEXT NOT NULL,
    http_metadata TEXT NOT NULL,
    custom_metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _mf_multipart_uploads (
    upload_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    http_metadata TEXT NOT NULL,
    custom_metadata TEXT NOT NULL,
    state TINYINT DEFAULT 0 NOT NULL
);
CREATE TABLE IF NOT EXISTS _mf_multipart_parts (
    upload_id TEXT NOT NULL REFERENCES _mf_multipart_uploads(upload_id),
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    checksum_md5 TEXT NOT NULL,
    object_key TEXT REFERENCES _mf_objects(key) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (upload_id, part_number)
);
"""
TABLES: dict[str, tuple[str, ...]] = {
    "_mf_objects": (
        "key",
        "blob_id",
        "version",
        "size",
        "etag",
        "uploaded",
        "checksums",
        "http_metadata",
        "custom_metadata",
    ),
    "_mf_multipart_uploads": ("upload_id", "key", "http_metadata", "custom_metadata", "state"),
    "_mf_multipart_parts": (
        "upload_id",
        "part_number",
        "blob_id",
        "size",
        "etag",
        "checksum_md5",
        "object_key",
    ),
}
_IN_PROGRESS, _COMPLETED, _ABORTED = 0, 1, 2
_HASHES: tuple[tuple[str, str, int], ...] = (
    ("md5", "MD5", 16),
    ("sha1", "SHA-1", 20),
    ("sha256", "SHA-256", 32),
    ("sha384", "SHA-384", 48),
    ("sha512", "SHA-512", 64),
)
_HTTP_FIELDS = (
    "contentType",
    "contentLanguage",
    "contentDisposition",
    "contentEncoding",
    "cacheControl",
)


def wall_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


# --- Miniflare's errors ----------------------------------------------------------------------


def _no_such_key() -> R2Error:
    return R2Error(404, "The specified key does not exist.", 10007)


def _internal() -> R2Error:
    return R2Error(500, "We encountered an internal error. Please try again.", 10001)


def _precondition_failed() -> R2Error:
    return R2Error(412, "At least one of the pre-conditions you specified did not hold.", 10031)


def _invalid_range() -> R2Error:
    return R2Error(416, "The requested range is not satisfiable", 10039)


def _no_such_upload() -> R2Error:
    return R2Error(400, "The specified multipart upload does not exist.", 10024)


def _invalid_part() -> R2Error:
    return R2Error(400, "One or more of the specified parts could not be found.", 10025)


def _entity_too_small() -> R2Error:
    return R2Error(
        400, "Your proposed upload is smaller than the minimum allowed object size.", 10011
    )


def _bad_upload() -> R2Error:
    return R2Error(500, "There was a problem with the multipart upload.", 10048)


def _check_key(key: str) -> None:
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_SIZE:
        raise R2Error(400, "The specified object name is not valid.", 10020)


# --- rows and conditions ---------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectRow:
    key: str
    blob_id: str | None  # None: a completed multipart upload, its parts hold the bytes
    version: str
    size: int
    etag: str
    uploaded: int  # ms since the epoch
    checksums: str  # JSON, as Miniflare stores it
    http_metadata: str
    custom_metadata: str


_OBJECT_COLUMNS = (
    "key, blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata"
)


@dataclass(frozen=True)
class Conditional:
    """An `onlyIf`, as workerd sends it: etag lists of (kind, value), times in ms."""

    etag_matches: tuple[tuple[str, str], ...] | None = None
    etag_does_not_match: tuple[tuple[str, str], ...] | None = None
    uploaded_before: int | None = None
    uploaded_after: int | None = None
    seconds_granularity: bool = False

    def passes(self, etag: str | None, uploaded: int | None) -> bool:
        """Miniflare's `_testR2Conditional` (RFC 7232 §6): `etag` None when there is no object."""
        if etag is None or uploaded is None:
            return self.etag_matches is None and self.uploaded_after is None

        def includes(conditions: tuple[tuple[str, str], ...], weak: bool) -> bool:
            for kind, value in conditions:
                if kind == "wildcard":
                    return True
                if value == etag and (kind == "strong" or weak):
                    return True
            return False

        def cut(ms: int) -> int:
            return ms // 1000 * 1000 if self.seconds_granularity else ms

        if_match = self.etag_matches is None or includes(self.etag_matches, weak=False)
        if_none_match = self.etag_does_not_match is None or not includes(
            self.etag_does_not_match, weak=True
        )
        last = cut(uploaded)
        modified_since = (
            self.uploaded_after is None
            or cut(self.uploaded_after) < last
            or (self.etag_does_not_match is not None and if_none_match)
        )
        unmodified_since = (
            self.uploaded_before is None
            or last < cut(self.uploaded_before)
            or (self.etag_matches is not None and if_match)
        )
        return if_match and if_none_match and modified_since and unmodified_since


def _checksums_with_md5(row_checksums: str, etag: str) -> dict[str, str]:
    checksums: dict[str, str] = json.loads(row_checksums)
    if re.fullmatch(r"[0-9a-fA-F]{32}", etag):
        checksums["md5"] = etag  # Miniflare keeps a single upload's MD5 only as its etag
    return checksums


# --- the bucket's files ----------------------------------------------------------------------


class R2BucketState:
    """One bucket's files: the object database and the blob folder (blocking calls)."""

    def __init__(
        self,
        root: Path,
        bucket_name: str,
        now_ms: Callable[[], int] = wall_ms,
        *,
        min_part_size: int = MIN_MULTIPART_PART_SIZE,
    ) -> None:
        self.root = root
        self.bucket_name = bucket_name
        self.now_ms = now_ms
        self.min_part_size = min_part_size
        self.db_path = (
            root / "v3" / "r2" / UNIQUE_KEY / f"{durable_object_id(UNIQUE_KEY, bucket_name)}.sqlite"
        )
        self.blob_dir = root / "v3" / "r2" / sanitise_path(bucket_name) / "blobs"
        self._db: Any = None
        self._lock = threading.Lock()

    def _conn(self) -> Any:
        if self._db is None:
            self._db = open_object_db(self.db_path, SCHEMA, TABLES)
            self._db.execute("PRAGMA case_sensitive_like = TRUE")
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # blobs: written before the row that names them, removed after the row that named them

    def _write_blob(self, data: bytes) -> str:
        with self._lock:
            self._conn()  # a layout durable does not know is refused before anything is written
        blob = blob_id(secrets.token_bytes(32), wall_ms())
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        path = self.blob_dir / blob
        partial = path.with_name(f".{blob}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
        return blob

    def _read_blob(self, blob: str, start: int, end: int) -> bytes | None:
        """Bytes `start..end` (inclusive) of a blob; None if it is gone."""
        if not is_blob_id(blob):
            return None
        try:
            with open(self.blob_dir / blob, "rb") as file:
                file.seek(start)
                return file.read(max(0, end - start + 1))
        except FileNotFoundError:
            return None

    def _delete_blobs(self, blobs: Iterable[str | None]) -> None:
        for blob in blobs:
            if blob and is_blob_id(blob):
                (self.blob_dir / blob).unlink(missing_ok=True)

    def _transaction(self, work: Callable[[Any], Any]) -> Any:
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return result

    def _row(self, db: Any, key: str) -> ObjectRow | None:
        found = db.execute(f"SELECT {_OBJECT_COLUMNS} FROM _mf_objects WHERE key = ?", (key,))
        row = found.fetchone()
        return None if row is None else ObjectRow(*row)

    # reads

    def head(self, key: str) -> ObjectRow:
        _check_key(key)
        with self._lock:
            row = self._row(self._conn(), key)
        if row is None:
            raise _no_such_key()
        return row

    def get(
        self, key: str, only_if: Conditional | None, wanted: Callable[[int], tuple[int, int] | None]
    ) -> tuple[ObjectRow, bytes, tuple[int, int]]:
        """The row, the requested bytes and their (offset, length); `wanted(size)` picks the
        inclusive byte range (None: all of it) or raises the range error."""
        _check_key(key)
        with self._lock:
            db = self._conn()
            row = self._row(db, key)
            if row is None:
                raise _no_such_key()
            parts: list[tuple[str, int]] = []
            if row.blob_id is None:
                parts = db.execute(
                    "SELECT blob_id, size FROM _mf_multipart_parts WHERE object_key = ? "
                    "ORDER BY part_number",
                    (key,),
                ).fetchall()
        if only_if is not None and not only_if.passes(row.etag, row.uploaded):
            error = _precondition_failed()
            error.row = row
            raise error
        span = wanted(row.size)
        start, end = (0, row.size - 1) if span is None else span
        if row.blob_id is not None:
            data = self._read_blob(row.blob_id, start, end)
            if data is None:
                raise _no_such_key()
        else:
            chunks: list[bytes] = []
            offset = 0
            for blob, size in parts:
                part_start, part_end = offset, offset + size - 1
                if part_start <= end and start <= part_end:
                    chunk = self._read_blob(
                        blob, max(part_start, start) - part_start, min(part_end, end) - part_start
                    )
                    if chunk is None:
                        raise _no_such_key()
                    chunks.append(chunk)
                offset = part_end + 1
            data = b"".join(chunks)
        if span is None:
            return row, data, (0, row.size)
        return row, data, (start, min(end, row.size) - start + 1)

    def list_objects(
        self,
        prefix: str,
        limit: int,
        start_after: str | None,
        delimiter: str | None,
    ) -> tuple[list[ObjectRow], list[str], str | None]:
        """Objects, delimited prefixes and the key the next page starts after (if any)."""
        with self._lock:
            db = self._conn()
            if delimiter is None:
                rows = db.execute(
                    f"SELECT {_OBJECT_COLUMNS} FROM _mf_objects "
                    "WHERE substr(key, 1, length(:prefix)) = :prefix "
                    "AND (:start_after IS NULL OR key > :start_after) ORDER BY key LIMIT :limit",
                    {"prefix": prefix, "start_after": start_after, "limit": limit + 1},
                ).fetchall()
                more = len(rows) > limit
                objects = [ObjectRow(*row) for row in rows[:limit]]
                return objects, [], objects[-1].key if more else None
            # One row per object, or per delimited prefix (its last key names the page's end).
            rows = db.execute(
                "SELECT max(key) AS last_key, iif("
                "instr(substr(key, length(:prefix) + 1), :delimiter), "
                "'dlp:' || substr(key, 1, length(:prefix) + "
                "instr(substr(key, length(:prefix) + 1), :delimiter) + length(:delimiter) - 1), "
                "'key:' || key) AS grouped, "
                "blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata "
                "FROM _mf_objects WHERE substr(key, 1, length(:prefix)) = :prefix "
                "AND (:start_after IS NULL OR key > :start_after) "
                "GROUP BY grouped ORDER BY last_key LIMIT :limit",
                {
                    "prefix": prefix,
                    "start_after": start_after,
                    "limit": limit + 1,
                    "delimiter": delimiter,
                },
            ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        objects, prefixes = [], []
        for last_key, grouped, *rest in rows:
            if grouped.startswith("dlp:"):
                prefixes.append(grouped[4:])
            else:
                objects.append(ObjectRow(last_key, *rest))
        return objects, prefixes, rows[-1][0] if more else None

    # writes

    def put(
        self,
        key: str,
        data: bytes,
        http_metadata: str,
        custom_metadata: str,
        checksums: str,
        only_if: Conditional | None,
    ) -> ObjectRow:
        blob = self._write_blob(data)
        row = ObjectRow(
            key=key,
            blob_id=blob,
            version=secrets.token_hex(16),
            size=len(data),
            etag=hashlib.md5(data).hexdigest(),
            uploaded=self.now_ms(),
            checksums=checksums,
            http_metadata=http_metadata,
            custom_metadata=custom_metadata,
        )

        def work(db: Any) -> list[str]:
            old = db.execute(
                "SELECT blob_id, etag, uploaded FROM _mf_objects WHERE key = ?", (key,)
            ).fetchone()
            if only_if is not None and not only_if.passes(
                None if old is None else old[1], None if old is None else old[2]
            ):
                raise _precondition_failed()
            db.execute(
                f"INSERT OR REPLACE INTO _mf_objects ({_OBJECT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.key,
                    row.blob_id,
                    row.version,
                    row.size,
                    row.etag,
                    row.uploaded,
                    row.checksums,
                    row.http_metadata,
                    row.custom_metadata,
                ),
            )
            return self._replaced(db, key, old)

        try:
            replaced = self._transaction(work)
        except BaseException:
            self._delete_blobs([blob])
            raise
        self._delete_blobs(replaced)
        return row

    @staticmethod
    def _replaced(db: Any, key: str, old: tuple[Any, ...] | None) -> list[str]:
        """The blobs an overwritten or deleted object leaves behind (all parts if multipart)."""
        if old is None:
            return []
        if old[0] is None:
            parts = db.execute(
                "DELETE FROM _mf_multipart_parts WHERE object_key = ? RETURNING blob_id", (key,)
            ).fetchall()
            return [p[0] for p in parts]
        return [old[0]]

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            _check_key(key)

        def work(db: Any) -> list[str]:
            blobs: list[str] = []
            for key in keys:
                old = db.execute(
                    "DELETE FROM _mf_objects WHERE key = ? RETURNING blob_id", (key,)
                ).fetchone()
                blobs += self._replaced(db, key, old)
            return blobs

        self._delete_blobs(self._transaction(work))

    # multipart uploads

    def create_upload(self, key: str, http_metadata: str, custom_metadata: str) -> str:
        _check_key(key)
        upload_id = base64.urlsafe_b64encode(secrets.token_bytes(128)).decode().rstrip("=")
        self._transaction(
            lambda db: db.execute(
                "INSERT INTO _mf_multipart_uploads (upload_id, key, http_metadata, "
                "custom_metadata) VALUES (?, ?, ?, ?)",
                (upload_id, key, http_metadata, custom_metadata),
            )
        )
        return upload_id

    def upload_part(self, key: str, upload_id: str, part_number: int, data: bytes) -> str:
        _check_key(key)
        blob = self._write_blob(data)
        etag = base64.urlsafe_b64encode(secrets.token_bytes(128)).decode().rstrip("=")

        def work(db: Any) -> list[str]:
            state = db.execute(
                "SELECT state FROM _mf_multipart_uploads WHERE upload_id = ? AND key = ?",
                (upload_id, key),
            ).fetchone()
            if state is None or state[0] != _IN_PROGRESS:
                raise _no_such_upload()
            old = db.execute(
                "SELECT blob_id FROM _mf_multipart_parts WHERE upload_id = ? AND part_number = ?",
                (upload_id, part_number),
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO _mf_multipart_parts (upload_id, part_number, blob_id, "
                "size, etag, checksum_md5) VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, part_number, blob, len(data), etag, hashlib.md5(data).hexdigest()),
            )
            return [] if old is None else [old[0]]

        try:
            replaced = self._transaction(work)
        except BaseException:
            self._delete_blobs([blob])
            raise
        self._delete_blobs(replaced)
        return etag

    def complete_upload(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> ObjectRow:
        """Miniflare's `completeMultipartUpload`, step by step (see bucket.worker.ts)."""
        _check_key(key)
        now = self.now_ms()

        def work(db: Any) -> tuple[ObjectRow, list[str]]:
            upload = db.execute(
                "SELECT http_metadata, custom_metadata, state FROM _mf_multipart_uploads "
                "WHERE upload_id = ? AND key = ?",
                (upload_id, key),
            ).fetchone()
            if upload is None:
                raise _internal()
            if upload[2] > _IN_PROGRESS:
                raise _no_such_upload()
            numbers = [number for number, _ in parts]
            if len(set(numbers)) != len(numbers):
                raise _internal()
            uploaded = {
                r[0]: r
                for r in db.execute(
                    "SELECT part_number, size, etag, checksum_md5 FROM _mf_multipart_parts "
                    "WHERE upload_id = ?",
                    (upload_id,),
                )
            }
            chosen = []
            for number, etag in parts:
                found = uploaded.get(number)
                if found is None or found[2] != etag:
                    raise _invalid_part()
                chosen.append(found)
            for part in chosen[:-1]:
                if part[1] < self.min_part_size:
                    raise _entity_too_small()
            chosen.sort(key=lambda part: part[0])
            size: int | None = None
            for part in chosen[:-1]:
                size = part[1] if size is None else size
                if part[1] < self.min_part_size or part[1] != size:
                    raise _bad_upload()
            if size is not None and chosen[-1][1] > size:
                raise _bad_upload()
            old = db.execute(
                "SELECT blob_id, etag, uploaded FROM _mf_objects WHERE key = ?", (key,)
            ).fetchone()
            blobs = self._replaced(db, key, old)
            md5 = hashlib.md5(b"".join(bytes.fromhex(part[3]) for part in chosen))
            row = ObjectRow(
                key=key,
                blob_id=None,
                version=secrets.token_hex(16),
                size=sum(part[1] for part in chosen),
                etag=f"{md5.hexdigest()}-{len(chosen)}",
                uploaded=now,
                checksums="{}",
                http_metadata=upload[0],
                custom_metadata=upload[1],
            )
            db.execute(
                f"INSERT OR REPLACE INTO _mf_objects ({_OBJECT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, None, row.version, row.size, row.etag, row.uploaded, "{}", *upload[:2]),
            )
            for part in chosen:
                db.execute(
                    "UPDATE _mf_multipart_parts SET object_key = ? "
                    "WHERE upload_id = ? AND part_number = ?",
                    (key, upload_id, part[0]),
                )
            unused = db.execute(
                "DELETE FROM _mf_multipart_parts WHERE upload_id = ? AND object_key IS NULL "
                "RETURNING blob_id",
                (upload_id,),
            ).fetchall()
            blobs += [u[0] for u in unused]
            db.execute(
                "UPDATE _mf_multipart_uploads SET state = ? WHERE upload_id = ?",
                (_COMPLETED, upload_id),
            )
            return row, blobs

        done: tuple[ObjectRow, list[str]] = self._transaction(work)
        self._delete_blobs(done[1])
        return done[0]

    def abort_upload(self, key: str, upload_id: str) -> None:
        _check_key(key)

        def work(db: Any) -> list[str]:
            state = db.execute(
                "SELECT state FROM _mf_multipart_uploads WHERE upload_id = ? AND key = ?",
                (upload_id, key),
            ).fetchone()
            if state is None:
                raise _internal()
            if state[0] > _IN_PROGRESS:
                return []  # aborting twice, or after complete(), changes nothing
            parts = db.execute(
                "DELETE FROM _mf_multipart_parts WHERE upload_id = ? RETURNING blob_id",
                (upload_id,),
            ).fetchall()
            db.execute(
                "UPDATE _mf_multipart_uploads SET state = ? WHERE upload_id = ?",
                (_ABORTED, upload_id),
            )
            return [p[0] for p in parts]

        self._delete_blobs(self._transaction(work))


# --- what user code receives -----------------------------------------------------------------


def _utc(ms: int) -> datetime.datetime:
    """A JS Date as the SDK hands it to Python: a naive datetime, in UTC."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.replace(tzinfo=None)


def _ms(value: Any, what: str) -> int:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    raise JsException(f"{what} must be a Date (a datetime).", "TypeError")


def _http_metadata(text: str) -> JsDict:
    stored = json.loads(text)
    result = JsDict()
    for name in _HTTP_FIELDS:
        if isinstance(stored.get(name), str):
            result[name] = stored[name]
    if stored.get("cacheExpiry") is not None:
        result["cacheExpiry"] = _utc(int(stored["cacheExpiry"]))
    return result


class R2Checksums:
    """`object.checksums`: the digests R2 knows (bytes), and `toJSON()` as hex strings."""

    def __init__(self, hexes: Mapping[str, str]) -> None:
        self.md5: bytes | None = None
        self.sha1: bytes | None = None
        self.sha256: bytes | None = None
        self.sha384: bytes | None = None
        self.sha512: bytes | None = None
        for field, _, _ in _HASHES:
            if isinstance(hexes.get(field), str):
                setattr(self, field, bytes.fromhex(hexes[field]))

    def toJSON(self) -> JsDict:  # noqa: N802 - production's name
        return JsDict(
            {f: getattr(self, f).hex() for f, _, _ in _HASHES if getattr(self, f) is not None}
        )

    def __repr__(self) -> str:
        return f"R2Checksums({dict(self.toJSON())!r})"


class R2Object:
    """What `head`, `put`, `list` and `complete` return: an object's metadata."""

    def __init__(
        self,
        row: ObjectRow,
        *,
        range: tuple[int, int] | None = None,
        http: bool = True,
        custom: bool = True,
    ) -> None:
        self.key = row.key
        self.version = row.version
        self.size = row.size
        self.etag = row.etag
        self.httpEtag = f'"{row.etag}"'
        self.uploaded = _utc(row.uploaded)
        self.httpMetadata: Any = _http_metadata(row.http_metadata) if http else None
        self.customMetadata: Any = JsDict(json.loads(row.custom_metadata)) if custom else None
        self.checksums = R2Checksums(_checksums_with_md5(row.checksums, row.etag))
        self.range = None if range is None else JsDict(offset=range[0], length=range[1])
        self.storageClass = "Standard"
        self.ssecKeyMd5: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r} size={self.size} etag={self.etag}>"

    def writeHttpMetadata(self, headers: Any) -> None:  # noqa: N802 - production's name
        """Copy the HTTP metadata onto `headers` (a `Headers`, a dict, or anything with `set`)."""
        if self.httpMetadata is None:
            raise JsException(
                f"HTTP metadata unknown for key `{self.key}`. Did you forget to add "
                "'httpMetadata' to `include` when listing?",
                "TypeError",
            )
        names = {
            "contentType": "content-type",
            "contentLanguage": "content-language",
            "contentDisposition": "content-disposition",
            "contentEncoding": "content-encoding",
            "cacheControl": "cache-control",
        }
        values = [(names[k], v) for k, v in self.httpMetadata.items() if k in names]
        expiry = self.httpMetadata.get("cacheExpiry")
        if isinstance(expiry, datetime.datetime):
            utc = expiry.replace(tzinfo=datetime.UTC)
            values.append(("expires", email.utils.format_datetime(utc, usegmt=True)))
        for name, value in values:
            _set_header(headers, name, value)


def _set_header(headers: Any, name: str, value: str) -> None:
    if isinstance(headers, Message):
        del headers[name]
        headers[name] = value
    elif callable(getattr(headers, "set", None)):
        headers.set(name, value)
    elif isinstance(headers, dict):
        for existing in [k for k in headers if str(k).lower() == name]:
            del headers[existing]
        headers[name] = value
    else:
        raise JsException(
            "Failed to execute 'writeHttpMetadata' on 'R2Object': parameter 1 is not of type "
            "'Headers'.",
            "TypeError",
        )


_USED = (
    "Body has already been used. It can only be used once. Use tee() first if you need to "
    "read it twice."
)


class R2Stream:
    """`object.body`: a ReadableStream of the object's bytes, readable once.

    Iterate it (`async for chunk in obj.body`), hand it to `Response(obj.body)` or to another
    `put`."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.locked = False

    def __repr__(self) -> str:
        return f"<ReadableStream {len(self._data)} bytes{' (used)' if self.locked else ''}>"

    def _take_bytes(self) -> bytes:
        """Consume the stream whole (what `Response(...)` and `put` do with it)."""
        if self.locked:
            raise JsException(_USED, "TypeError")
        self.locked = True
        return self._data

    def __aiter__(self) -> AsyncIterator[bytes]:
        data = self._take_bytes()

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), _STREAM_CHUNK):
                yield data[start : start + _STREAM_CHUNK]

        return chunks()


class R2ObjectBody(R2Object):
    """What `get` returns: the metadata and the body, readable once."""

    def __init__(self, row: ObjectRow, data: bytes, range: tuple[int, int]) -> None:
        super().__init__(row, range=range)
        self.body = R2Stream(data)

    @property
    def bodyUsed(self) -> bool:  # noqa: N802 - production's name
        return self.body.locked

    async def arrayBuffer(self) -> bytes:  # noqa: N802 - production's name
        return self.body._take_bytes()

    async def bytes(self) -> bytes:
        return self.body._take_bytes()

    async def text(self) -> str:
        return self.body._take_bytes().decode("utf-8", "replace")

    async def json(self) -> Any:
        text = await self.text()
        try:
            return json.loads(text, object_hook=JsDict)
        except ValueError as exc:
            raise JsException(f"Unexpected token in JSON: {exc}", "SyntaxError") from None

    async def blob(self) -> Blob:
        data = self.body._take_bytes()
        content_type = (self.httpMetadata or JsDict()).get("contentType") or ""
        return Blob([data], content_type)


# --- argument conversion (workerd's side of the binding) ------------------------------------


def _options(options: Any, kwargs: dict[str, Any], method: str, position: int) -> dict[str, Any]:
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise JsException(
            f"Failed to execute '{method}' on 'R2Bucket': parameter {position} is not of type "
            "'object'.",
            "TypeError",
        )
    return {**options, **kwargs}


def _key(key: Any) -> str:
    """A key as JS's `String(key)` makes it: any string is a key, never a path."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _js_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


async def _value_bytes(value: Any, method: str, owner: str = "R2Bucket") -> bytes:
    """The bytes of a put value: str, bytes, None, a Blob or a stream (an object's body,
    a KV stream, or any async iterable of bytes)."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, memoryview)):
        return bytes(value)
    if isinstance(value, (bytearray, tuple)):
        raise TypeError(f"{type(value)} cannot be sent over RPC.")
    take = getattr(value, "_take_bytes", None)
    if callable(take):
        data = take()
        if isinstance(data, bytes):
            return data
    if isinstance(value, Blob):
        return await value.bytes()
    if hasattr(value, "__aiter__"):
        chunks = []
        async for chunk in value:
            if isinstance(chunk, str):
                chunk = chunk.encode()
            chunks.append(bytes(chunk))
        return b"".join(chunks)
    raise JsException(
        f"Failed to execute '{method}' on '{owner}': parameter 2 is not of type "
        "'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.",
        "TypeError",
    )


def _http_fields(value: Any) -> tuple[dict[str, Any], JsDict]:
    """httpMetadata (a dict, or Headers as in `fromRequestHeaders`) -> (Miniflare's JSON
    fields in its order, what the returned object shows)."""
    if isinstance(value, Message):
        names = {
            "content-type": "contentType",
            "content-language": "contentLanguage",
            "content-disposition": "contentDisposition",
            "content-encoding": "contentEncoding",
            "cache-control": "cacheControl",
        }
        given: dict[str, Any] = {
            field: value[header] for header, field in names.items() if value.get(header)
        }
        if value.get("expires"):
            try:
                given["cacheExpiry"] = email.utils.parsedate_to_datetime(value["expires"])
            except (TypeError, ValueError):
                pass
    elif isinstance(value, dict):
        given = value
    else:
        raise JsException(
            "Failed to execute 'put' on 'R2Bucket': httpMetadata is not of type 'object'.",
            "TypeError",
        )
    stored: dict[str, Any] = {}
    shown = JsDict()
    for name in _HTTP_FIELDS:
        if given.get(name) is not None:
            stored[name] = shown[name] = _key(given[name])
    if given.get("cacheExpiry") is not None:
        stored["cacheExpiry"] = _ms(given["cacheExpiry"], "httpMetadata.cacheExpiry")
        shown["cacheExpiry"] = _utc(stored["cacheExpiry"])
    return stored, shown


def _custom_fields(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JsException(
            "Failed to execute 'put' on 'R2Bucket': customMetadata is not of type 'object'.",
            "TypeError",
        )
    return {_key(k): _key(v) for k, v in value.items()}


def _metadata_size(custom: dict[str, str]) -> int:
    """Miniflare's `serialisedLength`: UTF-16 units, doubled if any is beyond Latin-1."""

    def length(text: str) -> int:
        units = len(text.encode("utf-16-le")) // 2
        return units * 2 if any(ord(c) >= 256 for c in text) else units

    return sum(length(k) + length(v) for k, v in custom.items())


def _etags(value: Any) -> tuple[tuple[str, str], ...]:
    text = _key(value)
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        raise JsException(
            f"Conditional ETag should not be wrapped in quotes ({text}).", "TypeError"
        )
    return (("wildcard", ""),) if text == "*" else (("strong", text),)


def _etag_header(header: str) -> tuple[tuple[str, str], ...]:
    """workerd's `parseConditionalEtagHeader` for If-Match / If-None-Match."""
    found: list[tuple[str, str]] = []
    rest = header
    need_comma = False
    while True:
        positions = {c: rest.find(c) for c in '*"W,'}
        wildcard, quote, weak, comma = (p if p >= 0 else len(rest) + 1 for p in positions.values())
        if quote > len(rest) and wildcard > len(rest):
            return tuple(found)
        if comma < min(wildcard, quote, weak):
            rest, need_comma = rest[comma + 1 :], False
            continue
        if need_comma:
            first = min(wildcard, quote, weak)
            reason = (
                "Encountered a wildcard character '*' instead."
                if first == wildcard
                else "Encountered a double quote character '\"' instead. This would otherwise "
                "indicate the start of a new strong etag."
                if first == quote
                else "Encountered a weak quotation character 'W' instead. This would otherwise "
                "indicate the start of a new weak etag."
            )
            raise JsException(f"Comma was expected to separate etags. {reason}")
        if wildcard < quote:
            return (("wildcard", ""),)
        close = rest.find('"', quote + 1)
        if close < 0:
            raise JsException("Unclosed double quote for Etag")
        value = rest[quote + 1 : close]
        if weak < quote:
            if not (weak + 2 == quote and rest[weak + 1] == "/"):
                raise JsException("Weak etags must start with W/ and their value must be quoted")
            found.append(("weak", value))
        else:
            found.append(("strong", value))
        rest, need_comma = rest[close + 1 :], True


def _conditional(value: Any) -> Conditional | None:
    if value is None:
        return None
    if isinstance(value, Message):

        def date(name: str) -> int | None:
            raw = value.get(name)
            if not raw:
                return None
            try:
                return _ms(email.utils.parsedate_to_datetime(raw), name)
            except (TypeError, ValueError):
                return None

        return Conditional(
            etag_matches=_etag_header(value["if-match"]) if value.get("if-match") else None,
            etag_does_not_match=(
                _etag_header(value["if-none-match"]) if value.get("if-none-match") else None
            ),
            uploaded_before=date("if-unmodified-since"),
            uploaded_after=date("if-modified-since"),
            seconds_granularity=True,
        )
    if not isinstance(value, dict):
        raise JsException("onlyIf must be an object (R2Conditional) or Headers.", "TypeError")
    before, after = value.get("uploadedBefore"), value.get("uploadedAfter")
    return Conditional(
        etag_matches=None if value.get("etagMatches") is None else _etags(value["etagMatches"]),
        etag_does_not_match=(
            None if value.get("etagDoesNotMatch") is None else _etags(value["etagDoesNotMatch"])
        ),
        uploaded_before=None if before is None else _ms(before, "onlyIf.uploadedBefore"),
        uploaded_after=None if after is None else _ms(after, "onlyIf.uploadedAfter"),
        seconds_granularity=bool(value.get("secondsGranularity")),
    )


_RANGE_PREFIX = re.compile(r"^ *bytes *=", re.IGNORECASE)
_ONE_RANGE = re.compile(r"^ *(\d+)? *- *(\d+)? *$")


def _parse_range_header(header: str, size: int) -> list[tuple[int, int]] | None:
    """Miniflare's `parseRanges`: None if unsatisfiable, [] for all of it."""
    prefix = _RANGE_PREFIX.match(header)
    if prefix is None:
        return None
    header = header[prefix.end() :]
    if header.strip() == "":
        return []
    result: list[tuple[int, int]] = []
    for part in header.split(","):
        match = _ONE_RANGE.match(part)
        if match is None:
            return None
        start, end = match.groups()
        if start is not None and end is not None:
            first, last = int(start), int(end)
            if first > last or first >= size:
                return None
            result.append((first, min(last, size - 1)))
        elif start is not None:
            if int(start) >= size:
                return None
            result.append((int(start), size - 1))
        elif end is not None:
            suffix = int(end)
            if suffix >= size:
                return []
            if suffix == 0:
                continue
            result.append((size - suffix, size - 1))
        else:
            return None
    return result


def _range_picker(value: Any) -> Callable[[int], tuple[int, int] | None]:
    """Check `range` as workerd does now; the returned function applies Miniflare's rules
    once the object's size is known (inclusive start and end, None for everything)."""
    if value is None:
        return lambda size: None
    if isinstance(value, Message):
        header = value.get("range")

        def from_header(size: int) -> tuple[int, int] | None:
            ranges = None if header is None else _parse_range_header(header, size)
            return ranges[0] if ranges is not None and len(ranges) == 1 else None

        return from_header
    if not isinstance(value, dict):
        raise JsException("range must be an object (R2Range) or Headers.", "TypeError")
    offset, length, suffix = value.get("offset"), value.get("length"), value.get("suffix")
    for name, number, label in (
        ("offset", offset, "Starting offset"),
        ("length", length, "Length"),
        ("suffix", suffix, "Suffix"),
    ):
        if number is None:
            continue
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise JsException(f"range.{name} must be a number.", "TypeError")
        if name == "suffix":
            if offset is not None:
                raise JsException("Suffix is incompatible with offset.", "TypeError")
            if length is not None:
                raise JsException("Suffix is incompatible with length.", "TypeError")
        if number < 0:
            kind = "suffix. Suffix" if name == "suffix" else f"range. {label}"
            raise JsException(
                f"Invalid {kind} ({_js_number(number)}) must be greater than or equal to 0.",
                "RangeError",
            )
        if not float(number).is_integer():
            raise JsException(
                f"Invalid range. {label} ({_js_number(number)}) must be an integer, not "
                "floating point.",
                "RangeError",
            )

    def pick(size: int) -> tuple[int, int] | None:
        start = None if offset is None else int(offset)
        count = None if length is None else int(length)
        if suffix is not None:
            tail = int(suffix)
            if tail <= 0:
                raise _invalid_range()
            tail = min(tail, size)
            start, count = size - tail, tail
        start = 0 if start is None else start
        count = size - start if count is None else count
        if start < 0 or start > size or count <= 0:
            raise _invalid_range()
        count = min(count, size - start)
        return start, start + count - 1

    return pick


def _hashes(opts: dict[str, Any]) -> dict[str, bytes]:
    """The one digest a put may carry, checked as workerd checks it."""
    given: dict[str, bytes] = {}
    for field, name, size in _HASHES:
        value = opts.get(field)
        if value is None:
            continue
        if given:
            raise JsException("You cannot specify multiple hashing algorithms.", "TypeError")
        if isinstance(value, (bytes, memoryview)):
            if len(value) != size:
                raise JsException(f"{name} is {size} bytes, not {len(value)}", "TypeError")
            given[field] = bytes(value)
        elif isinstance(value, str):
            if len(value) != size * 2:
                raise JsException(
                    f"{name} is {size * 2} hex characters, not {len(value)}", "TypeError"
                )
            try:
                given[field] = bytes.fromhex(value)
            except ValueError:
                raise JsException(
                    f"Provided {name} wasn't a valid hex string", "TypeError"
                ) from None
        else:
            raise JsException(f"{field} must be a hex string or bytes.", "TypeError")
    return given


def _digest_checks(data: bytes, given: dict[str, bytes]) -> str:
    """Miniflare's `Validator.hash`: compare, and the checksums JSON it stores."""
    checksums: dict[str, str] = {}
    for field, name, _ in _HASHES:
        if field not in given:
            continue
        computed = hashlib.new(field, data).digest()
        if given[field] != computed:
            raise R2Error(
                400,
                f"The {name} checksum you specified did not match what we received.\n"
                f"You provided a {name} checksum with value: {given[field].hex()}\n"
                f"Actual {name} was: {computed.hex()}",
                10037,
            )
        checksums[field] = computed.hex()
    return json.dumps(checksums, separators=(",", ":"))


def _json(value: dict[str, Any]) -> str:
    """`JSON.stringify`, as Miniflare stores metadata."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _b64encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def _b64decode(text: str) -> str:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


# --- the binding -----------------------------------------------------------------------------


class R2Bucket:
    """`env.BUCKET`: production's R2Bucket methods over one bucket's local files."""

    def __init__(self, state: R2BucketState, binding: str | None = None) -> None:
        self._state = state
        self._binding = binding

    def __repr__(self) -> str:
        return f"<R2Bucket {self._binding or ''} ({self._state.bucket_name})>"

    @property
    def bucket_name(self) -> str:
        return self._state.bucket_name

    def close(self) -> None:
        self._state.close()

    async def _run(self, action: str, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(call, *args)
        except R2Error as exc:
            raise exc.js(action) from None

    async def head(self, key: Any) -> Any:  # R2Object or None
        try:
            row = await asyncio.to_thread(self._state.head, _key(key))
        except R2Error as exc:
            if exc.v4code == 10007:
                return None
            raise exc.js("head") from None
        return R2Object(row, range=(0, row.size))

    async def get(self, key: Any, options: Any = None, /, **kwargs: Any) -> Any:
        opts = _options(options, kwargs, "get", 2)
        only_if = _conditional(opts.get("onlyIf"))
        pick = _range_picker(opts.get("range"))
        try:
            row, data, span = await asyncio.to_thread(self._state.get, _key(key), only_if, pick)
        except R2Error as exc:
            if exc.v4code == 10007:
                return None
            if isinstance(exc.row, ObjectRow):  # onlyIf failed: the object, without its body
                return R2Object(exc.row, range=(0, exc.row.size))
            raise exc.js("get") from None
        return R2ObjectBody(row, data, span)

    async def put(self, key: Any, value: Any, options: Any = None, /, **kwargs: Any) -> Any:
        opts = _options(options, kwargs, "put", 3)
        key = _key(key)
        only_if = _conditional(opts.get("onlyIf"))
        custom = _custom_fields(opts.get("customMetadata"))
        http_stored, http_shown = _http_fields(opts.get("httpMetadata") or {})
        given = _hashes(opts)
        data = await _value_bytes(value, "put")
        try:
            _check_key(key)
            if len(data) > MAX_VALUE_SIZE:
                raise R2Error(
                    400, "Your proposed upload exceeds the maximum allowed object size.", 100100
                )
            if _metadata_size(custom) > MAX_METADATA_SIZE:
                raise R2Error(
                    400, "Your metadata headers exceed the maximum allowed metadata size.", 10012
                )
            checksums = _digest_checks(data, given)
            row = await asyncio.to_thread(
                self._state.put, key, data, _json(http_stored), _json(custom), checksums, only_if
            )
        except R2Error as exc:
            if exc.v4code == 10031:
                return None
            raise exc.js("put") from None
        result = R2Object(row)
        result.httpMetadata, result.customMetadata = http_shown, JsDict(custom)
        return result

    async def delete(self, keys: Any) -> None:
        if isinstance(keys, tuple):
            raise TypeError(f"{type(keys)} cannot be sent over RPC.")
        names = [_key(k) for k in keys] if isinstance(keys, list) else [_key(keys)]
        await self._run("delete", self._state.delete, names)

    async def list(self, options: Any = None, /, **kwargs: Any) -> JsDict:
        opts = _options(options, kwargs, "list", 1)
        include = opts.get("include")
        wanted: list[str] = []
        if include is not None:
            for item in include if isinstance(include, list) else [include]:
                if item not in ("httpMetadata", "customMetadata"):
                    raise JsException(f"Unsupported include value {_key(item)}", "RangeError")
                wanted.append(item)
        limit_given = opts.get("limit")
        limit = MAX_LIST_KEYS if limit_given is None else int(limit_given)
        if limit < 1 or limit > MAX_LIST_KEYS:
            raise R2Error(400, "MaxKeys params must be positive integer <= 1000.", 10022).js("list")
        if wanted:
            limit = min(limit, 100)  # R2 returns fewer objects with metadata; Miniflare: 100
        prefix = "" if opts.get("prefix") is None else _key(opts["prefix"])
        start_after = None if opts.get("startAfter") is None else _key(opts["startAfter"])
        if opts.get("cursor"):
            after_cursor = _b64decode(_key(opts["cursor"]))
            if start_after is None or after_cursor > start_after:
                start_after = after_cursor
        delimiter = None if opts.get("delimiter") in (None, "") else _key(opts["delimiter"])
        rows, prefixes, last = await self._run(
            "list", self._state.list_objects, prefix, limit, start_after, delimiter
        )
        objects = [
            R2Object(row, http="httpMetadata" in wanted, custom="customMetadata" in wanted)
            for row in rows
        ]
        result = JsDict(objects=objects, truncated=last is not None)
        if last is not None:
            result["cursor"] = _b64encode(last)
        result["delimitedPrefixes"] = prefixes
        return result

    async def createMultipartUpload(  # noqa: N802 - production's name
        self, key: Any, options: Any = None, /, **kwargs: Any
    ) -> R2MultipartUpload:
        opts = _options(options, kwargs, "createMultipartUpload", 2)
        key = _key(key)
        custom = _custom_fields(opts.get("customMetadata"))
        http_stored, _ = _http_fields(opts.get("httpMetadata") or {})
        upload_id = await self._run(
            "createMultipartUpload",
            self._state.create_upload,
            key,
            _json(http_stored),
            _json(custom),
        )
        return R2MultipartUpload(self, key, upload_id)

    def resumeMultipartUpload(self, key: Any, uploadId: Any) -> R2MultipartUpload:  # noqa: N802, N803 - production's names
        return R2MultipartUpload(self, _key(key), _key(uploadId))


class R2MultipartUpload:
    """An upload in progress: `key`, `uploadId`, `uploadPart`, `complete`, `abort`."""

    def __init__(self, bucket: R2Bucket, key: str, upload_id: str) -> None:
        self._bucket = bucket
        self.key = key
        self.uploadId = upload_id

    def __repr__(self) -> str:
        return f"<R2MultipartUpload {self.key!r} {self.uploadId[:12]}…>"

    @staticmethod
    def _part_number(value: Any) -> int:
        number = int(value) if isinstance(value, (int, float)) else 0
        if not 1 <= number <= MAX_PART_NUMBER:
            raise JsException(
                "Part number must be between 1 and 10000 (inclusive). Actual value was: "
                f"{_key(value)}",
                "TypeError",
            )
        return number

    async def uploadPart(self, partNumber: Any, value: Any, options: Any = None) -> JsDict:  # noqa: N802, N803 - production's names
        number = self._part_number(partNumber)
        data = await _value_bytes(value, "uploadPart", "R2MultipartUpload")
        etag = await self._bucket._run(
            "uploadPart", self._bucket._state.upload_part, self.key, self.uploadId, number, data
        )
        return JsDict(partNumber=number, etag=etag)

    async def complete(self, uploadedParts: Any) -> Any:  # noqa: N803 - production's name
        if not isinstance(uploadedParts, list):
            raise JsException(
                "complete() takes the list of uploaded parts ({partNumber, etag}).", "TypeError"
            )
        parts: list[tuple[int, str]] = []
        for part in uploadedParts:
            if not isinstance(part, dict):
                raise JsException("Each uploaded part must be {partNumber, etag}.", "TypeError")
            parts.append((self._part_number(part.get("partNumber")), _key(part.get("etag"))))
        row = await self._bucket._run(
            "completeMultipartUpload",
            self._bucket._state.complete_upload,
            self.key,
            self.uploadId,
            parts,
        )
        return R2Object(row)

    async def abort(self) -> None:
        await self._bucket._run(
            "abortMultipartUpload", self._bucket._state.abort_upload, self.key, self.uploadId
        )
