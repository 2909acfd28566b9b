"""env.DB: production's D1 surface (workerd's d1-api), over Miniflare's v3 D1 file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable.runtime.bindings.d1 import (
    D1Database,
    D1DatabaseState,
    D1PreparedStatement,
    database_path,
)
from durable.runtime.bindings.d1_migrations import split_sql_query
from durable.runtime.errors import JsException, StoreError
from durable.runtime.worker.jsdict import JsDict


@pytest.fixture
def db(tmp_path: Path) -> Iterator[D1Database]:
    database = D1Database(D1DatabaseState(tmp_path / "state", "my-db-id"), "DB")
    yield database
    database.close()


async def _table(db: D1Database) -> None:
    await db.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, ok, data);"
    )


def test_the_file_is_miniflares_hashed_name(tmp_path: Path) -> None:
    path = database_path(tmp_path, "my-db-id")
    assert path.parent == tmp_path / "v3" / "d1" / "miniflare-D1DatabaseObject"
    assert len(path.stem) == 64 and path.suffix == ".sqlite"
    assert database_path(tmp_path, "other") != path


async def test_prepare_bind_first_all_run_raw(db: D1Database) -> None:
    await _table(db)
    insert = db.prepare("INSERT INTO users (email, ok, data) VALUES (?, ?, ?)")
    assert isinstance(insert, D1PreparedStatement)  # prepare and bind are synchronous
    ran = await insert.bind("a@x", True, None).run()
    assert ran.success is True and ran.results == []
    meta = ran.meta
    assert set(meta) >= {
        "duration",
        "changes",
        "last_row_id",
        "rows_read",
        "rows_written",
        "changed_db",
        "size_after",
    }
    assert meta.changes == 1 and meta.last_row_id == 1 and meta.changed_db is True
    assert meta.rows_written >= 1 and meta.size_after > 0
    await insert.bind("b@x", False, b"\x00\xff").run()
    rows = (await db.prepare("SELECT id, email, ok, data FROM users ORDER BY id").all()).results
    assert rows == [
        {"id": 1, "email": "a@x", "ok": 1, "data": None},
        {"id": 2, "email": "b@x", "ok": 0, "data": [0, 255]},  # a BLOB is a list of bytes
    ]
    assert isinstance(rows[0], JsDict) and rows[0].email == "a@x"
    first = await db.prepare("SELECT * FROM users WHERE email = ?").bind("b@x").first()
    assert first is not None and first["id"] == 2
    assert await db.prepare("SELECT email FROM users WHERE id = ?").bind(1).first("email") == "a@x"
    assert await db.prepare("SELECT * FROM users WHERE id = 99").first() is None
    assert await db.prepare("SELECT * FROM users WHERE id = 99").first("email") is None
    with pytest.raises(JsException, match=r"D1_COLUMN_NOTFOUND: Column not found \(nope\)"):
        await db.prepare("SELECT id FROM users").first("nope")
    raw = await db.prepare("SELECT id, email FROM users ORDER BY id").raw()
    assert raw == [[1, "a@x"], [2, "b@x"]]
    named = await db.prepare("SELECT id, email FROM users ORDER BY id").raw(columnNames=True)
    assert named[0] == ["id", "email"] and named[1:] == raw
    assert await db.prepare("SELECT id FROM users WHERE 0").raw({"columnNames": True}) == [["id"]]
    read = await db.prepare("SELECT * FROM users").all()
    assert read.meta.rows_read >= 2 and read.meta.changed_db is False


async def test_binding_rules(db: D1Database) -> None:
    row = await (
        db.prepare("SELECT ? AS t, ? AS f, ? AS n, ? AS s, ? AS i, ? AS r, ? AS b")
        .bind(True, False, None, "x", 7, 2.5, [1, 2])
        .first()
    )
    assert row == {"t": 1, "f": 0, "n": None, "s": "x", "i": 7, "r": 2.5, "b": [1, 2]}
    with pytest.raises(JsException) as caught:
        db.prepare("SELECT ?").bind({"a": 1})
    assert str(caught.value) == (
        "Error: D1_TYPE_ERROR: Type 'object' not supported for value '[object Object]'"
    )
    with pytest.raises(JsException, match="Type 'object' not supported for value '1,300'"):
        db.prepare("SELECT ?").bind([1, 300])
    with pytest.raises(JsException, match="Type 'bigint' not supported"):
        db.prepare("SELECT ?").bind(2**60)
    with pytest.raises(TypeError, match="<class 'tuple'> cannot be sent over RPC."):
        db.prepare("SELECT ?").bind((1, 2))


async def test_sql_errors_have_productions_text(db: D1Database) -> None:
    await _table(db)
    with pytest.raises(JsException) as caught:
        await db.prepare("INVALID").all()
    assert str(caught.value) == (
        'Error: D1_ERROR: near "INVALID": syntax error at offset 0: SQLITE_ERROR'
    )
    with pytest.raises(JsException) as caught:
        await db.prepare("SELECT * FROM nope").all()
    assert str(caught.value) == "Error: D1_ERROR: no such table: nope: SQLITE_ERROR"
    await db.prepare("INSERT INTO users (email) VALUES ('a')").run()
    with pytest.raises(JsException) as caught:
        await db.prepare("INSERT INTO users (email) VALUES ('a')").run()
    assert str(caught.value) == (
        "Error: D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT "
        "(extended: SQLITE_CONSTRAINT_UNIQUE)"
    )
    assert caught.value.name == "Error" and type(caught.value).__module__ == "pyodide.ffi"


# Texts observed from Miniflare 4.20260426.0's D1 (workerd's authorizer and SQLite).
@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("SELECT nope FROM users", [], "no such column: nope at offset 7: SQLITE_ERROR"),
        ("SELECT ?", [], "Wrong number of parameter bindings for SQL query."),
        ("SELECT ?", [1, 2], "Wrong number of parameter bindings for SQL query."),
        (
            "SELECT ? AS one; SELECT 3 AS two",
            [2],
            "When executing multiple SQL statements in a single call, only the last statement "
            "can have parameters.",
        ),
        ("begin", [], "To execute a transaction, please use the state.storage.transaction()"),
        ("SAVEPOINT a", [], "instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements."),
        ("COMMIT", [], "To execute a transaction"),
        ("SELECT * FROM _CF_metadata", [], "access to _cf_METADATA.key is prohibited: SQLITE_AUTH"),
        ("CREATE TABLE _cf_x (a)", [], "not authorized: SQLITE_AUTH"),
        ("ATTACH DATABASE 'x.db' AS x", [], "not authorized: SQLITE_AUTH"),
        ("PRAGMA journal_mode = delete", [], "not authorized: SQLITE_AUTH"),
        ("PRAGMA user_version", [], "not authorized: SQLITE_AUTH"),
        ("-- only a comment", [], "SQL code did not contain a statement."),
        ("  -- indented comment", [], "No SQL statements detected."),
        ("", [], "No SQL statements detected."),
        (
            "INSERT INTO child VALUES (5)",
            [],
            "FOREIGN KEY constraint failed: SQLITE_CONSTRAINT (extended: "
            "SQLITE_CONSTRAINT_FOREIGNKEY)",
        ),
    ],
)
async def test_what_workerd_refuses(
    db: D1Database, sql: str, params: list[object], message: str
) -> None:
    await _table(db)
    await db.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE child (pid INTEGER REFERENCES parent(id));"
    )
    with sqlite3.connect(db.state.path) as workerd:  # the table workerd adds to each file
        workerd.execute(
            "CREATE TABLE IF NOT EXISTS _cf_METADATA (key INTEGER PRIMARY KEY, value BLOB)"
        )
    workerd.close()
    with pytest.raises(JsException) as caught:
        await db.prepare(sql).bind(*params).all()
    assert str(caught.value).startswith("Error: D1_ERROR: ")
    assert message in str(caught.value)
    assert await db.prepare("SELECT count(*) AS n FROM child").first("n") == 0


async def test_what_workerd_allows_and_how_values_come_back(db: D1Database) -> None:
    await _table(db)
    info = await db.prepare("PRAGMA table_info(users)").raw()
    assert [row[1] for row in info] == ["id", "email", "ok", "data"]
    assert await db.prepare("PRAGMA foreign_keys").first("foreign_keys") == 1
    assert await db.prepare("PRAGMA quick_check").raw() == [["ok"]]
    # A JS number binds as a REAL; a whole double comes back as int.
    row = await db.prepare("SELECT typeof(?) AS t, ? / 2 AS h, 1.0 AS f").bind(5, 5).first()
    assert row == {"t": "real", "h": 2.5, "f": 1}
    assert isinstance(row["f"], int)
    # Beyond 2**53 a result is a JS number (the nearest double).
    assert await db.prepare("SELECT 9007199254740993 AS v").first("v") == 9007199254740992
    # Object.fromEntries: the last value of a repeated name, array-index names first.
    dup = await db.prepare("SELECT 1 AS a, 2 AS a, 3 AS '1'").first()
    assert list(dup.items()) == [("1", 3), ("a", 2)]
    multi = await db.prepare("SELECT 1 AS one; SELECT ? AS two").bind(2).all()
    assert multi.results == [{"two": 2}]
    run = await db.prepare("SELECT 7 AS seven").run()
    assert run.results == [{"seven": 7}]  # Miniflare's run() returns the rows too


async def test_batch_is_one_transaction(db: D1Database) -> None:
    await _table(db)
    results = await db.batch(
        [
            db.prepare("INSERT INTO users (email) VALUES (?)").bind("a"),
            db.prepare("INSERT INTO users (email) VALUES (?)").bind("b"),
            db.prepare("SELECT count(*) AS n FROM users"),
        ]
    )
    assert [r.success for r in results] == [True, True, True]
    assert results[2].results == [{"n": 2}]
    with pytest.raises(JsException, match="UNIQUE constraint failed: users.email"):
        await db.batch(
            [
                db.prepare("INSERT INTO users (email) VALUES ('c')"),
                db.prepare("INSERT INTO users (email) VALUES ('a')"),
            ]
        )
    assert await db.prepare("SELECT count(*) AS n FROM users").first("n") == 2  # nothing of it
    with pytest.raises(JsException, match="D1_ERROR: No SQL statements detected."):
        await db.batch([])


async def test_exec_runs_each_line(db: D1Database) -> None:
    done = await db.exec(
        "CREATE TABLE t (a);\nINSERT INTO t VALUES (1); INSERT INTO t VALUES (2);\n\n"
        "INSERT INTO t VALUES (3);"
    )
    assert done["count"] == 3 and done["duration"] >= 0
    assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 3
    with pytest.raises(JsException) as caught:
        await db.exec("INSERT INTO t VALUES (4);\nINSERT INTO nope VALUES (1);")
    assert str(caught.value) == (
        "Error: D1_EXEC_ERROR: Error in line 2: INSERT INTO nope VALUES (1);: "
        "no such table: nope: SQLITE_ERROR"
    )
    assert await db.prepare("SELECT count(*) AS n FROM t").first("n") == 3


async def test_sessions_and_bookmarks(db: D1Database) -> None:
    await _table(db)
    session = db.withSession()
    assert session.getBookmark() is None
    await session.prepare("INSERT INTO users (email) VALUES ('s')").run()
    first = session.getBookmark()
    assert isinstance(first, str) and first
    await session.batch([session.prepare("SELECT 1")])
    second = session.getBookmark()
    assert second is not None and second > first
    resumed = db.withSession(second)
    assert resumed.getBookmark() == second
    assert db.withSession("first-primary").getBookmark() is None
    assert (await resumed.prepare("SELECT email FROM users").first("email")) == "s"


async def test_wal_mode_and_concurrent_writers(db: D1Database, tmp_path: Path) -> None:
    await _table(db)
    path = database_path(tmp_path / "state", "my-db-id")
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO users (email) VALUES ('other')")
    pending = asyncio.ensure_future(db.prepare("INSERT INTO users (email) VALUES ('me')").run())
    await asyncio.sleep(0.2)
    other.execute("COMMIT")  # the busy timeout waited for the other writer
    await pending
    other.close()
    assert await db.prepare("SELECT count(*) AS n FROM users").first("n") == 2


async def test_corrupt_and_unknown_files_are_refused_untouched(tmp_path: Path) -> None:
    root = tmp_path / "state"
    path = database_path(root, "bad")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all" * 100)
    before = path.read_bytes()
    bad = D1Database(D1DatabaseState(root, "bad"), "DB")
    with pytest.raises(StoreError, match="is not a readable SQLite database"):
        await bad.prepare("SELECT 1").all()
    assert path.read_bytes() == before
    assert not path.with_name(path.name + "-wal").exists()

    odd = database_path(root, "odd")
    with sqlite3.connect(odd) as conn:
        conn.execute("CREATE TABLE _cf_METADATA (something_else)")
    conn.close()
    with pytest.raises(StoreError, match="not in the layout durable knows"):
        await D1Database(D1DatabaseState(root, "odd")).prepare("SELECT 1").all()

    old = root / "v3" / "d1" / "legacy" / "db.sqlite"
    old.parent.mkdir(parents=True)
    sqlite3.connect(old).close()
    with pytest.raises(StoreError, match="older wrangler layout"):
        await D1Database(D1DatabaseState(root, "legacy")).prepare("SELECT 1").all()
    assert not database_path(root, "legacy").exists()


def test_wranglers_splitter() -> None:
    assert split_sql_query("SELECT 1;") == ["SELECT 1;"]
    assert split_sql_query("SELECT 1; SELECT ';'; -- x;\nSELECT 2") == [
        "SELECT 1",
        "SELECT ';'",
        "SELECT 2",
    ]
    trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; END; SELECT /* ; */ 3;"
    assert split_sql_query(trigger) == [
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; END",
        "SELECT  3",
    ]
    assert split_sql_query("BEGIN TRANSACTION;\nSELECT 1;\nSELECT 2;\nCOMMIT;") == [
        "SELECT 1",
        "SELECT 2",
    ]
