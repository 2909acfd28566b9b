"""One API for every management operation, in the Cloudflare REST API's `result` shapes.

The HTTP server (both API shapes), the CLI when no server runs, and the dashboard all go through
this layer. With an engine, writes act at once. Without one (the CLI and no `durable dev`), reads
come straight from the store, and so do writes while the caller holds the store's engine lock
(`exclusive`): nothing runs then, so each write leaves the store as the engine would
(`engine/lifecycle.py` holds the rules both use). Without the lock (another process's
`trigger --wait` holds it) writes are recorded as *intents*, applied by the next holder of the
lock before anything else: `durable dev` when it starts, or the next offline write.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from durable.runtime.config import ProjectConfig
from durable.runtime.engine import lifecycle
from durable.runtime.engine.clock import wall_ms
from durable.runtime.engine.serialization import decode_for_api, encode_input
from durable.runtime.engine.store import InstanceRow, StepRow, StoreQueries
from durable.runtime.errors import (
    ConflictError,
    InstanceNotFoundError,
    ValidationError,
    WorkflowNotFoundError,
)
from durable.runtime.rules import (
    MAX_BATCH,
    check_creates,
    instance_exists,
    validate_event_type,
)
from durable.runtime.states import LISTABLE, STEP_FINISHED, InstanceStatus, StepKind, StepState

from .pages import Page, page_info

if TYPE_CHECKING:
    from durable.runtime.engine.scheduler import Engine

LIST_STATUSES = LISTABLE
ACTIONS = ("pause", "resume", "terminate", "restart")
MAX_PER_PAGE = 1000
MAX_OFFSET = 2**63 - 1


def _encode_params(params: Any) -> str:
    return encode_input(params, what="params")


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def parse_iso_ms(value: str, what: str) -> int:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{what} must be an ISO 8601 date, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def stable_id(*parts: str) -> str:
    """A UUID that stays the same for the same workflow (Cloudflare gives workflows ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "durable:" + ":".join(parts)))


class Service:
    def __init__(self, config: ProjectConfig, store: StoreQueries, engine: Engine | None) -> None:
        # The engine is passed in, never imported here: the CLI with no server uses this
        # service without paying for the engine's import.
        self.config = config
        self.store = store
        self.engine = engine
        # Set (offline only) while the caller holds the store's engine lock: no engine runs or
        # can start meanwhile, so a write changes the store directly (visible to every read
        # at once) instead of recording an intent.
        self.exclusive = False
        # Set by `durable dev` when the Worker's code does not load: nothing runs until a fix
        # is saved. Instances that wait for it carry it (`load_error`, an extra field of the
        # REST InstanceDetails) so that `trigger --wait` can say why it waits.
        self.load_error: str | None = None

    @property
    def offline(self) -> bool:
        """True when no engine runs here."""
        return self.engine is None

    @property
    def records(self) -> bool:
        """True when writes are recorded as intents for the next `durable dev`."""
        return self.engine is None and not self.exclusive

    def now_ms(self) -> int:
        """The engine's time (virtual under `durable.testing`); the wall clock offline."""
        return self.engine.clock.now_ms() if self.engine is not None else wall_ms()

    # -- workflows --

    def _workflow(self, name: str) -> Any:
        for workflow in self.config.workflows:
            if workflow.name == name:
                return workflow
        raise WorkflowNotFoundError(name, list(self.config.workflow_names))

    async def _workflow_object(
        self, name: str, stamps: dict[str, tuple[int, int]], counts: bool
    ) -> dict[str, Any]:
        workflow = self._workflow(name)
        created, modified = stamps.get(name, (None, None))
        latest = await self.store.latest_instance(name)
        result: dict[str, Any] = {
            "id": stable_id(name),
            "name": name,
            "class_name": workflow.class_name,
            "script_name": workflow.script_name or self.config.name or "",
            "created_on": iso(created),
            "modified_on": iso(modified),
            "triggered_on": iso(latest.created_ms) if latest else None,
        }
        if counts:
            by_status = await self.store.status_counts(name)
            result["instances"] = {status: by_status.get(status, 0) for status in LIST_STATUSES}
        return result

    async def list_workflows(self, page: int = 1, per_page: int = 50, counts: bool = True) -> Page:
        """The workflows of the config, with instance counts per status unless `counts` is
        False (counting scans every instance: a table that does not show them skips it)."""
        page, per_page = _paging(page, per_page)
        stamps = await self.store.workflow_rows()
        names = list(self.config.workflow_names)
        chosen = names[(page - 1) * per_page : page * per_page]
        items = [await self._workflow_object(name, stamps, counts=counts) for name in chosen]
        return Page(items, page_info(page, per_page, len(items), len(names)))

    async def get_workflow(self, name: str) -> dict[str, Any]:
        return await self._workflow_object(name, await self.store.workflow_rows(), counts=True)

    async def list_versions(self, name: str) -> Page:
        workflow = self._workflow(name)
        stamps = (await self.store.workflow_rows()).get(name, (None, None))
        version = {
            "id": stable_id(name, workflow.class_name),
            "class_name": workflow.class_name,
            "workflow_id": stable_id(name),
            "created_on": iso(stamps[0]),
            "modified_on": iso(stamps[1]),
        }
        return Page([version], page_info(1, 1, 1, 1))

    async def delete_workflow(self, name: str) -> dict[str, Any]:
        """Delete every instance of the workflow; the workflow itself comes from the config."""
        self._workflow(name)
        if self.engine is not None:
            await self.engine.delete_all(name)
        elif self.exclusive:
            await self.store.delete_workflow_instances(name)
        else:
            await self.store.add_intent(name, None, "delete_all", None)
        return {"status": "ok", "success": True}

    # -- instances --

    async def resolve_id(self, workflow: str, instance_id: str) -> str:
        """`latest` means the most recently created instance of the workflow."""
        self._workflow(workflow)
        if instance_id != "latest":
            return instance_id
        row = await self.store.latest_instance(workflow)
        if row is None:
            raise InstanceNotFoundError(workflow, "latest")
        return row.id

    async def _row(self, workflow: str, instance_id: str) -> InstanceRow:
        instance_id = await self.resolve_id(workflow, instance_id)
        if self.engine is not None:
            return await self.engine.get_row(workflow, instance_id)
        row = await self.store.get_instance(workflow, instance_id)
        if row is None:
            raise InstanceNotFoundError(workflow, instance_id)
        return row

    def _created(self, workflow: str, instance_id: str, status: str) -> dict[str, Any]:
        workflow_obj = self._workflow(workflow)
        return {
            "id": instance_id,
            "status": status,
            "version_id": stable_id(workflow, workflow_obj.class_name),
            "workflow_id": stable_id(workflow),
        }

    async def create_instance(
        self, workflow: str, instance_id: str | None = None, params: Any = None
    ) -> dict[str, Any]:
        return (
            await self.create_instances(workflow, [(instance_id, params)], skip_existing=False)
        )[0]

    async def create_instances(
        self, workflow: str, items: list[tuple[str | None, Any]], *, skip_existing: bool = True
    ) -> list[dict[str, Any]]:
        self._workflow(workflow)
        if self.engine is not None:
            rows = await self.engine.create_batch(
                workflow, items, trigger="api", skip_existing=skip_existing
            )
            return [self._created(workflow, row.id, row.status) for row in rows]
        checked = check_creates(
            workflow, items, encode_params=_encode_params, skip_existing=skip_existing
        )
        # Checked in full before anything is recorded, as the engine creates all or nothing.
        chosen = []
        for instance_id, params, _, _ in checked:
            if await self.store.get_instance(
                workflow, instance_id
            ) is not None or await self.store.pending_create(workflow, instance_id):
                if skip_existing:
                    continue
                raise instance_exists(workflow, instance_id)
            chosen.append((instance_id, params))
        created = []
        for instance_id, params in chosen:
            if self.exclusive:
                await self._queue_instance(workflow, instance_id, params)
            else:
                await self.store.add_intent(workflow, instance_id, "create", {"params": params})
            created.append(self._created(workflow, instance_id, InstanceStatus.QUEUED))
        return created

    async def _queue_instance(self, workflow: str, instance_id: str, params: Any) -> None:
        """Write a queued instance row with no engine: the next engine start runs it.

        Only under the engine lock (`exclusive`): an engine allocates its primary keys from the
        largest it finds when it starts, so none may be running while this takes the next one.
        """
        stamp = self.now_ms()
        await self.store.save_instance(
            InstanceRow(
                pk=await self.store.max_instance_pk() + 1,
                workflow=workflow,
                id=instance_id,
                status=InstanceStatus.QUEUED,
                params=encode_input({} if params is None else params, what="params"),
                output=None,
                error=None,
                trigger="api",
                created_ms=stamp,
                started_ms=None,
                ended_ms=None,
                modified_ms=stamp,
            )
        )

    async def list_instances(
        self,
        workflow: str,
        *,
        status: str | None = None,
        page: int = 1,
        per_page: int = 25,
        cursor: str | None = None,
        direction: str = "desc",
        date_start: str | None = None,
        date_end: str | None = None,
    ) -> Page:
        self._workflow(workflow)
        if status is not None and status not in LIST_STATUSES:
            raise ValidationError(
                f'Invalid status "{status}". Valid statuses are: {", ".join(LIST_STATUSES)}'
            )
        if direction not in ("asc", "desc"):
            raise ValidationError(f'Invalid direction "{direction}": use asc or desc.')
        page, per_page = _paging(page, per_page)
        created_from = parse_iso_ms(date_start, "date_start") if date_start else None
        created_to = parse_iso_ms(date_end, "date_end") if date_end else None
        ascending = direction == "asc"
        bound = _decode_cursor(cursor) if cursor else None
        rows = await self.store.list_instances(
            workflow,
            status=status,
            limit=per_page + 1,
            offset=0 if cursor else (page - 1) * per_page,
            before_pk=None if ascending else bound,
            after_pk=bound if ascending else None,
            ascending=ascending,
            created_from_ms=created_from,
            created_to_ms=created_to,
        )
        more = len(rows) > per_page
        rows = rows[:per_page]
        items = [self._list_item(row) for row in rows]
        next_cursor = _encode_cursor(rows[-1].pk) if more and rows else ""
        if cursor:
            info: dict[str, Any] = {
                "cursor": next_cursor,
                "per_page": per_page,
                "count": len(items),
            }
        else:
            total = await self.store.count_instances(
                workflow, status=status, created_from_ms=created_from, created_to_ms=created_to
            )
            info = page_info(page, per_page, len(items), total)
            info["cursor"] = next_cursor
        return Page(items, info)

    def _list_item(self, row: InstanceRow) -> dict[str, Any]:
        workflow = self._workflow(row.workflow)
        return {
            "id": row.id,
            "created_on": iso(row.created_ms),
            "modified_on": iso(row.modified_ms),
            "started_on": iso(row.started_ms),
            "ended_on": iso(row.ended_ms),
            "status": row.status,
            "version_id": stable_id(row.workflow, workflow.class_name),
            "workflow_id": stable_id(row.workflow),
        }

    async def get_instance(
        self, workflow: str, instance_id: str, *, simple: bool = False, order: str = "asc"
    ) -> dict[str, Any]:
        """InstanceDetails: status, params, output, error, timings and every step with attempts."""
        row = await self._row(workflow, instance_id)
        if self.engine is not None:
            # After reading the row: the steps read below are then at least as new as it.
            await self.store.flush()
        workflow_obj = self._workflow(workflow)
        details: dict[str, Any] = {
            "id": row.id,
            "status": row.status,
            "params": decode_for_api(row.params),
            "trigger": {"source": row.trigger},
            "versionId": stable_id(workflow, workflow_obj.class_name),
            "queued": iso(row.created_ms),
            "start": iso(row.started_ms),
            "end": iso(row.ended_ms),
            "success": _SUCCESS.get(row.status),
            "error": decode_for_api(row.error),
            "output": decode_for_api(row.output) if row.output is not None else None,
        }
        if self.load_error is not None and not row.finished and row.status != "paused":
            details["load_error"] = self.load_error
        steps = await self.store.steps_of(row.pk)
        if simple:
            details["step_count"] = len(steps)
            return details
        rendered = [_step_object(step) for step in steps]
        if row.status == InstanceStatus.TERMINATED:
            rendered.append({"type": "termination", "trigger": {"source": "api"}})
        if order == "desc":
            rendered.reverse()
        details["steps"] = rendered
        return details

    async def instance_events(self, workflow: str, instance_id: str) -> dict[str, Any]:
        """Events an instance received (with the wait that took each) and those still buffered."""
        row = await self._row(workflow, instance_id)
        events = await self.store.events_of(row.pk)
        rendered = [
            {
                "type": e.type,
                "payload": decode_for_api(e.payload),
                "received_on": iso(e.received_ms),
                "consumed_by": e.consumed_by,
            }
            for e in events
        ]
        return {
            "received": [e for e in rendered if e["consumed_by"] is not None],
            "buffered": [e for e in rendered if e["consumed_by"] is None],
        }

    async def change_status(
        self, workflow: str, instance_id: str, action: str, from_step: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if action not in ACTIONS:
            raise ValidationError(
                f'Invalid status change "{action}": use one of {", ".join(ACTIONS)}.'
            )
        if from_step is not None and action != "restart":
            raise ValidationError('"from" is only valid when restarting.')
        if self.engine is None and self.exclusive:
            row = await self._row(workflow, instance_id)
            await self._change_stored(row, action, from_step)
            return {"status": row.status, "timestamp": iso(self.now_ms())}
        if self.engine is None:
            found = await self._offline_row(workflow, instance_id)
            if found is not None and action == "terminate" and found.finished:
                raise ConflictError(
                    f'Cannot terminate instance "{found.id}": it is already {found.status}.'
                )
            target = found.id if found is not None else instance_id
            await self.store.add_intent(workflow, target, action, {"from": from_step})
            status = found.status if found is not None else InstanceStatus.QUEUED
            return {"status": status, "timestamp": iso(self.now_ms())}
        row = await self._row(workflow, instance_id)
        engine = self.engine
        if action == "pause":
            await engine.pause(workflow, row.id)
        elif action == "resume":
            await engine.resume(workflow, row.id)
        elif action == "terminate":
            await engine.terminate(workflow, row.id)
        else:
            await engine.restart(workflow, row.id, from_step)
        current = await engine.get_row(workflow, row.id)
        return {"status": current.status, "timestamp": iso(self.now_ms())}

    async def _change_stored(
        self, row: InstanceRow, action: str, from_step: dict[str, Any] | None
    ) -> None:
        """A status change with no engine, under the lock: the engine's rules, at once."""
        store, now = self.store, self.now_ms()
        if action == "restart":
            from_seq = await lifecycle.restart_from(store, row, from_step)
            lifecycle.restart(store, row, from_seq, keep_events=from_step is not None, now_ms=now)
        else:
            lifecycle.settle_stopped(store, row, now)
            if action == "pause":
                if lifecycle.pause_needed(row):
                    lifecycle.pause(store, row, now)
            elif action == "resume":
                lifecycle.resume(store, row, now)
            else:
                lifecycle.terminate(store, row, now)
        await store.flush()

    async def send_event(
        self, workflow: str, instance_id: str, event_type: str, payload: Any
    ) -> None:
        validate_event_type(event_type)
        encoded = encode_input(payload, what="The event payload")
        if self.engine is not None:
            row = await self._row(workflow, instance_id)
            await self.engine.send_event(workflow, row.id, event_type, payload)
            return
        if self.exclusive:
            # Buffered for the instance, as the engine buffers it: delivered when it runs.
            row = await self._row(workflow, instance_id)
            seq = await self.store.max_event_seq() + 1
            lifecycle.event(self.store, row, seq, event_type, encoded, self.now_ms())
            await self.store.flush()
            return
        found = await self._offline_row(workflow, instance_id)
        target = found.id if found is not None else instance_id
        await self.store.add_intent(
            workflow, target, "event", {"type": event_type, "payload": payload}
        )

    async def _offline_row(self, workflow: str, instance_id: str) -> InstanceRow | None:
        """The stored row, or None for an instance whose create is recorded but not applied
        yet: a write to it is recorded too, and applied after the create."""
        try:
            return await self._row(workflow, instance_id)
        except InstanceNotFoundError:
            if instance_id != "latest" and await self.store.pending_create(workflow, instance_id):
                return None
            raise

    async def delete_instances(self, workflow: str, ids: list[str]) -> dict[str, Any]:
        self._workflow(workflow)
        if not 1 <= len(ids) <= MAX_BATCH:
            raise ValidationError(f"Delete between 1 and {MAX_BATCH} instances at a time.")
        deleted, errors = [], []
        for instance_id in dict.fromkeys(ids):
            try:
                row = await self._row(workflow, instance_id)
                if self.engine is not None:
                    await self.engine.delete(workflow, row.id)
                elif self.exclusive:
                    await self.store.delete_instance(row.pk)
                else:
                    await self.store.add_intent(workflow, row.id, "delete", None)
                deleted.append({"id": row.id})
            except InstanceNotFoundError as exc:
                errors.append({"id": instance_id, "code": exc.code, "message": exc.message})
        return {"deleted": deleted, "errors": errors}

    # -- intents --

    async def apply_intents(self) -> list[str]:
        """Carry out the writes recorded while another engine held the store, in order;
        returns a line per failure. With an engine, or with none under the lock."""
        problems: list[str] = []
        intents = await self.store.intents()
        for intent in intents:
            body = json.loads(intent.body) if intent.body else None
            target = f"{intent.workflow}/{intent.instance_id or '*'}"
            try:
                await self._apply(intent.workflow, intent.instance_id, intent.action, body)
            except Exception as exc:  # noqa: BLE001 - one bad intent must not stop the rest
                problems.append(f"{intent.action} {target}: {exc}")
        if intents:
            await self.store.delete_intents(intents[-1].seq)
        return problems

    async def _apply(self, workflow: str, instance_id: str | None, action: str, body: Any) -> None:
        assert not self.records, "intents are applied by an engine or under the engine lock"
        params = (body or {}).get("params")
        if action == "create" and self.engine is not None:
            await self.engine.create(workflow, instance_id, params)
        elif action == "create":
            assert instance_id is not None
            if await self.store.get_instance(workflow, instance_id) is not None:
                raise instance_exists(workflow, instance_id)
            await self._queue_instance(workflow, instance_id, params)
        elif action == "event":
            assert instance_id is not None
            await self.send_event(workflow, instance_id, body["type"], body.get("payload"))
        elif action == "delete":
            assert instance_id is not None
            row = await self._row(workflow, instance_id)
            if self.engine is not None:
                await self.engine.delete(workflow, row.id)
            else:
                await self.store.delete_instance(row.pk)
        elif action == "delete_all":
            await self.delete_workflow(workflow)
        else:
            assert instance_id is not None
            await self.change_status(workflow, instance_id, action, (body or {}).get("from"))


def _paging(page: int, per_page: int) -> tuple[int, int]:
    if not isinstance(page, int) or page < 1:
        raise ValidationError(f"page must be a positive integer, got {page!r}")
    if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page!r}")
    if (page - 1) * per_page > MAX_OFFSET:  # SQLite's OFFSET is a 64-bit integer
        raise ValidationError(
            f"page {page} is out of range: with per_page {per_page} the last possible page is "
            f"{MAX_OFFSET // per_page + 1}. Ask for a smaller page number."
        )
    return page, per_page


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"pk:{pk}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("pk:"):
            raise ValueError
        return int(text[3:])
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(
            f"Invalid cursor {cursor!r}: pass the cursor from result_info."
        ) from None


# The REST `success` of an instance or a step: unknown (None) until it finishes by itself.
_SUCCESS: dict[str, bool] = {InstanceStatus.COMPLETE: True, InstanceStatus.ERRORED: False}


def _step_object(step: StepRow) -> dict[str, Any]:
    name = f"{step.name}-{step.count}"
    if step.kind == StepKind.SLEEP:
        return {
            "type": StepKind.SLEEP,
            "name": name,
            "start": iso(step.started_ms),
            "end": iso(step.wake_ms),
            "finished": step.status == StepState.COMPLETE,
            "error": None,
        }
    if step.kind == StepKind.WAIT_FOR_EVENT:
        finished = step.status in STEP_FINISHED
        return {
            "type": StepKind.WAIT_FOR_EVENT,
            "name": name,
            "event_type": step.event_type,
            "start": iso(step.started_ms),
            "end": iso(step.ended_ms) if finished else None,
            "timeout": iso(step.wake_ms),
            "finished": finished,
            "error": decode_for_api(step.error),
            "output": decode_for_api(step.output),
        }
    attempts = json.loads(step.attempts or "[]")
    result: dict[str, Any] = {
        "type": StepKind.STEP,
        "name": name,
        "start": iso(step.started_ms),
        "end": iso(step.ended_ms),
        "success": _SUCCESS.get(step.status),
        "config": json.loads(step.config) if step.config else None,
        "attempts": [
            {
                "start": iso(a["start"]),
                "end": iso(a["end"]),
                "success": a["success"],
                "error": a["error"],
                **({"next_retry": iso(a["next_retry"])} if a.get("next_retry") else {}),
            }
            for a in attempts
        ],
    }
    if step.error is not None:
        result["error"] = decode_for_api(step.error)
    if step.output is not None:
        result["output"] = decode_for_api(step.output)
    return result
