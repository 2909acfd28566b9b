"""The naming and size rules Cloudflare Workflows enforces, shared by the engine and the service.

A leaf module, so that checking an id (the CLI with no server) does not import the engine.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ValidationError

# Instance ids and event types: letters, digits, '-' and '_', not starting with '-'.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9\-_]*$")
MAX_INSTANCE_ID = 100
MAX_EVENT_TYPE = 100
MAX_BATCH = 100
STATUSES = (
    "queued",
    "running",
    "paused",
    "errored",
    "terminated",
    "complete",
    "waiting",
    "waitingForPause",
    "unknown",
)
FINISHED = ("complete", "errored", "terminated")


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
