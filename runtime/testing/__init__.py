"""`durable.testing`: test Cloudflare Python Workflows with pytest.

    from durable.testing import introspect_workflow_instance

    async def test_order(durable_env):
        env = durable_env.env
        async with introspect_workflow_instance(env.MY_WORKFLOW, "order-1") as instance:
            await instance.modify(lambda m: m.disable_sleeps())
            await env.MY_WORKFLOW.create(id="order-1", params={"amount": 10})
            await instance.wait_for_status("complete")
            assert instance.trace.attempts("charge card") == 1

The `durable_env` fixture comes from the pytest plugin (`durable.testing.plugin`), registered
through an entry point. Names are imported lazily so that the plugin, loaded by every pytest
run, stays cheap for test suites that never use it.

Modules:
    plugin         the pytest plugin: the `durable_env` fixture, the shim on the path
    env            `DurableEnv`: the project's runtime in process, on a virtual clock
    clock          `VirtualClock`: time that moves only when the test says so
    harness        the engine as tests run it: trace and modifiers on the engine's hooks
    introspection  `introspect_workflow(_instance)`: the `cloudflare:test` API in Python
    modifier       what `instance.modify(fn)` records, and its rules
    replay         `replay()`: the determinism check of an instance's history
    trace          what ran: attempts, sleeps and event waits, for assertions

May import: every runtime subpackage but client (a test drives the runtime in process).
"""

from __future__ import annotations

# This folder sits inside runtime/, so `durable.runtime.testing` would find it too and load a
# second copy, with its own module state, beside the plugin's `durable.testing`. Only the name
# pyproject's package-dir gives it imports.
if __name__ != "durable.testing":
    raise ImportError(
        f"{__name__} is not importable: import durable.testing instead (the same folder, "
        "runtime/testing/, under its one public name)",
        name=__name__,
    )

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durable.runtime.engine.execution import StepFailedError

    from .clock import VirtualClock
    from .env import DurableEnv, open_env
    from .introspection import (
        UnexpectedStatusError,
        WorkflowInstanceIntrospector,
        WorkflowIntrospector,
        introspect_workflow,
        introspect_workflow_instance,
    )
    from .modifier import IntrospectionError, WorkflowInstanceModifier
    from .replay import DeterminismError, ReplayResult
    from .trace import AttemptRecord, EventWaitRecord, SleepRecord, Trace

_EXPORTS = {
    "AttemptRecord": ".trace",
    "DeterminismError": ".replay",
    "DurableEnv": ".env",
    "EventWaitRecord": ".trace",
    "IntrospectionError": ".modifier",
    "ReplayResult": ".replay",
    "SleepRecord": ".trace",
    "StepFailedError": "durable.runtime.engine.execution",
    "Trace": ".trace",
    "UnexpectedStatusError": ".introspection",
    "VirtualClock": ".clock",
    "WorkflowInstanceIntrospector": ".introspection",
    "WorkflowInstanceModifier": ".modifier",
    "WorkflowIntrospector": ".introspection",
    "introspect_workflow": ".introspection",
    "introspect_workflow_instance": ".introspection",
    "open_env": ".env",
}

__all__ = [
    "AttemptRecord",
    "DeterminismError",
    "DurableEnv",
    "EventWaitRecord",
    "IntrospectionError",
    "ReplayResult",
    "SleepRecord",
    "StepFailedError",
    "Trace",
    "UnexpectedStatusError",
    "VirtualClock",
    "WorkflowInstanceIntrospector",
    "WorkflowInstanceModifier",
    "WorkflowIntrospector",
    "introspect_workflow",
    "introspect_workflow_instance",
    "open_env",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
