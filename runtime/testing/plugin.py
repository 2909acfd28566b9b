"""pytest plugin (entry point `durable`): makes `from workers import ...` work in user tests."""

from __future__ import annotations

from durable.runtime.loader import ensure_shim_on_path

ensure_shim_on_path()
