"""Conformance: each corpus workflow runs through the production SDK's real Python layer (with
durable's engine as its JS side: conformance_engine_js) and through durable's own shim, on the
same engine and driver; what user code observes must be the same.

Compared: the step bodies that ran (names, counts, order), the values user code saw after each
boundary (types included; the last value seen, as run() is replayed after every wait), and how
the instance ended (output, or error type and message).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import conformance_corpus
import conformance_engine_js
import conformance_local
import conformance_probe
import pytest

sys.modules.setdefault("conformance_probe", conformance_probe)


def _normalize(outcome: tuple[str, Any]) -> tuple[str, Any]:
    kind, detail = outcome
    if kind == "complete":
        return (kind, conformance_probe.describe(detail))
    name, message = detail
    # durable stores `{name, message}` without the "Name: " prefix an error's text may carry
    prefix = f"{name}: "
    return (kind, (name, message[len(prefix) :] if message.startswith(prefix) else message))


def _observed(outcome: tuple[str, Any]) -> dict[str, Any]:
    observed = {
        "steps": list(conformance_probe.steps),
        "values": dict(conformance_probe.values),
        "outcome": _normalize(outcome),
    }
    conformance_probe.reset()
    return observed


def _params() -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [],
        )
        for case in conformance_corpus.CASES
    ]


@pytest.mark.parametrize("case", _params())
async def test_durable_matches_production(case: conformance_corpus.Case, tmp_path: Path) -> None:
    conformance_probe.reset()
    production = _observed(
        await conformance_engine_js.run_workflow(
            tmp_path / "production",
            case.source,
            "Case",
            params=case.params,
            implicit=case.implicit,
            env_vars=case.env_vars,
            events=case.events,
        )
    )
    local = _observed(
        await conformance_local.run_workflow(
            tmp_path / "durable",
            case.source,
            "Case",
            params=case.params,
            implicit=case.implicit,
            env_vars=case.env_vars,
            events=case.events,
        )
    )
    assert local == production
