"""`durable workflows …`: list, describe, delete and trigger workflows.

The target is a running `durable dev` (found through its discovery file), the store itself when
none runs, or Cloudflare with `--remote`; see `durable.runtime.client.base`.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations, and
# string annotations would be eval'ed (and their typer.Option(...) rebuilt) on each start, ~10 ms.
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import instances
from .common import (
    JsonOpt,
    PageOpt,
    PerPageOpt,
    WorkflowArg,
    console,
    error_line,
    note,
    open_client,
    parse_json_arg,
    print_json,
    project_config,
    recorded,
    say,
    stdin_is_tty,
    warn,
)

if TYPE_CHECKING:
    from durable.runtime.client.base import ManagementClient

app = typer.Typer(help="🔁 Manage Workflows.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(instances.app, name="instances")


@app.command("list")
def list_(
    ctx: typer.Context,
    page: PageOpt = 1,
    per_page: PerPageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the Workflows (those in the configuration, or on Cloudflare with --remote)."""
    with open_client(ctx) as client:
        # The table shows no counts; only --json (the REST shape) needs them.
        result = client.list_workflows(page=page, per_page=per_page, counts=as_json)
    if as_json:
        print_json(result.items)
        return
    items = result.items
    if not items:
        if page > 1:
            warn(f"No Workflows found on page {page}. Please try a smaller page number.")
        elif client.kind == "remote":
            warn("There are no deployed Workflows in this account")
        else:
            warn("There are no Workflows in the configuration: add a [[workflows]] section.")
        return
    from . import render

    count = len(items)
    say(f"Showing {count} workflow{'s' if count != 1 else ''} from page {page}:")
    render.workflows_table(console(), items)


@app.command()
def describe(ctx: typer.Context, name: WorkflowArg, as_json: JsonOpt = False) -> None:
    """Describe a workflow: its class, script and how many instances are in each status."""
    with open_client(ctx) as client:
        result = client.get_workflow(name)
    if as_json:
        print_json(result)
        return
    from . import render

    config = project_config(ctx)
    binding = None
    if config is not None:
        binding = next((wf.binding for wf in config.workflows if wf.name == name), None)
    render.workflow(console(), result, binding)


@app.command()
def delete(
    ctx: typer.Context,
    name: WorkflowArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every instance of a workflow (on Cloudflare, the workflow too)."""
    with open_client(ctx) as client:
        found = client.get_workflow(name)  # an unknown name fails before the question
        if not yes and stdin_is_tty():
            counts = found.get("instances")
            if client.kind == "remote" or not isinstance(counts, dict):
                question = f'Delete workflow "{name}" and all of its instances?'
            else:
                total = sum(counts.values())
                question = (
                    f'Delete the {total} instance{"s" if total != 1 else ""} of workflow "{name}"?'
                )
            typer.confirm(question, abort=True)
        client.delete_workflow(name)
    if client.last_write_recorded:
        recorded("delete", f'every instance of workflow "{name}"')
    elif client.kind == "remote":
        say(f'✅ Workflow "{name}" removed successfully.')
        say("Note that running instances might take a few minutes to be properly terminated.")
    else:
        say(f'✅ Workflow "{name}" instances removed successfully.')


@app.command()
def trigger(
    ctx: typer.Context,
    name: WorkflowArg,
    params: Annotated[
        str | None,
        typer.Argument(
            help="Params for the instance as JSON (- reads them from stdin).", show_default=False
        ),
    ] = None,
    instance_id: Annotated[
        str | None,
        typer.Option(
            "--id", help="Custom instance id (default: a random UUID).", show_default=False
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help=(
                "Wait until the instance is complete, errored or terminated (or paused, or "
                "waiting for an event) and print its status and output; exit 1 if it errored. "
                "Progress (step, attempt, back-off, sleep, event) goes to stderr. With no "
                "durable dev running, the instance runs in this process."
            ),
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Trigger a new instance of a workflow."""
    value = parse_json_arg(params, "PARAMS") if params not in (None, "") else None
    with open_client(ctx, embedded=wait) as client:
        created = client.create_instance(name, instance_id=instance_id, params=value)
        created_id = str(created.get("id"))
        if not wait:
            _announce(client, name, created_id, created, as_json)
            return
        if not as_json:
            say(f'🚀 Workflow instance "{created_id}" has been queued successfully')
        if client.kind == "embedded":
            note("No durable dev is running: the instance runs in this process.")
        details = _wait(client, name, created_id, as_json)
    if as_json:
        print_json(details)
    else:
        _outcome(name, created_id, details, embedded=client.kind == "embedded")
    if details.get("status") == "errored":
        raise typer.Exit(1)


def _wait(client: "ManagementClient", name: str, instance_id: str, as_json: bool) -> Any:
    """`client.wait` with progress on stderr; Ctrl-C says what became of the instance."""
    from . import progress

    shown = progress.for_wait(instance_id, as_json=as_json)
    try:
        return client.wait(name, instance_id, on_poll=shown)
    except KeyboardInterrupt:
        if shown is not None:
            shown.close()
        if client.kind == "embedded":
            fate = "left waiting; resume it with `durable dev`"
        elif client.kind == "remote":
            fate = "still running on Cloudflare"
        else:
            fate = f"still running in {client.description}"
        error_line(f'Interrupted: instance "{instance_id}" is {fate}.')
        raise typer.Exit(130) from None
    finally:
        if shown is not None:
            shown.close()


def _announce(
    client: "ManagementClient", name: str, created_id: str, created: dict[str, Any], as_json: bool
) -> None:
    if client.last_write_recorded:  # another process's `trigger --wait` holds the store
        if as_json:
            print_json(created)  # stdout holds the document; the news goes to stderr
        recorded("trigger", f'instance "{created_id}" of workflow "{name}"', to_stderr=as_json)
        return
    if as_json:
        print_json(created)
    else:
        say(f'🚀 Workflow instance "{created_id}" has been queued successfully')
    if client.offline:
        note(
            "No durable dev is running: the instance waits, queued, and runs when durable dev "
            "starts. Run it now instead with --wait."
        )


def _outcome(name: str, instance_id: str, details: dict[str, Any], *, embedded: bool) -> None:
    """What `trigger --wait` prints once it stops waiting."""
    from datetime import UTC, datetime

    from . import render

    now = datetime.now(UTC)
    status = details.get("status")
    rows: list[render.Row] = [("Status", render.status_label(status))]
    if details.get("start"):
        rows.append(("Duration", render.duration(details["start"], details.get("end"), now)))
    if status == "waiting":
        waiting = render.waiting_for(details, now)
        if waiting:
            rows.append(("Waiting For", waiting))
    if details.get("error") is not None:
        rows.append(("Error", render.error_text(details["error"])))
    if status == "complete" or details.get("output") is not None:
        rows.append(("Output", render.json_text(details.get("output"))))
    render.labelled(console(), rows)
    later = " durable dev resumes it when it starts." if embedded else ""
    if status == "paused":
        note(f"Resume it with: durable workflows instances resume {name} {instance_id}")
    elif status == "waiting":
        from durable.runtime.client.base import pending_wait

        wait = pending_wait(details)
        if wait is not None and wait.kind == "event":
            note(
                f"It waits for an event: durable workflows instances send-event {name} "
                f"{instance_id} --type {wait.event_type}.{later}"
            )
        else:
            note(f"It waits for more than a few minutes.{later}")
