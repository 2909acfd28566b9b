"""`pyodide` on CPython: only `pyodide.ffi`, with local equivalents (see `ffi`)."""

from __future__ import annotations

from typing import Any

from durable.runtime.worker.unavailable import not_available

__version__ = "0.0.0+durable"  # not Pyodide: code that checks the version can tell


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise not_available("pyodide", name)
