"""The error the `js` and `pyodide` shim modules raise for names that exist only in production."""

from __future__ import annotations

from durable.runtime.errors import UnavailableOnCPythonError


def not_available(module: str, name: str) -> UnavailableOnCPythonError:
    return UnavailableOnCPythonError(
        f"{module}.{name} exists only inside the Cloudflare Workers runtime (Pyodide); durable "
        f"runs your code on CPython, where {module} offers only what has a local equivalent. "
        "Use the Python API instead (workers.Request/Response/fetch, json, datetime, logging).",
        name=module,
    )
