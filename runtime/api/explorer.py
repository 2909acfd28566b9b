"""wrangler's local explorer API shape: `/cdn-cgi/local/explorer/api/workflows/…`.

This is what `wrangler workflows … --local --port PORT` talks to (reference §2.5): the same
envelope as production, but `id`/`action` where production says `instance_id`/`status`,
smaller objects, and error code 10501 for "not found" (10001 for everything else).

wrangler up to 4.86 used the mount point `/cdn-cgi/explorer/api`; newer versions use
`/cdn-cgi/local/explorer/api`. `durable dev` serves both, from the same routes.

Deliberate differences from Miniflare's explorer, which runs on the same service layer as the
REST API here: caller mistakes are 4xx (Miniflare answers 500 for a failed create), an event body
that is not JSON is a 400 rather than a silently dropped payload, and `latest` works as an id.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from durable.runtime.errors import DurableError, NotFoundError, ValidationError

from .common import ApiRequest, HttpError, Result, api_routes
from .service import Service

__all__ = ["PREFIXES", "error_code", "explorer_routes"]

# Mount points: the current one, then wrangler 4.86's.
PREFIXES = ("/cdn-cgi/local/explorer/api", "/cdn-cgi/explorer/api")
MAX_EXPLORER_PER_PAGE = 100


def error_code(exc: DurableError) -> int:
    """Miniflare's codes: 10501 for anything not found, 10001 otherwise."""
    if isinstance(exc, NotFoundError) or (isinstance(exc, HttpError) and exc.http_status == 404):
        return 10501
    if isinstance(exc, HttpError) and exc.http_status in (401, 403, 405, 413):
        return exc.code
    return 10001


def _details(instance: dict[str, Any]) -> dict[str, Any]:
    """Miniflare's instance object: no `trigger`, `versionId` or `success`, no termination step."""
    steps = [s for s in instance.get("steps", []) if s.get("type") != "termination"]
    return {
        "status": instance["status"],
        "params": instance["params"],
        "queued": instance["queued"],
        "start": instance["start"],
        "end": instance["end"],
        "output": instance["output"],
        "error": instance["error"],
        "steps": steps,
        "step_count": len(steps),
    }


def explorer_routes(service: Service) -> list[BaseRoute]:
    """The explorer API's routes, relative to each of `PREFIXES`."""

    async def list_workflows(request: ApiRequest) -> Result:
        items = [
            {"name": wf.name, "class_name": wf.class_name, "script_name": wf.script_name}
            for wf in service.config.workflows
        ]
        return Result(items, {"count": len(items)})

    async def get_workflow(request: ApiRequest) -> Result:
        workflow = await service.get_workflow(request.path_params["name"])
        return Result(
            {
                "name": workflow["name"],
                "class_name": workflow["class_name"],
                "script_name": workflow["script_name"],
                "instances": workflow["instances"],
            }
        )

    async def delete_workflow(request: ApiRequest) -> Result:
        return Result(await service.delete_workflow(request.path_params["name"]))

    async def list_instances(request: ApiRequest) -> Result:
        name = request.path_params["name"]
        page = request.int_query("page", 1)
        per_page = request.int_query("per_page", 25)
        if not 1 <= per_page <= MAX_EXPLORER_PER_PAGE:
            raise ValidationError(
                f"per_page: must be between 1 and {MAX_EXPLORER_PER_PAGE}, got {per_page}"
            )
        listed = await service.list_instances(
            name, status=request.arg("status") or None, page=page, per_page=per_page
        )
        counts = (await service.get_workflow(name))["instances"]
        items = [
            {"id": item["id"], "status": item["status"], "created_on": item["created_on"]}
            for item in listed.items
        ]
        info = {
            "page": page,
            "per_page": per_page,
            "total_count": listed.info.get("total_count", len(items)),
            "total_pages": listed.info.get("total_pages", 1),
            "status_counts": counts,
        }
        return Result(items, info)

    async def create_instance(request: ApiRequest) -> Result:
        body = await request.json_object()
        created = await service.create_instance(
            request.path_params["name"], body.get("id"), body.get("params")
        )
        return Result({"id": created["id"]})

    async def get_instance(request: ApiRequest) -> Result:
        instance = await service.get_instance(
            request.path_params["name"], request.path_params["id"]
        )
        return Result(_details(instance))

    async def change_status(request: ApiRequest) -> Result:
        body = await request.json_object()
        action = body.get("action")
        if not isinstance(action, str) or not action:
            raise ValidationError("action: must be one of pause, resume, restart, terminate")
        if body.get("rollback") and action != "terminate":
            raise ValidationError("'rollback' is only valid when terminating.")
        from_step = body.get("from")
        if from_step is not None and (
            not isinstance(from_step, dict) or not isinstance(from_step.get("name"), str)
        ):
            raise ValidationError("from.name: a step name is required")
        await service.change_status(
            request.path_params["name"], request.path_params["id"], action, from_step
        )
        return Result({"success": True})

    async def send_event(request: ApiRequest) -> Result:
        payload = await request.json(empty=None)
        await service.send_event(
            request.path_params["name"],
            request.path_params["id"],
            request.path_params["type"],
            payload,
        )
        return Result({"success": True})

    async def delete_batch(request: ApiRequest) -> Result:
        body = await request.json_object()
        ids = body.get("instances")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValidationError("instances: must be an array of 1 to 100 instance ids")
        return Result(await service.delete_instances(request.path_params["name"], ids))

    async def delete_instance(request: ApiRequest) -> Result:
        outcome = await service.delete_instances(
            request.path_params["name"], [request.path_params["id"]]
        )
        if outcome["errors"]:
            raise HttpError(404, outcome["errors"][0]["message"], code=10501)
        return Result({"success": True})

    return api_routes(
        [
            ("GET", "/workflows", list_workflows),
            ("GET", "/workflows/{name}", get_workflow),
            ("DELETE", "/workflows/{name}", delete_workflow),
            ("GET", "/workflows/{name}/instances", list_instances),
            ("POST", "/workflows/{name}/instances", create_instance),
            ("POST", "/workflows/{name}/instances/batch/delete", delete_batch),
            ("GET", "/workflows/{name}/instances/{id}", get_instance),
            ("DELETE", "/workflows/{name}/instances/{id}", delete_instance),
            ("PATCH", "/workflows/{name}/instances/{id}/status", change_status),
            ("POST", "/workflows/{name}/instances/{id}/events/{type}", send_event),
        ]
    )
