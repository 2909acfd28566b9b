"""Production limits and the JSON round trip, enforced locally with clear messages."""

from __future__ import annotations

import json

import pytest

from durable.runtime.engine.serialization import encode, round_trip
from durable.runtime.errors import PayloadTooLargeError, ValidationError
from durable.runtime.worker.jsdict import JsDict

WAIT = ("complete", "errored", "terminated")

BIG = "x" * (1024 * 1024 + 1)


def test_round_trip_matches_structured_clone():
    value = round_trip({"a": [1, {"b": None}], 3: "int key"})
    assert value == {"a": [1, {"b": None}], "3": "int key"}
    assert isinstance(value, JsDict) and value.a[1].b is None
    for bad in [(1, 2), bytearray(b"raw"), [{"deep": (1,)}]]:
        with pytest.raises(TypeError) as raised:
            encode({"k": bad}, what="Step output")
        name = "tuple" if "(1" in repr(bad) else "bytearray"
        assert str(raised.value) == f"<class '{name}'> cannot be sent over RPC."
    with pytest.raises(TypeError, match="object"):
        encode({"k": object()}, what="Step output")
    with pytest.raises(ValueError, match="1MiB"):
        encode(BIG)


def test_values_come_back_as_pyodide_converts_them():
    value = round_trip(
        {"f": 5.0, "z": -0.0, "half": 2.5, "big": 2.0**60, "nan": float("nan"), 1.0: "key"}
    )
    assert (type(value.f), value.f, type(value.z), value.z) == (int, 5, int, 0)
    assert value.half == 2.5 and isinstance(value.big, float) and value.nan != value.nan
    assert value["1"] == "key"
    assert round_trip(7.0) == 7 and type(round_trip(7.0)) is int
    got = round_trip({"s": {1, 2.0, "x"}, "b": b"hi", "m": memoryview(b"yo")})
    assert got.s == {1, 2, "x"} and isinstance(got.s, set)
    assert isinstance(got.b, memoryview) and bytes(got.b) == b"hi" and bytes(got.m) == b"yo"
    errors = round_trip([ValueError("bad"), KeyError("k"), RuntimeError()])
    assert [(type(e), str(e)) for e in errors] == [
        (Exception, "Error: bad"),
        (Exception, "Error: 'k'"),
        (Exception, "Error"),
    ]


async def run_code(project, runtime_factory, body: str, **kwargs):
    config = project(
        "from workers import WorkflowEntrypoint\n\n"
        "class MyWorkflow(WorkflowEntrypoint):\n"
        "    async def run(self, event, step):\n"
        + "\n".join("        " + line for line in body.strip().splitlines()),
        **kwargs,
    )
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    return runtime, row


async def test_step_returning_a_tuple_fails_as_in_production(project, runtime_factory):
    _, row = await run_code(
        project,
        runtime_factory,
        """
@step.do("pair", config={"retries": {"limit": 1, "delay": 1}})
async def pair():
    return (1, 2)
await pair()
""",
    )
    error = json.loads(row.error)
    assert error["name"] == "TypeError"
    assert error["message"] == "<class 'tuple'> cannot be sent over RPC."


async def test_step_output_over_1mib_fails(project, runtime_factory):
    _, row = await run_code(
        project,
        runtime_factory,
        """
@step.do("huge", config={"retries": {"limit": 0, "delay": 1}})
async def huge():
    return "x" * (1024 * 1024 + 10)
await huge()
""",
    )
    assert "too large" in json.loads(row.error)["message"]
    assert "huge" in json.loads(row.error)["message"]


async def test_run_output_must_be_serialisable(project, runtime_factory):
    _, row = await run_code(project, runtime_factory, "return [(1, 2)]")
    assert row.status == "errored"
    assert json.loads(row.error) == {
        "name": "TypeError",
        "message": "<class 'tuple'> cannot be sent over RPC.",
    }
    _, row = await run_code(project, runtime_factory, "return object()")
    assert row.status == "errored"
    assert "output of run()" in json.loads(row.error)["message"]


async def test_step_name_limit(project, runtime_factory):
    _, row = await run_code(
        project,
        runtime_factory,
        """
@step.do("n" * 257)
async def long_name():
    return 1
await long_name()
""",
    )
    error = json.loads(row.error)
    assert error["name"] == "WorkflowFatalError"
    assert "exceeds max length (256 chars)" in error["message"]


async def test_step_limit_from_config(project, runtime_factory):
    _, row = await run_code(
        project,
        runtime_factory,
        """
for i in range(5):
    @step.do("same name in a loop")
    async def s():
        return i
    await s()
""",
        extra="",
    )
    assert row.status == "complete"  # the same name repeats with counts 1..5

    config = project(
        "from workers import WorkflowEntrypoint\n\n"
        "class MyWorkflow(WorkflowEntrypoint):\n"
        "    async def run(self, event, step):\n"
        "        for i in range(4):\n"
        "            @step.do('s')\n"
        "            async def s():\n"
        "                return i\n"
        "            await s()\n",
    )
    text = config.read_text().replace(
        'class_name = "MyWorkflow"', 'class_name = "MyWorkflow"\nlimits = { steps = 3 }'
    )
    config.write_text(text)
    runtime = await runtime_factory(config)
    instance = await runtime.env.MY_WORKFLOW.create()
    row = await runtime.engine.wait_for("my-workflow", instance.id, WAIT, timeout=10)
    assert "The limit of 3 steps has been reached" in json.loads(row.error)["message"]


async def test_params_and_payload_limits(project, runtime_factory):
    runtime, _ = await run_code(
        project, runtime_factory, 'return await step.wait_for_event("w", "go", timeout=20)'
    )
    with pytest.raises(PayloadTooLargeError):
        await runtime.env.MY_WORKFLOW.create({"params": BIG})
    refused = r"^<class 'tuple'> cannot be sent over RPC\.$"
    with pytest.raises(TypeError, match=refused):
        await runtime.env.MY_WORKFLOW.create({"params": (1,)})
    with pytest.raises(TypeError, match=refused):
        await runtime.env.MY_WORKFLOW.create(params={"deep": [(1,)]})
    with pytest.raises(TypeError, match=r"^<class 'bytearray'> cannot be sent over RPC\.$"):
        await runtime.env.MY_WORKFLOW.create_batch([{"params": bytearray(b"x")}])
    instance = await runtime.env.MY_WORKFLOW.create()
    with pytest.raises(PayloadTooLargeError):
        await instance.send_event({"type": "go", "payload": BIG})
    with pytest.raises(TypeError, match=refused):
        await instance.send_event({"type": "go", "payload": {"p": (1, 2)}})
    with pytest.raises(TypeError, match=refused):
        await instance.send_event(type="go", payload=(1,))
    with pytest.raises(ValidationError, match="Invalid event type"):
        await instance.send_event({"type": "bad type!", "payload": 1})


async def test_sleep_until_in_the_past_and_bad_event_type_inside_run(project, runtime_factory):
    _, row = await run_code(
        project,
        runtime_factory,
        """
from pyodide.ffi import JsException
errors = []
try:
    await step.sleep_until("past", 1000)
except JsException as exc:  # the engine's JS Error, unconverted by the SDK
    errors.append(str(exc))
try:
    await step.wait_for_event("w", "no spaces allowed")
except Exception as exc:
    errors.append(type(exc).__name__)
return errors
""",
    )
    assert json.loads(row.output) == [
        "Error: You can't sleep until a time in the past, time-traveler",
        "ValidationError",
    ]
