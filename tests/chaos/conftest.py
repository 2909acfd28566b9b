"""Options of the crash suite: how many kills, how many instances.

    pytest tests/chaos                                      # the bounded run (the normal suite)
    pytest tests/chaos --chaos-rounds 40 --chaos-instances 1000 --chaos-seed 7   # a larger one

The same settings can come from the environment (DURABLE_CHAOS_ROUNDS, DURABLE_CHAOS_INSTANCES,
DURABLE_CHAOS_SEED), which also works when pytest is started on the whole `tests/` folder (the
command-line options exist only when this folder is named on the command line, as pytest reads
a sub-folder's conftest after parsing the options of a run over `tests/`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

DEFAULT_ROUNDS = 20
DEFAULT_INSTANCES = 300


@dataclass(frozen=True)
class ChaosSettings:
    rounds: int
    instances: int
    seed: int | None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "crash suite (tests/chaos)")
    group.addoption(
        "--chaos-rounds",
        type=int,
        default=None,
        help=f"SIGKILLs of durable dev in the crash suite (default {DEFAULT_ROUNDS}).",
    )
    group.addoption(
        "--chaos-instances",
        type=int,
        default=None,
        help=f"workflow instances the crash suite creates (default {DEFAULT_INSTANCES}).",
    )
    group.addoption(
        "--chaos-seed",
        type=int,
        default=None,
        help="seed of the kill schedule (default: random, printed and recorded).",
    )


def _setting(config: pytest.Config, option: str, env: str, default: int | None) -> int | None:
    value = config.getoption(option, default=None)
    if value is None and os.environ.get(env):
        value = int(os.environ[env])
    return default if value is None else int(value)


@pytest.fixture
def chaos_settings(request: pytest.FixtureRequest) -> ChaosSettings:
    config = request.config
    rounds = _setting(config, "--chaos-rounds", "DURABLE_CHAOS_ROUNDS", DEFAULT_ROUNDS)
    instances = _setting(config, "--chaos-instances", "DURABLE_CHAOS_INSTANCES", DEFAULT_INSTANCES)
    seed = _setting(config, "--chaos-seed", "DURABLE_CHAOS_SEED", None)
    assert rounds is not None and rounds >= 1 and instances is not None and instances >= 1
    return ChaosSettings(rounds, instances, seed)
