"""Drop-in `workers` package for running Cloudflare Python Workers code on CPython.

The loader puts this folder first on `sys.path`; nothing named `workers` is installed into
site-packages. Everything here is re-exported from `durable.runtime`, so the engine and user code
share one copy of each class.
"""

from durable.runtime.worker.entrypoints import (
    DurableObject,
    WorkerEntrypoint,
    WorkflowEntrypoint,
)
from durable.runtime.worker.entrypoints import ExecutionContext as Context
from durable.runtime.worker.fetch_api import Headers, Request, Response, fetch
from durable.runtime.worker.jsdict import JsDict

from . import workflows


def python_from_rpc(value):  # type: ignore[no-untyped-def]
    """Identity: values are already Python objects locally (kept for older code)."""
    return value


def python_to_rpc(value):  # type: ignore[no-untyped-def]
    """Identity: values are already Python objects locally (kept for older code)."""
    return value


def handler(func):  # type: ignore[no-untyped-def]
    """Legacy `@handler` decorator for module-level `on_fetch`; a no-op locally."""
    return func


__all__ = [
    "Context",
    "DurableObject",
    "Headers",
    "JsDict",
    "Request",
    "Response",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "fetch",
    "handler",
    "python_from_rpc",
    "python_to_rpc",
    "workflows",
]
