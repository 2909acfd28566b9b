"""The store's schema, as append-only numbered migrations.

Never edit a shipped entry: append a new one. `PRAGMA user_version` records how many entries
have been applied, and it is bumped in the same transaction as the DDL, so a failed migration
leaves the version where it was.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: instances, their steps, buffered events, CLI intents and the workflows seen in config.
    """
    CREATE TABLE workflows (
        name TEXT PRIMARY KEY,
        class_name TEXT NOT NULL,
        script_name TEXT,
        created_ms INTEGER NOT NULL,
        modified_ms INTEGER NOT NULL
    );

    -- `pk` is a monotonic sequence: the newest instance of a workflow has the largest pk.
    CREATE TABLE instances (
        pk INTEGER PRIMARY KEY,
        workflow TEXT NOT NULL,
        id TEXT NOT NULL,
        status TEXT NOT NULL,
        params TEXT,
        output TEXT,
        error TEXT,
        trigger TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        started_ms INTEGER,
        ended_ms INTEGER,
        modified_ms INTEGER NOT NULL,
        paused_ms INTEGER,
        wake_ms INTEGER,
        waiting_for TEXT,
        UNIQUE (workflow, id)
    );
    CREATE INDEX instances_by_workflow ON instances (workflow, pk);
    CREATE INDEX instances_by_status ON instances (workflow, status, pk);
    CREATE INDEX instances_unfinished ON instances (status)
        WHERE status NOT IN ('complete', 'errored', 'terminated');

    -- One row per step.do / sleep / wait_for_event call, keyed like Cloudflare's step cache:
    -- (kind, name, occurrence count of that name in the run).
    CREATE TABLE steps (
        instance_pk INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        config TEXT,
        output TEXT,
        error TEXT,
        attempts TEXT,
        started_ms INTEGER NOT NULL,
        ended_ms INTEGER,
        wake_ms INTEGER,
        event_type TEXT,
        PRIMARY KEY (instance_pk, kind, name, count)
    ) WITHOUT ROWID;

    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        instance_pk INTEGER NOT NULL,
        type TEXT NOT NULL,
        payload TEXT,
        received_ms INTEGER NOT NULL,
        consumed_by TEXT
    );
    CREATE INDEX events_by_instance ON events (instance_pk, seq);

    -- Write commands given while no `durable dev` runs; applied in order when it starts.
    CREATE TABLE intents (
        seq INTEGER PRIMARY KEY,
        workflow TEXT NOT NULL,
        instance_id TEXT,
        action TEXT NOT NULL,
        body TEXT,
        created_ms INTEGER NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
