"""`introspect_workflow_instance` and `introspect_workflow`: the `cloudflare:test` API in Python.

    async with introspect_workflow_instance(env.MY_WORKFLOW, "order-1") as instance:
        await instance.modify(lambda m: m.mock_step_result("charge card", {"ok": True}))
        await env.MY_WORKFLOW.create(id="order-1")
        await instance.wait_for_status("complete")

Leaving the `async with` disposes the introspector, as `await using` does in JavaScript: an
instance that has not finished is terminated, and its modifiers are dropped. Both functions
also work with `await` (then call `dispose()` yourself).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Self

from durable.runtime.engine.execution import raise_step_error
from durable.runtime.engine.serialization import decode
from durable.runtime.errors import ConflictError, NotFoundError
from durable.runtime.errors import UnexpectedStatusError as UnexpectedStatusError
from durable.runtime.rules import validate_instance_id
from durable.runtime.states import FINISHED, InstanceStatus
from durable.runtime.worker.jsdict import JsDict

from .harness import Harness, HarnessEngine, Ident
from .modifier import (
    InstanceMods,
    IntrospectionError,
    Operation,
    WorkflowInstanceModifier,
    apply_operation,
    call_modifier,
    parse_selector,
)
from .replay import ReplayResult, replay_instance
from .trace import Trace

if TYPE_CHECKING:
    from durable.runtime.engine.store import InstanceRow

ModifierFn = Callable[[WorkflowInstanceModifier], Any]


def harness_of(binding: Any) -> tuple[Harness, str]:
    """The harness and workflow name behind `env.MY_WORKFLOW` of a `durable_env`."""
    engine = getattr(binding, "_engine", None)
    workflow = getattr(binding, "_workflow", None)
    if not isinstance(engine, HarnessEngine) or not isinstance(workflow, str):
        raise TypeError(
            "Introspection needs a workflow binding of a test environment, like "
            f"durable_env.env.MY_WORKFLOW; got {binding!r}"
        )
    return engine.harness, workflow


class WorkflowInstanceIntrospector:
    """Modifies, observes and checks one instance, created already or to be created."""

    def __init__(self, harness: Harness, workflow: str, instance_id: str) -> None:
        self._harness = harness
        self._ident: Ident = (workflow, instance_id)
        self.workflow = workflow
        self.id = instance_id
        self.wait_timeout = 10.0  # seconds of real time a wait_for_* waits before failing
        self._disposed = False

    def __repr__(self) -> str:
        return f"<WorkflowInstanceIntrospector {self.workflow}/{self.id}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.dispose()

    def __await__(self) -> Generator[Any, None, Self]:
        return self.__aenter__().__await__()

    @property
    def _engine(self) -> HarnessEngine:
        assert self._harness.engine is not None
        return self._harness.engine

    # -- modifying --

    async def modify(self, fn: ModifierFn) -> Self:
        """Call `fn(modifier)` (plain or async) and apply what it asks for to this instance."""
        if self._disposed:
            raise IntrospectionError("Workflow instance introspector has been disposed.")
        await call_modifier(fn, WorkflowInstanceModifier(self._apply))
        return self

    async def _apply(self, operation: Operation) -> None:
        name, args = operation
        if name != "mock_event":
            apply_operation(self._harness.mods_for(self._ident), operation)
            self._harness.rewake(self._ident)  # e.g. disable_sleeps() while it sleeps
            return
        event_type, payload = args
        if await self._row() is None:  # delivered when the instance is created
            self._harness.pending_events.setdefault(self._ident, []).append((event_type, payload))
        else:
            await self._engine.send_event(self.workflow, self.id, event_type, payload)

    # -- reading and waiting --

    async def _row(self) -> InstanceRow | None:
        try:
            return await self._engine.get_row(self.workflow, self.id)
        except NotFoundError:
            return None

    async def _until(
        self, check: Callable[[], Awaitable[tuple[bool, Any]]], what: str, timeout: float | None
    ) -> Any:
        """Re-run `check` on every change until it reports done; TimeoutError says why not."""
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        limit = self.wait_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            changed = self._harness.signal.current()
            done, value = await check()
            if done:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                row = await self._row()
                state = "does not exist" if row is None else f"is {row.status}"
                raise TimeoutError(
                    f"Gave up after {limit:g}s waiting for {what} of {self.workflow}/{self.id}: "
                    f"the instance {state}{self._harness.describe_wait(self._ident)}."
                )
            try:
                async with asyncio.timeout(min(remaining, 0.05)):
                    await changed.wait()
            except TimeoutError:
                pass

    async def wait_for_step_result(
        self, name: Any, index: int = 1, *, timeout: float | None = None
    ) -> Any:
        """The output of `step.do(name)` (its `index`-th occurrence), once it has one; raises
        the step's error, as `run()` sees it, if the step failed for good."""
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        key = parse_selector(name if not isinstance(name, str) else (name, index))

        async def check() -> tuple[bool, Any]:
            __tracebackhide__ = True
            found = self._harness.results.get(self._ident, {}).get(key)
            if found is not None:
                return True, found
            row = await self._row()
            if row is not None and row.status in FINISHED:
                raise IntrospectionError(
                    f'Instance {self.workflow}/{self.id} is {row.status} and step "{key[0]}" '
                    f"(occurrence {key[1]}) has no result" + _error_suffix(row)
                )
            return False, None

        kind, value = await self._until(check, f'the result of step "{key[0]}"', timeout)
        if kind == "error":
            raise_step_error(decode(value))
        return decode(value)

    async def wait_for_status(self, status: str, *, timeout: float | None = None) -> None:
        """Wait until the instance has `status`; fail at once if it finishes otherwise."""
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        if status not in tuple(InstanceStatus):
            raise ValueError(f"Unknown status {status!r}: use one of {', '.join(InstanceStatus)}")
        if status == InstanceStatus.QUEUED:  # as in JavaScript: every instance has been queued
            return

        async def check() -> tuple[bool, Any]:
            __tracebackhide__ = True
            row = await self._row()
            if row is None:
                return False, None
            if row.status == status:
                return True, None
            if row.status in FINISHED:
                raise UnexpectedStatusError(
                    f"Instance {self.workflow}/{self.id} is {row.status}, so it will never be "
                    f"{status}" + _error_suffix(row)
                )
            return False, None

        await self._until(check, f'status "{status}"', timeout)

    async def get_output(self) -> Any:
        """The output of a complete instance."""
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        row = await self._finished_row(InstanceStatus.COMPLETE)
        return decode(row.output)

    async def get_error(self) -> JsDict:
        """`{name, message}` of an errored instance."""
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        row = await self._finished_row(InstanceStatus.ERRORED)
        return JsDict(decode(row.error) or {})

    async def _finished_row(self, status: str) -> InstanceRow:
        __tracebackhide__ = True
        row = await self._row()
        if row is None or row.status != status:
            now = "does not exist" if row is None else f"is {row.status}"
            raise IntrospectionError(
                f"Instance {self.workflow}/{self.id} {now}, not {status}"
                + (_error_suffix(row) if row is not None else "")
                + f'; wait_for_status("{status}") first.'
            )
        return row

    @property
    def trace(self) -> Trace:
        """What ran so far: attempts, their order and overlap, sleeps, event waits."""
        return self._harness.trace(self._ident)

    async def replay(self, *, timeout: float = 5.0) -> ReplayResult:
        """Re-run `run()` over the stored history; DeterminismError if it does not line up."""
        __tracebackhide__ = True  # pytest shows the test's line, not the harness's
        return await replay_instance(self._engine, self.workflow, self.id, timeout=timeout)

    async def dispose(self) -> None:
        """Terminate the instance if it has not finished, and drop its modifiers."""
        if self._disposed:
            return
        self._disposed = True
        try:
            row = await self._row()
            if row is not None and not row.finished and not self._engine.draining:
                try:
                    await self._engine.terminate(self.workflow, self.id)
                except ConflictError:
                    pass  # it finished meanwhile
        finally:
            self._harness.mods.pop(self._ident, None)
            self._harness.pending_events.pop(self._ident, None)

    # JavaScript spellings, for tests ported from vitest.
    async def waitForStepResult(self, step: Any) -> Any:  # noqa: N802
        return await self.wait_for_step_result(step)

    waitForStatus = wait_for_status  # noqa: N815
    getOutput = get_output  # noqa: N815
    getError = get_error  # noqa: N815


def _error_suffix(row: InstanceRow) -> str:
    if row.error is None:
        return ""
    error = decode(row.error) or {}
    return f" ({error.get('name')}: {error.get('message')})"


class WorkflowIntrospector:
    """One introspection session for a workflow: what `modify_all` records applies to every
    instance created while the session is active. One session per workflow at a time."""

    def __init__(self, harness: Harness, workflow: str) -> None:
        self._harness = harness
        self.workflow = workflow
        self._operations: list[Operation] = []
        self._check = InstanceMods()  # validates operations as they are recorded
        self._instances: dict[str, WorkflowInstanceIntrospector] = {}
        self._started = False
        self._disposed = False

    def __repr__(self) -> str:
        return f"<WorkflowIntrospector {self.workflow}>"

    async def start(self) -> Self:
        if self._disposed:
            raise IntrospectionError("Workflow introspector has been disposed.")
        if self._started:
            return self
        if self.workflow in self._harness.sessions:
            raise IntrospectionError(
                f'Workflow "{self.workflow}" is already being introspected: dispose of the '
                "other session first (one session per workflow)."
            )
        self._harness.sessions[self.workflow] = self
        self._started = True
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.dispose()

    def __await__(self) -> Generator[Any, None, Self]:
        return self.start().__await__()

    async def modify_all(self, fn: ModifierFn) -> Self:
        """Record modifications for every instance created from now on in this session."""
        if not self._started or self._disposed:
            raise IntrospectionError("Workflow introspection has not started (use async with).")
        await call_modifier(fn, WorkflowInstanceModifier(self._record))
        return self

    modify = modify_all
    modifyAll = modify_all  # noqa: N815

    async def _record(self, operation: Operation) -> None:
        apply_operation(self._check, operation)
        self._operations.append(operation)

    def _adopt(self, instance_id: str) -> None:
        if instance_id not in self._instances:
            self._instances[instance_id] = WorkflowInstanceIntrospector(
                self._harness, self.workflow, instance_id
            )

    async def get(self) -> list[WorkflowInstanceIntrospector]:
        """Introspectors of the instances created in this session, in creation order."""
        return list(self._instances.values())

    async def dispose(self) -> None:
        """End the session and dispose of its instances' introspectors."""
        if self._disposed:
            return
        self._disposed = True
        if self._harness.sessions.get(self.workflow) is self:
            del self._harness.sessions[self.workflow]
        errors: list[BaseException] = []
        for instance in self._instances.values():
            try:
                await instance.dispose()
            except Exception as exc:  # noqa: BLE001 - dispose every one, report the first
                errors.append(exc)
        if errors:
            raise errors[0]


def introspect_workflow_instance(binding: Any, instance_id: str) -> WorkflowInstanceIntrospector:
    """An introspector for instance `instance_id` of `binding` (e.g. `env.MY_WORKFLOW`).

    Set it up before creating the instance so that modifiers apply from its first step.
    """
    harness, workflow = harness_of(binding)
    return WorkflowInstanceIntrospector(harness, workflow, validate_instance_id(instance_id))


def introspect_workflow(binding: Any) -> WorkflowIntrospector:
    """A session over every instance of `binding`'s workflow created while it is active."""
    harness, workflow = harness_of(binding)
    return WorkflowIntrospector(harness, workflow)
