"""Import the Worker's `main` module as Cloudflare would, with the `workers` shim first on the path.

Cloudflare finds a workflow by `class_name` among the main module's names (`__all__` if it has
one), and the fetch handler as `class Default(WorkerEntrypoint)` or, before the
`python_no_global_handlers` date, a module-level `on_fetch`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from durable.runtime.config import ProjectConfig
from durable.runtime.errors import ConfigError, UserCodeError

from .entrypoints import WorkerEntrypoint, WorkflowEntrypoint

SHIM_DIR = Path(__file__).resolve().parent / "_shim"
_loaded_source_dirs: list[str] = []


def ensure_shim_on_path() -> None:
    """Make `import workers` find durable's shim, ahead of anything else named `workers`."""
    shim = str(SHIM_DIR)
    if not sys.path or sys.path[0] != shim:
        while shim in sys.path:
            sys.path.remove(shim)
        sys.path.insert(0, shim)
    existing = sys.modules.get("workers")
    if existing is not None and not str(getattr(existing, "__file__", "")).startswith(shim):
        for name in [n for n in sys.modules if n == "workers" or n.startswith("workers.")]:
            del sys.modules[name]


@dataclass(frozen=True)
class LoadedCode:
    module: ModuleType
    workflow_classes: dict[str, type]
    fetch_handler: Any  # a `Default` class, a module-level `on_fetch`, or None
    warnings: tuple[str, ...] = ()  # for `durable dev` to print when the code is loaded


def _user_frame(exc: BaseException, root: Path) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(str(root)):
            return f"{Path(frame.filename).relative_to(root)}:{frame.lineno}"
    return ""


def import_main(config: ProjectConfig) -> ModuleType:
    """Import `config.main` fresh; errors become one-line UserCodeErrors naming file and line."""
    ensure_shim_on_path()
    main = config.main
    source_dir = str(main.parent)
    # Forget earlier imports of user code (this project's or one loaded before it in the same
    # process), so a reload sees the new code and `entry` is never another project's entry.
    stale = {source_dir, *_loaded_source_dirs}
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if any(origin.startswith(folder + "/") for folder in stale):
            del sys.modules[name]
    for folder in _loaded_source_dirs:
        while folder in sys.path:
            sys.path.remove(folder)
    _loaded_source_dirs[:] = [source_dir]
    sys.path.insert(1, source_dir)
    module_name = main.stem
    sys.modules.pop(module_name, None)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(module_name)
    except SyntaxError as exc:
        where = f"{exc.filename}:{exc.lineno}" if exc.filename else str(main)
        raise UserCodeError(f"Syntax error in {where}: {exc.msg}") from exc
    except Exception as exc:  # noqa: BLE001 - any import-time failure of user code
        where = _user_frame(exc, config.root) or str(main.relative_to(config.root))
        raise UserCodeError(
            f"Could not import {main.relative_to(config.root)} ({where}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


def load_code(config: ProjectConfig) -> LoadedCode:
    """Import `main` and find every workflow class and the fetch handler."""
    module = import_main(config)
    names = _public_names(module)
    entrypoints = {
        name: value
        for name in names
        if inspect.isclass(value := getattr(module, name, None))
        and issubclass(value, WorkflowEntrypoint)
        and value is not WorkflowEntrypoint
    }
    classes: dict[str, type] = {}
    for index, workflow in enumerate(config.workflows):
        if workflow.script_name not in (None, config.name):
            continue  # defined by another Worker
        cls = entrypoints.get(workflow.class_name)
        if cls is None:
            found = ", ".join(sorted(entrypoints)) or "none"
            raise UserCodeError(
                f'{config.path.name}: workflows[{index}].class_name "{workflow.class_name}" is not a '
                f"WorkflowEntrypoint class in {config.main.relative_to(config.root)} "
                f"(found: {found})."
            )
        classes[workflow.name] = cls
    if classes and not config.python_workflows:
        raise _python_workflows_off(config, sorted({c.__name__ for c in classes.values()}))
    return LoadedCode(
        module, classes, _fetch_handler(module, names, config), _load_warnings(module, config)
    )


def _python_workflows_off(config: ProjectConfig, class_names: list[str]) -> ConfigError:
    """Production dispatches `run` to Python only under `python_workflows`; without it the
    engine's call goes through the generic RPC wrapper and the workflow cannot run, so refuse
    at start, where the fix is one line, rather than at the first instance."""
    reason = config.flag_reason("python_workflows")
    if "disable_python_workflows" in config.compatibility_flags:
        fix = 'remove "disable_python_workflows" from compatibility_flags'
    else:
        fix = (
            'add "python_workflows" to compatibility_flags (python_workers implies it from '
            "compatibility_date 2025-09-20)"
        )
    return ConfigError(
        f"{', '.join(class_names)}: Python Workflows need the python_workflows compatibility "
        f"flag, which this Worker's {reason} leaves off. As Cloudflare's docs say: you must add "
        "both python_workflows and python_workers compatibility flags to your Wrangler "
        f"configuration file. Fix: {fix}.",
        path=str(config.path),
        field="compatibility_flags",
    )


def _load_warnings(module: ModuleType, config: ProjectConfig) -> tuple[str, ...]:
    """What the code does that the compatibility date makes it lose, said before any request."""
    if not config.no_global_handlers or not callable(getattr(module, "on_fetch", None)):
        return ()
    return (
        f"{config.main.relative_to(config.root)} defines a module-level on_fetch, which is "
        f"ignored: this Worker's {config.flag_reason('no_global_handlers')} selects class "
        "handlers, the default since 2025-08-14, so the fetch handler is `class "
        "Default(WorkerEntrypoint)` with `async def fetch(self, request)`. Move on_fetch into "
        'that class, or add the compatibility flag "disable_python_no_global_handlers" to keep '
        "it.",
    )


def _fetch_handler(module: ModuleType, names: list[str], config: ProjectConfig) -> Any:
    default = getattr(module, "Default", None)
    on_fetch = getattr(module, "on_fetch", None)
    is_class = inspect.isclass(default) and issubclass(default, WorkerEntrypoint)
    if config.no_global_handlers:
        return default if is_class else None
    if is_class and callable(on_fetch):
        raise UserCodeError(
            f"{config.main.name}: Cannot define multiple default entrypoints (both class Default "
            "and on_fetch); keep one."
        )
    if callable(on_fetch):
        return on_fetch
    return default if is_class else None
