"""The durable engine: schedules instances and runs them by replay over a SQLite store.

Modules:
    scheduler      `Engine`: instances in memory, timers, lifecycle requests, recovery
    execution      `Execution`: one run of one instance: step cache, attempts, retries, waits
    clock          `Clock`: the engine's time and timers; `WallClock` (durable.testing has a virtual one)
    hooks          `EngineHooks`: what the engine reports (attempts, waits, statuses) and the seam
                   through which a test harness mocks attempts and skips waits; `step_key`
    lifecycle      the rules of pause, resume, terminate, restart and events, applied to stored
                   rows: shared by the engine and the offline service (no engine running)
    step           `WorkflowStep`: the `step` object handed to `run()`
    state          the engine's data: `Limits`, `WorkflowDefinition`, the instances it holds
    store          `StoreQueries` and its two implementations, `Store` (the engine's, async)
                   and `OfflineStore` (a CLI command's, sync): all SQL of durable's own state
    migrations     the store's schema, as append-only numbered migrations
    serialization  what crosses the engine boundary, encoded as production would

May import: worker (entrypoint classes, `JsDict`) and the leaves. Nothing above: the engine does
not know who serves it.
"""
