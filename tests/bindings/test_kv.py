"""env.KV: production's Python surface and limits, over Miniflare's v3 files."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest
from kv_support import Clock

from durable.runtime.bindings.kv import KVNamespace, KVNamespaceState
from durable.runtime.bindings.miniflare import durable_object_id
from durable.runtime.errors import JsException, StoreError
from durable.runtime.worker.jsdict import JsDict

DB = "v3/kv/miniflare-KVNamespaceObject/5a5515cde81b65439ff532861c0e5d76136125e0ad1e93f95525113eb3e6de28.sqlite"


def test_the_object_id_is_workerds_derivation() -> None:
    # The file name wrangler 4.86.0 gave namespace "world-kv" (seen on disk).
    assert durable_object_id("miniflare-KVNamespaceObject", "world-kv") == DB.split("/")[-1][:-7]


async def test_get_put_types_and_bulk(kv: KVNamespace, tmp_path: Path) -> None:
    assert await kv.get("missing") is None
    await kv.put("k", '{"a": {"b": [1, 2]}}')
    assert await kv.get("k") == '{"a": {"b": [1, 2]}}'
    parsed = await kv.get("k", "json")
    assert isinstance(parsed, JsDict) and parsed.a.b == [1, 2]
    assert await kv.get("k", type="json") == await kv.get("k", {"type": "json", "cacheTtl": 60})
    await kv.put("bin", b"\x00\xff")
    assert await kv.get("bin", "arrayBuffer") == b"\x00\xff"
    chunks = [c async for c in await kv.get("bin", "stream")]
    assert b"".join(chunks) == b"\x00\xff"
    assert await kv.get(["k", "nope"]) == {"k": '{"a": {"b": [1, 2]}}', "nope": None}
    assert (await kv.get(["k"], "json"))["k"] == {"a": {"b": [1, 2]}}
    # The value is the blob file's raw bytes; the row is in Miniflare's table.
    row = (
        sqlite3.connect(tmp_path / "state" / DB)
        .execute("SELECT blob_id, expiration, metadata FROM _mf_entries WHERE key = 'bin'")
        .fetchone()
    )
    assert (tmp_path / "state/v3/kv/world-kv/blobs" / row[0]).read_bytes() == b"\x00\xff"
    assert len(row[0]) == 80 and row[1] is None and row[2] is None


async def test_metadata_list_and_delete(kv: KVNamespace, clock: Clock) -> None:
    now_s = clock.ms // 1000
    await kv.put("a1", "v", metadata={"n": 1}, expiration=now_s + 100)
    await kv.put("a2", "v", {"expirationTtl": 60})
    await kv.put("b1", "v")
    got = await kv.getWithMetadata("a1")
    assert got == {"value": "v", "metadata": {"n": 1}, "cacheStatus": None}
    assert got.metadata.n == 1
    assert await kv.getWithMetadata("zz") == {"value": None, "metadata": None, "cacheStatus": None}
    page = await kv.list(prefix="a", limit=1)
    assert page["keys"] == [{"name": "a1", "expiration": now_s + 100, "metadata": {"n": 1}}]
    assert page.list_complete is False
    rest = await kv.list(prefix="a", cursor=page.cursor)
    assert rest["keys"] == [{"name": "a2", "expiration": now_s + 60}]
    assert rest.list_complete is True and "cursor" not in rest
    await kv.delete("a1")
    await kv.delete("never-there")
    assert [k.name for k in (await kv.list())["keys"]] == ["a2", "b1"]


async def test_expiry_follows_the_injected_clock(kv: KVNamespace, clock: Clock) -> None:
    await kv.put("t", "v", expirationTtl=60)
    clock.ms += 59_999
    assert await kv.get("t") == "v"
    clock.ms += 1
    assert await kv.get("t") is None
    assert (await kv.list())["keys"] == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda kv: kv.get(""), "TypeError: Key name cannot be empty."),
        (lambda kv: kv.put("..", "v"), 'TypeError: "..".*not allowed as a key name.'),
        (
            lambda kv: kv.get("x" * 513),
            "Error: KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.",
        ),
        (
            lambda kv: kv.put("k", "x" * (25 * 1024 * 1024 + 1)),
            "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
        ),
        (
            lambda kv: kv.put("k", "v", metadata={"key": "x" * 1015}),
            "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.",
        ),
        (
            lambda kv: kv.put("k", "v", expirationTtl=30),
            "Invalid expiration_ttl of 30. Expiration TTL must be at least 60.",
        ),
        (
            lambda kv: kv.get("k", cacheTtl=10),
            "KV GET failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30.",
        ),
        (lambda kv: kv.list(limit=0), "Invalid key_count_limit of 0"),
        (lambda kv: kv.get([]), "KV GET_BULK failed: 400 You must request a minimum of 1 key"),
        (lambda kv: kv.put("k", 5), "KV put\\(\\) accepts only strings"),
    ],
)
async def test_production_limits_and_messages(kv: KVNamespace, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(JsException, match=message):
        await call(kv)


async def test_exact_limits_are_accepted(kv: KVNamespace) -> None:
    await kv.put("x" * 512, "v", metadata={"key": "x" * 1014}, expirationTtl=60)
    assert await kv.get("x" * 512) == "v"


async def test_a_key_is_never_a_path(kv: KVNamespace, tmp_path: Path) -> None:
    await kv.put("../../etc/passwd", "not a file")
    await kv.put("/abs/../x", "y")
    assert await kv.get("../../etc/passwd") == "not a file"
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"state"}
    assert not any("passwd" in p.name for p in tmp_path.rglob("*"))


def test_an_unknown_layout_is_refused_untouched(tmp_path: Path) -> None:
    db_path = tmp_path / "state" / DB
    db_path.parent.mkdir(parents=True)
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE _mf_entries (key TEXT PRIMARY KEY, value BLOB)")
    db.commit()
    db.close()
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    state = KVNamespaceState(tmp_path / "state", "world-kv")
    with pytest.raises(StoreError, match="not in the layout durable knows.*wrangler 4.86.0"):
        state.get("k")
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    assert not (tmp_path / "state/v3/kv/world-kv").exists()


def test_concurrent_writers_do_not_corrupt(tmp_path: Path) -> None:
    root = tmp_path / "state"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        state = KVNamespaceState(root, "world-kv")
        try:
            for i in range(60):
                state.put(f"k{i % 10}", f"{n}-{i}".encode(), None, None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            state.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = sqlite3.connect(root / DB)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    blobs = {r[0] for r in db.execute("SELECT blob_id FROM _mf_entries")}
    assert len(blobs) == 10
    on_disk = {p.name for p in (root / "v3/kv/world-kv/blobs").iterdir()}
    assert blobs <= on_disk
