"""The Cloudflare REST API shape: `/client/v4/accounts/{account_id}/workflows/…`.

Paths, bodies and result objects follow the production API (reference/wrangler-workflows.md §2,
and the `cloudflare` SDK's `types/workflows/` models), so the `durable` CLI, the official
`cloudflare` Python SDK and `wrangler` with `CLOUDFLARE_API_BASE_URL` all work against
`durable dev`. The account id in the path is accepted whatever it is: there is one local account.

Leniencies, each because a real client needs it:

- `params` may be a JSON value (wrangler) or a JSON-encoded string (the SDK types it `str`). A
  string that parses as JSON is decoded; one that does not is kept as the string it is.
- `…/instances/` with a trailing slash is the list (wrangler resolves `latest` that way).
- An event body may be empty: the payload is then `null`.

`GET …/instances/{id}/events` is durable's own addition (the dashboard reads it); it is not part
of Cloudflare's API.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.routing import BaseRoute

from durable.runtime.errors import DurableError, ValidationError

from .common import ApiRequest, HttpError, Result, api_routes
from .pages import page_info
from .service import MAX_PER_PAGE, Service, iso

__all__ = ["PREFIX", "decode_params", "rest_routes"]

PREFIX = "/client/v4"
_BASE = "/accounts/{account_id}/workflows"
_UNFINISHED = ("queued", "running", "paused", "waitingForPause", "waiting")


def decode_params(value: Any) -> Any:
    """`params` as the instance will see it (see the module docstring for strings)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def rest_routes(service: Service) -> list[BaseRoute]:
    """The REST API's routes, relative to `PREFIX`."""

    async def list_workflows(request: ApiRequest) -> Result:
        page = request.int_query("page", 1)
        per_page = request.int_query("per_page", 50)
        search = request.arg("search")
        if not search:
            listed = await service.list_workflows(page, per_page)
            return Result(listed.items, listed.info)
        # The service pages over the config; a search narrows before paging.
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValidationError(f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}.")
        everything = await service.list_workflows(1, MAX_PER_PAGE)
        matches = [w for w in everything.items if search.lower() in str(w["name"]).lower()]
        chosen = matches[(page - 1) * per_page : page * per_page]
        return Result(chosen, page_info(page, per_page, len(chosen), len(matches)))

    async def get_workflow(request: ApiRequest) -> Result:
        return Result(await service.get_workflow(request.path_params["name"]))

    async def delete_workflow(request: ApiRequest) -> Result:
        return Result(await service.delete_workflow(request.path_params["name"]))

    async def list_versions(request: ApiRequest) -> Result:
        listed = await service.list_versions(request.path_params["name"])
        return Result(listed.items, listed.info)

    async def get_version(request: ApiRequest) -> Result:
        listed = await service.list_versions(request.path_params["name"])
        for version in listed.items:
            if version["id"] == request.path_params["version_id"]:
                return Result(version)
        raise HttpError(
            404, f'Version "{request.path_params["version_id"]}" not found.', code=10404
        )

    async def create_instance(request: ApiRequest) -> Result:
        body = await request.json_object()
        created = await service.create_instance(
            request.path_params["name"], body.get("instance_id"), decode_params(body.get("params"))
        )
        return Result(created)

    async def create_batch(request: ApiRequest) -> Result:
        body = await request.json(empty=None)
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise ValidationError(
                'The request body must be a JSON array of {"instance_id"?, "params"?} objects.'
            )
        items = [(item.get("instance_id"), decode_params(item.get("params"))) for item in body]
        return Result(await service.create_instances(request.path_params["name"], items))

    async def list_instances(request: ApiRequest) -> Result:
        listed = await service.list_instances(
            request.path_params["name"],
            status=request.arg("status") or None,
            page=request.int_query("page", 1),
            per_page=request.int_query("per_page", 25),
            cursor=request.arg("cursor") or None,
            direction=request.arg("direction") or "desc",
            date_start=request.arg("date_start") or None,
            date_end=request.arg("date_end") or None,
        )
        return Result(listed.items, listed.info)

    async def get_instance(request: ApiRequest) -> Result:
        order = request.arg("order") or "asc"
        if order not in ("asc", "desc"):
            raise ValidationError(f'Invalid order "{order}": use asc or desc.')
        details = await service.get_instance(
            request.path_params["name"],
            request.path_params["id"],
            simple=request.bool_query("simple"),
            order=order,
        )
        return Result(details)

    async def change_status(request: ApiRequest) -> Result:
        body = await request.json_object()
        action = body.get("status")
        if not isinstance(action, str) or not action:
            raise ValidationError(
                'The body needs "status": one of pause, resume, terminate or restart.'
            )
        from_step = body.get("from")
        if from_step is not None and not isinstance(from_step, dict):
            raise ValidationError('"from" must be an object like {"name": "step name"}.')
        result = await service.change_status(
            request.path_params["name"], request.path_params["id"], action, from_step
        )
        return Result(result)

    async def send_event(request: ApiRequest) -> Result:
        payload = await request.json(empty=None)
        name = request.path_params["name"]
        instance_id = await service.resolve_id(name, request.path_params["id"])
        await service.send_event(name, instance_id, request.path_params["type"], payload)
        return Result({"instanceId": instance_id, "timestamp": iso(service.now_ms())})

    async def instance_events(request: ApiRequest) -> Result:
        return Result(
            await service.instance_events(request.path_params["name"], request.path_params["id"])
        )

    async def get_step(request: ApiRequest) -> Result:
        step_name = request.arg("name")
        if not step_name:
            raise ValidationError('Pass the step name with its counter, e.g. "?name=fetch-1".')
        kind = request.arg("type") or "step"
        details = await service.get_instance(request.path_params["name"], request.path_params["id"])
        for step in details.get("steps", []):
            if step.get("type") == kind and step.get("name") == step_name:
                return Result(_step_status(step))
        raise HttpError(404, f'Step "{step_name}" of type {kind} not found.', code=10404)

    async def delete_batch(request: ApiRequest) -> Result:
        body = await request.json_object()
        ids = body.get("instances")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValidationError('The body needs "instances": an array of instance ids.')
        return Result(await service.delete_instances(request.path_params["name"], ids))

    async def terminate_all(request: ApiRequest) -> Result:
        status = request.arg("status") or None
        if status is not None and status not in _UNFINISHED:
            raise ValidationError(
                f'Provided status "{status}" is not valid, it must be one of the following: '
                f"{', '.join(_UNFINISHED)}."
            )
        name = request.path_params["name"]
        for wanted in (status,) if status else _UNFINISHED:
            while True:
                listed = await service.list_instances(name, status=wanted, per_page=MAX_PER_PAGE)
                progressed = False
                for item in listed.items:
                    try:
                        await service.change_status(name, item["id"], "terminate")
                        progressed = True
                    except DurableError:  # finished or deleted meanwhile: nothing to do
                        continue
                if not listed.items or not progressed or not service.engine:
                    break
        return Result({"status": "ok"})

    return api_routes(
        [
            ("GET", _BASE, list_workflows),
            ("GET", f"{_BASE}/{{name}}", get_workflow),
            ("DELETE", f"{_BASE}/{{name}}", delete_workflow),
            ("GET", f"{_BASE}/{{name}}/versions", list_versions),
            ("GET", f"{_BASE}/{{name}}/versions/{{version_id}}", get_version),
            ("GET", f"{_BASE}/{{name}}/instances", list_instances),
            ("POST", f"{_BASE}/{{name}}/instances", create_instance),
            ("POST", f"{_BASE}/{{name}}/instances/batch", create_batch),
            ("POST", f"{_BASE}/{{name}}/instances/batch/delete", delete_batch),
            ("PUT", f"{_BASE}/{{name}}/instances/terminate", terminate_all),
            ("GET", f"{_BASE}/{{name}}/instances/{{id}}", get_instance),
            ("PATCH", f"{_BASE}/{{name}}/instances/{{id}}/status", change_status),
            ("GET", f"{_BASE}/{{name}}/instances/{{id}}/step", get_step),
            ("GET", f"{_BASE}/{{name}}/instances/{{id}}/events", instance_events),
            ("POST", f"{_BASE}/{{name}}/instances/{{id}}/events/{{type}}", send_event),
        ]
    )


def _step_status(step: dict[str, Any]) -> dict[str, Any]:
    """The `…/step` result: `{status, error, output?, event_type?}` for one step."""
    if step["type"] == "waitForEvent":
        status = "errored" if step.get("error") else ("complete" if step["finished"] else "waiting")
        return {
            "status": status,
            "error": step.get("error"),
            "output": step.get("output"),
            "event_type": step.get("event_type"),
        }
    success = step.get("success")
    status = "running" if success is None else ("complete" if success else "errored")
    result: dict[str, Any] = {"status": status, "error": step.get("error")}
    if "output" in step:
        result["output"] = step["output"]
    return result
