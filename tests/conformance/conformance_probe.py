"""What a conformance workflow reports about itself, identically under both implementations.

User code does `import conformance_probe as probe` and calls `probe.ran(name)` in step bodies and
`probe.seen(label, value)` on values after a boundary. Values are described (type and content) at
once, so a later mutation or a replay of run() cannot change what was observed.
"""

from __future__ import annotations

from typing import Any

steps: list[str] = []
values: dict[str, Any] = {}


def reset() -> None:
    steps.clear()
    values.clear()


def ran(name: str) -> None:
    steps.append(name)


def seen(label: str, value: Any) -> None:
    # Last write wins: durable may replay run() after a suspension, with the same values
    values[label] = describe(value)


def describe(value: Any) -> Any:
    """A comparable description: the type names matter (5 is not 5.0, a set is not a list)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return (type(value).__name__, value)
    if isinstance(value, dict):
        return (type(value).__name__, sorted((str(k), describe(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", [describe(v) for v in value])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(repr(v) for v in value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (type(value).__name__, bytes(value))
    if isinstance(value, BaseException):
        return ("raised", type(value).__name__, str(value))
    return (type(value).__name__, repr(value))
