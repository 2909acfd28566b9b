"""The states and kinds durable's data can be in, each spelled once.

A leaf that imports only `enum`: the CLI imports it at start-up, so it must cost nothing. The
members are `StrEnum`s, so they are stored, compared and sent as the plain strings Cloudflare
uses (`InstanceStatus.COMPLETE == "complete"`); rows read back from SQLite hold plain strings,
and comparisons with the members work either way.

The dashboard (runtime/dashboard/ui.js) keeps its own copy of `FINISHED` in JavaScript;
tests/test_states.py checks the two agree.
"""

from enum import StrEnum


class InstanceStatus(StrEnum):
    """An instance's status, as the Cloudflare Workflows API reports it."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    ERRORED = "errored"
    TERMINATED = "terminated"
    COMPLETE = "complete"
    WAITING = "waiting"
    WAITING_FOR_PAUSE = "waitingForPause"
    UNKNOWN = "unknown"


# An instance in one of these will not change again unless restarted.
FINISHED: frozenset[InstanceStatus] = frozenset(
    {InstanceStatus.COMPLETE, InstanceStatus.ERRORED, InstanceStatus.TERMINATED}
)
# The statuses an instance list can be filtered by (production has no "unknown" filter).
LISTABLE: tuple[InstanceStatus, ...] = tuple(s for s in InstanceStatus if s != "unknown")


class StepKind(StrEnum):
    """What a step row records: the `step` method that made it (the REST steps' `type`)."""

    STEP = "step"  # step.do
    SLEEP = "sleep"  # step.sleep and step.sleep_until
    WAIT_FOR_EVENT = "waitForEvent"  # step.wait_for_event


class StepType(StrEnum):
    """A step's type as a restart's `from` names it (Cloudflare's: `do`, not `step`)."""

    DO = "do"
    SLEEP = "sleep"
    WAIT_FOR_EVENT = "waitForEvent"

    @property
    def kind(self) -> StepKind:
        return StepKind.STEP if self is StepType.DO else StepKind(self.value)


class StepState(StrEnum):
    """A step row's status."""

    RUNNING = "running"
    RETRYING = "retrying"  # failed; the next attempt waits for its back-off
    WAITING = "waiting"  # a sleep or an event wait not over yet
    COMPLETE = "complete"
    ERRORED = "errored"


STEP_FINISHED: frozenset[StepState] = frozenset({StepState.COMPLETE, StepState.ERRORED})


class CancelReason(StrEnum):
    """Why the engine cancelled a loaded instance's task: decides what the instance becomes."""

    SHUTDOWN = "shutdown"  # the engine stops; the instance resumes on the next start
    PAUSE = "pause"
    TERMINATE = "terminate"
    RESTART = "restart"
    DELETE = "delete"


class Backoff(StrEnum):
    """How a step's retry delay grows (Cloudflare's `retries.backoff`)."""

    CONSTANT = "constant"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"
