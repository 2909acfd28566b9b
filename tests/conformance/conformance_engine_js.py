"""The oracle's production side on durable's engine: the production SDK's Python layer on top,
durable's engine as the JavaScript side underneath.

Production runs a Python Workflow as `WorkflowEntrypoint.run(event, step)` called from JS: the
SDK's wrapper (`_wrap_workflow_step`) converts the JS event with `python_from_rpc`, wraps the JS
`WorkflowStep` stub (workflows.js `wrapWorkflowStep`, then `_WorkflowStepWrapper`), and the
user's code calls the wrapper, which calls the stub's `do` / `sleep` / `sleepUntil` /
`waitForEvent` with JS values. Here that stub is `EngineStep`, and every one of its calls is
served by durable's engine for the instance (`engine/execution.py`'s `Execution`, the object
durable's own `step` delegates to): the step cache, the retry policy and its back-offs, sleeps,
event waits and their timeouts are the engine's, and after every wait the engine parks the
instance and replays it (conformance_local.REPLAYING_LIMITS), so a replay re-enters the SDK's
`run()` with a new stub, as production's engine does after a hibernation.

What crosses the stub is JS, with the fake's conversions (conformance_fake_js): a step's config
arrives as the JS object the SDK's `to_js` made; the callback is called with a JS `ctx`; what it
returns (the SDK's `python_to_rpc` of the step's value) is structured-cloned into the engine's
storage, kept there as a lossless encoding of the JS value, and handed back as JS; a failed step
rejects with the JS error the engine stored (a PythonError with its traceback, or the
NonRetryableError that workflows.js made). Params and event payloads are the raw Python values
the test gave, sent as a Python Worker sends them (`python_to_rpc`): durable's engine carries a
reference to them, so its own conversion of inputs is not what the production side sees.

Nothing is served in memory any more; what the SDK does not reach (bindings, fetch) is not here.
"""

from __future__ import annotations

import base64
import enum
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import conformance_fake_js as fjs
import conformance_local
import conformance_prod

from durable.runtime.engine.execution import NRE_FATAL_MESSAGE, NRE_FATAL_NAME, error_dict
from durable.runtime.worker.entrypoints import WorkflowEntrypoint

# The raw values (params, event payloads) the test gave; durable's engine carries {RAW: index}.
RAW = "$oracle:raw"
_raw_values: list[Any] = []
# How each instance ended, as the production side saw it: ("complete", output as python_from_rpc
# gives it) or ("errored", (exception type name, message)), a JS error's (name, message).
outcomes: dict[str, tuple[str, Any]] = {}


def raw_ref(value: Any) -> dict[str, int]:
    _raw_values.append(value)
    return {RAW: len(_raw_values) - 1}


def _sent(prod: Any, carried: Any) -> Any:
    """The JS value the engine holds for an input a Python Worker sent through a binding."""
    raw = _raw_values[carried[RAW]] if isinstance(carried, dict) and RAW in carried else carried
    return fjs.structured_clone(prod.python_to_rpc(raw))


# -- JS values in durable's store --


def _stored(value: Any) -> Any:
    """A structured-cloned JS value as plain data for durable's store (undone by `_loaded`)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is fjs.jsnull:
        return {"$js:null": 0}
    if isinstance(value, fjs.JsArray):
        return [_stored(v) for v in value.items]
    if isinstance(value, fjs.JsObject):
        return {"$js:Object": {k: _stored(v) for k, v in value._props.items()}}
    if isinstance(value, fjs.JsMap):
        return {"$js:Map": [[_stored(k), _stored(v)] for k, v in value.entries.items()]}
    if isinstance(value, fjs.JsSet):
        return {"$js:Set": [_stored(v) for v in value.items]}
    if isinstance(value, fjs.JsUint8Array):
        return {"$js:Uint8Array": base64.b64encode(value.data).decode("ascii")}
    if isinstance(value, fjs.JsDate):
        return {"$js:Date": value.ms}
    if isinstance(value, fjs.JsError):
        return {"$js:Error": [value.name, value.message]}
    raise TypeError(f"the oracle cannot store the JS value {value!r}")


def _loaded(value: Any) -> Any:
    if isinstance(value, list):
        return fjs.JsArray(_loaded(v) for v in value)
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "$js:null":
        return fjs.jsnull
    if tag == "$js:Object":
        return fjs.JsObject({k: _loaded(v) for k, v in inner.items()})
    if tag == "$js:Map":
        return fjs.JsMap((_loaded(k), _loaded(v)) for k, v in inner)
    if tag == "$js:Set":
        return fjs.JsSet(_loaded(v) for v in inner)
    if tag == "$js:Uint8Array":
        return fjs.JsUint8Array(base64.b64decode(inner))
    if tag == "$js:Date":
        return fjs.JsDate(inner)
    if tag == "$js:Error":
        return fjs.JsError(inner[1], inner[0])
    raise AssertionError(f"not a stored JS value: {value!r}")


def _ms(moment: datetime) -> float:
    """A datetime of durable's engine (naive is UTC) as a JS Date's time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000


def _engine_js(value: Any) -> Any:
    """A value durable's engine made (ctx, an event wait's result) as the JS engine holds it."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dict):
        return fjs.JsObject({str(k): _engine_js(v) for k, v in value.items()})
    if isinstance(value, list):
        return fjs.JsArray(_engine_js(v) for v in value)
    if isinstance(value, datetime):
        return fjs.JsDate(_ms(value))
    return value


class NonRetryableError(Exception):
    """The JS error workflows.js throws for a Python NonRetryableError, as durable's engine
    recognises one (by the class name, as the JS engine does by `error.name`)."""


class EngineStep:
    """The JS `WorkflowStep` handed to run(), served by durable's `Execution` for the instance."""

    def __init__(self, execution: Any, prod: Any) -> None:
        self._execution = execution
        self._prod = prod

    def _rejection(self, exc: Exception, key: tuple[str, str, int] | None) -> fjs.JsException:
        """The JS error a call rejects with: a failed step's stored error, else the engine's."""
        if isinstance(exc, fjs.JsException):
            return exc
        row = self._execution.cache.get(key) if key is not None else None
        if row is not None and row.status == "errored" and row.error:
            error = json.loads(row.error)
        else:
            error = error_dict(exc)
        name, message = error.get("name", "Error"), error.get("message", "")
        if (
            name == "NonRetryableError"
            and not self._execution.instance.definition.preserve_non_retryable_message
        ):
            name, message = NRE_FATAL_NAME, NRE_FATAL_MESSAGE
        return fjs.JsException(fjs.JsError(message, name))

    async def do(self, name: Any, *rest: Any) -> Any:
        callback = rest[-1]
        config = fjs.to_py(rest[0]) if len(rest) > 1 else None

        async def invoke(ctx: Any) -> Any:
            try:
                result = await callback(_engine_js(ctx))
                # The value crosses RPC into the engine's storage
                return _stored(fjs.structured_clone(result))
            except fjs.JsException as exc:
                if exc.name == "NonRetryableError":
                    raise NonRetryableError(exc.message) from None
                raise

        execution = self._execution
        key = None
        if isinstance(name, str):
            key = ("step", name, execution.counters.get(("step", name), 0) + 1)
        try:
            stored = await execution.do(name, config, invoke)
        except Exception as exc:  # noqa: BLE001 - every failure rejects the JS promise
            raise self._rejection(exc, key) from None
        return fjs.boundary(_loaded(stored))

    async def sleep(self, *args: Any, **kwargs: Any) -> None:
        # Pyodide passes keyword arguments to a JS function as one trailing object
        if kwargs:
            args = (*args, fjs.JsObject(kwargs))
        try:
            await self._execution.sleep_call(tuple(fjs.to_py(a) for a in args), {})
        except Exception as exc:  # noqa: BLE001
            raise self._rejection(exc, None) from None

    async def sleepUntil(self, name: Any, timestamp: Any) -> None:  # noqa: N802 - the JS name
        if isinstance(timestamp, fjs.JsDate):
            timestamp = timestamp.getTime()
        try:
            await self._execution.sleep_until(name, timestamp)
        except Exception as exc:  # noqa: BLE001
            raise self._rejection(exc, None) from None

    async def waitForEvent(self, name: Any, options: Any) -> Any:  # noqa: N802 - the JS name
        timeout = getattr(options, "timeout", None)
        try:
            got = await self._execution.wait_for_event(
                name, options.type, "24 hours" if timeout is None else timeout
            )
        except Exception as exc:  # noqa: BLE001
            raise self._rejection(exc, None) from None
        return fjs.JsObject(
            {
                "payload": _sent(self._prod, got["payload"]),
                "timestamp": _engine_js(got["timestamp"]),
                "type": got["type"],
            }
        )


def production_workflow(
    source: str, class_name: str, *, implicit: bool, env_vars: dict[str, str]
) -> type:
    """A class durable's engine runs whose run() is the user's, under the production SDK."""
    prod = conformance_prod.load_prod_workers()
    flags = conformance_prod.compat_flags
    flags.python_workflows_implicit_dependencies = implicit  # type: ignore[attr-defined]
    user_cls = getattr(conformance_prod.load_user_module(source, "worker"), class_name)

    class ProductionWorkflow(WorkflowEntrypoint):
        async def run(self, event: Any, step: Any) -> None:
            flags.python_workflows_implicit_dependencies = implicit  # type: ignore[attr-defined]
            instance_id = event["instanceId"]
            js_event = fjs.JsObject(
                {
                    "payload": _sent(prod, event["payload"]),
                    "timestamp": fjs.JsDate(_ms(event["timestamp"])),
                    "instanceId": instance_id,
                    "workflowName": event["workflowName"],
                }
            )
            js_env = fjs.JsObject({k: fjs.to_js(v) for k, v in env_vars.items()})
            # `step` is durable's; its Execution serves the JS step.
            js_step = EngineStep(step._execution, prod)
            with conformance_prod.user_workers(prod):
                workflow = user_cls(fjs.JsObject(js_type="ExecutionContext"), js_env)
                try:
                    output = await workflow.run(js_event, js_step)
                    # The output crosses RPC into the engine's storage
                    stored = fjs.boundary(fjs.structured_clone(output))
                except fjs.JsException as exc:
                    # Pyodide rethrows the JS error itself: the instance errors with it
                    outcomes[instance_id] = ("errored", (exc.name, exc.message))
                    raise
                except Exception as exc:
                    outcomes[instance_id] = ("errored", (type(exc).__name__, str(exc)))
                    raise
                outcomes[instance_id] = ("complete", prod.python_from_rpc(stored))
            return None

    ProductionWorkflow.__name__ = ProductionWorkflow.__qualname__ = class_name
    return ProductionWorkflow


def worker_source(source: str, class_name: str, implicit: bool, env_vars: dict[str, str]) -> str:
    """The src/worker.py durable loads for the production side."""
    return (
        "import conformance_engine_js\n\n"
        f"{class_name} = conformance_engine_js.production_workflow(\n"
        f"    {source!r},\n    {class_name!r},\n    implicit={implicit!r},\n"
        f"    env_vars={env_vars!r},\n)\n"
    )


async def run_workflow(
    root: Path,
    source: str,
    class_name: str,
    *,
    params: Any,
    implicit: bool,
    env_vars: dict[str, str] | None = None,
    events: list[tuple[str, Any]] | None = None,
) -> tuple[str, Any]:
    """Run one instance through the production SDK on durable's engine: ("complete", output as
    status() shows it) or ("errored", (exception type name, message))."""
    env_vars = env_vars or {}
    outcomes.pop(conformance_local.INSTANCE_ID, None)
    status = await conformance_local.drive(
        root,
        worker_source(source, class_name, implicit, env_vars),
        class_name,
        params=raw_ref(params),
        implicit=implicit,
        env_vars=env_vars,
        events=[(event_type, raw_ref(payload)) for event_type, payload in events or []],
    )
    seen = outcomes.get(conformance_local.INSTANCE_ID)
    if status["status"] == "complete":
        assert seen is not None and seen[0] == "complete", (status, seen)
        return seen
    # An error run() raised, as the SDK side saw it; else what the engine recorded (a fatal
    # error of the engine's own, such as a step limit).
    return (
        seen if seen is not None and seen[0] == "errored" else conformance_local.outcome_of(status)
    )
