"""D1 SQL files and migrations, exactly as `wrangler d1 execute/migrations --local` handle them.

So that either tool continues what the other began:

- A SQL text (`--command` or `--file`) is cut into statements by wrangler's splitter
  (`src/d1/splitter.ts`, ported below) and run as one batch: one transaction.
- Migrations are the `*.sql` files of `migrations_dir` (default `./migrations`, relative to the
  configuration), applied in the order of their number prefix. Each applied file is recorded
  in `migrations_table` (default `d1_migrations`), created with wrangler's own statement; a
  file and its record are one transaction, so a failing migration leaves nothing behind.
- `create` writes `NNNN_<message>.sql` with wrangler's header line.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable.runtime.errors import NotFoundError, ValidationError

from .d1 import D1DatabaseState

__all__ = [
    "Migrations",
    "apply_migration",
    "create_migration",
    "split_sql_query",
]


def migrations_table_sql(table: str) -> str:
    """wrangler's `initMigrationsTable` statement, character for character."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table}(\n"
        "\t\tid         INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "\t\tname       TEXT UNIQUE,\n"
        "\t\tapplied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n"
        ");"
    )


@dataclass(frozen=True)
class Migrations:
    """One database's migrations folder and table."""

    folder: Path
    table: str
    default_folder: bool = True

    @classmethod
    def of(cls, config_root: Path, database: Any) -> Migrations:
        """From a `D1DatabaseConfig`: the folder is relative to the configuration's folder."""
        folder = (config_root / database.migrations_dir).resolve()
        return cls(folder, database.migrations_table, database.migrations_dir == "./migrations")

    def missing_warning(self, config_name: str) -> str:
        """wrangler's warning when the folder does not exist."""
        hint = (
            f" Set `migrations_dir` in your {config_name} file to choose a different path."
            if self.default_folder
            else ""
        )
        return f"No migrations folder found.{hint}"

    def require_folder(self) -> Path:
        """The folder, or wrangler's error when it does not exist."""
        if self.folder.is_dir():
            return self.folder
        raise NotFoundError(f"No migrations present at {self.folder}.")

    def files(self) -> list[str]:
        """The `.sql` file names, sorted (wrangler's `getMigrationNames`)."""
        return sorted(p.name for p in self.folder.iterdir() if p.name.endswith(".sql"))

    def applied(self, state: D1DatabaseState) -> list[dict[str, Any]]:
        """The table's rows in id order, after creating it if needed (as wrangler does)."""
        state.execute([(migrations_table_sql(self.table), [])], "NONE")
        result = state.execute([(f"SELECT *\n\t\tFROM {self.table}\n\t\tORDER BY id", [])])[0]
        return [dict(zip(result["columns"], row, strict=False)) for row in result["rows"]]

    def unapplied(self, state: D1DatabaseState) -> list[str]:
        """Files not in the table, ordered by their number prefix (wrangler's apply order)."""
        done = {row.get("name") for row in self.applied(state)}
        pending = [name for name in self.files() if name not in done]
        return sorted(pending, key=functools.cmp_to_key(_by_number))


def _number(name: str) -> float:
    match = re.match(r"\s*[+-]?\d+", name.split("_")[0])
    return float(int(match.group(0))) if match else math.nan


def _by_number(a: str, b: str) -> int:
    x, y = _number(a), _number(b)
    return -1 if x < y else 1 if x > y else 0


def apply_migration(state: D1DatabaseState, migrations: Migrations, name: str) -> None:
    """Run one migration file and record it, in one transaction (wrangler's query, as is)."""
    text = (migrations.folder / name).read_text(encoding="utf-8")
    text += (
        f"\n\t\t\t\t\t\t\t\tINSERT INTO {migrations.table} (name)\n"
        f"\t\t\t\t\t\t\t\tvalues ('{name}');\n\t\t\t\t\t\t"
    )
    state.execute([(query, []) for query in split_sql_query(text)])


def create_migration(
    migrations: Migrations, message: str, now: Callable[[], datetime.datetime] | None = None
) -> Path:
    """`wrangler d1 migrations create`: the next `NNNN_message.sql`, with wrangler's header."""
    folder = migrations.folder
    folder.mkdir(parents=True, exist_ok=True)
    numbers = [_number(name) for name in migrations.files()]
    highest = max([n for n in numbers if not math.isnan(n)] + [0.0])
    number = str(int(highest) + 1).rjust(4, "0")
    path = folder / f"{number}_{message.replace(' ', '_')}.sql"
    moment = (now or (lambda: datetime.datetime.now(datetime.UTC)))()
    stamp = moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )
    with path.open("x", encoding="utf-8") as file:
        file.write(f"-- Migration number: {number} \t {stamp}\n")
    return path


# --- wrangler's SQL splitter (src/d1/splitter.ts and trimmer.ts) ------------------------------


def split_sql_query(sql: str) -> list[str]:
    trimmed = _trim_sql_query(sql)
    if not _may_contain_multiple_statements(trimmed):
        return [trimmed]
    split = split_sql_into_statements(trimmed)
    return split or [trimmed]


def _trim_sql_query(sql: str) -> str:
    if "BEGIN TRANSACTION" not in sql:
        return sql
    trimmed = sql.replace("BEGIN TRANSACTION;", "", 1).replace("COMMIT;", "", 1)
    if "BEGIN TRANSACTION" in trimmed:
        raise ValidationError(
            "durable could not process the provided SQL file, as it contains several "
            "transactions. D1 runs your SQL in a transaction for you. Please export an SQL file "
            "from your SQLite database and try again."
        )
    return trimmed


def _may_contain_multiple_statements(sql: str) -> bool:
    trimmed = sql.rstrip()
    index = trimmed.find(";")
    return index != -1 and index != len(trimmed) - 1


def split_sql_into_statements(sql: str) -> list[str]:
    statements: list[str] = []
    text = ""
    compound: list[Callable[[str], bool]] = []
    chars: Iterator[str] = iter(sql)
    char = next(chars, None)
    while char is not None:
        if compound and compound[0](text + char):
            compound.pop(0)
        if char in ("'", '"', "`"):
            text += char + _consume_until(chars, char)
        elif char == "$":
            quote = "$" + _consume_while(chars, _is_dollar_quote_identifier)
            text += quote
            if quote.endswith("$"):
                text += _consume_until(chars, quote)
        elif char == "-":
            char = next(chars, None)
            if char == "-":
                _consume_until(chars, "\n")
                text += "\n"
            else:
                text += "-"
                continue
        elif char == "/":
            char = next(chars, None)
            if char == "*":
                _consume_until(chars, "*/")
            else:
                text += "/"
                continue
        elif char == ";":
            if not compound:
                statements.append(text)
                text = ""
            else:
                text += char
        else:
            text += char
        if re.search(r"\s(BEGIN|CASE)\s\Z", text, re.IGNORECASE):
            compound.insert(0, _is_compound_end)
        char = next(chars, None)
    statements.append(text)
    return [s.strip() for s in statements if s.strip()]


def _is_compound_end(text: str) -> bool:
    return re.search(r"\sEND[;\s]\Z", text) is not None


def _consume_while(chars: Iterator[str], predicate: Callable[[str], bool]) -> str:
    text = ""
    for char in chars:
        text += char
        if not predicate(text):
            break
    return text


def _consume_until(chars: Iterator[str], marker: str) -> str:
    return _consume_while(chars, lambda text: not text.endswith(marker))


def _is_dollar_quote_identifier(text: str) -> bool:
    last = text[-1:]
    return last != "$" and (re.match(r"[0-9_]", last) is not None or last.lower() != last.upper())
