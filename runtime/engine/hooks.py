"""What the engine tells an observer, and the seam through which one may change a step's course.

An engine is given `EngineHooks` (or none: `durable dev` runs without, and then no hook costs
anything but an `is None` test). Every method has a no-op default, so a subclass overrides
only what it needs. Each step-level call carries the step's cache key (`StepKey`:
`(kind, name, occurrence)`, from `step_key()`), the one the execution computed.

Observation (called by the engine, must not raise, must not await):

    run_started       a (re)run of an instance's `run()` begins
    status_changed    an instance's status was set
    attempt_started / attempt_finished
                      a `step.do` attempt begins / ends with its outcome
    wait_began / wait_ended
                      a step waits in memory on the clock: a sleep, a retry back-off or an
                      event wait, until `deadline_ms`
    step_ended        a step call returns or raises with its row settled (complete/errored),
                      including a step served from the cache on replay

The seam (what `durable.testing` builds its modifiers and its replay check on):

    step_reached      awaited when `run()` reaches a step, before the engine looks at the
                      cache: a replay may hold a branch of `run()` there
    run_attempt       what one attempt of a `step.do` does: by default it calls the step's
                      callback; a hook may return or raise something else instead (a mocked
                      result, error or timeout). The engine treats the outcome as the
                      callback's: encoded, retried, recorded.
    skip_wait         True: this wait does not happen. A sleep or a retry back-off ends at
                      once; an event wait times out at once, even if a matching event is
                      buffered. Asked again whenever a waiting step is woken early.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durable.runtime.worker.jsdict import JsDict

    from .state import LoadedInstance
    from .store import InstanceRow, StepRow

StepKey = tuple[str, str, int]  # (kind, name, occurrence): the step cache key

# What a wait is for, by the kind of the step that waits.
WAIT_KINDS = {"step": "retry", "sleep": "sleep", "waitForEvent": "event"}


def step_key(counters: dict[tuple[str, str], int], kind: str, name: str) -> StepKey:
    """The cache key of the next `kind` step called `name`, counting it in `counters`.

    Cloudflare keys a step by its name and how often that name was used before in this run,
    so a replay that reaches the same calls in the same order finds the same keys.
    """
    count = counters.get((kind, name), 0) + 1
    counters[(kind, name)] = count
    return (kind, name, count)


class EngineHooks:
    """No-op hooks; subclass and override (see the module docstring)."""

    # -- observation --

    def run_started(self, inst: LoadedInstance) -> None:
        pass

    def status_changed(self, row: InstanceRow) -> None:
        pass

    def attempt_started(self, inst: LoadedInstance, key: StepKey, attempt: int) -> None:
        pass

    def attempt_finished(
        self,
        inst: LoadedInstance,
        key: StepKey,
        attempt: int,
        outcome: str,
        error: dict[str, str] | None,
    ) -> None:
        """`outcome`: "success", "error", "timeout" or "interrupted" (cancelled: a terminate,
        a restart, a shutdown); `error` is the failure's `{name, message}`."""

    def wait_began(
        self,
        inst: LoadedInstance,
        key: StepKey,
        kind: str,
        deadline_ms: int,
        event_type: str | None,
    ) -> None:
        """`kind`: "sleep", "retry" or "event" (`WAIT_KINDS`)."""

    def wait_ended(self, inst: LoadedInstance, key: StepKey) -> None:
        pass

    def step_ended(self, inst: LoadedInstance, key: StepKey, row: StepRow) -> None:
        pass

    # -- the seam --

    async def step_reached(self, inst: LoadedInstance, key: StepKey) -> None:
        pass

    async def run_attempt(
        self,
        inst: LoadedInstance,
        key: StepKey,
        ctx: JsDict,
        invoke: Callable[[JsDict], Awaitable[Any]],
    ) -> Any:
        return await invoke(ctx)

    def skip_wait(self, inst: LoadedInstance, key: StepKey, deadline_ms: int) -> bool:
        return False
