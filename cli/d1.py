"""`durable d1 …`: run SQL against a local D1 database and manage its migrations.

The data is wrangler's own local state (`.wrangler/state/v3/d1` next to the configuration), read
and written in place: the same file `durable dev` and `wrangler d1 … --local` use. Migrations are
recorded as wrangler records them, so either tool continues what the other began. There is no
`--remote`: Cloudflare's databases are wrangler's job (`wrangler d1 … --remote`).
"""

# No `from __future__ import annotations` here: typer reads every command's annotations.
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import console, load_project, options, print_json, say, warn

if TYPE_CHECKING:
    from durable.runtime.bindings.d1 import D1DatabaseState
    from durable.runtime.bindings.d1_migrations import Migrations
    from durable.runtime.config import ProjectConfig

HELP = (
    "🗄️ Run SQL against local D1 databases and manage their migrations (wrangler's "
    ".wrangler/state). For the databases on Cloudflare use `wrangler d1 … --remote`."
)
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
migrations_app = typer.Typer(
    help="Create, list and apply D1 migrations (recorded as wrangler records them).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(migrations_app, name="migrations")

DatabaseArg = Annotated[
    str, typer.Argument(help="The name or binding of the DB (database_name or binding).")
]
LocalOpt = Annotated[
    bool,
    typer.Option("--local", help="Accepted for wrangler's spelling: durable is always local."),
]
RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--remote",
        hidden=True,
        help="Not supported: durable works on local state; use wrangler for Cloudflare.",
    ),
]


def _refuse_remote(remote: bool) -> None:
    if remote:
        from durable.runtime.errors import ValidationError

        raise ValidationError(
            "durable d1 works on the local databases only; for the ones on Cloudflare run "
            "`wrangler d1 … --remote`."
        )


def _database(ctx: typer.Context, name: str) -> "tuple[ProjectConfig, Any, D1DatabaseState]":
    """wrangler's `getDatabaseInfoFromConfig`: the entry whose database_name or binding is `name`."""
    from durable.runtime.bindings.d1 import D1DatabaseState
    from durable.runtime.bindings.miniflare import state_root
    from durable.runtime.errors import NotFoundError

    config = load_project(options(ctx))
    for database in config.d1_databases:
        if name in (database.database_name, database.binding):
            return config, database, D1DatabaseState(state_root(config.root), database.local_id)
    raise NotFoundError(
        f"Couldn't find a D1 DB with the name or binding '{name}' in your {config.path.name} file."
    )


def _run(call: Any, *args: Any) -> Any:
    """Run a blocking D1 call; its SQL failure is one line, as wrangler prints it."""
    from durable.runtime.bindings.d1 import D1QueryError
    from durable.runtime.errors import ValidationError

    try:
        return call(*args)
    except D1QueryError as exc:
        raise ValidationError(str(exc)) from None


def _shown_cell(value: Any) -> Any:
    return f"[{', '.join(str(b) for b in value)}]" if isinstance(value, list) else value


@app.command("execute")
def execute(
    ctx: typer.Context,
    database: DatabaseArg,
    command: Annotated[
        str | None,
        typer.Option(
            "--command",
            help="The SQL query you wish to execute, or multiple queries separated by ';'.",
        ),
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A .sql file to ingest.")] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the results as wrangler's JSON: one per statement."),
    ] = False,
    local: LocalOpt = False,
    remote: RemoteOpt = False,
) -> None:
    """Execute a command or SQL file against a local D1 database, in one transaction."""
    from durable.runtime.bindings.d1_migrations import split_sql_query
    from durable.runtime.errors import ValidationError

    _refuse_remote(remote)
    if command is not None and file is not None:
        raise ValidationError("Error: can't provide both --command and --file.")
    if command is None and file is None:
        raise ValidationError("Error: must provide --command or --file.")
    if file is not None:
        path = options(ctx).base / file
        try:
            data = path.read_bytes()
        except OSError:
            raise ValidationError(
                f'Unable to read SQL text file "{file}". Please check the file path and try again.'
            ) from None
        if data[:15] == b"SQLite format 3":
            raise ValidationError(
                "Provided file is a binary SQLite database file instead of an SQL text file. "
                "The execute command can only process SQL text files. Please export an SQL file "
                "from your SQLite database and try again."
            )
        sql = data.decode("utf-8", "replace")
    else:
        assert command is not None
        sql = command
    config, entry, state = _database(ctx, database)
    queries = split_sql_query(sql)
    if not as_json:
        say(
            f"🌀 Executing on local database {database} ({entry.local_id}) from "
            f"{_relative(state.path.parent.parent, config.root)}:"
        )
    try:
        results = _run(state.execute, [(q, []) for q in queries])
    finally:
        state.close()
    shaped: list[dict[str, Any]] = [
        {
            "results": [
                {k: _shown_cell(v) for k, v in zip(r["columns"], row, strict=False)}
                for row in r["rows"]
            ],
            "success": True,
            "meta": {"duration": r["meta"]["duration"]},
        }
        for r in results
    ]
    if as_json:
        print_json(shaped)
        return
    from rich.table import Table

    for result, query in zip(shaped, queries, strict=False):
        rows = result["results"]
        if not rows:
            continue
        shortened = " ".join(query.split())
        say(shortened if len(shortened) <= 48 else shortened[:45] + "...")
        table = Table()
        for column in rows[0]:
            table.add_column(column)
        for row in rows:
            table.add_row(*("null" if v is None else str(v) for v in row.values()))
        console().print(table)
    count = len(shaped)
    say(f"🚣 {count} command{'' if count == 1 else 's'} executed successfully.")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _migrations(ctx: typer.Context, database: str) -> "tuple[Migrations, D1DatabaseState]":
    from durable.runtime.bindings.d1_migrations import Migrations

    config, entry, state = _database(ctx, database)
    migrations = Migrations.of(config.root, entry)
    if not migrations.folder.is_dir():
        state.close()
        warn(migrations.missing_warning(config.path.name))
        migrations.require_folder()
    return migrations, state


@migrations_app.command("create")
def create(
    ctx: typer.Context,
    database: DatabaseArg,
    message: Annotated[str, typer.Argument(help="The migration message (its file name).")],
) -> None:
    """Create a new, empty migration file (NNNN_message.sql) in the migrations folder."""
    from durable.runtime.bindings.d1_migrations import Migrations, create_migration

    config, entry, state = _database(ctx, database)
    state.close()
    migrations = Migrations.of(config.root, entry)
    path = create_migration(migrations, message)
    say(f"✅ Successfully created Migration '{path.name}'!")
    say("The migration is available for editing here")
    say(str(path))


@migrations_app.command("list")
def list_(
    ctx: typer.Context,
    database: DatabaseArg,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the unapplied migrations as a JSON array.")
    ] = False,
    local: LocalOpt = False,
    remote: RemoteOpt = False,
) -> None:
    """List the migrations not yet applied to the local database."""
    _refuse_remote(remote)
    migrations, state = _migrations(ctx, database)
    try:
        pending = _run(migrations.unapplied, state)
    finally:
        state.close()
    if as_json:
        print_json([{"name": name} for name in pending])
        return
    if not pending:
        say("✅ No migrations to apply!")
        return
    from rich.table import Table

    say("Migrations to be applied:")
    table = Table()
    table.add_column("Name")
    for name in pending:
        table.add_row(name)
    console().print(table)


@migrations_app.command("apply")
def apply(
    ctx: typer.Context,
    database: DatabaseArg,
    local: LocalOpt = False,
    remote: RemoteOpt = False,
) -> None:
    """Apply the unapplied migrations in order, each in its own transaction; stop at a failure."""
    from durable.runtime.bindings.d1 import D1QueryError
    from durable.runtime.bindings.d1_migrations import apply_migration
    from durable.runtime.errors import ValidationError

    _refuse_remote(remote)
    migrations, state = _migrations(ctx, database)
    try:
        pending = _run(migrations.unapplied, state)
        if not pending:
            say("✅ No migrations to apply!")
            return
        say(f"Migrations to be applied: {', '.join(pending)}")
        for name in pending:
            try:
                apply_migration(state, migrations, name)
            except D1QueryError as exc:
                say(f"❌ {name}")
                raise ValidationError(f"Migration {name} failed: {exc}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise ValidationError(f"cannot read migration {name}: {exc}") from None
            say(f"✅ {name}")
    finally:
        state.close()
