"""`durable init`: start a project from a template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def init(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Folder to create the project in (default: --name, or here if empty)."),
    ] = None,
    template: Annotated[str, typer.Option("--template", "-t", help="Template to copy.")] = "hello",
    name: Annotated[
        str | None, typer.Option("--name", help="Project name (default: the folder's name).")
    ] = None,
    list_templates: Annotated[
        bool, typer.Option("--list", help="List the templates and exit.")
    ] = False,
) -> None:
    """Create a new project from a template."""
    from durable.runtime import scaffold

    if list_templates:
        width = max(len(t.name) for t in scaffold.list_templates())
        for entry in scaffold.list_templates():
            typer.echo(f"{entry.name.ljust(width)}  {entry.description}")
        return
    target = scaffold.target_directory(Path.cwd(), directory, name)
    result = scaffold.create_project(template, target, name)
    where = _shown(target)
    for path in result.created:
        typer.echo(f"  created  {_shown(path)}")
    for path in result.skipped:
        typer.echo(f"  skipped  {_shown(path)} (exists)", err=True)
    typer.echo(f'✨ Created "{result.project_name}" from the {template} template in {where}')
    typer.echo("Next:")
    if target != Path.cwd().resolve():
        typer.echo(f"  cd {where}")
    typer.echo("  durable dev")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
