"""Rendering only: REST `result` objects in, rich tables and labelled values out.

Wording and emoji follow `wrangler workflows` (packages/wrangler/src/workflows/utils.ts), minus
its quirks: "Describing latest instance" only when `latest` was asked for, "Retries At" from
the real back-off, the attempts table always has its Error column, the workflow's output is
shown, and durations in progress are measured in UTC.

Dates print as local time, `YYYY-MM-DD HH:MM:SS`, everywhere. rich is imported here, and this
module is imported only by commands that print something.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from durable.runtime.client.base import next_retry, parse_iso, pending_wait
from durable.runtime.states import InstanceStatus, StepKind

STATUS_LABELS: dict[str, str] = {
    InstanceStatus.COMPLETE: "✅ Completed",
    InstanceStatus.ERRORED: "❌ Errored",
    InstanceStatus.UNKNOWN: "❓ Unknown",
    InstanceStatus.PAUSED: "⏸️ Paused",
    InstanceStatus.QUEUED: "⌛ Queued",
    InstanceStatus.RUNNING: "▶ Running",
    InstanceStatus.TERMINATED: "🚫 Terminated",
    InstanceStatus.WAITING: "⏰ Waiting",
    InstanceStatus.WAITING_FOR_PAUSE: "⏱️ Waiting for Pause",
}
TRIGGER_LABELS = {
    "api": "🌎 API",
    "binding": "🔗 Binding",
    "cron": "⌛ Cron",
    "event": "📩 Event",
}
STEP_TYPE_LABELS: dict[str, str] = {
    StepKind.STEP: "🎯 Step",
    StepKind.SLEEP: "💤 Sleeping",
    "termination": "🚫 Termination",
    StepKind.WAIT_FOR_EVENT: "👀 Waiting for event",
}
TRUNCATED = "[...output truncated]"

Row = tuple[str, "str | Text"]


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", "❓ Unknown")


def trigger_label(source: str | None) -> str:
    return TRIGGER_LABELS.get(source or "", "❓ Unknown")


def step_type_label(kind: str | None) -> str:
    return STEP_TYPE_LABELS.get(kind or "", "❓ Unknown")


def yes_no(value: bool | None) -> str:
    if value is None:
        return "▶ Running"
    return "✅ Yes" if value else "❌ No"


# --- times ------------------------------------------------------------------------------------


def local_time(value: str | None) -> str:
    moment = parse_iso(value)
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def human_ms(ms: float) -> str:
    """A duration the way people say it: `850 ms`, `2.5 seconds`, `3 minutes`, `2 days`."""
    ms = abs(ms)
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 10 and round(seconds, 1) != round(seconds):
        return f"{seconds:.1f} seconds"
    for unit, size in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
        ("second", 1),
    ):
        if seconds >= size or unit == "second":
            count = round(seconds / size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable")


def duration(start: str | None, end: str | None, now: datetime) -> str:
    """end − start, or start → now while it runs (in UTC: no time-zone skew)."""
    begin = parse_iso(start)
    if begin is None:
        return ""
    finish = parse_iso(end) or now
    return human_ms((finish - begin).total_seconds() * 1000)


def relative(value: str | None, now: datetime) -> str:
    """`2026-05-01 10:00:00 (in 5 minutes)` or `(… ago)`."""
    moment = parse_iso(value)
    if moment is None:
        return ""
    delta = (moment - now).total_seconds() * 1000
    when = f"in {human_ms(delta)}" if delta >= 0 else f"{human_ms(delta)} ago"
    return f"{local_time(value)} ({when})"


# --- values -----------------------------------------------------------------------------------


def json_text(value: Any, limit: int | None = None) -> str:
    """JSON-encoded like JSON.stringify, cut after `limit` characters."""
    from durable.runtime.engine.serialization import json_safe

    try:
        text = json.dumps(json_safe(value), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = str(value)
    if limit is not None and len(text) > limit:
        return text[:limit] + TRUNCATED
    return text


def error_text(error: Any) -> Text:
    if isinstance(error, Mapping):
        name, message = error.get("name"), error.get("message")
        text = f"{name}: {message}" if name else str(message)
    else:
        text = str(error)
    return Text(text, style="red")


# --- primitives -------------------------------------------------------------------------------


def labelled(console: Console, rows: Sequence[Row], indent: int = 0) -> None:
    """`Label:  value` lines, values aligned two spaces after the longest label's colon."""
    if not rows:
        return
    width = max(len(label) for label, _ in rows) + 1 + 2
    for label, value in rows:
        line = Text(" " * indent + f"{label}:".ljust(width))
        line.append(value if isinstance(value, Text) else Text(str(value)))
        console.print(line, soft_wrap=True)


def table(
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    indent: int = 0,
    *,
    whole: Sequence[str] = (),
) -> None:
    """A boxed table with a line between rows, like wrangler's cli-table3 tables.

    Columns named in `whole` never wrap (ids: a wrapped id cannot be copied with a double
    click); the others fold to fit the terminal.
    """
    grid = Table(box=box.SQUARE, show_lines=True, header_style="blue", border_style="bright_black")
    for column in columns:
        if column in whole:
            grid.add_column(column, no_wrap=True)
        else:
            grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*(cell if isinstance(cell, Text) else Text(str(cell)) for cell in row))
    console.print(Padding(grid, (0, 0, 0, indent), expand=False) if indent else grid)


# --- workflows --------------------------------------------------------------------------------


def workflows_table(console: Console, items: Sequence[Mapping[str, Any]]) -> None:
    table(
        console,
        ("Name", "Script name", "Class name", "Created", "Modified"),
        [
            (
                item.get("name", ""),
                item.get("script_name") or "",
                item.get("class_name") or "",
                local_time(item.get("created_on")),
                local_time(item.get("modified_on")),
            )
            for item in items
        ],
    )


def workflow(console: Console, result: Mapping[str, Any], binding: str | None) -> None:
    rows: list[Row] = [("Name", result.get("name", ""))]
    if result.get("id"):
        rows.append(("Id", result["id"]))
    if binding:
        rows.append(("Binding", binding))
    rows += [
        ("Script Name", result.get("script_name") or ""),
        ("Class Name", result.get("class_name") or ""),
        ("Created On", local_time(result.get("created_on"))),
        ("Modified On", local_time(result.get("modified_on"))),
        ("Last Triggered", local_time(result.get("triggered_on")) or "never"),
    ]
    labelled(console, rows)
    counts = result.get("instances")
    if isinstance(counts, Mapping):
        console.print("Instance Status Counts:")
        labelled(console, [(status, str(count)) for status, count in counts.items()], indent=2)


# --- instances --------------------------------------------------------------------------------


def instances_table(
    console: Console, items: Sequence[Mapping[str, Any]], *, show_version: bool
) -> None:
    columns = ["Instance ID", *(["Version"] if show_version else []), "Created", "Modified"]
    columns.append("Status")
    rows = []
    for item in items:
        row = [item.get("id", "N/A")]
        if show_version:
            row.append(item.get("version_id") or "N/A")
        row += [
            local_time(item.get("created_on")) or "N/A",
            local_time(item.get("modified_on")) or "N/A",
            status_label(item.get("status")),
        ]
        rows.append(row)
    table(console, columns, rows, whole=("Instance ID",))


def last_successful_step(steps: Sequence[Mapping[str, Any]]) -> str | None:
    found = None
    for step in steps:
        if (step.get("type") == "step" and step.get("success") is True) or (
            step.get("type") == "sleep" and step.get("finished")
        ):
            found = step.get("name")
    return found


def waiting_for(details: Mapping[str, Any], now: datetime) -> str | None:
    wait = pending_wait(details)
    if wait is None:
        return None
    if wait.kind == "event":
        text = f'event "{wait.event_type or "?"}" (step {wait.step})'
        return text + (f", times out {relative(wait.until, now)}" if wait.until else "")
    if wait.kind == "sleep":
        return f"sleep {wait.step}, wakes {relative(wait.until, now)}"
    return f"retry of {wait.step}, {relative(wait.until, now)}"


def instance(
    console: Console,
    details: Mapping[str, Any],
    *,
    workflow_name: str,
    latest: bool,
    step_output: bool,
    limit: int,
    now: datetime | None = None,
) -> None:
    """`instances describe`: the summary, then every step with its attempts."""
    now = now or datetime.now(UTC)
    steps = details.get("steps") or []
    if latest:
        console.print("Describing latest instance:")
    rows: list[Row] = [("Workflow Name", workflow_name), ("Instance Id", details.get("id", ""))]
    if details.get("versionId"):
        rows.append(("Version Id", details["versionId"]))
    rows.append(("Status", status_label(details.get("status"))))
    trigger = details.get("trigger")
    if isinstance(trigger, Mapping):
        rows.append(("Trigger", trigger_label(trigger.get("source"))))
    rows.append(("Queued", local_time(details.get("queued"))))
    if details.get("success") is not None:
        rows.append(("Success", yes_no(details["success"])))
    if details.get("start"):
        rows.append(("Start", local_time(details["start"])))
    if details.get("end"):
        rows.append(("End", local_time(details["end"])))
    if details.get("start"):
        rows.append(("Duration", duration(details["start"], details.get("end"), now)))
    last = last_successful_step(steps)
    if last:
        rows.append(("Last Successful Step", last))
    if details.get("status") == "waiting":
        waiting = waiting_for(details, now)
        if waiting:
            rows.append(("Waiting For", waiting))
    if details.get("error") is not None:
        rows.append(("Error", error_text(details["error"])))
    if details.get("output") is not None or details.get("status") == "complete":
        rows.append(("Output", json_text(details.get("output"), limit)))
    labelled(console, rows)
    if not steps:
        return
    console.print("Steps:")
    for step in steps:
        console.print()
        _step(console, step, step_output=step_output, limit=limit, now=now)


def _step(
    console: Console, step: Mapping[str, Any], *, step_output: bool, limit: int, now: datetime
) -> None:
    kind = step.get("type")
    if kind == "termination":
        trigger = step.get("trigger")
        source = trigger.get("source") if isinstance(trigger, Mapping) else None
        labelled(console, [("Type", step_type_label(kind)), ("Trigger", trigger_label(source))], 2)
        return
    rows: list[Row] = [("Name", step.get("name", "")), ("Type", step_type_label(kind))]
    start, end = step.get("start"), step.get("end")
    if kind == "sleep":
        rows.append(("Start", local_time(start)))
        if step.get("finished"):
            rows.append(("End", local_time(end)))
        else:
            rows.append(("Wakes At", relative(end, now)))
        rows.append(("Duration", duration(start, end, now)))
        labelled(console, rows, 2)
        return
    if kind == "waitForEvent":
        rows.insert(2, ("Event Type", step.get("event_type") or ""))
        rows.append(("Start", local_time(start)))
        if step.get("finished"):
            rows.append(("End", local_time(end)))
        elif step.get("timeout"):
            rows.append(("Times Out", relative(step["timeout"], now)))
        rows.append(("Duration", duration(start, end if step.get("finished") else None, now)))
        if step.get("error") is not None:
            rows.append(("Error", error_text(step["error"])))
        if step_output and step.get("finished") and "output" in step:
            rows.append(("Output", json_text(step["output"], limit)))
        labelled(console, rows, 2)
        return
    rows.append(("Start", local_time(start)))
    if end:
        rows.append(("End", local_time(end)))
    rows.append(("Duration", duration(start, end, now)))
    rows.append(("Success", yes_no(step.get("success"))))
    attempts = step.get("attempts") or []
    retry_at = next_retry(step)
    if step.get("success") is None and retry_at is not None:
        rows.append(("Retries At", relative(retry_at, now)))
    if step.get("error") is not None:
        rows.append(("Error", error_text(step["error"])))
    if step_output and "output" in step:
        rows.append(("Output", json_text(step["output"], limit)))
    labelled(console, rows, 2)
    if attempts:
        table(
            console,
            ("Start", "End", "Duration", "State", "Error"),
            [
                (
                    local_time(a.get("start")),
                    local_time(a.get("end")),
                    duration(a.get("start"), a.get("end"), now),
                    _attempt_state(a),
                    error_text(a["error"]) if a.get("error") else "",
                )
                for a in attempts
            ],
            indent=2,
        )


def _attempt_state(attempt: Mapping[str, Any]) -> str:
    if attempt.get("success") is True:
        return "✅ Success"
    if attempt.get("success") is None and not attempt.get("end"):
        return "🔄 Working"
    return "❌ Error"
