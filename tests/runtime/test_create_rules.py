"""One create check: the engine and the offline service refuse the same requests alike."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from durable.runtime.api.service import Service
from durable.runtime.config import load_config
from durable.runtime.engine.store import OfflineStore, run_now
from durable.runtime.errors import ConflictError, PayloadTooLargeError, ValidationError
from durable.runtime.rules import check_creates

ENTRY = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        return 1
"""

BAD: list[tuple[str, list[tuple[str | None, Any]], type[Exception], str]] = [
    ("empty", [], ValidationError, "Create at least 1 instance."),
    (
        "too many",
        [(None, None)] * 101,
        ValidationError,
        "Create at most 100 instances, got 101.",
    ),
    ("bad id", [("ok", None), ("-bad", None)], ValidationError, "Invalid instance id '-bad'"),
    ("params too big", [("a", {"x": "y" * (1024 * 1024)})], PayloadTooLargeError, ""),
    ("params not JSON-able", [("a", {"x": (1, 2)})], ValidationError, ""),
    ("repeated id", [("a", None), ("a", None)], ConflictError, 'id "a" already exists'),
]


def _encode(params: Any) -> str:
    from durable.runtime.engine.serialization import encode_input

    return encode_input(params, what="params")


@pytest.mark.parametrize(("case", "items", "error", "text"), BAD, ids=[b[0] for b in BAD])
async def test_engine_and_offline_service_refuse_alike(
    case: str,
    items: list[tuple[str | None, Any]],
    error: type[Exception],
    text: str,
    project: Any,
    runtime_factory: Any,
    tmp_path: Path,
) -> None:
    config_path = project(ENTRY)
    runtime = await runtime_factory(config_path)
    with pytest.raises(error) as from_engine:
        await runtime.engine.create_batch("my-workflow", items, skip_existing=False)
    assert text in str(from_engine.value)
    assert await runtime.store.list_instances("my-workflow") == []

    store = OfflineStore.open_now(tmp_path / "offline" / "durable.sqlite3")
    try:
        service = Service(load_config(config_path), store, None)
        with pytest.raises(error) as offline:
            run_now(service.create_instances("my-workflow", items, skip_existing=False))
        assert run_now(store.intents()) == []  # refused as a whole, nothing recorded
    finally:
        run_now(store.close())
    assert type(offline.value) is type(from_engine.value)
    assert str(offline.value) == str(from_engine.value)


async def test_both_skip_repeats_and_existing_ids(
    project: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    config_path = project(ENTRY)
    runtime = await runtime_factory(config_path)
    items: list[tuple[str | None, Any]] = [("a", None), ("b", {"n": 1}), ("a", None)]
    await runtime.engine.create("my-workflow", "b")
    rows = await runtime.engine.create_batch("my-workflow", items)
    assert [r.id for r in rows] == ["a"]

    store = OfflineStore.open_now(tmp_path / "offline" / "durable.sqlite3")
    try:
        service = Service(load_config(config_path), store, None)
        run_now(service.create_instance("my-workflow", "b"))
        created = run_now(service.create_instances("my-workflow", items))
        assert [c["id"] for c in created] == ["a"]
        assert [(i.instance_id, i.action) for i in run_now(store.intents())] == [
            ("b", "create"),
            ("a", "create"),
        ]
    finally:
        run_now(store.close())


async def test_a_36_character_id_is_checked_against_the_store(
    project: Any, runtime_factory: Any
) -> None:
    """Only a generated UUID may skip the store lookup, not any id of a UUID's length."""
    runtime = await runtime_factory(project(ENTRY))
    given = "0" * 36
    await runtime.engine.create("my-workflow", given)
    for _ in range(500):  # finished instances leave memory: the store is what knows them
        row = await runtime.store.get_instance("my-workflow", given)
        if row is not None and row.finished and not runtime.engine.loaded:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the instance did not finish")
    with pytest.raises(ConflictError, match="already exists"):
        await runtime.engine.create("my-workflow", given)
    row = await runtime.store.get_instance("my-workflow", given)
    assert row is not None and row.status == "complete"


def test_generated_ids_are_marked() -> None:
    requests = check_creates(
        "wf", [(None, None), ("given", [1])], encode_params=_encode, skip_existing=False
    )
    assert [(r.generated, r.params) for r in requests] == [(True, None), (False, [1])]
    assert len(requests[0].id) == 36 and requests[1].encoded == "[1]"
