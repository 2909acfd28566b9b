"""`durable init`: copy a starter project out of `durable.templates`.

A template is a folder under `templates/`, listed with its description in `templates.toml`.
The project name is substituted for `${project_name}` in the config files and README; nothing
that exists is ever overwritten, and nothing is written outside the target folder.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .errors import ConflictError, ValidationError

SUBSTITUTED = {"wrangler.toml", "wrangler.jsonc", "wrangler.json", "README.md", "pyproject.toml"}
_SKIP = {"__pycache__", ".durable", ".pytest_cache"}


@dataclass(frozen=True)
class Template:
    name: str
    description: str


@dataclass
class Scaffold:
    directory: Path
    project_name: str
    created: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def _root() -> Traversable:
    return resources.files("durable.templates")


def list_templates() -> list[Template]:
    index = tomllib.loads(_root().joinpath("templates.toml").read_text())
    return [Template(name, str(entry["description"])) for name, entry in index.items()]


def project_name_for(text: str) -> str:
    """A Worker name from a folder or a user's --name: lowercase letters, digits and dashes."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.strip().lower()).strip("-")
    if not name:
        raise ValidationError(f"Cannot make a project name from {text!r}: pass --name my-project.")
    return name[:63]


def target_directory(cwd: Path, directory: Path | None, name: str | None) -> Path:
    """DIR if given; else a new folder named after --name; else the current folder if empty."""
    if directory is not None:
        return (cwd / directory).resolve()
    if name is not None:
        return (cwd / project_name_for(name)).resolve()
    if any(p.name not in _SKIP for p in cwd.iterdir()):
        raise ValidationError(
            "The current folder is not empty: pass a folder (durable init my-project) or --name."
        )
    return cwd.resolve()


def create_project(template: str, directory: Path, name: str | None = None) -> Scaffold:
    """Copy `template` into `directory`, skipping files that exist."""
    known = {t.name: t for t in list_templates()}
    if template not in known:
        raise ValidationError(
            f'Unknown template "{template}". Valid templates: {", ".join(known)}.'
        )
    if directory.exists() and not directory.is_dir():
        raise ConflictError(f"{directory} exists and is not a folder.")
    result = Scaffold(directory, project_name_for(name or directory.name))
    _copy(_root().joinpath(template), directory, result)
    _write_gitignore(directory, result)
    return result


# What create-cloudflare's Python templates keep out of git, for durable's files too.
GITIGNORE = """\
# Local state: durable's store and wrangler's (KV, D1, R2)
.durable/
.wrangler/

# Secrets
.dev.vars*
!.dev.vars.example
.env*
!.env.example

# Python
.venv/
__pycache__/
.pytest_cache/
"""


def _write_gitignore(directory: Path, result: Scaffold) -> None:
    """Every template gets one (written here: dotfiles do not ship as package data reliably);
    an existing .gitignore is the user's and is left alone."""
    destination = directory / ".gitignore"
    if destination.exists() or destination.is_symlink():
        result.skipped.append(destination)
        return
    directory.mkdir(parents=True, exist_ok=True)
    destination.write_text(GITIGNORE, encoding="utf-8")
    result.created.append(destination)


def _copy(source: Traversable, target: Path, result: Scaffold) -> None:
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name in _SKIP or entry.name.endswith(".pyc"):
            continue
        destination = (target / entry.name).resolve()
        if not destination.is_relative_to(result.directory.resolve()):
            raise ValidationError(
                f"Refusing to write {destination}: it is outside {result.directory}."
            )
        if entry.is_dir():
            _copy(entry, destination, result)
            continue
        if destination.exists() or destination.is_symlink():
            result.skipped.append(destination)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = entry.read_bytes()
        if entry.name in SUBSTITUTED:
            text = string.Template(data.decode()).safe_substitute(project_name=result.project_name)
            data = text.encode()
        destination.write_bytes(data)
        result.created.append(destination)
