"""One back-off: the engine's retry schedule and the client's `--wait` prediction agree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from durable.runtime.client.base import next_retry
from durable.runtime.durations import MAX_DURATION_MS, retry_delay_ms
from durable.runtime.engine.execution import resolve_config
from durable.runtime.states import Backoff

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        (Backoff.CONSTANT, [1000, 1000, 1000, 1000]),
        (Backoff.LINEAR, [1000, 2000, 3000, 4000]),
        (Backoff.EXPONENTIAL, [1000, 2000, 4000, 8000]),
    ],
)
def test_the_schedule(backoff: Backoff, expected: list[int]) -> None:
    assert [retry_delay_ms(1000, backoff, n) for n in range(1, 5)] == expected


def test_a_huge_schedule_is_capped() -> None:
    assert retry_delay_ms(10**12, Backoff.EXPONENTIAL, 200) == MAX_DURATION_MS


@pytest.mark.parametrize("backoff", list(Backoff))
@pytest.mark.parametrize("failures", [1, 2, 5])
def test_engine_and_client_agree(backoff: Backoff, failures: int) -> None:
    config = resolve_config(
        "s", {"retries": {"limit": 9, "delay": "3 seconds", "backoff": backoff}}
    )
    engine_ms = config.delay_after(failures)
    step = {
        "config": {"retries": {"limit": 9, "delay": "3 seconds", "backoff": str(backoff)}},
        "attempts": [
            {"end": "2024-01-01T00:00:00.000Z", "success": False} for _ in range(failures)
        ],
    }
    predicted = next_retry(step)
    assert predicted is not None
    seconds = engine_ms // 1000
    assert predicted == f"2024-01-01T00:{seconds // 60:02d}:{seconds % 60:02d}.000Z"
    assert engine_ms == retry_delay_ms(3000, backoff, failures)


def test_no_other_module_computes_a_back_off() -> None:
    """`2 ** (n - 1)` with a variable exponent is the exponential back-off: one place only."""
    found = []
    for path in sorted(p for d in ("runtime", "cli") for p in (ROOT / d).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Pow)
                and isinstance(node.left, ast.Constant)
                and node.left.value == 2
                and not isinstance(node.right, ast.Constant)
            ):
                found.append(path.relative_to(ROOT).as_posix())
    assert found == ["runtime/durations.py"]
