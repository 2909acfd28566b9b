"""A `[[d1_databases]]` binding: `env.DB`, over wrangler's own local state.

The Python surface is production's (workerd's `D1Database`, `cloudflare-internal:d1-api`, as
workers-runtime-sdk's generic wrapper forwards it): camelCase methods, keyword arguments as the
trailing options object, `JsDict` results, `None` for null, failures as `pyodide.ffi.JsException`
with the text workerd and Miniflare give (`Error: D1_ERROR: no such table: t: SQLITE_ERROR`):

    stmt = env.DB.prepare("SELECT * FROM t WHERE id = ?").bind(1)     synchronous
    await stmt.first() / stmt.first("col")     row (JsDict) or None / the value
    await stmt.all() / stmt.run()              {success, meta, results}
    await stmt.raw() / stmt.raw(columnNames=True)   lists (column names first)
    await env.DB.batch([stmt, ...])            one result per statement, in one transaction
    await env.DB.exec("...\\n...")              one statement per line: {count, duration}
    session = env.DB.withSession("first-primary")    prepare, batch, getBookmark()

Storage is Miniflare's (see `miniflare.py`): the database *is* the SQLite file
`v3/d1/miniflare-D1DatabaseObject/<doid>.sqlite`, named by `preview_database_id`, else
`database_id`, else the binding, so `wrangler d1 execute DB --local` sees the same tables. Each
call to the database runs in one transaction, as Miniflare's `transactionSync` does.
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime
import hashlib
import itertools
import math
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from durable.runtime.errors import D1QueryError, JsException, StoreError
from durable.runtime.worker.jsdict import JsDict

from .miniflare import BUSY_TIMEOUT_MS, LAYOUT, WRANGLER_VERSION, durable_object_id, sanitise_path

__all__ = [
    "D1Database",
    "D1DatabaseSession",
    "D1DatabaseState",
    "D1QueryError",
    "D1PreparedStatement",
    "database_path",
]

UNIQUE_KEY = "miniflare-D1DatabaseObject"
SERVED_BY = "miniflare.db"  # what wrangler dev's local D1 reports
FIRST_PRIMARY = "first-primary"
FIRST_UNCONSTRAINED = "first-unconstrained"
_MAX_SAFE_INTEGER = 2**53 - 1

# Miniflare drops queries that are only (indented) comments before running a batch.
_COMMENT_LINES = re.compile(r"^\s+--.*", re.MULTILINE)
_EMPTY_PIECE = re.compile(r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*;?", re.DOTALL)

TRANSACTION_MESSAGE = (
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)
MULTI_PARAMS_MESSAGE = (
    "When executing multiple SQL statements in a single call, only the last statement can "
    "have parameters."
)
# The PRAGMAs workerd lets a D1 query run (observed with Miniflare 4.20260426.0); others are
# "not authorized", as are ATTACH/DETACH and any `_cf_` table.
ALLOWED_PRAGMAS = frozenset(
    "data_version defer_foreign_keys foreign_key_check foreign_key_list foreign_keys "
    "index_info index_list index_xinfo legacy_alter_table optimize quick_check "
    "case_sensitive_like recursive_triggers reverse_unordered_selects table_info table_list "
    "table_xinfo".split()
)
_SQLITE_PRAGMA = 19
_SQLITE_TRANSACTION = 22
_SQLITE_ATTACH = 24
_SQLITE_DETACH = 25
_SQLITE_SAVEPOINT = 32

_PRIMARY_CODES = {
    1: "SQLITE_ERROR",
    2: "SQLITE_INTERNAL",
    3: "SQLITE_PERM",
    4: "SQLITE_ABORT",
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    9: "SQLITE_INTERRUPT",
    10: "SQLITE_IOERR",
    11: "SQLITE_CORRUPT",
    12: "SQLITE_NOTFOUND",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
    17: "SQLITE_SCHEMA",
    18: "SQLITE_TOOBIG",
    19: "SQLITE_CONSTRAINT",
    20: "SQLITE_MISMATCH",
    21: "SQLITE_MISUSE",
    23: "SQLITE_AUTH",
    25: "SQLITE_RANGE",
    26: "SQLITE_NOTADB",
}


def database_path(root: Path, local_id: str) -> Path:
    """The SQLite file wrangler keeps the database named `local_id` in, under `root`."""
    return root / "v3" / "d1" / UNIQUE_KEY / f"{durable_object_id(UNIQUE_KEY, local_id)}.sqlite"


# --- the database file ------------------------------------------------------------------------


class D1DatabaseState:
    """One database's SQLite file: a connection in WAL mode and a lock (blocking calls)."""

    def __init__(self, root: Path, database_id: str) -> None:
        self.root = root
        self.database_id = database_id
        self.path = database_path(root, database_id)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._guard = False  # user SQL is being prepared: the authorizer applies
        self._denied: str | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db = _open_database(self.path, self.root, self.database_id)
            db.set_authorizer(self._authorize)
            self._db = db
        return self._db

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, dbname: str | None, source: Any
    ) -> int:
        """What workerd's authorizer refuses to a D1 query (durable's own SQL is not checked)."""
        if not self._guard:
            return sqlite3.SQLITE_OK
        if action in (_SQLITE_TRANSACTION, _SQLITE_SAVEPOINT):
            self._denied = TRANSACTION_MESSAGE
            return sqlite3.SQLITE_DENY
        if action in (_SQLITE_ATTACH, _SQLITE_DETACH):
            return sqlite3.SQLITE_DENY
        if action == _SQLITE_PRAGMA:
            return (
                sqlite3.SQLITE_OK
                if (arg1 or "").lower() in ALLOWED_PRAGMAS
                else sqlite3.SQLITE_DENY
            )
        for name in (arg1, arg2):
            if name is not None and name.lower().startswith("_cf_"):
                return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def execute(
        self, queries: Sequence[tuple[str, Sequence[Any]]], fmt: str = "ROWS_AND_COLUMNS"
    ) -> list[dict[str, Any]]:
        """Run `queries` in one transaction, as Miniflare's `D1DatabaseObject` does.

        Each result is `{columns, rows, meta}`. Any failure rolls everything back and raises
        D1QueryError with the message workerd gives.
        """
        kept = [q for q in queries if _COMMENT_LINES.sub("", q[0]).strip()]
        if not kept:
            raise D1QueryError("No SQL statements detected.")
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise D1QueryError(_message(db, exc, None)) from None
            results: list[dict[str, Any]] = []
            try:
                for index, (sql, params) in enumerate(kept):
                    try:
                        results.append(self._query(db, sql, params))
                    except D1QueryError as exc:
                        exc.index = index
                        raise
                db.execute("COMMIT")
            except D1QueryError:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise D1QueryError(_message(db, exc, None)) from None
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return results

    def _guarded(
        self, db: sqlite3.Connection, sql: str, params: Sequence[Any]
    ) -> tuple[sqlite3.Cursor, list[Any]]:
        """Prepare and run user SQL with the authorizer on."""
        self._guard = True
        try:
            cursor = db.execute(sql, [_sql_value(v) for v in params])
            return cursor, cursor.fetchall()
        finally:
            self._guard = False

    def _query(self, db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> dict[str, Any]:
        started = time.perf_counter()
        size_before = _size(db)
        changes_before, rowid_before = db.execute(
            "SELECT total_changes(), last_insert_rowid()"
        ).fetchone()
        pieces = [p for p in split_statements(sql) if not _EMPTY_PIECE.fullmatch(p)]
        if not pieces:
            raise D1QueryError("SQL code did not contain a statement.")
        columns: list[str] = []
        rows: list[list[Any]] = []
        read = 0
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            self._denied = None
            try:
                cursor, fetched = self._guarded(db, piece, params if last else ())
            except sqlite3.ProgrammingError as exc:
                if not str(exc).startswith("Incorrect number of bindings"):
                    raise D1QueryError(_message(db, exc, piece)) from None
                raise D1QueryError(
                    "Wrong number of parameter bindings for SQL query."
                    if last
                    else MULTI_PARAMS_MESSAGE
                ) from None
            except (sqlite3.Error, OverflowError) as exc:
                raise D1QueryError(self._denied or _message(db, exc, piece)) from None
            columns = [d[0] for d in cursor.description or ()]
            rows = [[_cell(v) for v in row] for row in fetched]
            read += len(fetched)
        changes_after, rowid_after = db.execute(
            "SELECT total_changes(), last_insert_rowid()"
        ).fetchone()
        size_after = _size(db)
        changes = changes_after - changes_before
        duration = (time.perf_counter() - started) * 1000
        return {
            "columns": columns,
            "rows": rows,
            "meta": {
                "served_by": SERVED_BY,
                "duration": duration,
                "changes": changes,
                "last_row_id": rowid_after,
                "changed_db": changes != 0
                or rowid_after != rowid_before
                or size_after != size_before,
                "size_after": size_after,
                "rows_read": read,
                "rows_written": changes,
            },
        }


def _size(db: sqlite3.Connection) -> int:
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(size)


def _cell(value: Any) -> Any:
    if isinstance(value, bytes):
        return list(value)  # Miniflare sends a BLOB as an array of byte values
    if isinstance(value, int) and abs(value) > _MAX_SAFE_INTEGER:
        return int(float(value))  # a JS number: the nearest double
    if isinstance(value, float) and value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
        return int(value)  # a whole JS number reaches Python as int
    return value


def _sql_value(value: Any) -> Any:
    """A bound value as workerd binds it: every JS number (so every int) as a REAL."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _open_database(path: Path, root: Path, database_id: str) -> sqlite3.Connection:
    """Open (creating it if missing) the database file; refuse what is not wrangler's layout."""
    old = root / "v3" / "d1" / sanitise_path(database_id) / "db.sqlite"
    exists = path.exists()
    if not exists and old.exists():
        raise StoreError(
            f"{old} is in an older wrangler layout (before Miniflare's hashed D1 files); durable "
            f"supports Miniflare's {LAYOUT} layout as wrangler {WRANGLER_VERSION} writes it and "
            "leaves that file untouched. Open the project once with a current wrangler."
        )
    if exists:
        _check(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # No statement cache: the authorizer judges user SQL each time it is prepared.
        db = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=0,
        )
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")  # as workerd's D1 does
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open wrangler's local D1 database {path}: {exc}") from exc
    return db


def _check(path: Path) -> None:
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {
                row[0]: tuple(col[1] for col in db.execute(f'PRAGMA table_info("{row[0]}")'))
                for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StoreError(
            f"{path} is not a readable SQLite database ({exc}); durable leaves it untouched."
        ) from exc
    metadata = tables.get("_cf_METADATA")
    if metadata is not None and metadata != ("key", "value"):
        raise StoreError(
            f"{path} is not in the layout durable knows (Miniflare's {LAYOUT} layout, as wrangler "
            f"{WRANGLER_VERSION} writes it): _cf_METADATA has columns {', '.join(metadata)}. "
            "durable leaves it untouched; use the wrangler version that wrote it."
        )


# --- SQL text ---------------------------------------------------------------------------------


def split_statements(sql: str) -> list[str]:
    """Cut `sql` after each complete statement, as SQLite's prepare walks a string's tail."""
    pieces: list[str] = []
    start = 0
    for i, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : i + 1]):
            pieces.append(sql[start : i + 1])
            start = i + 1
    if sql[start:].strip():
        pieces.append(sql[start:])
    return pieces


def _message(db: sqlite3.Connection, exc: BaseException, sql: str | None) -> str:
    """workerd's text for a failed statement: `<sqlite message>[ at offset N]: SQLITE_<CODE>`,
    with ` (extended: SQLITE_<CODE>_<DETAIL>)` when SQLite gave an extended code."""
    if isinstance(exc, OverflowError):
        return f"{exc}: SQLITE_ERROR"
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else 1
    if primary == 1 and sql is not None:
        offset = _error_offset(db, sql)
        if offset is not None and offset >= 0:
            text += f" at offset {offset}"
    name = _PRIMARY_CODES.get(primary, "SQLITE_ERROR")
    extended = getattr(exc, "sqlite_errorname", None)
    if isinstance(extended, str) and extended != name and extended.startswith(name + "_"):
        return f"{text}: {name} (extended: {extended})"
    return f"{text}: {name}"


_LIB: Any = None


def _library() -> Any:
    """The SQLite library Python's `sqlite3` uses (for `sqlite3_error_offset`), or None."""
    global _LIB
    if _LIB is None:
        try:
            import _sqlite3

            lib = ctypes.CDLL(_sqlite3.__file__)
            lib.sqlite3_prepare_v2.argtypes = [
                ctypes.c_void_p,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_void_p),
                ctypes.c_void_p,
            ]
            lib.sqlite3_finalize.argtypes = [ctypes.c_void_p]
            lib.sqlite3_error_offset.argtypes = [ctypes.c_void_p]
            lib.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.sqlite3_db_filename.restype = ctypes.c_char_p
            _LIB = lib
        except (OSError, AttributeError, ImportError):
            _LIB = False
    return _LIB or None


def _error_offset(db: sqlite3.Connection, sql: str) -> int | None:
    """Where SQLite's parser stopped in `sql` (what workerd adds as "at offset N"), if known.

    Python's sqlite3 does not expose `sqlite3_error_offset`; the statement is prepared again
    (never run) on the same connection, so it sees the same schema, inside the transaction.
    """
    lib = _library()
    if lib is None:
        return None
    try:
        handle = ctypes.c_void_p.from_address(id(db) + object.__basicsize__).value
        filename = lib.sqlite3_db_filename(handle, b"main") if handle else None
        if filename is None or Path(filename.decode()).name != Path(_db_file(db)).name:
            return None  # not the layout this reads: no offset rather than a wrong one
        stmt = ctypes.c_void_p()
        data = sql.encode()
        rc = lib.sqlite3_prepare_v2(handle, data, len(data), ctypes.byref(stmt), None)
        if stmt.value:
            lib.sqlite3_finalize(stmt)
        if rc == 0:
            return None
        offset = int(lib.sqlite3_error_offset(handle))
    except (OSError, ValueError, AttributeError):
        return None
    return offset if offset >= 0 else None


def _db_file(db: sqlite3.Connection) -> str:
    for _, name, file in db.execute("PRAGMA database_list"):
        if name == "main":
            return str(file)
    return ""


# --- the binding ------------------------------------------------------------------------------


def _js_string(value: Any) -> str:
    """`String(value)` of what Pyodide made of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (list, tuple)):
        return ",".join("" if v is None else _js_string(v) for v in value)
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        moment = moment.astimezone(datetime.UTC)
        return moment.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _bind_value(value: Any) -> Any:
    """`D1PreparedStatement.bind`'s check of one value, after Pyodide's conversion."""
    if isinstance(value, bool):
        return 1 if value else 0
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:  # Pyodide hands such an int over as a BigInt
            raise JsException(f"D1_TYPE_ERROR: Type 'bigint' not supported for value '{value}'")
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value  # JSON: null
    if isinstance(value, (bytes, memoryview)):
        return bytes(value)
    if isinstance(value, (bytearray, tuple)):
        raise TypeError(f"{type(value)} cannot be sent over RPC.")
    if isinstance(value, list) and all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in value
    ):
        return bytes(value)
    kind = "function" if callable(value) else "object"
    raise JsException(f"D1_TYPE_ERROR: Type '{kind}' not supported for value '{_js_string(value)}'")


def _row_objects(result: dict[str, Any]) -> list[JsDict]:
    """`Object.fromEntries` of each row: a repeated name keeps the last value, and names that
    are array indexes ("0", "1", ...) come first, in numeric order, as in any JS object."""
    columns = result["columns"]
    out = []
    for row in result["rows"]:
        item: dict[str, Any] = {}
        for name, cell in zip(columns, row, strict=False):
            item[name] = cell
        indexes = sorted((k for k in item if _is_array_index(k)), key=int)
        if indexes:
            item = {**{k: item[k] for k in indexes}, **item}
        out.append(JsDict(item))
    return out


_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")


def _is_array_index(name: str) -> bool:
    return _ARRAY_INDEX.fullmatch(name) is not None and int(name) < 2**32 - 1


def _meta(result: dict[str, Any]) -> JsDict:
    meta = JsDict(result["meta"])
    duration = meta["duration"]
    if isinstance(duration, float) and duration.is_integer():
        meta["duration"] = int(duration)
    return meta


def _result(result: dict[str, Any]) -> JsDict:
    return JsDict(success=True, meta=_meta(result), results=_row_objects(result))


class _Session:
    """What workerd's `D1DatabaseSession` holds: the database and a bookmark or constraint."""

    _counter = itertools.count(1)

    def __init__(self, db: D1Database, bookmark_or_constraint: str) -> None:
        self._db = db
        self._bookmark = bookmark_or_constraint

    async def _send(self, queries: list[tuple[str, list[Any]]], fmt: str) -> list[dict[str, Any]]:
        state = self._db._state
        try:
            results: list[dict[str, Any]] = await asyncio.to_thread(state.execute, queries, fmt)
        except D1QueryError as exc:
            raise JsException(f"D1_ERROR: {exc}") from None
        self._update_bookmark(self._db._next_bookmark())
        return results

    def _update_bookmark(self, new: str) -> None:
        current = self.getBookmark()
        if current is None or current < new:
            self._bookmark = new

    def getBookmark(self) -> str | None:  # noqa: N802 - production's name
        if self._bookmark in (FIRST_PRIMARY, FIRST_UNCONSTRAINED):
            return None
        return self._bookmark

    def prepare(self, query: Any) -> D1PreparedStatement:
        return D1PreparedStatement(self, query)

    async def batch(self, statements: Any) -> list[JsDict]:
        if not isinstance(statements, list):
            if isinstance(statements, tuple):
                raise TypeError(f"{type(statements)} cannot be sent over RPC.")
            raise JsException("statements.map is not a function", "TypeError")
        for statement in statements:
            if not isinstance(statement, D1PreparedStatement):
                raise JsException(
                    "D1_ERROR: batch() takes a list of prepared statements (db.prepare(...)), "
                    f"got {type(statement).__name__}"
                )
        results = await self._send(
            [(s.statement, s.params) for s in statements], "ROWS_AND_COLUMNS"
        )
        return [_result(r) for r in results]


class _PrimarySession(_Session):
    """The database's own session: always the primary, never a bookmark."""

    def _update_bookmark(self, new: str) -> None:
        return None

    def getBookmark(self) -> str | None:  # noqa: N802 - production's name
        return None


class D1DatabaseSession(_Session):
    """`env.DB.withSession(...)`: `prepare`, `batch`, `getBookmark()`."""

    def __repr__(self) -> str:
        return f"<D1DatabaseSession {self._bookmark}>"


class D1PreparedStatement:
    """`env.DB.prepare(sql)`: bind values with `bind`, run with `first`/`all`/`run`/`raw`."""

    def __init__(self, session: _Session, statement: Any, params: list[Any] | None = None) -> None:
        if not isinstance(statement, str):
            raise JsException(
                f"D1_ERROR: prepare() takes the SQL as a string, got {type(statement).__name__}",
                "TypeError",
            )
        self._session = session
        self.statement: str = statement
        self.params: list[Any] = params or []

    def __repr__(self) -> str:
        return f"<D1PreparedStatement {self.statement!r}>"

    def bind(self, *values: Any, **kwargs: Any) -> D1PreparedStatement:
        items = list(values) + ([kwargs] if kwargs else [])
        return D1PreparedStatement(self._session, self.statement, [_bind_value(v) for v in items])

    async def _one(self, fmt: str) -> dict[str, Any]:
        results = await self._session._send([(self.statement, self.params)], fmt)
        return results[0]

    async def first(self, colName: Any = None) -> Any:  # noqa: N803 - production's name
        result = await self._one("ROWS_AND_COLUMNS")
        rows = _row_objects(result)
        if not rows:
            return None
        if colName is None:
            return rows[0]
        name = str(colName)
        if name not in rows[0]:
            raise JsException(f"D1_COLUMN_NOTFOUND: Column not found ({name})")
        return rows[0][name]

    async def all(self) -> JsDict:
        return _result(await self._one("ROWS_AND_COLUMNS"))

    async def run(self) -> JsDict:
        return _result(await self._one("NONE"))

    async def raw(self, options: Any = None, /, **kwargs: Any) -> list[list[Any]]:
        opts = dict(options) if isinstance(options, dict) else {}
        opts.update(kwargs)
        result = await self._one("ROWS_AND_COLUMNS")
        rows = [list(row) for row in result["rows"]]
        return [list(result["columns"]), *rows] if opts.get("columnNames") else rows


class D1Database:
    """`env.DB`: production's D1Database over one local database file."""

    def __init__(self, state: D1DatabaseState, binding: str | None = None) -> None:
        self._state = state
        self._binding = binding
        self._primary = _PrimarySession(self, FIRST_PRIMARY)
        self._seq = itertools.count(1)
        self._salt = hashlib.sha256(str(state.path).encode()).hexdigest()[:32]

    def __repr__(self) -> str:
        return f"<D1Database {self._binding or ''} ({self._state.database_id})>"

    @property
    def database_id(self) -> str:
        return self._state.database_id

    @property
    def state(self) -> D1DatabaseState:
        return self._state

    def close(self) -> None:
        self._state.close()

    def _next_bookmark(self) -> str:
        """A commit token that sorts after every earlier one (production's 8-8-8-32 shape)."""
        ms = time.time_ns() // 1_000_000
        return (
            f"{ms >> 32:08x}-{ms & 0xFFFFFFFF:08x}-{next(self._seq) & 0xFFFFFFFF:08x}-{self._salt}"
        )

    def prepare(self, query: Any) -> D1PreparedStatement:
        return D1PreparedStatement(self._primary, query)

    async def batch(self, statements: Any) -> list[JsDict]:
        return await self._primary.batch(statements)

    async def exec(self, query: Any) -> JsDict:
        """One statement per line, all in one transaction: `{count, duration}`."""
        if not isinstance(query, str):
            raise JsException(f"{_js_string(query)}.trim is not a function", "TypeError")
        lines = query.strip().split("\n")
        kept = [(i, line) for i, line in enumerate(lines) if _COMMENT_LINES.sub("", line).strip()]
        state = self._state
        try:
            results = await asyncio.to_thread(state.execute, [(line, []) for line in lines], "NONE")
        except D1QueryError as exc:
            index, line = kept[exc.index] if exc.index < len(kept) else (0, lines[0])
            raise JsException(f"D1_EXEC_ERROR: Error in line {index + 1}: {line}: {exc}") from None
        total = sum(r["meta"]["duration"] for r in results)
        return JsDict(
            count=len(results), duration=int(total) if float(total).is_integer() else total
        )

    def withSession(self, constraintOrBookmark: Any = None) -> D1DatabaseSession:  # noqa: N802, N803 - production's names
        value = constraintOrBookmark.strip() if isinstance(constraintOrBookmark, str) else None
        return D1DatabaseSession(self, value or FIRST_UNCONSTRAINED)

    async def dump(self) -> bytes:
        raise JsException("D1_DUMP_ERROR: Status + 500")
