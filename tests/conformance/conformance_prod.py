"""The production SDK (workers-runtime-sdk) loaded as `_prod_workers`, with the SDK's
workflows.js in Python, over the fake JS side.

The SDK's package is called `workers` too; it is imported from its installed location under
another name, with the fake `js`/`pyodide` modules in `sys.modules` only while it imports (and
while user code runs: `user_workers`), so it never collides with durable's shim (or durable's own
`js` module). The JS `WorkflowStep` it runs over is durable's engine: conformance_engine_js.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import conformance_fake_js as fjs

PROD_NAME = "_prod_workers"

compat_flags = types.ModuleType("_cloudflare_compat_flags")
compat_flags.python_workflows_implicit_dependencies = True  # type: ignore[attr-defined]


def sdk_dir() -> Path:
    try:
        dist = importlib.metadata.distribution("workers-runtime-sdk")
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            "the conformance suite needs the production SDK: pip install "
            "'workers-runtime-sdk==1.9.5' (it is in the `test` extra)"
        ) from None
    return Path(str(dist.locate_file("workers/__init__.py"))).parent


@contextmanager
def swapped_modules(replacements: dict[str, types.ModuleType]) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in replacements}
    sys.modules.update(replacements)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


_fakes = fjs.make_modules(compat_flags)


def load_prod_workers() -> types.ModuleType:
    """The SDK's `workers` package as `_prod_workers` (imported once)."""
    if PROD_NAME in sys.modules:
        return sys.modules[PROD_NAME]
    package_dir = sdk_dir()
    spec = importlib.util.spec_from_file_location(
        PROD_NAME, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with swapped_modules(_fakes):
        sys.modules[PROD_NAME] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[PROD_NAME]
            raise
    # A traceback names the class by its module; in production that module is workers.workflows
    module.workflows.NonRetryableError.__module__ = "workers.workflows"
    module.entrypoints._workflows_js_module = _WorkflowsJs()
    return module


class _WorkflowsJs:
    """The SDK's workflows.js: wrapWorkflowStep / wrapWorkflowStepCallback, in Python."""

    def wrapWorkflowStep(self, step: Any) -> Any:  # noqa: N802 - the JS name
        return _WrappedStep(step)


class _WrappedStep:
    def __init__(self, step: Any) -> None:
        self._step = step

    def __getattr__(self, name: str) -> Any:
        return getattr(self._step, name)

    def do(self, name: Any, *rest: Any) -> Any:
        args = [_wrap_callback(a) if callable(a) else a for a in rest]
        return self._step.do(name, *args)


def _wrap_callback(callback: Any) -> Any:
    async def wrapped(*args: Any) -> Any:
        try:
            return await _call_python(callback, *args)
        except fjs.JsException as exc:
            error = exc.js_error
            if error.name == "PythonError" and error.type == "NonRetryableError":
                lines = [line for line in error.message.split("\n") if line.strip()]
                last = lines[-1] if lines else ""
                sep = last.find(": ")
                raise fjs.JsException(
                    fjs.JsError("" if sep == -1 else last[sep + 2 :], "NonRetryableError")
                ) from None
            raise

    return wrapped


async def _call_python(function: Any, *args: Any) -> Any:
    """JS calling a Python function: a Python exception escapes as a PythonError."""
    try:
        result = function(*args)
        if inspect.isawaitable(result):
            result = await result
        return result
    except Exception as exc:
        raise fjs.JsException(fjs.python_error(exc)) from None


@contextmanager
def user_workers(prod: types.ModuleType) -> Iterator[None]:
    """`import workers` / `workers.workflows` in user code give the production SDK."""
    with swapped_modules({"workers": prod, "workers.workflows": prod.workflows, **_fakes}):
        yield


def load_user_module(source: str, name: str) -> types.ModuleType:
    prod = load_prod_workers()
    module = types.ModuleType(name)
    module.__file__ = f"/session/metadata/{name}.py"
    with user_workers(prod):
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module
