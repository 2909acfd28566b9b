"""R2 in a project: config, banner, a Workflow step, the fetch handler, durable_env, the CLI,
and wrangler's own `r2 object … --local` on the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from durable.cli.app import app
from durable.runtime.bindings.miniflare import durable_object_id
from durable.runtime.config import config_from_dict, load_config
from durable.runtime.dev.supervisor import bindings_table
from durable.runtime.errors import ConfigError
from durable.testing import open_env

ENTRY = """
from workers import Response, WorkerEntrypoint, WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("save")
        async def save():
            stored = await self.env.BUCKET.put(
                "reports/today.txt",
                event.payload["v"],
                httpMetadata={"contentType": "text/plain;charset=utf-8"},
                customMetadata={"by": "step"},
            )
            return stored.etag
        return await save()

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        obj = await self.env.BUCKET.get("reports/today.txt")
        if obj is None:
            return Response("missing", status=404)
        headers = {}  # production passes a js.Headers; durable also fills a dict
        obj.writeHttpMetadata(headers)
        headers["etag"] = obj.httpEtag
        headers["x-by"] = obj.customMetadata["by"]
        return Response(obj.body, headers=headers)
"""

SECTION = '\n[[r2_buckets]]\nbinding = "BUCKET"\nbucket_name = "my-bucket"\n'


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "entry.py").write_text(ENTRY)
    config = root / "wrangler.toml"
    config.write_text(
        'name = "r2-test"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
        'compatibility_flags = ["python_workers"]\n'
        '[[workflows]]\nname = "my-workflow"\nbinding = "MY_WORKFLOW"\nclass_name = "MyWorkflow"\n'
        + SECTION
        + "[env.staging]\n[[env.staging.r2_buckets]]\n"
        + 'binding = "BUCKET"\nbucket_name = "staging-bucket"\njurisdiction = "eu"\n'
        + 'preview_bucket_name = "staging-preview"\n'
    )
    return config


def test_config_banner_and_env_sections(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path))
    assert [(b.binding, b.local_name) for b in config.r2_buckets] == [("BUCKET", "my-bucket")]
    rows = [line.split() for line in bindings_table(config)]
    assert ["env.BUCKET", "(my-bucket)", "R2", "Bucket", "local"] in rows
    staging = load_config(_project(tmp_path), env="staging")
    bucket = staging.r2_buckets[0]
    assert (bucket.bucket_name, bucket.jurisdiction) == ("staging-bucket", "eu")
    assert bucket.local_name == "staging-preview"  # `wrangler dev` uses the preview bucket
    assert "env.BUCKET (staging-preview (eu))" in "\n".join(bindings_table(staging))
    (tmp_path / "main.py").write_text("")
    unnamed = config_from_dict(
        {"main": "main.py", "r2_buckets": [{"binding": "FILES"}]}, tmp_path / "wrangler.toml"
    )
    assert unnamed.r2_buckets[0].local_name == "FILES"
    assert any(line.split()[:1] == ["env.FILES"] for line in bindings_table(unnamed))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"r2_buckets": {}}, 'The field "r2_buckets" should be an array but got {}.'),
        ({"r2_buckets": ["x"]}, '"r2_buckets" bindings should be objects, but got "x"'),
        (
            {"r2_buckets": [{"bucket_name": "abc"}]},
            '"r2_buckets[0]" bindings should have a string "binding" field but got {',
        ),
        (
            {"r2_buckets": [{"binding": "B", "bucket_name": "Bad_Name"}]},
            'r2_buckets[0].bucket_name="Bad_Name" is invalid. Bucket names must begin and end '
            "with an alphanumeric character",
        ),
        (
            {"env": {"s": {"r2_buckets": [{"binding": "B", "bucket_name": ""}]}}},
            '"env.s.r2_buckets[0]" bindings should have a string "bucket_name" field',
        ),
        (
            {"r2_buckets": [{"binding": "B", "preview_bucket_name": 3}]},
            '"r2_buckets[0]" bindings should, optionally, have a string "preview_bucket_name"',
        ),
        (
            {"r2_buckets": [{"binding": "B", "jurisdiction": 1}]},
            '"r2_buckets[0]" bindings should, optionally, have a string "jurisdiction" field',
        ),
        (
            {"r2_buckets": [{"binding": "B"}, {"binding": "B"}]},
            "B assigned to multiple R2 Bucket bindings.",
        ),
        (
            {"r2_buckets": [{"binding": "B"}], "kv_namespaces": [{"binding": "B"}]},
            "B assigned to KV Namespace and R2 Bucket bindings.",
        ),
    ],
)
def test_config_errors_use_wranglers_wording(tmp_path: Path, raw: dict, message: str) -> None:  # type: ignore[type-arg]
    (tmp_path / "main.py").write_text("")
    with pytest.raises(ConfigError) as caught:
        config_from_dict(
            {"main": "main.py", **raw},
            tmp_path / "wrangler.toml",
            env="s" if "env" in raw else None,
        )
    assert message in str(caught.value)


def test_r2_buckets_are_not_inherited_by_environments(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("")
    config = config_from_dict(
        {"main": "main.py", "r2_buckets": [{"binding": "B"}], "env": {"s": {}}},
        tmp_path / "wrangler.toml",
        env="s",
    )
    assert config.r2_buckets == ()
    assert any('"r2_buckets" exists at the top level' in w for w in config.warnings)


async def test_step_fetch_and_durable_env_share_a_fresh_bucket(tmp_path: Path) -> None:
    config = _project(tmp_path)
    async with open_env(config) as denv:
        assert (await denv.env.BUCKET.list()).objects == []  # empty: not the project's state
        assert (await denv.fetch("/")).status == 404
        instance = await denv.env.MY_WORKFLOW.create(id="i1", params={"v": "hello"})
        for _ in range(100):
            if (await instance.status())["status"] == "complete":
                break
            await denv.advance("0s")
        etag = (await instance.status())["output"]
        response = await denv.fetch("/")
        assert await response.text() == "hello"
        assert response.headers["content-type"] == "text/plain;charset=utf-8"
        assert response.headers["etag"] == f'"{etag}"' and response.headers["x-by"] == "step"
        await denv.env.BUCKET.put("seeded.json", json.dumps({"n": 1}))  # a test seeds data
        assert (await (await denv.env.BUCKET.get("seeded.json")).json()).n == 1
    async with open_env(config) as again:
        assert (await again.env.BUCKET.list()).objects == []
    assert not (tmp_path / ".wrangler").exists()


def _run(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


def test_cli_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.bin").write_bytes(b"\x00\x01binary")
    put = _run("r2", "object", "put", "my-bucket/dir/in.bin", "--file", "in.bin", "--ct", "x/y")
    assert put.exit_code == 0, put.stderr
    assert 'Creating object "dir/in.bin" in bucket "my-bucket".' in put.stdout
    piped = _run("r2", "object", "put", "BUCKET/p.txt", "--pipe", input=b"from stdin")
    assert piped.exit_code == 0, piped.stderr  # a binding of the config names its bucket too
    got = _run("r2", "object", "get", "my-bucket/p.txt", "--pipe")
    assert got.stdout_bytes == b"from stdin"
    meta = json.loads(_run("r2", "object", "get", "my-bucket/dir/in.bin", "--json").stdout)
    assert meta["size"] == 8 and meta["httpMetadata"] == {"contentType": "x/y"}
    assert meta["key"] == "dir/in.bin" and meta["uploaded"].endswith("Z")
    assert meta["checksums"]["md5"] == meta["etag"]
    assert _run("r2", "object", "get", "my-bucket/dir/in.bin").exit_code == 0
    assert (tmp_path / "dir" / "in.bin").read_bytes() == b"\x00\x01binary"  # named as the key
    assert _run("r2", "object", "get", "my-bucket/p.txt", "--file", "out/p").exit_code == 0
    assert (tmp_path / "out" / "p").read_bytes() == b"from stdin"
    assert _run("r2", "object", "delete", "my-bucket/p.txt").exit_code == 0
    missing = _run("r2", "object", "get", "my-bucket/p.txt", "--pipe")
    assert missing.exit_code == 1 and "The specified key does not exist." in missing.stderr
    bad = _run("r2", "object", "get", "Bad_Bucket/k", "--pipe")
    assert bad.exit_code == 1 and 'The bucket name "Bad_Bucket" is invalid.' in bad.stderr
    form = _run("r2", "object", "get", "no-slash", "--pipe")
    assert form.exit_code == 1 and "in the form of {bucket}/{key}" in form.stderr
    neither = _run("r2", "object", "put", "my-bucket/k")
    assert neither.exit_code == 1 and "--file or --pipe" in neither.stderr
    remote = _run("r2", "object", "get", "my-bucket/k", "--remote")
    assert remote.exit_code == 1 and "wrangler r2 object" in remote.stderr
    assert "--remote" not in _run("r2", "object", "get", "--help").stdout


def test_cli_keys_are_never_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    for key in ("../../etc/passwd", "/abs/x"):
        done = _run("r2", "object", "put", f"my-bucket/{key}", "--pipe", input=b"data")
        assert done.exit_code == 0, done.stderr
        refused = _run("r2", "object", "get", f"my-bucket/{key}")  # no --file: refused
        assert refused.exit_code == 1 and "give --file or --pipe" in refused.stderr
        assert _run("r2", "object", "get", f"my-bucket/{key}", "--pipe").stdout_bytes == b"data"
    files = {p.relative_to(tmp_path).parts[:2] for p in tmp_path.rglob("*") if p.is_file()}
    assert files <= {("project", ".wrangler"), ("project", "src"), ("project", "wrangler.toml")}
    assert not any("passwd" in p.name for p in tmp_path.rglob("*"))


def test_wrangler_sees_durables_writes_and_durable_sees_wranglers(tmp_path: Path, wrangler) -> None:  # type: ignore[no-untyped-def]
    _project(tmp_path)
    key = "../../etc/passwd"
    put = _run(
        "--cwd", str(tmp_path), "r2", "object", "put", f"my-bucket/{key}", "--pipe",
        "--content-type", "text/x-durable",
        input=b"from durable",
    )  # fmt: skip
    assert put.exit_code == 0, put.stderr
    out = wrangler(tmp_path, "r2", "object", "get", f"my-bucket/{key}", "--local", "--pipe")
    assert out == "from durable"
    db = tmp_path / ".wrangler/state/v3/r2/miniflare-R2BucketObject"
    assert {p.name for p in db.glob("*.sqlite") if p.name != "metadata.sqlite"} == {
        durable_object_id("miniflare-R2BucketObject", "my-bucket") + ".sqlite"
    }
    (tmp_path / "w.txt").write_text("from wrangler")
    wrangler(
        tmp_path, "r2", "object", "put", "my-bucket/w/one.txt", "--local", "--file", "w.txt",
        "--content-type", "text/plain", "--cache-control", "no-store",
    )  # fmt: skip
    got = _run("--cwd", str(tmp_path), "r2", "object", "get", "my-bucket/w/one.txt", "--pipe")
    assert got.stdout_bytes == b"from wrangler"
    meta = json.loads(
        _run("--cwd", str(tmp_path), "r2", "object", "get", "my-bucket/w/one.txt", "--json").stdout
    )
    assert meta["httpMetadata"] == {"contentType": "text/plain", "cacheControl": "no-store"}
    assert meta["size"] == 13 and meta["checksums"]["md5"] == meta["etag"]
    wrangler(tmp_path, "r2", "object", "delete", f"my-bucket/{key}", "--local")
    gone = _run("--cwd", str(tmp_path), "r2", "object", "get", f"my-bucket/{key}", "--pipe")
    assert gone.exit_code == 1
    assert not (tmp_path.parent / "etc").exists()


async def test_wrangler_reads_a_multipart_object_durable_wrote(tmp_path: Path, wrangler) -> None:  # type: ignore[no-untyped-def]
    config = _project(tmp_path)
    from durable.runtime.bindings.miniflare import state_root
    from durable.runtime.bindings.r2 import R2Bucket, R2BucketState

    bucket = R2Bucket(R2BucketState(state_root(config.parent), "my-bucket"))
    upload = await bucket.createMultipartUpload("multi.txt")
    parts = [
        await upload.uploadPart(1, "a" * (5 * 1024 * 1024)),
        await upload.uploadPart(2, "tail"),
    ]
    await upload.complete(parts)
    bucket.close()
    wrangler(tmp_path, "r2", "object", "get", "my-bucket/multi.txt", "--local", "--file", "m.txt")
    assert (tmp_path / "m.txt").read_text() == "a" * (5 * 1024 * 1024) + "tail"
