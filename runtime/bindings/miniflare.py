"""wrangler's local state: Miniflare's v3 on-disk layout, shared with `wrangler … --local`.

`wrangler dev` keeps each KV namespace, D1 database and R2 bucket as a Durable Object of
Miniflare's, persisted under `<root>/v3/<plugin>/` where `<root>` is `.wrangler/state` next to
the configuration (wrangler's `--persist-to` replaces it):

    <root>/v3/kv/miniflare-KVNamespaceObject/<doid>.sqlite      the entries (SQLite, WAL)
    <root>/v3/kv/<sanitised namespace id>/blobs/<blob id>        one file per value

`<doid>` is workerd's id-from-name derivation over the unique key `miniflare-<Class>`. durable
reads and writes these files itself, so both tools see the same data.

The layout is Miniflare's, not a published format; it has moved before. What durable supports
is pinned here: the layout as wrangler 4.86.0 (Miniflare 4.20260426.0) writes it. A database
whose tables are not the ones durable knows is refused (StoreError), never modified.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
import time
from pathlib import Path

from durable.runtime.errors import StoreError

LAYOUT = "v3"
WRANGLER_VERSION = "4.86.0"
MINIFLARE_VERSION = "4.20260426.0"
STATE_DIRNAME = ".wrangler/state"
BUSY_TIMEOUT_MS = 10_000

__all__ = [
    "LAYOUT",
    "MINIFLARE_VERSION",
    "WRANGLER_VERSION",
    "blob_id",
    "durable_object_id",
    "open_object_db",
    "sanitise_path",
    "state_root",
]


def state_root(config_root: Path) -> Path:
    """`.wrangler/state` next to the configuration, as `wrangler dev` uses it by default."""
    return (config_root / STATE_DIRNAME).resolve()


def durable_object_id(unique_key: str, name: str) -> str:
    """workerd's `idFromName`: the 64 hex characters naming a Durable Object's SQLite file."""
    key = hashlib.sha256(unique_key.encode()).digest()
    head = hmac.new(key, name.encode(), hashlib.sha256).digest()[:16]
    return (head + hmac.new(key, head, hashlib.sha256).digest()[:16]).hex()


def blob_id(random: bytes, now_ms: int) -> str:
    """Miniflare's blob id: 32 random bytes and the time (ms, 8 bytes big-endian), in hex."""
    return (random + now_ms.to_bytes(8, "big", signed=True)).hex()


_BLOB_ID = re.compile(r"[0-9a-f]{80}")
_DOTS = re.compile(r"(^|/|\\)(\.+)(/|\\|$)")
_ILLEGAL = re.compile(r"[?<>*\"'^/\\:|\x00-\x1f\x80-\x9f]")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def is_blob_id(value: str) -> bool:
    return _BLOB_ID.fullmatch(value) is not None


def sanitise_path(unsafe: str) -> str:
    """Miniflare's `sanitisePath`: the folder name a namespace's blobs live under."""

    def dots(match: re.Match[str]) -> str:
        return f"{match.group(1)}{'_' * len(match.group(2))}{match.group(3)}"

    safe = _DOTS.sub(dots, _DOTS.sub(dots, unsafe))
    safe = _ILLEGAL.sub("_", safe)
    safe = _RESERVED.sub("_", safe)
    safe = re.sub(r"^[ /\\]+", lambda m: "_" * len(m.group(0)), safe)
    safe = re.sub(r"[ /\\]+$", lambda m: "_" * len(m.group(0)), safe)
    return safe[:255]


def open_object_db(
    path: Path, schema: str, tables: dict[str, tuple[str, ...]]
) -> sqlite3.Connection:
    """Open (creating it with `schema` if missing) one Durable Object's SQLite file.

    `tables` names the tables, with their columns in order, that the layout must have; a file
    with other columns, or without them while holding other tables, is refused untouched.
    Connections are in autocommit mode with WAL and a busy timeout, as workerd's own are WAL:
    wrangler and durable may write at the same time.
    """
    exists = path.exists()
    if exists:
        _check(path, tables)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Switching a file to WAL takes an exclusive lock and, unlike other statements, can answer
    # "database is locked" at once while another process opens the same file; so the opening
    # steps are retried within the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return _open(path, schema, tables, exists)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise StoreError(f"cannot open wrangler's local state {path}: {exc}") from exc
            time.sleep(0.01)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open wrangler's local state {path}: {exc}") from exc


def _open(
    path: Path, schema: str, tables: dict[str, tuple[str, ...]], exists: bool
) -> sqlite3.Connection:
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA case_sensitive_like = TRUE")
        if not exists or not _has_tables(db, tables):
            db.executescript(schema)
    except BaseException:
        db.close()
        raise
    return db


def _has_tables(db: sqlite3.Connection, tables: dict[str, tuple[str, ...]]) -> bool:
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return set(tables) <= names


def _check(path: Path, tables: dict[str, tuple[str, ...]]) -> None:
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            found = {
                row[0]: tuple(col[1] for col in db.execute(f'PRAGMA table_info("{row[0]}")'))
                for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read wrangler's local state {path}: {exc}") from exc
    ours = {name: found[name] for name in tables if name in found}
    others = [n for n in found if not n.startswith(("sqlite_", "_cf_")) and n not in tables]
    # Some of our tables and no others: another process is creating the file (IF NOT EXISTS).
    if ours == tables or (not others and all(found[n] == tables[n] for n in ours)):
        return
    expected = ", ".join(f"{name}({', '.join(cols)})" for name, cols in tables.items())
    seen = ", ".join(f"{name}({', '.join(cols)})" for name, cols in found.items()) or "none"
    raise StoreError(
        f"{path} is not in the layout durable knows (Miniflare's {LAYOUT} layout, as wrangler "
        f"{WRANGLER_VERSION} writes it): expected table(s) {expected}, found {seen}. "
        "durable leaves it untouched; use the wrangler version that wrote it."
    )
