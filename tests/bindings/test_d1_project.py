"""D1 in a project: config, banner, a Workflow step, the fetch handler, durable_env with
migrations, the CLI, and wrangler's own `d1 execute/migrations … --local` on the same file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from durable.cli.app import app
from durable.runtime.bindings.d1 import database_path
from durable.runtime.config import config_from_dict, load_config
from durable.runtime.dev.supervisor import bindings_table
from durable.runtime.errors import ConfigError, ValidationError
from durable.testing import open_env

ENTRY = """
from workers import Response, WorkerEntrypoint, WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("save")
        async def save():
            result = await self.env.DB.prepare(
                "INSERT INTO notes (body) VALUES (?)"
            ).bind(event.payload["body"]).run()
            return result.meta.last_row_id
        return await save()

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        rows = await self.env.DB.prepare("SELECT id, body FROM notes ORDER BY id").all()
        return Response.json(rows.results)
"""

D1_SECTION = (
    '\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "notes-db"\n'
    'database_id = "4f1e7c2a-0000-4000-8000-000000000001"\n'
)


def _project(root: Path, *, migrations: bool = True) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "entry.py").write_text(ENTRY)
    if migrations:
        (root / "migrations").mkdir(exist_ok=True)
        (root / "migrations" / "0001_notes.sql").write_text(
            "-- Migration number: 0001\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n"
        )
    config = root / "wrangler.toml"
    config.write_text(
        'name = "d1-test"\nmain = "src/entry.py"\ncompatibility_date = "2026-03-01"\n'
        'compatibility_flags = ["python_workers"]\n'
        '[[workflows]]\nname = "my-workflow"\nbinding = "MY_WORKFLOW"\nclass_name = "MyWorkflow"\n'
        + D1_SECTION
        + '[env.staging]\n[[env.staging.d1_databases]]\nbinding = "DB"\n'
        'database_name = "notes-staging"\npreview_database_id = "preview-id"\n'
        'migrations_dir = "db/migrations"\nmigrations_table = "schema_history"\n'
    )
    return config


def test_config_banner_and_env_sections(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path))
    (db,) = config.d1_databases
    assert (db.binding, db.database_name, db.local_id) == (
        "DB",
        "notes-db",
        "4f1e7c2a-0000-4000-8000-000000000001",
    )
    assert (db.migrations_dir, db.migrations_table) == ("./migrations", "d1_migrations")
    rows = [line.split() for line in bindings_table(config)]
    assert ["env.DB", "(notes-db)", "D1", "Database", "local"] in rows
    staging = load_config(_project(tmp_path), env="staging")
    (sdb,) = staging.d1_databases
    assert (sdb.local_id, sdb.migrations_dir, sdb.migrations_table) == (
        "preview-id",
        "db/migrations",
        "schema_history",
    )
    bare = config_from_dict(
        {"main": "src/entry.py", "d1_databases": [{"binding": "DB"}]}, tmp_path / "wrangler.toml"
    )
    assert bare.d1_databases[0].local_id == "DB"
    assert ["env.DB", "D1", "Database", "local"] in [row.split() for row in bindings_table(bare)]


@pytest.mark.parametrize(
    ("raw", "message", "field"),
    [
        (
            {"d1_databases": {}},
            'The field "d1_databases" should be an array but got {}.',
            "d1_databases",
        ),
        (
            {"d1_databases": [5]},
            '"d1_databases" bindings should be objects, but got 5',
            "d1_databases[0]",
        ),
        (
            {"d1_databases": [{"database_id": "x"}]},
            '"d1_databases[0]" bindings should have a string "binding" field but got '
            '{"database_id": "x"}.',
            "d1_databases[0].binding",
        ),
        (
            {"env": {"s": {"d1_databases": [{"binding": "DB", "database_id": 5}]}}},
            '"env.s.d1_databases[0]" bindings must have a "database_id" field but got '
            '{"binding": "DB", "database_id": 5}.',
            "env.s.d1_databases[0].database_id",
        ),
        (
            {"d1_databases": [{"binding": "DB", "preview_database_id": 1}]},
            '"d1_databases[0]" bindings should, optionally, have a string "preview_database_id"',
            "d1_databases[0].preview_database_id",
        ),
        (
            {"d1_databases": [{"binding": "DB"}, {"binding": "DB"}]},
            "DB assigned to multiple D1 Database bindings.",
            "d1_databases",
        ),
        (
            {"d1_databases": [{"binding": "X"}], "kv_namespaces": [{"binding": "X"}]},
            "X assigned to KV Namespace and D1 Database bindings.",
            "d1_databases",
        ),
    ],
)
def test_config_errors_use_wranglers_wording(
    tmp_path: Path, raw: dict[str, Any], message: str, field: str
) -> None:
    (tmp_path / "main.py").write_text("")
    with pytest.raises(ConfigError) as caught:
        config_from_dict(
            {"main": "main.py", **raw},
            tmp_path / "wrangler.toml",
            env="s" if "env" in raw else None,
        )
    assert message in str(caught.value)
    assert caught.value.field == field


async def test_durable_env_has_a_migrated_database_of_its_own(tmp_path: Path) -> None:
    config = _project(tmp_path)
    async with open_env(config) as denv:
        assert (await denv.env.DB.prepare("SELECT * FROM notes").all()).results == []
        await denv.env.DB.prepare("INSERT INTO notes (body) VALUES ('seeded')").run()
        instance = await denv.env.MY_WORKFLOW.create(id="i1", params={"body": "from step"})
        for _ in range(100):
            if (await instance.status())["status"] == "complete":
                break
            await denv.advance("0s")
        assert (await instance.status())["output"] == 2
        response = await denv.fetch("/")
        assert await response.json() == [
            {"id": 1, "body": "seeded"},
            {"id": 2, "body": "from step"},
        ]
        applied = await denv.env.DB.prepare("SELECT name FROM d1_migrations").raw()
        assert applied == [["0001_notes.sql"]]
    async with open_env(config) as again:
        assert await again.env.DB.prepare("SELECT count(*) AS n FROM notes").first("n") == 0
    assert not (tmp_path / ".wrangler").exists()


async def test_durable_env_reports_a_failing_migration(tmp_path: Path) -> None:
    config = _project(tmp_path)
    (tmp_path / "migrations" / "0002_bad.sql").write_text("CREATE TABLE oops (;\n")
    with pytest.raises(ValidationError, match="D1 migration 0002_bad.sql of env.DB failed"):
        async with open_env(config):
            pass


def _cli(tmp_path: Path) -> Callable[..., Result]:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--cwd", str(tmp_path), *args], catch_exceptions=False)

    return run


def test_cli_execute_and_migrations(tmp_path: Path) -> None:
    _project(tmp_path)
    run = _cli(tmp_path)
    listed = run("d1", "migrations", "list", "DB", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == [{"name": "0001_notes.sql"}]
    applied = run("d1", "migrations", "apply", "notes-db")
    assert applied.exit_code == 0, applied.stderr
    assert "0001_notes.sql" in applied.stdout
    assert "No migrations to apply" in run("d1", "migrations", "apply", "DB").stdout
    created = run("d1", "migrations", "create", "DB", "add tags")
    assert created.exit_code == 0, created.stderr
    new = tmp_path / "migrations" / "0002_add_tags.sql"
    assert new.read_text().startswith("-- Migration number: 0002 \t ")
    new.write_text(new.read_text() + "ALTER TABLE notes ADD COLUMN tag TEXT;\n")
    assert json.loads(run("d1", "migrations", "list", "DB", "--json").stdout) == [
        {"name": "0002_add_tags.sql"}
    ]
    assert run("d1", "migrations", "apply", "DB").exit_code == 0

    wrote = run(
        "d1", "execute", "DB", "--command", "INSERT INTO notes (body, tag) VALUES ('a', 't');"
    )
    assert wrote.exit_code == 0, wrote.stderr
    (tmp_path / "q.sql").write_text("SELECT id, body, tag FROM notes; SELECT 2 AS two;")
    out = run("d1", "execute", "DB", "--file", "q.sql", "--json")
    assert out.exit_code == 0, out.stderr
    results = json.loads(out.stdout)
    assert [r["results"] for r in results] == [
        [{"id": 1, "body": "a", "tag": "t"}],
        [{"two": 2}],
    ]
    assert all(r["success"] is True and "duration" in r["meta"] for r in results)
    table = run("d1", "execute", "DB", "--command", "SELECT body FROM notes")
    assert table.exit_code == 0 and "a" in table.stdout and "1 command executed" in table.stdout


def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    _project(tmp_path, migrations=False)
    run = _cli(tmp_path)

    def fails(*args: str) -> str:
        result = run(*args)
        assert result.exit_code == 1, result.stdout
        assert "Traceback" not in result.stderr
        assert result.stderr.count("✘ [ERROR]") == 1
        return result.stderr

    assert 'near "INVALID": syntax error at offset 0: SQLITE_ERROR' in fails(
        "d1", "execute", "DB", "--command", "INVALID"
    )
    assert "Couldn't find a D1 DB with the name or binding 'NOPE' in your wrangler.toml" in fails(
        "d1", "execute", "NOPE", "--command", "SELECT 1"
    )
    assert "must provide --command or --file" in fails("d1", "execute", "DB")
    assert 'Unable to read SQL text file "missing.sql"' in fails(
        "d1", "execute", "DB", "--file", "missing.sql"
    )
    missing = fails("d1", "migrations", "apply", "DB")
    assert f"No migrations present at {tmp_path / 'migrations'}." in missing
    assert "No migrations folder found." in missing
    assert "wrangler d1" in fails("d1", "execute", "DB", "--command", "SELECT 1", "--remote")
    # A failing statement in a file leaves nothing behind: one transaction.
    (tmp_path / "half.sql").write_text("CREATE TABLE a (x);\nINSERT INTO nope VALUES (1);\n")
    assert "no such table: nope: SQLITE_ERROR" in fails("d1", "execute", "DB", "--file", "half.sql")
    listed = run("d1", "execute", "DB", "--command", "SELECT name FROM sqlite_master", "--json")
    assert json.loads(listed.stdout)[0]["results"] == []
    # A corrupt file: refused in one line, never modified.
    config = load_config(tmp_path / "wrangler.toml")
    path = database_path(tmp_path / ".wrangler" / "state", config.d1_databases[0].local_id)
    path.write_bytes(b"garbage" * 1000)
    assert "is not a readable SQLite database" in fails(
        "d1", "execute", "DB", "--command", "SELECT 1"
    )
    assert path.read_bytes() == b"garbage" * 1000


def test_wrangler_and_durable_share_the_database(
    tmp_path: Path, wrangler: Callable[..., str]
) -> None:
    _project(tmp_path)
    (tmp_path / "migrations" / "0002_tags.sql").write_text(
        "ALTER TABLE notes ADD COLUMN tag TEXT;\n"
    )
    (tmp_path / "migrations" / "0003_more.sql").write_text(
        "CREATE TABLE more (a);\nINSERT INTO more VALUES (3);\n"
    )
    run = _cli(tmp_path)
    # wrangler applies the first migration, durable the next, wrangler the last.
    (tmp_path / "migrations" / "0002_tags.sql").rename(tmp_path / "0002_tags.sql")
    (tmp_path / "migrations" / "0003_more.sql").rename(tmp_path / "0003_more.sql")
    wrangler(tmp_path, "d1", "migrations", "apply", "DB", "--local")
    (tmp_path / "0002_tags.sql").rename(tmp_path / "migrations" / "0002_tags.sql")
    assert json.loads(run("d1", "migrations", "list", "DB", "--json").stdout) == [
        {"name": "0002_tags.sql"}
    ]
    assert run("d1", "migrations", "apply", "DB").exit_code == 0
    (tmp_path / "0003_more.sql").rename(tmp_path / "migrations" / "0003_more.sql")
    assert "0003_more.sql" in wrangler(tmp_path, "d1", "migrations", "list", "DB", "--local")
    assert "0002_tags.sql" not in wrangler(tmp_path, "d1", "migrations", "list", "DB", "--local")
    wrangler(tmp_path, "d1", "migrations", "apply", "DB", "--local")
    assert "No migrations to apply" in run("d1", "migrations", "list", "DB").stdout
    assert "No migrations to apply" in wrangler(
        tmp_path, "d1", "migrations", "list", "DB", "--local"
    )
    history = json.loads(
        run(
            "d1",
            "execute",
            "DB",
            "--command",
            "SELECT name FROM d1_migrations ORDER BY id",
            "--json",
        ).stdout
    )
    assert [r["name"] for r in history[0]["results"]] == [
        "0001_notes.sql",
        "0002_tags.sql",
        "0003_more.sql",
    ]

    # durable writes, wrangler reads; wrangler writes, durable reads.
    assert (
        run(
            "d1",
            "execute",
            "DB",
            "--command",
            "INSERT INTO notes (body, tag) VALUES ('durable', 'd')",
        ).exit_code
        == 0
    )
    out = wrangler(
        tmp_path, "d1", "execute", "DB", "--local", "--json", "--command", "SELECT body FROM notes"
    )
    assert json.loads(out)[0]["results"] == [{"body": "durable"}]
    wrangler(
        tmp_path,
        "d1",
        "execute",
        "notes-db",
        "--local",
        "--command",
        "INSERT INTO notes (body) VALUES ('wrangler')",
    )
    got = run("d1", "execute", "DB", "--command", "SELECT body FROM notes ORDER BY id", "--json")
    assert [r["body"] for r in json.loads(got.stdout)[0]["results"]] == ["durable", "wrangler"]
    config = load_config(tmp_path / "wrangler.toml")
    assert database_path(
        tmp_path / ".wrangler" / "state", config.d1_databases[0].local_id
    ).is_file()


def test_wrangler_opens_a_database_durable_created(
    tmp_path: Path, wrangler: Callable[..., str]
) -> None:
    _project(tmp_path, migrations=False)
    run = _cli(tmp_path)
    created = run(
        "d1",
        "execute",
        "DB",
        "--command",
        "CREATE TABLE t (a, b BLOB); INSERT INTO t VALUES ('from durable', x'00ff');",
    )
    assert created.exit_code == 0, created.stderr
    out = wrangler(
        tmp_path, "d1", "execute", "DB", "--local", "--json", "--command", "SELECT a, b FROM t"
    )
    assert json.loads(out)[0]["results"] == [{"a": "from durable", "b": "[0, 255]"}]
    again = run("d1", "execute", "DB", "--command", "SELECT a, b FROM t", "--json")
    assert json.loads(again.stdout)[0]["results"] == [{"a": "from durable", "b": "[0, 255]"}]
