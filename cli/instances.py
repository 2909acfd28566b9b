"""`durable workflows instances …` (also `durable instances …`): one workflow's instances.

Every command takes an instance id or `latest` (the most recently created instance). Against a
running `durable dev` or Cloudflare, writes act at once. With no server they change the store at
once too (nothing runs until `durable dev` starts, which the command says when it matters),
unless another process's `trigger --wait` holds the store: then they are recorded and applied
later, which the command says.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations, and
# string annotations would be eval'ed (and their typer.Option(...) rebuilt) on each start, ~10 ms.
from enum import StrEnum
from typing import Annotated, Any

import typer

from durable.runtime.states import StepType

from .common import (
    JsonOpt,
    PageOpt,
    PerPageOpt,
    UsageError,
    WorkflowArg,
    console,
    note,
    open_client,
    parse_json_arg,
    print_json,
    recorded,
    say,
    warn,
)

# What an offline write that something must run for adds (nothing runs until durable dev).
RUNS_LATER = "No durable dev is running: the instance runs when durable dev starts."

app = typer.Typer(help="Manage Workflow instances.", no_args_is_help=True, rich_markup_mode=None)


class Status(StrEnum):
    """The statuses an instance list can be filtered by: `states.LISTABLE`, spelled out because
    typer needs a class it can read choices from (tests/test_states.py keeps the two equal)."""

    queued = "queued"
    running = "running"
    paused = "paused"
    errored = "errored"
    terminated = "terminated"
    complete = "complete"
    waiting = "waiting"
    waitingForPause = "waitingForPause"


InstanceArg = Annotated[
    str,
    typer.Argument(
        help='Instance id, or "latest" for the most recently created instance.',
        show_default=False,
    ),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    name: WorkflowArg,
    status: Annotated[
        Status | None,
        typer.Option("--status", help="Only instances with this status.", show_default=False),
    ] = None,
    reverse: Annotated[
        bool, typer.Option("--reverse", help="Oldest first (the default is newest first).")
    ] = False,
    page: PageOpt = 1,
    per_page: PerPageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the instances of a workflow, newest first."""
    with open_client(ctx) as client:
        result = client.list_instances(
            name,
            status=status.value if status else None,
            page=page,
            per_page=per_page,
            direction="asc" if reverse else "desc",
        )
    if as_json:
        print_json(result.items)
        return
    items = result.items
    if not items:
        if page > 1:
            warn(f"No instances found on page {page}. Please try a smaller page number.")
        elif status is not None:
            warn(f'There are no {status.value} instances in workflow "{name}".')
        else:
            warn(
                f'There are no instances in workflow "{name}". '
                f'You can trigger it with "durable workflows trigger {name}"'
            )
        return
    from . import render

    count = len(items)
    total = result.info.get("total_count")
    # "Showing 25 of 1000 instances": the total decides the plural when it is shown.
    shown = total if isinstance(total, int) and total > count else count
    of_total = f" of {total}" if shown != count else ""
    say(f"Showing {count}{of_total} instance{'s' if shown != 1 else ''} from page {page}:")
    render.instances_table(console(), items, show_version=client.kind == "remote")


@app.command()
def describe(
    ctx: typer.Context,
    name: WorkflowArg,
    instance_id: InstanceArg = "latest",
    step_output: Annotated[
        bool,
        typer.Option(
            "--step-output/--no-step-output",
            help="Show each step's output (--no-step-output hides them).",
        ),
    ] = True,
    truncate_output_limit: Annotated[
        int,
        typer.Option(
            "--truncate-output-limit",
            min=0,
            help="Cut each output after this many characters.",
        ),
    ] = 5000,
    as_json: JsonOpt = False,
) -> None:
    """Describe an instance: status, timings, error, output, and every step with its attempts."""
    with open_client(ctx) as client:
        resolved = client.resolve_id(name, instance_id)
        details = client.get_instance(name, resolved)
    if as_json:
        print_json(details)
        return
    from . import render

    render.instance(
        console(),
        {"id": resolved, **details},
        workflow_name=name,
        latest=instance_id == "latest",
        step_output=step_output,
        limit=truncate_output_limit,
    )


@app.command("send-event")
def send_event(
    ctx: typer.Context,
    name: WorkflowArg,
    instance_id: InstanceArg,
    event_type: Annotated[
        str, typer.Option("--type", help="Event type the instance waits for.", show_default=False)
    ],
    payload: Annotated[
        str,
        typer.Option("--payload", help="Event payload as JSON (- reads it from stdin)."),
    ] = "{}",
) -> None:
    """Send an event to an instance (it wakes a matching step.wait_for_event)."""
    value = parse_json_arg(payload, "--payload")
    with open_client(ctx) as client:
        resolved = client.resolve_id(name, instance_id)
        client.send_event(name, resolved, event_type, value)
    if client.last_write_recorded:
        recorded("send-event", f'instance "{resolved}" of workflow "{name}"')
        return
    shown = f" and payload {_compact(value)}" if value not in ({}, [], None, "") else ""
    say(
        f'📤 The event with type "{event_type}"{shown} was sent to the instance '
        f'"{resolved}" from {name}'
    )
    if client.offline:
        note(
            "No durable dev is running: the event waits, buffered, and the instance receives it "
            "when it runs."
        )


def _compact(value: Any) -> str:
    from .render import json_text

    return json_text(value, 200)


def _change(
    ctx: typer.Context,
    name: str,
    instance_id: str,
    action: str,
    from_step: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any], bool]:
    with open_client(ctx) as client:
        resolved = client.resolve_id(name, instance_id)
        result = client.change_status(name, resolved, action, from_step)
    if client.last_write_recorded:
        recorded(action, f'instance "{resolved}" of workflow "{name}"')
    elif client.offline and action in ("resume", "restart") and result.get("status") == "queued":
        note(RUNS_LATER)
    return resolved, result, client.last_write_recorded


@app.command()
def pause(ctx: typer.Context, name: WorkflowArg, instance_id: InstanceArg) -> None:
    """Pause an instance at its next step boundary."""
    resolved, result, recorded_only = _change(ctx, name, instance_id, "pause")
    if recorded_only:
        return
    if result.get("status") == "waitingForPause":
        say(f'⏱️ The instance "{resolved}" from {name} pauses when its running step ends')
    else:
        say(f'⏸️ The instance "{resolved}" from {name} was paused successfully')


@app.command()
def resume(ctx: typer.Context, name: WorkflowArg, instance_id: InstanceArg) -> None:
    """Resume a paused instance."""
    resolved, _, recorded_only = _change(ctx, name, instance_id, "resume")
    if not recorded_only:
        say(f'🔄 The instance "{resolved}" from {name} was resumed successfully')


@app.command()
def terminate(ctx: typer.Context, name: WorkflowArg, instance_id: InstanceArg) -> None:
    """Terminate an instance (a finished instance cannot be terminated)."""
    resolved, _, recorded_only = _change(ctx, name, instance_id, "terminate")
    if not recorded_only:
        say(f'🥷 The instance "{resolved}" from {name} was terminated successfully')


@app.command()
def restart(
    ctx: typer.Context,
    name: WorkflowArg,
    instance_id: InstanceArg,
    from_step_name: Annotated[
        str | None,
        typer.Option(
            "--from-step-name",
            help="Restart from this step (its name without the -N suffix); earlier steps keep their results.",
            show_default=False,
        ),
    ] = None,
    from_step_count: Annotated[
        int | None,
        typer.Option(
            "--from-step-count",
            min=1,
            help="Which occurrence of that step name (1-based; default 1).",
            show_default=False,
        ),
    ] = None,
    from_step_type: Annotated[
        StepType | None,
        typer.Option(
            "--from-step-type", help="Kind of that step (default: do).", show_default=False
        ),
    ] = None,
) -> None:
    """Restart an instance from the beginning, or from a named step."""
    from_step: dict[str, Any] | None = None
    if from_step_name is None and (from_step_count is not None or from_step_type is not None):
        raise UsageError(
            "--from-step-name is required when using --from-step-count or --from-step-type.",
            ctx=ctx,
        )
    if from_step_name is not None:
        from_step = {"name": from_step_name}
        if from_step_count is not None:
            from_step["count"] = from_step_count
        if from_step_type is not None:
            from_step["type"] = from_step_type.value
    resolved, _, recorded_only = _change(ctx, name, instance_id, "restart", from_step)
    if not recorded_only:
        where = f' from step "{from_step_name}"' if from_step_name else ""
        say(f'🥷 The instance "{resolved}" from {name} was restarted successfully{where}')


@app.command()
def delete(
    ctx: typer.Context,
    name: WorkflowArg,
    instance_ids: Annotated[
        list[str],
        typer.Argument(help='Instance ids (or "latest"), at most 100.', show_default=False),
    ],
) -> None:
    """Delete instances and everything recorded about them."""
    from durable.runtime.errors import DurableError, ValidationError

    if len(instance_ids) > 100:
        raise ValidationError("You can delete at most 100 workflow instances at a time.")
    with open_client(ctx) as client:
        # `latest` is resolved once, so `delete NAME latest latest` deletes one instance.
        latest = client.resolve_id(name, "latest") if "latest" in instance_ids else "latest"
        ids = list(dict.fromkeys(latest if i == "latest" else i for i in instance_ids))
        result = client.delete_instances(name, ids)
    deleted = [str(item.get("id")) for item in result.get("deleted") or []]
    errors = result.get("errors") or []
    if deleted:
        listed = ", ".join(f'"{i}"' for i in deleted)
        if client.last_write_recorded:
            recorded(
                "delete", f'instance{"s" if len(deleted) > 1 else ""} {listed} of workflow "{name}"'
            )
        else:
            say(f'🗑️  Deleted workflow instances from "{name}": {listed}')
    if errors:
        failures = "; ".join(f"{e.get('id')}: {e.get('message')}" for e in errors)
        raise DurableError(f"Failed to delete {len(errors)} workflow instance(s): {failures}")
