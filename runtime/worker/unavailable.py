"""The error the `js` and `pyodide` shim modules raise for names that exist only in production."""

from __future__ import annotations


class NotAvailableOnCPython(ImportError):
    """A JavaScript or Pyodide name that only exists inside the Workers runtime.

    An ImportError so that `from js import X` reports this message instead of the bare
    "cannot import name"; attribute access (`js.X`) raises it too.
    """


def not_available(module: str, name: str) -> NotAvailableOnCPython:
    return NotAvailableOnCPython(
        f"{module}.{name} exists only inside the Cloudflare Workers runtime (Pyodide); durable "
        f"runs your code on CPython, where {module} offers only what has a local equivalent. "
        "Use the Python API instead (workers.Request/Response/fetch, json, datetime, logging).",
        name=module,
    )
