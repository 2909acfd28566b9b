"""Drop-in `workers` package for running Cloudflare Python Workers code on CPython.

The loader puts this folder first on `sys.path`; nothing named `workers` is installed into
site-packages. Everything here is re-exported from `durable.runtime`, so the engine and user code
share one copy of each class. The public names and their kinds are production's
(workers-runtime-sdk; tests/conformance/test_public_surface.py compares them).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from durable.runtime.worker import globals as _globals
from durable.runtime.worker.blob import Blob, BlobEnding, BlobValue, File, FormData, FormDataValue
from durable.runtime.worker.entrypoints import (
    DurableObject,
    WorkerEntrypoint,
    WorkflowEntrypoint,
)
from durable.runtime.worker.entrypoints import ExecutionContext as Context
from durable.runtime.worker.fetch_api import Request, Response, fetch
from durable.runtime.worker.unavailable import not_available as _not_available

from . import workflows as workflows  # a submodule, as in production (not in __all__)
from .types import Body, FetchKwargs, Headers, JSBody, RequestInitCfProperties

# Production's fetch() returns a FetchResponse (a pyodide.http response); durable's is a Response
FetchResponse = Response


def python_from_rpc(value):  # type: ignore[no-untyped-def]
    """Identity: values are already Python objects locally (kept for older code)."""
    return value


def python_to_rpc(value):  # type: ignore[no-untyped-def]
    """Identity: values are already Python objects locally (kept for older code)."""
    return value


def handler(func):  # type: ignore[no-untyped-def]
    """Legacy `@handler` decorator for module-level `on_fetch`; a no-op locally."""
    return func


def import_from_javascript(module_name: str) -> Any:
    """There is no JavaScript locally: always an ImportError that says so."""
    raise _not_available("import_from_javascript", repr(module_name))


@contextmanager
def patch_env(
    d: dict[str, Any] | Sequence[tuple[str, Any]] | None = None, **kwds: Any
) -> Iterator[None]:
    """Override attributes of `workers.env` for the duration of the block (tests)."""
    values = (dict(d) if d else {}) | kwds
    env = _globals.current_env()
    missing = object()
    saved = {name: getattr(env, name, missing) for name in values}
    for name, value in values.items():
        setattr(env, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                delattr(env, name)
            else:
                setattr(env, name, value)


def __getattr__(key: str) -> Any:
    # Lazy, as in production: the env exists once the Worker is loaded
    if key == "env":
        return _globals.current_env()
    if key in ("wait_until", "waitUntil"):
        return _globals.wait_until
    raise AttributeError(f"module {__name__!r} has no attribute {key!r}")


__all__ = [
    "Blob",
    "BlobEnding",
    "BlobValue",
    "Body",
    "Context",
    "DurableObject",
    "FetchKwargs",
    "FetchResponse",
    "File",
    "FormData",
    "FormDataValue",
    "Headers",
    "JSBody",
    "Request",
    "RequestInitCfProperties",
    "Response",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "env",
    "fetch",
    "handler",
    "import_from_javascript",
    "patch_env",
    "python_from_rpc",
    "python_to_rpc",
    "waitUntil",
    "wait_until",
]
