"""All SQL lives here: one SQLite file per project, in WAL mode.

The engine writes through a single *group-commit writer*: every write is a full-row upsert (or a
small named statement) appended to a queue; the writer drains whatever has accumulated, keeps
only the last version of each row, and commits the lot in one `BEGIN IMMEDIATE` transaction.
A caller that must not go on before its write is durable (a step result, a created instance, an
acknowledged event) awaits the returned future; bookkeeping writes (an attempt starting, a
status change the next write supersedes) are fire-and-forget and ride along with the next commit.
Under load this turns thousands of steps per second into a few dozen commits.

Reads use a second connection, so they never queue behind a commit (WAL lets both proceed).

A CLI command with no engine running uses `OfflineStore` instead: the same queries on one plain
sqlite3 connection, no event loop and no thread. That is why asyncio and aiosqlite are imported
inside `Store`'s methods: importing them costs a CLI start more than its query.
"""

from __future__ import annotations

import json
import logging
import operator
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from durable.runtime.errors import StoreError
from durable.runtime.states import FINISHED, StepState

from .clock import wall_ms
from .migrations import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import asyncio

    import aiosqlite

log = logging.getLogger("durable.store")

STORE_FILENAME = "durable.sqlite3"


def _sql_set(values: Iterable[str]) -> str:
    """An SQL list of string literals, sorted so the statement text stays the same."""
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


# The state sets as SQL, built from the enums so that SQL and Python cannot disagree.
_FINISHED_SQL = _sql_set(FINISHED)
_TIMED_STEP_SQL = _sql_set((StepState.WAITING, StepState.RETRYING))


@dataclass(slots=True)
class InstanceRow:
    pk: int
    workflow: str
    id: str
    status: str  # an InstanceStatus
    params: str | None
    output: str | None
    error: str | None
    trigger: str
    created_ms: int
    started_ms: int | None
    ended_ms: int | None
    modified_ms: int
    paused_ms: int | None = None
    wake_ms: int | None = None
    waiting_for: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(slots=True)
class StepRow:
    instance_pk: int
    kind: str  # a StepKind
    name: str
    count: int
    seq: int
    status: str  # a StepState
    config: str | None
    output: str | None
    error: str | None
    attempts: str | None  # JSON list of {start, end, success, error}
    started_ms: int
    ended_ms: int | None = None
    wake_ms: int | None = None
    event_type: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.kind, self.name, self.count)


@dataclass(slots=True)
class EventRow:
    seq: int | None
    instance_pk: int
    type: str
    payload: str | None
    received_ms: int
    consumed_by: str | None = None


@dataclass(slots=True)
class IntentRow:
    seq: int
    workflow: str
    instance_id: str | None
    action: str
    body: str | None
    created_ms: int


@dataclass(slots=True)
class ReplayState:
    """What replaying an instance needs: its row, its steps in order, its pending events."""

    row: InstanceRow
    steps: list[StepRow]
    events: list[EventRow]


def _columns(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


_INSTANCE_COLS = _columns(InstanceRow)
_STEP_COLS = _columns(StepRow)
_EVENT_COLS = _columns(EventRow)
# Flat tuples of a row's fields; dataclasses.astuple deep-copies and was the hottest call.
_instance_values = operator.attrgetter(*_INSTANCE_COLS)
_step_values = operator.attrgetter(*_STEP_COLS)
_event_values = operator.attrgetter(*_EVENT_COLS)


def _upsert_sql(table: str, cols: Sequence[str]) -> str:
    return (
        f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    )


_UPSERT = {
    "instances": _upsert_sql("instances", _INSTANCE_COLS),
    "steps": _upsert_sql("steps", _STEP_COLS),
    "events": _upsert_sql("events", _EVENT_COLS),
}

# --- connections ------------------------------------------------------------------------------


def _configure(conn: sqlite3.Connection) -> None:
    """Set the pragmas every connection to the store uses (`Store.open` and
    `OfflineStore.open_now` are the only openers, and both call this first).

    * WAL lets readers (the CLI, the API) proceed while the engine commits.
    * synchronous=NORMAL: in WAL mode a commit is durable against a process crash (the case a
      dev tool meets: SIGKILL, a reload) and costs ~0.03 ms instead of an fsync; a power cut may
      lose the last commits, never corrupt the file.
    * busy_timeout: a second process waiting for the write lock waits instead of failing with
      "database is locked".
    * foreign keys stay off: the engine deletes an instance's rows itself, in one transaction.
    """
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA temp_store=MEMORY")


def _check_schema(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer version of durable (schema {version}, this one "
            f"knows {SCHEMA_VERSION}). Upgrade durable, or use another --persist-to directory."
        )
    return version


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply pending migrations, each with its version bump in one transaction."""
    version = _check_schema(conn, path)
    for number in range(version, SCHEMA_VERSION):
        script = (
            f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]};\nPRAGMA user_version={number + 1};\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        # Another process may have migrated meanwhile; re-read before the next step.
        version = _check_schema(conn, path)


def _store_error(path: Path, exc: Exception) -> StoreError:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"{path} is not a valid durable store ({text}). Move it aside to start afresh, "
            "or use another --persist-to directory."
        )
    if "readonly" in text or "unable to open" in text or isinstance(exc, OSError):
        return StoreError(
            f"Cannot write the store {path} ({text}). Make the directory writable or pass "
            "--persist-to with a writable directory."
        )
    return StoreError(f"Cannot use the store {path}: {text}")


# --- the async store --------------------------------------------------------------------------

_Op = tuple[str, str, Any, tuple[Any, ...]]  # (kind, table-or-sql, key, params)


async def _in_thread(conn: aiosqlite.Connection, fn: Any, *args: Any) -> Any:
    """Run `fn(sqlite3_connection, *args)` in the aiosqlite connection's own thread.

    aiosqlite offers no public call for this, but a whole batch (BEGIN, several executemany,
    COMMIT) must cost one thread hop, not one per statement: that is what makes group commit
    cheap. `_execute` has been aiosqlite's internal dispatcher for years; this is the one place
    that relies on it.
    """
    return await conn._execute(fn, conn._conn, *args)  # type: ignore[no-untyped-call]  # noqa: SLF001


class StoreQueries(ABC):
    """The queries of durable's store, over an abstract way to run them.

    `Store` (the engine's: asyncio, group commit) and `OfflineStore` (a CLI command's: one
    sqlite3 connection, no event loop) implement `_push`, `flush` and `_fetch` and share
    everything else, each with its own `__init__`.
    """

    path: Path
    commits: int

    @abstractmethod
    def _push(self, op: _Op) -> None:
        """Queue or run one write (`put` a row or run a `sql` statement)."""

    @abstractmethod
    async def flush(self) -> None:
        """Return once every write pushed so far is committed."""

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one read and return all its rows."""

    @abstractmethod
    async def close(self) -> None: ...

    # -- writing --

    # `put_*` queue a row and return at once; `save_*` return once it is committed.

    def put_instance(self, row: InstanceRow) -> None:
        self._push(("put", "instances", row.pk, _instance_values(row)))

    def put_step(self, row: StepRow) -> None:
        self._push(("put", "steps", (row.instance_pk, *row.key), _step_values(row)))

    def put_event(self, row: EventRow) -> None:
        assert row.seq is not None
        self._push(("put", "events", row.seq, _event_values(row)))

    async def save_instance(self, row: InstanceRow) -> None:
        self.put_instance(row)
        await self.flush()

    async def save_step(self, row: StepRow) -> None:
        self.put_step(row)
        await self.flush()

    async def save_event(self, row: EventRow) -> None:
        self.put_event(row)
        await self.flush()

    def _statement(self, sql: str, params: tuple[Any, ...]) -> None:
        self._push(("sql", sql, None, params))

    async def delete_instance(self, pk: int) -> None:
        for table, column in (
            ("steps", "instance_pk"),
            ("events", "instance_pk"),
            ("instances", "pk"),
        ):
            self._statement(f"DELETE FROM {table} WHERE {column} = ?", (pk,))
        await self.flush()

    async def delete_workflow_instances(self, workflow: str) -> None:
        select = "SELECT pk FROM instances WHERE workflow = ?"
        self._statement(f"DELETE FROM steps WHERE instance_pk IN ({select})", (workflow,))
        self._statement(f"DELETE FROM events WHERE instance_pk IN ({select})", (workflow,))
        self._statement("DELETE FROM instances WHERE workflow = ?", (workflow,))
        await self.flush()

    def delete_steps(self, pk: int, from_seq: int = 0) -> None:
        self._statement("DELETE FROM steps WHERE instance_pk = ? AND seq >= ?", (pk, from_seq))

    def delete_events(self, pk: int) -> None:
        self._statement("DELETE FROM events WHERE instance_pk = ?", (pk,))

    def shift_deadlines(self, pk: int, delta_ms: int) -> None:
        """Move the open timers of an instance later, by the time it spent paused."""
        self._statement(
            "UPDATE steps SET wake_ms = wake_ms + ? WHERE instance_pk = ? AND wake_ms IS NOT NULL "
            f"AND status IN {_TIMED_STEP_SQL}",
            (delta_ms, pk),
        )

    async def upsert_workflows(
        self, rows: Iterable[tuple[str, str, str | None]], *, stamp_ms: int
    ) -> None:
        stamp = stamp_ms
        for name, class_name, script_name in rows:
            self._statement(
                "INSERT INTO workflows (name, class_name, script_name, created_ms, modified_ms) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "class_name = excluded.class_name, script_name = excluded.script_name, "
                "modified_ms = CASE WHEN workflows.class_name IS excluded.class_name AND "
                "workflows.script_name IS excluded.script_name THEN workflows.modified_ms "
                "ELSE excluded.modified_ms END",
                (name, class_name, script_name, stamp, stamp),
            )
        await self.flush()

    async def add_intent(
        self, workflow: str, instance_id: str | None, action: str, body: Any
    ) -> None:
        """Record a write command for `durable dev` to apply when it next starts."""
        sql = "INSERT INTO intents (workflow, instance_id, action, body, created_ms) VALUES (?, ?, ?, ?, ?)"
        params = (workflow, instance_id, action, json.dumps(body), wall_ms())
        self._statement(sql, params)
        await self.flush()

    async def delete_intents(self, up_to_seq: int) -> None:
        self._statement("DELETE FROM intents WHERE seq <= ?", (up_to_seq,))
        await self.flush()

    # -- reading --

    async def max_instance_pk(self) -> int:
        rows = await self._fetch("SELECT max(pk) FROM instances")
        return int(rows[0][0] or 0)

    async def max_event_seq(self) -> int:
        rows = await self._fetch("SELECT max(seq) FROM events")
        return int(rows[0][0] or 0)

    async def get_instance(self, workflow: str, instance_id: str) -> InstanceRow | None:
        rows = await self._fetch(
            f"SELECT {', '.join(_INSTANCE_COLS)} FROM instances WHERE workflow = ? AND id = ?",
            (workflow, instance_id),
        )
        return InstanceRow(*rows[0]) if rows else None

    async def latest_instance(self, workflow: str) -> InstanceRow | None:
        rows = await self._fetch(
            f"SELECT {', '.join(_INSTANCE_COLS)} FROM instances WHERE workflow = ? ORDER BY pk DESC LIMIT 1",
            (workflow,),
        )
        return InstanceRow(*rows[0]) if rows else None

    async def list_instances(
        self,
        workflow: str,
        *,
        status: str | None = None,
        limit: int = 25,
        offset: int = 0,
        before_pk: int | None = None,
        after_pk: int | None = None,
        ascending: bool = False,
        created_from_ms: int | None = None,
        created_to_ms: int | None = None,
    ) -> list[InstanceRow]:
        sql, params = _instance_filter(workflow, status, created_from_ms, created_to_ms)
        if before_pk is not None:
            sql += " AND pk < ?"
            params.append(before_pk)
        if after_pk is not None:
            sql += " AND pk > ?"
            params.append(after_pk)
        sql += f" ORDER BY pk {'ASC' if ascending else 'DESC'} LIMIT ? OFFSET ?"
        params += [limit, offset]
        rows = await self._fetch(
            f"SELECT {', '.join(_INSTANCE_COLS)} FROM instances WHERE {sql}", params
        )
        return [InstanceRow(*row) for row in rows]

    async def count_instances(
        self,
        workflow: str,
        *,
        status: str | None = None,
        created_from_ms: int | None = None,
        created_to_ms: int | None = None,
    ) -> int:
        sql, params = _instance_filter(workflow, status, created_from_ms, created_to_ms)
        rows = await self._fetch(f"SELECT count(*) FROM instances WHERE {sql}", params)
        return int(rows[0][0])

    async def status_counts(self, workflow: str) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT status, count(*) FROM instances WHERE workflow = ? GROUP BY status",
            (workflow,),
        )
        return {status: int(count) for status, count in rows}

    async def unfinished_instances(self) -> list[InstanceRow]:
        rows = await self._fetch(
            f"SELECT {', '.join(_INSTANCE_COLS)} FROM instances "
            f"WHERE status NOT IN {_FINISHED_SQL} ORDER BY pk"
        )
        return [InstanceRow(*row) for row in rows]

    async def steps_of(self, pk: int) -> list[StepRow]:
        rows = await self._fetch(
            f"SELECT {', '.join(_STEP_COLS)} FROM steps WHERE instance_pk = ? ORDER BY seq",
            (pk,),
        )
        return [StepRow(*row) for row in rows]

    async def events_of(self, pk: int, *, pending_only: bool = False) -> list[EventRow]:
        where = " AND consumed_by IS NULL" if pending_only else ""
        rows = await self._fetch(
            f"SELECT {', '.join(_EVENT_COLS)} FROM events WHERE instance_pk = ?{where} ORDER BY seq",
            (pk,),
        )
        return [EventRow(*row) for row in rows]

    async def workflow_rows(self) -> dict[str, tuple[int, int]]:
        rows = await self._fetch("SELECT name, created_ms, modified_ms FROM workflows")
        return {name: (int(created), int(modified)) for name, created, modified in rows}

    async def intents(self) -> list[IntentRow]:
        rows = await self._fetch(
            "SELECT seq, workflow, instance_id, action, body, created_ms FROM intents ORDER BY seq"
        )
        return [IntentRow(*row) for row in rows]

    async def pending_create(self, workflow: str, instance_id: str) -> bool:
        """Whether a create for this id is recorded and waits for `durable dev`."""
        rows = await self._fetch(
            "SELECT 1 FROM intents WHERE workflow = ? AND instance_id = ? AND action = 'create' LIMIT 1",
            (workflow, instance_id),
        )
        return bool(rows)

    async def integrity_check(self) -> str:
        rows = await self._fetch("PRAGMA integrity_check")
        return str(rows[0][0])


class Store(StoreQueries):
    """The engine's store: group-committed writes, a separate read connection."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        import asyncio

        # Kept, so that flush (once per step) needs no asyncio import or loop lookup.
        self._loop = asyncio.get_running_loop()
        self.path = path
        self._writer = writer
        self._reader = reader
        self._queue: list[_Op] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wakeup = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._write_loop(), name="durable-store-writer")
        self.commits = 0

    @classmethod
    async def open(cls, path: Path) -> Store:
        import aiosqlite

        opened: list[aiosqlite.Connection] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = await aiosqlite.connect(path, isolation_level=None)
            opened.append(writer)
            await _in_thread(writer, _configure)
            await _in_thread(writer, _migrate, path)
            reader = await aiosqlite.connect(path, isolation_level=None)
            opened.append(reader)
            await _in_thread(reader, _configure)
        except (sqlite3.Error, OSError, StoreError) as exc:
            for conn in opened:
                await conn.close()
            raise (exc if isinstance(exc, StoreError) else _store_error(path, exc)) from exc
        return cls(path, writer, reader)

    async def close(self) -> None:
        if self._closed:
            return
        import asyncio

        await self.flush()
        self._closed = True
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        await self._writer.close()
        await self._reader.close()

    def _push(self, op: _Op) -> None:
        if self._closed:
            raise StoreError("The store is closed.")
        self._queue.append(op)
        self._wakeup.set()

    async def flush(self) -> None:
        """Return once everything queued so far is committed.

        Always goes through the writer, even with an empty queue: a batch taken off the queue
        may still be committing, and the writer resolves this only after that batch.
        """
        future: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(future)
        self._wakeup.set()
        await future

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            ops, waiters = self._queue, self._waiters
            self._queue, self._waiters = [], []
            if not ops:
                for future in waiters:
                    if not future.done():
                        future.set_result(None)
                continue
            try:
                await _in_thread(self._writer, _commit_batch, ops)
                self.commits += 1
            except Exception as exc:  # noqa: BLE001 - reported to every waiter, logged otherwise
                error = _store_error(self.path, exc)
                log.error("store write failed: %s", error)
                for future in waiters:
                    if not future.done():
                        future.set_exception(error)
                continue
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            # One trip to the reader thread: with separate execute/fetch/close trips, another
            # coroutine's read could slip in between and the cursor would keep serving a
            # snapshot older than a commit we already waited for (a lost wake-up).
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc

    async def replay_states(self, pks: Sequence[int]) -> dict[int, ReplayState]:
        """The row, steps and pending events of many instances, to replay them.

        One trip to the reader thread and one snapshot for the lot: waking a thousand sleepers
        due together then costs one round trip, not three each queued behind everyone else's.
        An instance that no longer exists is left out.
        """
        try:
            states: dict[int, ReplayState] = await _in_thread(
                self._reader, _read_replay_states, list(pks)
            )
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc
        return states


class OfflineStore(StoreQueries):
    """The store for a CLI command when no engine runs: one sqlite3 connection, this thread.

    The same queries as `Store` (both inherit them), but `_fetch` runs the statement right here
    and every write commits at once, so none of its coroutines ever suspends: `run_now` runs
    them without an event loop. Writes here are only the CLI's recorded intents; the group
    commit that pays off for an engine would only add latency to a single command.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._closed = False
        self.commits = 0

    @classmethod
    def open_now(cls, path: Path) -> OfflineStore:
        conn: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None)
            _configure(conn)
            _migrate(conn, path)
        except (sqlite3.Error, OSError, StoreError) as exc:
            if conn is not None:
                conn.close()
            raise (exc if isinstance(exc, StoreError) else _store_error(path, exc)) from exc
        return cls(path, conn)

    async def close(self) -> None:
        self._closed = True
        self._conn.close()

    def _push(self, op: _Op) -> None:
        if self._closed:
            raise StoreError("The store is closed.")
        try:
            _commit_batch(self._conn, [op])
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc
        self.commits += 1

    async def flush(self) -> None:
        """Every write is committed when `_push` returns: nothing to wait for."""

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc


_T = TypeVar("_T")


def run_now(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never suspends (one over an `OfflineStore`) to its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: _T = done.value
        return result
    coroutine.close()
    raise RuntimeError("run_now: the coroutine waited for something; it needs an event loop")


def _instance_filter(
    workflow: str,
    status: str | None,
    created_from_ms: int | None,
    created_to_ms: int | None,
) -> tuple[str, list[Any]]:
    sql = "workflow = ?"
    params: list[Any] = [workflow]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    if created_from_ms is not None:
        sql += " AND created_ms >= ?"
        params.append(created_from_ms)
    if created_to_ms is not None:
        sql += " AND created_ms <= ?"
        params.append(created_to_ms)
    return sql, params


# Well under SQLite's smallest default limit of bound parameters per statement (999).
_PKS_PER_QUERY = 500


def _read_replay_states(conn: sqlite3.Connection, pks: list[int]) -> dict[int, ReplayState]:
    """Run in the reader's thread; one read transaction, so rows, steps and events agree."""
    states: dict[int, ReplayState] = {}
    conn.execute("BEGIN")
    try:
        for first in range(0, len(pks), _PKS_PER_QUERY):
            chunk = pks[first : first + _PKS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            for values in conn.execute(
                f"SELECT {', '.join(_INSTANCE_COLS)} FROM instances WHERE pk IN ({marks})", chunk
            ):
                row = InstanceRow(*values)
                states[row.pk] = ReplayState(row, [], [])
            for values in conn.execute(
                f"SELECT {', '.join(_STEP_COLS)} FROM steps WHERE instance_pk IN ({marks}) "
                "ORDER BY instance_pk, seq",
                chunk,
            ):
                step = StepRow(*values)
                if step.instance_pk in states:
                    states[step.instance_pk].steps.append(step)
            for values in conn.execute(
                f"SELECT {', '.join(_EVENT_COLS)} FROM events WHERE instance_pk IN ({marks}) "
                "AND consumed_by IS NULL ORDER BY seq",
                chunk,
            ):
                event = EventRow(*values)
                if event.instance_pk in states:
                    states[event.instance_pk].events.append(event)
    finally:
        conn.execute("COMMIT")
    return states


def _commit_batch(conn: sqlite3.Connection, ops: list[_Op]) -> None:
    """Run in the writer's thread: coalesce row upserts and commit everything at once.

    Upserts of the same row keep only the last version. A plain statement is a barrier: the
    upserts queued before it are written first, so order is kept wherever it matters.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        pending: dict[str, dict[Any, tuple[Any, ...]]] = {}
        for kind, target, key, params in ops:
            if kind == "put":
                pending.setdefault(target, {})[key] = params
                continue
            _write_rows(conn, pending)
            pending = {}
            conn.execute(target, params)
        _write_rows(conn, pending)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _write_rows(conn: sqlite3.Connection, pending: dict[str, dict[Any, tuple[Any, ...]]]) -> None:
    for table, rows in pending.items():
        conn.executemany(_UPSERT[table], rows.values())
