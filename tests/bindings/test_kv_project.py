"""KV in a project: config, banner, a Workflow step, the fetch handler, durable_env, the CLI,
and wrangler's own `kv key … --local` on the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kv_support import KV_SECTION
from typer.testing import CliRunner, Result

from durable.cli.app import app
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
            await self.env.KV.put("from-step", event.payload["v"], metadata={"by": "step"})
            return "ok"
        return await save()

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        got = await self.env.KV.getWithMetadata("from-step")
        return Response.json({"value": got.value, "metadata": got.metadata})
"""


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "entry.py").write_text(ENTRY)
    config = root / "wrangler.toml"
    config.write_text(
        'name = "kv-test"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
        'compatibility_flags = ["python_workers"]\n'
        '[[workflows]]\nname = "my-workflow"\nbinding = "MY_WORKFLOW"\nclass_name = "MyWorkflow"\n'
        + KV_SECTION
        + '[env.staging]\n[[env.staging.kv_namespaces]]\nbinding = "KV"\nid = "staging-kv"\n'
    )
    return config


def test_config_banner_and_env_sections(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path))
    assert [(n.binding, n.local_id) for n in config.kv_namespaces] == [("KV", "world-kv")]
    rows = [line.split() for line in bindings_table(config)]
    assert ["env.KV", "(world-kv)", "KV", "Namespace", "local"] in rows
    staging = load_config(_project(tmp_path), env="staging")
    assert staging.kv_namespaces[0].local_id == "staging-kv"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"kv_namespaces": {}}, 'The field "kv_namespaces" should be an array but got {}.'),
        (
            {"kv_namespaces": [{"id": "x"}]},
            '"kv_namespaces[0]" bindings should have a string "binding"',
        ),
        (
            {"env": {"s": {"kv_namespaces": [{"binding": "KV", "id": 5}]}}},
            '"env.s.kv_namespaces[0]" bindings should, optionally, have a string "id" field',
        ),
        (
            {"kv_namespaces": [{"binding": "KV"}, {"binding": "KV"}]},
            "KV assigned to multiple KV Namespace bindings.",
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


async def test_step_fetch_and_durable_env_share_a_fresh_namespace(tmp_path: Path) -> None:
    config = _project(tmp_path)
    async with open_env(config) as denv:
        assert await denv.env.KV.get("from-step") is None  # empty: not the project's state
        instance = await denv.env.MY_WORKFLOW.create(id="i1", params={"v": "hello"})
        for _ in range(100):
            if (await instance.status())["status"] == "complete":
                break
            await denv.advance("0s")
        response = await denv.fetch("/")
        assert await response.json() == {"value": "hello", "metadata": {"by": "step"}}
        await denv.env.KV.put("seeded", "v", expirationTtl=60)  # expirations: virtual clock
        await denv.advance("61s")
        assert await denv.env.KV.get("seeded") is None
    async with open_env(config) as again:
        assert (await again.env.KV.list())["keys"] == []
    assert not (tmp_path / ".wrangler").exists()


def test_cli_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    (tmp_path / "value.bin").write_bytes(b"\x00\x01")
    assert (
        run("kv", "key", "put", "a", "1", "--binding", "KV", "--metadata", '{"m":1}').exit_code == 0
    )
    assert (
        run(
            "kv", "key", "put", "b", "--path", "value.bin", "--binding", "KV", "--ttl", "600"
        ).exit_code
        == 0
    )
    got = run("kv", "key", "get", "a", "--binding", "KV", "--json")
    assert json.loads(got.stdout) == {"key": "a", "value": "1", "metadata": {"m": 1}}
    listed = json.loads(run("kv", "key", "list", "--namespace-id", "world-kv", "--json").stdout)
    assert [k["name"] for k in listed] == ["a", "b"]
    assert run("kv", "key", "delete", "a", "--binding", "KV").exit_code == 0
    missing = run("kv", "key", "get", "a", "--binding", "KV")
    assert missing.exit_code == 1 and "not found" in missing.stderr
    bad = run("kv", "key", "put", "k", "v", "--binding", "KV", "--ttl", "5")
    assert bad.exit_code == 1 and "Expiration TTL must be at least 60" in bad.stderr
    unknown = run("kv", "key", "get", "k", "--binding", "NOPE")
    assert unknown.exit_code == 1 and 'No KV namespace with binding "NOPE"' in unknown.stderr
    remote = run("kv", "key", "get", "k", "--binding", "KV", "--remote")
    assert remote.exit_code == 1 and "wrangler kv key" in remote.stderr
    assert {p.name for p in tmp_path.iterdir()} >= {".wrangler"}


def test_wrangler_sees_durables_writes_and_durable_sees_wranglers(tmp_path: Path, wrangler) -> None:  # type: ignore[no-untyped-def]
    _project(tmp_path)
    runner = CliRunner()
    put = runner.invoke(
        app,
        [
            "--cwd",
            str(tmp_path),
            "kv",
            "key",
            "put",
            "../../etc/passwd",
            "from durable",
            "--binding",
            "KV",
            "--metadata",
            '{"by":"durable"}',
        ],
        catch_exceptions=False,
    )
    assert put.exit_code == 0, put.stderr
    out = wrangler(tmp_path, "kv", "key", "get", "--local", "--binding", "KV", "../../etc/passwd")
    assert "from durable" in out
    listed = wrangler(tmp_path, "kv", "key", "list", "--local", "--binding", "KV")
    assert '"by": "durable"' in listed
    wrangler(
        tmp_path,
        "kv",
        "key",
        "put",
        "--local",
        "--binding",
        "KV",
        "w",
        "from wrangler",
        "--ttl",
        "3600",
        "--metadata",
        '{"by":"wrangler"}',
    )
    got = runner.invoke(
        app,
        ["--cwd", str(tmp_path), "kv", "key", "get", "w", "--binding", "KV", "--json"],
        catch_exceptions=False,
    )
    assert json.loads(got.stdout) == {
        "key": "w",
        "value": "from wrangler",
        "metadata": {"by": "wrangler"},
    }
    wrangler(tmp_path, "kv", "key", "delete", "--local", "--binding", "KV", "../../etc/passwd")
    listed = runner.invoke(
        app,
        ["--cwd", str(tmp_path), "kv", "key", "list", "--binding", "KV", "--json"],
        catch_exceptions=False,
    )
    assert [k["name"] for k in json.loads(listed.stdout)] == ["w"]
    assert not (tmp_path.parent / "etc").exists()
