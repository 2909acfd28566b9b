"""The naming and size rules Cloudflare Workflows enforces, shared by the engine and the service.

A leaf module, so that checking an id (the CLI with no server) does not import the engine.
`check_creates` is the one check of a create request: the engine runs it before creating, and
the service with no engine before recording the create for `durable dev` to apply.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .errors import ConflictError, ValidationError

# Instance ids and event types: letters, digits, '-' and '_', not starting with '-'.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9\-_]*$")
MAX_INSTANCE_ID = 100
MAX_EVENT_TYPE = 100
MAX_BATCH = 100


def validate_instance_id(instance_id: Any) -> str:
    if (
        not isinstance(instance_id, str)
        or not 0 < len(instance_id) <= MAX_INSTANCE_ID
        or not NAME_PATTERN.match(instance_id)
    ):
        raise ValidationError(
            f"Invalid instance id {instance_id!r}: use 1-100 letters, digits, '-' or '_', "
            "not starting with '-'."
        )
    return instance_id


def validate_event_type(event_type: Any) -> str:
    if (
        not isinstance(event_type, str)
        or not 0 < len(event_type) <= MAX_EVENT_TYPE
        or not NAME_PATTERN.match(event_type)
    ):
        raise ValidationError(
            f"Invalid event type {event_type!r}: use 1-100 letters, digits, '-' or '_', "
            "not starting with '-'."
        )
    return event_type


class CreateRequest(NamedTuple):
    """One instance to create, checked."""

    id: str
    params: Any  # as given (None for none), for a create recorded to apply later
    encoded: str  # as stored
    generated: bool  # the id is a fresh UUID: it cannot exist already


def check_creates(
    workflow: str,
    items: Sequence[tuple[str | None, Any]],
    *,
    encode_params: Callable[[Any], str],
    skip_existing: bool,
) -> list[CreateRequest]:
    """Check a create request and return the instances to create, in order.

    Checks what needs no store: the batch size, each id (a missing one gets a fresh UUID),
    each params value (`encode_params` refuses what production refuses, over 1 MiB included)
    and ids repeated within the batch: with `skip_existing` the first occurrence is kept, as
    for an id that exists already; otherwise a repeat is a conflict. The caller then checks
    the ids against what exists, raising `instance_exists` when it must.
    """
    if not items:
        raise ValidationError("Create at least 1 instance.")
    if len(items) > MAX_BATCH:
        raise ValidationError(f"Create at most {MAX_BATCH} instances, got {len(items)}.")
    prepared: list[CreateRequest] = []
    for instance_id, params in items:
        encoded = encode_params({} if params is None else params)
        if instance_id is None:
            prepared.append(CreateRequest(str(uuid.uuid4()), params, encoded, True))
        else:
            prepared.append(
                CreateRequest(validate_instance_id(instance_id), params, encoded, False)
            )
    chosen: list[CreateRequest] = []
    seen: set[str] = set()
    for request in prepared:
        if request.id in seen:
            if not skip_existing:
                raise instance_exists(workflow, request.id)
            continue
        seen.add(request.id)
        chosen.append(request)
    return chosen


def instance_exists(workflow: str, instance_id: str) -> ConflictError:
    return ConflictError(
        f'An instance with id "{instance_id}" already exists in workflow "{workflow}".'
    )
