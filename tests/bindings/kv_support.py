"""Helpers the binding tests import by name (fixtures stay in conftest.py)."""

from __future__ import annotations

KV_SECTION = '\n[[kv_namespaces]]\nbinding = "KV"\nid = "world-kv"\n'


class Clock:
    """Injected time for expirations (ms)."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.ms = now_ms

    def __call__(self) -> int:
        return self.ms
