"""The SQLite store: pragmas, migrations, bad files, concurrent access from other processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from durable.runtime.engine.clock import wall_ms as now_ms
from durable.runtime.engine.migrations import SCHEMA_VERSION
from durable.runtime.engine.store import InstanceRow, Store
from durable.runtime.errors import StoreError

WAIT = ("complete", "errored", "terminated")


async def test_pragmas_and_schema_version(tmp_path):
    store = await Store.open(tmp_path / "s.sqlite3")
    rows = {}
    for name in ("journal_mode", "synchronous", "busy_timeout", "user_version"):
        rows[name] = (await store._fetch(f"PRAGMA {name}"))[0][0]
    await store.close()
    assert rows == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 30000,
        "user_version": SCHEMA_VERSION,
    }


async def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version of durable"):
        await Store.open(path)


async def test_corrupt_file_is_refused(tmp_path):
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a valid durable store"):
        await Store.open(path)


async def test_persist_dir_that_cannot_be_created(tmp_path):
    # A file where the directory should be fails for every user, root included.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StoreError, match="Cannot (use|write) the store"):
        await Store.open(blocker / "s.sqlite3")


async def test_group_commit_coalesces_writes(tmp_path):
    store = await Store.open(tmp_path / "s.sqlite3")
    stamp = now_ms()
    rows = [
        InstanceRow(
            pk, "wf", f"id-{pk}", "queued", "{}", None, None, "api", stamp, None, None, stamp
        )
        for pk in range(1, 501)
    ]
    for row in rows:
        store.put_instance(row)
    for row in rows:  # a second version of every row: only the last one is written
        row.status = "complete"
        store.put_instance(row)
    await store.flush()
    assert store.commits <= 3
    assert await store.status_counts("wf") == {"complete": 500}
    await store.close()


CLI_LIKE = """
import sqlite3, sys, time
path, n = sys.argv[1], int(sys.argv[2])
conn = sqlite3.connect(path, isolation_level=None)
conn.execute("PRAGMA busy_timeout=30000")
for i in range(n):
    conn.execute("SELECT count(*) FROM instances").fetchone()
    conn.execute("INSERT INTO intents (workflow, instance_id, action, body, created_ms) VALUES ('my-workflow', NULL, 'noop', NULL, 0)")
print("ok")
"""


async def test_other_processes_read_and_write_while_the_engine_runs(
    project, runtime_factory, tmp_path
):
    config = project(
        """
        from workers import WorkflowEntrypoint

        class MyWorkflow(WorkflowEntrypoint):
            async def run(self, event, step):
                for i in range(5):
                    @step.do("s")
                    async def s():
                        return i
                    await s()
                return "done"
        """
    )
    runtime = await runtime_factory(config)
    script = tmp_path / "cli_like.py"
    script.write_text(textwrap.dedent(CLI_LIKE))
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(runtime.store.path),
            "200",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    ids = []
    for _ in range(10):
        batch = await runtime.env.MY_WORKFLOW.create_batch([{} for _ in range(50)])
        ids += [i.id for i in batch]
    results = [await p.communicate() for p in procs]
    for out, err in results:
        assert out.decode().strip() == "ok", err.decode()
    for instance_id in ids:
        row = await runtime.engine.wait_for("my-workflow", instance_id, WAIT, timeout=30)
        assert row.status == "complete"
    assert len(await runtime.store.intents()) == 800
    assert await runtime.store.integrity_check() == "ok"
