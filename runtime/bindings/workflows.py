"""A `[[workflows]]` binding: `env.MY_WORKFLOW`, and the instance handles it returns.

The binding mirrors the Python SDK's wrapper: `create`, `create_batch`/`createBatch`, `get`,
`deleteBatch`; an instance handle has `id`, `status`, `pause`, `resume`, `terminate`,
`restart`, `delete` and `send_event`/`sendEvent`. Instances created here carry the trigger
`binding`, as on Cloudflare.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from durable.runtime.engine.serialization import check_rpc
from durable.runtime.errors import DurableError, ValidationError
from durable.runtime.worker.jsdict import JsDict

if TYPE_CHECKING:
    from durable.runtime.engine.scheduler import Engine

log = logging.getLogger("durable.bindings")


def _rpc_args(*args: Any, **kwargs: Any) -> None:
    """Refuse what the SDK's `_convert_args` (python_to_rpc) refuses, before anything runs."""
    for value in (*args, *kwargs.values()):
        check_rpc(value)


_NO_OPTIONS: Any = object()  # create() called with keywords only: they are the options object


def _options(options: Any) -> dict[str, Any]:
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(
            f"create() takes a dict like {{'id': ..., 'params': ...}}, got {type(options).__name__}"
        )
    unknown = set(options) - {"id", "params", "retention", "locationHint"}
    if unknown:
        raise ValidationError(f"Unknown create() option(s): {', '.join(sorted(unknown))}")
    return dict(options)


class WorkflowInstance:
    """A handle on one instance, as returned by `create` and `get`."""

    def __init__(self, engine: Engine, workflow: str, instance_id: str) -> None:
        self._engine = engine
        self._workflow = workflow
        self.id = instance_id

    def __repr__(self) -> str:
        return f"<WorkflowInstance {self._workflow}/{self.id}>"

    async def status(self) -> JsDict:
        return await self._engine.status(self._workflow, self.id)

    async def pause(self) -> None:
        await self._engine.pause(self._workflow, self.id)

    async def resume(self) -> None:
        await self._engine.resume(self._workflow, self.id)

    async def terminate(self, options: Any = None) -> None:
        await self._engine.terminate(self._workflow, self.id)

    async def restart(self, options: Any = None) -> None:
        from_step = (options or {}).get("from") if isinstance(options, dict) else None
        await self._engine.restart(self._workflow, self.id, from_step)

    async def delete(self) -> None:
        await self._engine.delete(self._workflow, self.id)

    async def send_event(self, event: Any = None, **kwargs: Any) -> None:
        _rpc_args(event, **kwargs)
        event = {**(event or {}), **kwargs}
        if "type" not in event:
            raise ValidationError('send_event needs {"type": ..., "payload": ...}')
        await self._engine.send_event(self._workflow, self.id, event["type"], event.get("payload"))

    sendEvent = send_event  # noqa: N815 - the JavaScript spelling the SDK also accepts


class WorkflowBinding:
    """`env.MY_WORKFLOW`."""

    def __init__(self, engine: Engine, workflow: str) -> None:
        self._engine = engine
        self._workflow = workflow

    def __repr__(self) -> str:
        return f"<Workflow binding {self._workflow}>"

    async def create(self, options: Any = _NO_OPTIONS, /, **kwargs: Any) -> WorkflowInstance:
        """`create({"id": ..., "params": ...})` or `create(id=..., params=...)`.

        Pyodide packs keyword arguments into one JS object appended after the positional ones,
        so in production `create({...}, params=p)` calls `create({...}, {params: p})` and the
        JS `create(options)` never reads that second object: the keywords are ignored, here too.
        """
        _rpc_args(*(() if options is _NO_OPTIONS else (options,)), **kwargs)
        if options is not _NO_OPTIONS and kwargs:
            log.warning(
                "%s.create(): the keyword argument(s) %s are ignored, as on Cloudflare, because "
                "an options dict was passed too. Put them in the dict: create({..., %s}).",
                self._workflow,
                ", ".join(kwargs),
                ", ".join(f'"{key}": ...' for key in kwargs),
            )
        opts = _options(kwargs if options is _NO_OPTIONS else options)
        row = await self._engine.create(
            self._workflow, opts.get("id"), opts.get("params"), trigger="binding"
        )
        return WorkflowInstance(self._engine, self._workflow, row.id)

    async def create_batch(self, batch: list[Any]) -> list[WorkflowInstance]:
        _rpc_args(batch)
        if not isinstance(batch, list):
            raise TypeError("create_batch() takes a list of option dicts")
        items = [(o.get("id"), o.get("params")) for o in (_options(b) for b in batch)]
        rows = await self._engine.create_batch(self._workflow, items, trigger="binding")
        return [WorkflowInstance(self._engine, self._workflow, row.id) for row in rows]

    createBatch = create_batch  # noqa: N815

    async def get(self, instance_id: str) -> WorkflowInstance:
        row = await self._engine.get_row(self._workflow, instance_id)
        return WorkflowInstance(self._engine, self._workflow, row.id)

    async def deleteBatch(self, ids: list[str]) -> JsDict:  # noqa: N802 - camelCase only, as in the SDK
        """`{deleted: [{id}], errors: [{id, code, message}]}`, as workerd's binding answers."""
        _rpc_args(ids)
        deleted: list[JsDict] = []
        errors: list[JsDict] = []
        for instance_id in dict.fromkeys(ids):
            try:
                await self._engine.delete(self._workflow, instance_id)
            except DurableError as exc:
                errors.append(JsDict(id=instance_id, code=exc.code, message=exc.message))
            else:
                deleted.append(JsDict(id=instance_id))
        return JsDict(deleted=deleted, errors=errors)
