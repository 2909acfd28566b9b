"""Values crossing the boundary as production converts them (audit 5, 17, 25, 31): what user
code gets back, what binding inputs refuse, and what the API shows (never a bare NaN)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable.runtime.api.common import EnvelopeResponse
from durable.runtime.api.service import Service

WAIT = ("complete", "errored", "terminated")

ENTRY = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def odd():
            return {"nan": float("nan"), "inf": float("-inf"), "f": 2.0}

        payload = event.payload
        seen = {k: [type(v).__name__, sorted(v) if isinstance(v, set) else v]
                for k, v in payload.items() if k != "b"}
        seen["b"] = [type(payload["b"]).__name__, bytes(payload["b"]).decode()]
        await odd()
        return {"seen": seen, "nan": float("nan"), "set": {1}, "bytes": b"hi",
                "error": ValueError("x"), "when": 3.0}
"""


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"bare {constant} in JSON: {text}")

    return json.loads(text, parse_constant=refuse)


async def test_binding_inputs_arrive_converted_and_the_api_shows_json(project, runtime_factory):
    runtime = await runtime_factory(project(ENTRY))
    handle = await runtime.env.MY_WORKFLOW.create(
        params={"f": 4.0, "z": -0.0, "s": {"a", "b"}, "b": b"ok", "half": 0.5}
    )
    row = await runtime.engine.wait_for("my-workflow", handle.id, WAIT, timeout=10)
    assert row.status == "complete", row.error

    status = await handle.status()
    output = status["output"]
    assert output["seen"] == {
        "f": ["int", 4],
        "z": ["int", 0],
        "s": ["set", ["a", "b"]],
        "b": ["memoryview", "ok"],
        "half": ["float", 0.5],
    }
    assert output["set"] == {1} and bytes(output["bytes"]) == b"hi"
    assert type(output["error"]) is Exception and str(output["error"]) == "Error: x"
    assert type(output["when"]) is int

    service = Service(runtime.config, runtime.store, runtime.engine)
    details = await service.get_instance("my-workflow", handle.id)
    body = bytes(EnvelopeResponse({"result": details}).body).decode()
    shown = strict_json(body)["result"]
    # what JSON.stringify makes of the JS values: NaN -> null, Set/Error -> {}, Uint8Array by index
    assert shown["output"]["nan"] is None
    assert shown["output"]["set"] == {} and shown["output"]["error"] == {}
    assert shown["output"]["bytes"] == {"0": 104, "1": 105}
    assert shown["params"]["s"] == {} and shown["params"]["f"] == 4
    assert shown["steps"][0]["output"] == {"nan": None, "inf": None, "f": 2}
    assert strict_json(bytes(EnvelopeResponse({"x": float("inf")}).body).decode()) == {"x": None}


async def test_binding_refuses_tuples_as_production_does(project, runtime_factory):
    runtime = await runtime_factory(project(ENTRY))
    with pytest.raises(TypeError, match=r"^<class 'tuple'> cannot be sent over RPC\.$"):
        await runtime.env.MY_WORKFLOW.create(("id", "x"))
    with pytest.raises(TypeError, match=r"^<class 'tuple'> cannot be sent over RPC\.$"):
        await runtime.env.MY_WORKFLOW.create({"params": {"s": {(1, 2)}}})
    assert await runtime.store.count_instances("my-workflow") == 0  # refused before anything
