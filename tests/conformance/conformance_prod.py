"""The production SDK (workers-runtime-sdk) loaded as `_prod_workers`, and a driver that runs a
workflow through its real Python layer over the fake JS side.

The SDK's package is called `workers` too; it is imported from its installed location under
another name, with the fake `js`/`pyodide` modules in `sys.modules` only while it imports, so it
never collides with durable's shim (or durable's own `js` module).

The driver is a first cut and in memory: each `step.do` call runs its callback at once (retries
also at once, without back-off), sleeps and `sleepUntil` resolve immediately, `waitForEvent`
answers from events given up front, and run() is not replayed.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import inspect
import sys
import types
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import conformance_fake_js as fjs

PROD_NAME = "_prod_workers"
DEFAULT_RETRY_LIMIT = 5

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


class FakeWorkflowStep:
    """The engine's `WorkflowStep` as JS hands it to run(), driven in memory."""

    def __init__(self, events: dict[str, Any], now_ms: float) -> None:
        self._counts: Counter[str] = Counter()
        self._events = events
        self._now_ms = now_ms
        self.calls: list[tuple[Any, ...]] = []

    async def do(self, name: Any, *rest: Any) -> Any:
        callback = rest[-1]
        config = rest[0] if len(rest) == 2 else None
        self._counts[name] += 1
        count = self._counts[name]
        limit = DEFAULT_RETRY_LIMIT
        retries = getattr(config, "retries", None) if config is not None else None
        if retries is not None and hasattr(retries, "limit"):
            limit = retries.limit
        self.calls.append(("do", name, count))
        attempt = 1
        while True:
            ctx = fjs.JsObject(
                {
                    "step": fjs.JsObject({"name": name, "count": count}),
                    "attempt": attempt,
                    "config": config if config is not None else fjs.JsObject(),
                }
            )
            try:
                result = await callback(ctx)
                return fjs.boundary(fjs.structured_clone(result))
            except fjs.JsException as exc:
                if exc.name == "NonRetryableError" or attempt > limit:
                    raise fjs.JsException(fjs.structured_clone(exc.js_error)) from None
                attempt += 1

    async def sleep(self, *args: Any, **kwargs: Any) -> None:
        # Pyodide passes keyword arguments to a JS function as one trailing object
        if kwargs:
            args = (*args, fjs.JsObject(kwargs))
        self.calls.append(("sleep", *args))

    async def sleepUntil(self, name: Any, timestamp: Any) -> None:  # noqa: N802 - the JS name
        self.calls.append(("sleepUntil", name, timestamp))

    async def waitForEvent(self, name: Any, options: Any) -> Any:  # noqa: N802 - the JS name
        self.calls.append(("waitForEvent", name))
        payload = self._events[options.type]
        return fjs.JsObject(
            {
                "payload": fjs.to_js(payload, dict_converter=fjs._ObjectNamespace.fromEntries),
                "timestamp": fjs.JsDate(self._now_ms),
                "type": options.type,
            }
        )


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


async def run_workflow(
    source: str,
    class_name: str,
    *,
    params: Any,
    implicit: bool,
    env_vars: dict[str, Any] | None = None,
    events: dict[str, Any] | None = None,
    now_ms: float = 1_767_225_600_000.0,
) -> tuple[str, Any]:
    """Run one instance to its end: ("complete", output as status() shows it) or ("errored",
    (exception type name, message))."""
    prod = load_prod_workers()
    compat_flags.python_workflows_implicit_dependencies = implicit  # type: ignore[attr-defined]
    module = load_user_module(source, "worker")
    cls = getattr(module, class_name)
    env = fjs.JsObject({k: fjs.to_js(v) for k, v in (env_vars or {}).items()})
    instance = cls(fjs.JsObject(js_type="ExecutionContext"), env)
    to_object = fjs._ObjectNamespace.fromEntries
    event = fjs.JsObject(
        {
            "payload": fjs.structured_clone(fjs.to_js(params, dict_converter=to_object)),
            "timestamp": fjs.JsDate(now_ms),
            "instanceId": "conformance-1",
            "workflowName": "conformance",
        }
    )
    step = FakeWorkflowStep(events or {}, now_ms)
    with user_workers(prod):
        try:
            output = await instance.run(event, step)
        except Exception as exc:  # run() failing is the instance erroring
            return ("errored", (type(exc).__name__, str(exc)))
        stored = fjs.boundary(fjs.structured_clone(output))
        return ("complete", prod.python_from_rpc(stored))


def run(coro: Any) -> Any:
    return asyncio.run(coro)
