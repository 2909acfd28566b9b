"""env.BUCKET: production's Python surface and Miniflare's rules, over Miniflare's v3 files."""

from __future__ import annotations

import base64
import datetime
import hashlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kv_support import Clock

from durable.runtime.bindings.miniflare import durable_object_id
from durable.runtime.bindings.r2 import R2Bucket, R2BucketState, R2Object, R2ObjectBody
from durable.runtime.errors import JsException, StoreError
from durable.runtime.worker.fetch_api import Headers, Response
from durable.runtime.worker.jsdict import JsDict

MIB = 1024 * 1024
DOID = durable_object_id("miniflare-R2BucketObject", "my-bucket")
DB = f"v3/r2/miniflare-R2BucketObject/{DOID}.sqlite"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bucket(tmp_path: Path, clock: Clock) -> Iterator[R2Bucket]:
    r2 = R2Bucket(R2BucketState(tmp_path / "state", "my-bucket", clock), "BUCKET")
    yield r2
    r2.close()


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "state" / DB)


async def test_put_get_and_every_object_field(
    bucket: R2Bucket, tmp_path: Path, clock: Clock
) -> None:
    put = await bucket.put(
        "notes/a.json",
        '{"a": {"b": [1, 2]}}',
        httpMetadata={"contentType": "application/json", "cacheControl": "max-age=60"},
        customMetadata={"by": "test", "n": 5},
    )
    assert isinstance(put, R2Object) and not isinstance(put, R2ObjectBody)
    md5 = hashlib.md5(b'{"a": {"b": [1, 2]}}').hexdigest()
    assert (put.key, put.size, put.etag, put.httpEtag) == ("notes/a.json", 20, md5, f'"{md5}"')
    assert put.uploaded == datetime.datetime(2023, 11, 14, 22, 13, 20)  # the clock, naive UTC
    assert put.httpMetadata == {"contentType": "application/json", "cacheControl": "max-age=60"}
    assert put.customMetadata == {"by": "test", "n": "5"}  # values are strings, as in JS
    assert put.checksums.md5 == bytes.fromhex(md5) and put.checksums.sha256 is None
    assert put.checksums.toJSON() == {"md5": md5}
    assert put.range is None and put.storageClass == "Standard" and len(put.version) == 32

    got = await bucket.get("notes/a.json")
    assert isinstance(got, R2ObjectBody)
    assert (got.etag, got.version, got.uploaded) == (put.etag, put.version, put.uploaded)
    assert got.range == {"offset": 0, "length": 20}
    assert got.customMetadata.by == "test" and got.httpMetadata.contentType == "application/json"
    parsed = await got.json()
    assert isinstance(parsed, JsDict) and parsed.a.b == [1, 2]
    assert got.bodyUsed
    with pytest.raises(JsException, match="TypeError: Body has already been used"):
        await got.text()

    # Miniflare's row: md5 as the etag, metadata as JSON, the bytes in the blob file.
    row = (
        _db(tmp_path)
        .execute(
            "SELECT blob_id, size, etag, uploaded, checksums, http_metadata, custom_metadata "
            "FROM _mf_objects WHERE key = 'notes/a.json'"
        )
        .fetchone()
    )
    assert row[1:] == (
        20,
        md5,
        clock.ms,
        "{}",
        '{"contentType":"application/json","cacheControl":"max-age=60"}',
        '{"by":"test","n":"5"}',
    )
    blob = tmp_path / "state/v3/r2/my-bucket/blobs" / row[0]
    assert blob.read_bytes() == b'{"a": {"b": [1, 2]}}' and len(row[0]) == 80


async def test_body_readers_and_missing_keys(bucket: R2Bucket) -> None:
    await bucket.put("bin", b"\x00\xffdata", {"httpMetadata": {"contentType": "x/y"}})
    assert await (await bucket.get("bin")).arrayBuffer() == b"\x00\xffdata"
    assert await (await bucket.get("bin")).bytes() == b"\x00\xffdata"
    blob = await (await bucket.get("bin")).blob()
    assert (blob.size, blob.type, await blob.bytes()) == (6, "x/y", b"\x00\xffdata")
    chunks = [c async for c in (await bucket.get("bin")).body]
    assert b"".join(chunks) == b"\x00\xffdata"
    head = await bucket.head("bin")
    assert isinstance(head, R2Object) and not hasattr(head, "body")
    assert head.range == {"offset": 0, "length": 6}
    assert await bucket.get("missing") is None
    assert await bucket.head("missing") is None
    empty = await bucket.put("empty", None)
    assert empty is not None and empty.size == 0
    assert await (await bucket.get("empty")).text() == ""


async def test_body_into_a_response_with_its_http_metadata(bucket: R2Bucket) -> None:
    expiry = datetime.datetime(2030, 1, 2, 3, 4, 5)
    await bucket.put(
        "page.html",
        "<h1>hi</h1>",
        httpMetadata={"contentType": "text/html", "contentLanguage": "en", "cacheExpiry": expiry},
    )
    obj = await bucket.get("page.html")
    assert obj.httpMetadata.cacheExpiry == expiry
    headers = Headers({"content-type": "text/plain", "x-other": "1"})
    obj.writeHttpMetadata(headers)
    headers["etag"] = obj.httpEtag
    response = Response(obj.body, headers=headers)
    assert await response.text() == "<h1>hi</h1>"
    assert response.headers["content-type"] == "text/html"
    assert response.headers["content-language"] == "en"
    assert response.headers["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert response.headers["x-other"] == "1" and response.headers["etag"] == obj.httpEtag
    with pytest.raises(JsException, match="Body has already been used"):
        await obj.text()
    plain: dict[str, str] = {}
    (await bucket.head("page.html")).writeHttpMetadata(plain)
    assert plain["content-type"] == "text/html"


async def test_streams_as_values(bucket: R2Bucket) -> None:
    await bucket.put("src", b"x" * 200_000)
    source = await bucket.get("src")
    copied = await bucket.put("copy", source.body)  # an object's body, as in production
    assert copied is not None and copied.etag == source.etag

    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    await bucket.put("gen", chunks())
    assert await (await bucket.get("gen")).text() == "abcd"
    with pytest.raises(TypeError, match="cannot be sent over RPC"):
        await bucket.put("t", (1, 2))
    with pytest.raises(JsException, match="parameter 2 is not of type 'ReadableStream or"):
        await bucket.put("n", 5)


async def test_ranges(bucket: R2Bucket) -> None:
    await bucket.put("r", b"0123456789")
    part = await bucket.get("r", range={"offset": 2, "length": 3})
    assert (await part.text(), part.range) == ("234", {"offset": 2, "length": 3})
    assert await (await bucket.get("r", range={"suffix": 4})).text() == "6789"
    assert await (await bucket.get("r", range={"suffix": 40})).text() == "0123456789"
    assert await (await bucket.get("r", {"range": {"offset": 7}})).text() == "789"
    assert await (await bucket.get("r", range={"offset": 8, "length": 99})).text() == "89"
    assert await (await bucket.get("r", range=Headers({"range": "bytes=1-3"}))).text() == "123"
    whole = await bucket.get("r", range=Headers({"range": "bytes=1-2,4-5"}))  # many: all of it
    assert await whole.text() == "0123456789"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"range": {"offset": 11}},
            r"Error: get: The requested range is not satisfiable \(10039\)",
        ),
        ({"range": {"offset": 1, "length": 0}}, "get: The requested range is not satisfiable"),
        ({"range": {"suffix": 0}}, "get: The requested range is not satisfiable"),
        (
            {"range": {"offset": -1}},
            r"RangeError: Invalid range. Starting offset \(-1\) must be greater than or equal to 0.",
        ),
        (
            {"range": {"length": 1.5}},
            r"RangeError: Invalid range. Length \(1.5\) must be an integer, not floating point.",
        ),
        ({"range": {"suffix": 2, "offset": 1}}, "TypeError: Suffix is incompatible with offset."),
        (
            {"onlyIf": {"etagMatches": '"abc"'}},
            r'TypeError: Conditional ETag should not be wrapped in quotes \("abc"\).',
        ),
    ],
)
async def test_range_and_condition_errors(bucket: R2Bucket, options: dict, message: str) -> None:  # type: ignore[type-arg]
    await bucket.put("r", b"0123456789")
    with pytest.raises(JsException, match=message):
        await bucket.get("r", options)


async def test_only_if(bucket: R2Bucket, clock: Clock) -> None:
    first = await bucket.put("k", "v1")
    assert first is not None
    # Create-only: a put with etagDoesNotMatch "*" fails (None) when the key exists.
    assert await bucket.put("k", "v2", onlyIf={"etagDoesNotMatch": "*"}) is None
    assert await bucket.put("new", "n", onlyIf={"etagDoesNotMatch": "*"}) is not None
    assert await bucket.put("other", "n", onlyIf={"etagMatches": "*"}) is None  # no object
    assert await (await bucket.get("k")).text() == "v1"
    # A failed condition on get gives the object without a body.
    missed = await bucket.get("k", onlyIf={"etagMatches": "nope"})
    assert isinstance(missed, R2Object) and not isinstance(missed, R2ObjectBody)
    assert missed.etag == first.etag
    hit = await bucket.get("k", onlyIf={"etagMatches": first.etag})
    assert isinstance(hit, R2ObjectBody)
    before = datetime.datetime(2020, 1, 1)
    assert isinstance(await bucket.get("k", onlyIf={"uploadedAfter": before}), R2ObjectBody)
    assert not isinstance(await bucket.get("k", onlyIf={"uploadedBefore": before}), R2ObjectBody)
    headers = Headers({"if-none-match": f'W/"{first.etag}"'})
    assert not isinstance(await bucket.get("k", onlyIf=headers), R2ObjectBody)
    swapped = await bucket.put("k", "v3", onlyIf={"etagMatches": first.etag})
    assert swapped is not None and await (await bucket.get("k")).text() == "v3"


async def test_checksums(bucket: R2Bucket, tmp_path: Path) -> None:
    data = b"checked"
    sha256 = hashlib.sha256(data).hexdigest()
    stored = await bucket.put("c", data, sha256=sha256)
    assert stored is not None and stored.checksums.toJSON() == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": sha256,
    }
    assert (await bucket.head("c")).checksums.sha256 == bytes.fromhex(sha256)
    assert await bucket.put("m", data, md5=hashlib.md5(data).digest()) is not None
    wrong = hashlib.sha1(b"other").hexdigest()
    with pytest.raises(JsException) as caught:
        await bucket.put("bad", data, sha1=wrong)
    assert str(caught.value) == (
        "Error: put: The SHA-1 checksum you specified did not match what we received.\n"
        f"You provided a SHA-1 checksum with value: {wrong}\n"
        f"Actual SHA-1 was: {hashlib.sha1(data).hexdigest()} (10037)"
    )
    assert await bucket.head("bad") is None
    with pytest.raises(JsException, match="You cannot specify multiple hashing algorithms."):
        await bucket.put("x", data, md5="0" * 32, sha1="0" * 40)
    with pytest.raises(JsException, match="TypeError: MD5 is 32 hex characters, not 3"):
        await bucket.put("x", data, md5="abc")
    # Nothing left behind by the refused puts: one blob per stored object.
    blobs = list((tmp_path / "state/v3/r2/my-bucket/blobs").iterdir())
    assert len(blobs) == 2


async def test_limits(bucket: R2Bucket) -> None:
    with pytest.raises(
        JsException, match=r"^Error: put: The specified object name is not valid. \(10020\)$"
    ):
        await bucket.put("k" * 1025, "v")
    assert await bucket.put("k" * 1024, "v") is not None
    with pytest.raises(JsException, match=r"head: The specified object name is not valid"):
        await bucket.head("k" * 1025)
    with pytest.raises(JsException, match=r"put: Your metadata headers exceed .* \(10012\)"):
        await bucket.put("m", "v", customMetadata={"a": "x" * 2048})
    assert await bucket.put("m", "v", customMetadata={"a": "x" * 2047}) is not None
    with pytest.raises(
        JsException, match=r"list: MaxKeys params must be positive integer <= 1000. \(10022\)"
    ):
        await bucket.list(limit=0)
    with pytest.raises(JsException, match="RangeError: Unsupported include value body"):
        await bucket.list(include=["body"])


async def test_delete_and_list(bucket: R2Bucket) -> None:
    for key in ("a/1", "a/2", "a/b/3", "b/1", "c"):
        await bucket.put(key, key, httpMetadata={"contentType": "text/plain"})
    await bucket.delete("c")
    await bucket.delete(["b/1", "never-there"])
    listed = await bucket.list()
    assert [o.key for o in listed.objects] == ["a/1", "a/2", "a/b/3"]
    assert listed.truncated is False and "cursor" not in listed
    assert listed.delimitedPrefixes == []
    assert listed.objects[0].httpMetadata is None  # not asked for with `include`
    with pytest.raises(JsException, match="HTTP metadata unknown for key `a/1`"):
        listed.objects[0].writeHttpMetadata({})
    page = await bucket.list(prefix="a/", limit=1)
    assert [o.key for o in page.objects] == ["a/1"] and page.truncated is True
    rest = await bucket.list({"prefix": "a/", "cursor": page.cursor})
    assert [o.key for o in rest.objects] == ["a/2", "a/b/3"]
    assert base64.b64decode(page.cursor) == b"a/1"
    tree = await bucket.list(prefix="a/", delimiter="/")
    assert [o.key for o in tree.objects] == ["a/1", "a/2"] and tree.delimitedPrefixes == ["a/b/"]
    top = await bucket.list(delimiter="/", limit=1)
    assert top.objects == [] and top.delimitedPrefixes == ["a/"] and top.truncated is False
    withmeta = await bucket.list(include=["httpMetadata", "customMetadata"], startAfter="a/1")
    assert [o.key for o in withmeta.objects] == ["a/2", "a/b/3"]
    assert withmeta.objects[0].httpMetadata == {"contentType": "text/plain"}
    assert withmeta.objects[0].customMetadata == {}


async def test_multipart_upload(bucket: R2Bucket, tmp_path: Path) -> None:
    upload = await bucket.createMultipartUpload(
        "big.bin", httpMetadata={"contentType": "application/octet-stream"}
    )
    part1 = b"a" * (5 * MIB)
    part2 = b"b" * 1000
    first = await upload.uploadPart(1, part1)
    assert first.partNumber == 1 and isinstance(first.etag, str)
    resumed = bucket.resumeMultipartUpload("big.bin", upload.uploadId)
    second = await resumed.uploadPart(2, part2)
    assert await bucket.head("big.bin") is None  # nothing visible before complete()
    done = await upload.complete([first, second])
    md5s = hashlib.md5(part1).digest() + hashlib.md5(part2).digest()
    assert done.etag == f"{hashlib.md5(md5s).hexdigest()}-2" and done.size == 5 * MIB + 1000
    assert done.checksums.toJSON() == {}  # no MD5 for a multipart object
    got = await bucket.get("big.bin")
    assert got.httpMetadata.contentType == "application/octet-stream"
    assert await got.arrayBuffer() == part1 + part2
    across = await bucket.get("big.bin", range={"offset": 5 * MIB - 2, "length": 4})
    assert await across.text() == "aabb"
    await upload.abort()  # after complete(): changes nothing
    assert (await bucket.head("big.bin")).size == 5 * MIB + 1000
    row = _db(tmp_path).execute("SELECT blob_id FROM _mf_objects").fetchone()
    assert row == (None,)  # Miniflare's layout: the parts hold the bytes
    await bucket.put("big.bin", "small now")  # overwriting drops the parts' blobs
    assert len(list((tmp_path / "state/v3/r2/my-bucket/blobs").iterdir())) == 1


async def test_multipart_errors(bucket: R2Bucket) -> None:
    upload = await bucket.createMultipartUpload("k")
    small = await upload.uploadPart(1, b"tiny")
    last = await upload.uploadPart(2, b"end")
    with pytest.raises(
        JsException,
        match=r"completeMultipartUpload: Your proposed upload is smaller than the minimum "
        r"allowed object size. \(10011\)",
    ):
        await upload.complete([small, last])
    with pytest.raises(JsException, match=r"One or more of the specified parts could not be found"):
        await upload.complete([{"partNumber": 1, "etag": "wrong"}])
    with pytest.raises(JsException, match=r"TypeError: Part number must be between 1 and 10000"):
        await upload.uploadPart(0, b"x")
    await upload.abort()
    with pytest.raises(
        JsException, match=r"uploadPart: The specified multipart upload does not exist. \(10024\)"
    ):
        await upload.uploadPart(3, b"x")
    single = await bucket.createMultipartUpload("one")
    only = await single.uploadPart(1, b"just one small part")
    assert (await single.complete([only])).size == 19


async def test_a_key_is_never_a_path(bucket: R2Bucket, tmp_path: Path) -> None:
    for key in ("../../etc/passwd", "/etc/passwd", "a/../../../b", "..", "C:\\x"):
        await bucket.put(key, f"value of {key}")
    assert await (await bucket.get("../../etc/passwd")).text() == "value of ../../etc/passwd"
    assert await (await bucket.get("/etc/passwd")).text() == "value of /etc/passwd"
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"state"}
    blobs = tmp_path / "state/v3/r2/my-bucket/blobs"
    assert all(
        p.parent == blobs for p in (tmp_path / "state/v3/r2/my-bucket").rglob("*") if p.is_file()
    )
    assert not any("passwd" in p.name for p in tmp_path.rglob("*"))
    assert not (tmp_path.parent / "etc").exists() and not (tmp_path / "b").exists()


def test_an_unknown_layout_is_refused_untouched(tmp_path: Path) -> None:
    db_path = tmp_path / "state" / DB
    db_path.parent.mkdir(parents=True)
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE _mf_objects (key TEXT PRIMARY KEY, value BLOB)")
    db.commit()
    db.close()
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    state = R2BucketState(tmp_path / "state", "my-bucket")
    with pytest.raises(StoreError, match="not in the layout durable knows.*wrangler 4.86.0"):
        state.head("k")
    with pytest.raises(StoreError):
        state.put("k", b"v", "{}", "{}", "{}", None)
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    assert not (tmp_path / "state/v3/r2/my-bucket").exists()


def test_wal_busy_timeout_and_concurrent_writers(tmp_path: Path) -> None:
    root = tmp_path / "state"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        state = R2BucketState(root, "my-bucket")
        try:
            for i in range(40):
                state.put(f"k{i % 8}", f"{n}-{i}".encode(), "{}", "{}", "{}", None)
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
    blobs = {r[0] for r in db.execute("SELECT blob_id FROM _mf_objects")}
    assert len(blobs) == 8
    assert {p.name for p in (root / "v3/r2/my-bucket/blobs").iterdir()} == blobs
    state = R2BucketState(root, "my-bucket")
    assert state._conn().execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    state.close()
