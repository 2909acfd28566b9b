"""What `durable dev` watches for hot reload, and which changes count.

The entry module's folder is watched recursively (any module under it may be imported), the
config file's folder flatly (the config, `.dev.vars` and `.env` files live there). Only `.py`
files, the config and the dotenv files trigger a reload, and never anything under the persist
dir, a virtualenv or a cache folder: with `main` next to the config, the store's own writes
would otherwise reload the server forever.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from durable.runtime.config import ProjectConfig

__all__ = ["IGNORED_DIRS", "WATCH_STEP_MS", "WatchPlan", "watch_plan"]

WATCH_STEP_MS = 30  # a change is reported once files were quiet this long
IGNORED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", "python_modules",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".tox", ".durable",
     ".wrangler", ".idea", ".vscode"}
)  # fmt: skip


@dataclass(frozen=True)
class WatchPlan:
    recursive: tuple[Path, ...]
    flat: tuple[Path, ...]
    config_path: Path
    root: Path
    entry_dir: Path
    persist_dir: Path

    def relevant(self, path: Path) -> bool:
        if path == self.config_path:
            return True
        name = path.name
        if path.parent == self.root and (
            name in (".dev.vars", ".env") or name.startswith((".dev.vars.", ".env."))
        ):
            return True
        if path.suffix != ".py" or self.persist_dir in path.parents:
            return False
        try:
            inside = path.relative_to(self.entry_dir)
        except ValueError:
            return False
        return not any(part in IGNORED_DIRS for part in inside.parts[:-1])


def watch_plan(config: ProjectConfig, persist_dir: Path) -> WatchPlan:
    """The entry module's folder recursively (minus virtualenvs and the like), plus the
    folder of the config non-recursively (the config file and `.dev.vars` live there)."""
    entry_dir = config.main.parent
    recursive: list[Path] = []
    flat = {config.path.parent, config.root}
    if entry_dir in (config.root, *config.root.parents):
        # Entry next to the config (or above it): a recursive watch would also watch .venv,
        # node_modules …; watch the folder itself flat and each other subfolder recursively.
        flat.add(entry_dir)
        with contextlib.suppress(OSError):
            for child in sorted(entry_dir.iterdir()):
                if child.is_dir() and child.name not in IGNORED_DIRS and child != persist_dir:
                    recursive.append(child)
    else:
        recursive.append(entry_dir)
    return WatchPlan(
        tuple(recursive), tuple(sorted(flat)), config.path, config.root, entry_dir, persist_dir
    )
