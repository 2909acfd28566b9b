"""Generate docs/cli-reference.md from every command's `--help`.

    python -m durable.cli.reference           # rewrite docs/cli-reference.md
    python -m durable.cli.reference --check   # exit 1 if it is stale (CI, tests)

The help is rendered at a fixed width, with no colour, so the file does not depend on the
terminal it was generated in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

WIDTH = 100
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "docs" / "cli-reference.md"
HEADER = """\
# `durable` command reference

Generated from each command's `--help` by `python -m durable.cli.reference`; do not edit by
hand (a test fails when this file is stale). Global options (`-c/--config`, `-e/--env`,
`--cwd`, `--persist-to`, `--port`, `--remote`, `-v/--verbose`) may be given before or after the
command words.
"""


def _walk(command: Any, ctx: Any) -> Iterator[tuple[str, str]]:
    yield ctx.command_path, command.get_help(ctx)
    for name in command.list_commands(ctx) if hasattr(command, "list_commands") else []:
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(sub, typer.Context(sub, info_name=name, parent=ctx))


def render() -> str:
    from .app import app

    root = typer.main.get_command(app)
    ctx = typer.Context(
        root, info_name="durable", terminal_width=WIDTH, max_content_width=WIDTH, color=False
    )
    parts = [HEADER]
    for path, text in _walk(root, ctx):
        parts.append(f"\n## `{path}`\n\n```text\n{text.rstrip()}\n```\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = DEFAULT_PATH.read_text(encoding="utf-8") if DEFAULT_PATH.exists() else ""
        if current != text:
            print(
                f"{DEFAULT_PATH} is stale: run `python -m durable.cli.reference`.", file=sys.stderr
            )
            return 1
        return 0
    DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    DEFAULT_PATH.write_text(text, encoding="utf-8")
    print(f"Wrote {DEFAULT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
