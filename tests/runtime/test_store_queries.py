"""`Store` and `OfflineStore` share their queries as siblings, each with its own `__init__`."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from durable.runtime.engine.store import (
    EventRow,
    InstanceRow,
    OfflineStore,
    StepRow,
    Store,
    StoreQueries,
    run_now,
)
from durable.runtime.states import InstanceStatus, StepKind, StepState


def test_siblings_over_one_base() -> None:
    assert Store.__bases__ == (StoreQueries,)
    assert OfflineStore.__bases__ == (StoreQueries,)
    assert not issubclass(OfflineStore, Store)
    with pytest.raises(TypeError, match="abstract"):
        StoreQueries()  # type: ignore[abstract]
    # The queries live once, on the base; the two only say how to run them.
    shared = {n for n, _ in inspect.getmembers(StoreQueries, inspect.isfunction)}
    for cls in (Store, OfflineStore):
        own = set(vars(cls)) & shared
        assert own <= {"_push", "flush", "_fetch", "close"}, cls


async def _fill(store: Store) -> None:
    for pk, status in enumerate(InstanceStatus, start=1):
        store.put_instance(
            InstanceRow(pk, "wf", f"i{pk}", status, "{}", None, None, "api", pk, None, None, pk)
        )
    store.put_step(
        StepRow(
            1, StepKind.SLEEP, "nap", 1, 0, StepState.WAITING, None, None, None, None, 5, None, 99
        )
    )
    store.put_event(EventRow(1, 1, "go", '{"a": 1}', 7))
    await store.add_intent("wf", "new", "create", {"params": None})
    await store.upsert_workflows([("wf", "Wf", None)], stamp_ms=1)


QUERIES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("max_instance_pk", (), {}),
    ("max_event_seq", (), {}),
    ("get_instance", ("wf", "i3"), {}),
    ("latest_instance", ("wf",), {}),
    ("list_instances", ("wf",), {"status": "running"}),
    ("list_instances", ("wf",), {"limit": 3, "ascending": True}),
    ("count_instances", ("wf",), {}),
    ("status_counts", ("wf",), {}),
    ("unfinished_instances", (), {}),
    ("steps_of", (1,), {}),
    ("events_of", (1,), {"pending_only": True}),
    ("intents", (), {}),
    ("pending_create", ("wf", "new"), {}),
    ("integrity_check", (), {}),
]


async def test_both_answer_every_query_alike(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    store = await Store.open(path)
    try:
        await _fill(store)
        engine_answers = [await getattr(store, q)(*a, **k) for q, a, k in QUERIES]
    finally:
        await store.close()

    offline = OfflineStore.open_now(path)  # no event loop needed for any of it
    try:
        offline_answers = [run_now(getattr(offline, q)(*a, **k)) for q, a, k in QUERIES]
        assert offline_answers == engine_answers
        offline.shift_deadlines(1, 10)  # writes commit at once, with no loop either
        assert run_now(offline.steps_of(1))[0].wake_ms == 109
        run_now(offline.delete_intents(10**6))
        assert run_now(offline.intents()) == []
        assert offline.commits == 2
    finally:
        run_now(offline.close())
    assert engine_answers[0] == len(InstanceStatus)
