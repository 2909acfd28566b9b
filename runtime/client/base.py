"""The management client: one interface over every place workflows can be managed from.

The `durable workflows …` commands talk to exactly one of these, chosen by `connect.connect()`:

    ManagementClient              the interface, in Cloudflare REST `result` shapes (here)
    ├── HttpClient                the Cloudflare REST API (`/client/v4/accounts/{id}/workflows`)
    │     ├── local               a running `durable dev`, found through its discovery file
    │     └── remote              api.cloudflare.com (`--remote`), or CLOUDFLARE_API_BASE_URL
    │                             (in `http.py`)
    └── ServiceClient             no server: the service layer called directly on the store
          ├── offline             reads come from the store; a trigger queues an instance
          │                       there, other writes are recorded as intents
          └── embedded            an engine runs here (`trigger --wait` with no server)
                                  (in `in_process.py`)

Every method returns what the REST API would put in `result` (a `Page` for list calls), so a
command renders the same data whichever target answers. This module also holds what `--wait`
needs to decide when an instance is done waiting for, whichever client answers.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from durable.runtime.api.pages import Page
from durable.runtime.errors import NotFoundError
from durable.runtime.states import FINISHED, Backoff, InstanceStatus, StepKind

__all__ = [
    "LOCAL_ACCOUNT_ID",
    "WAIT_THROUGH_MS",
    "ManagementClient",
    "Page",
    "PendingWait",
    "next_retry",
    "pending_wait",
    "wait_is_over",
]

# `durable dev` accepts any account id in its REST paths; the CLI uses this one.
LOCAL_ACCOUNT_ID = "local"
# `--wait` waits through a sleep or a retry back-off that ends within this horizon (it covers
# the default retry schedule: 10 + 20 + 40 + 80 + 160 s) and reports anything longer.
WAIT_THROUGH_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class PendingWait:
    """What a `waiting` instance waits for: `kind` is "event", "sleep" or "retry"."""

    kind: str
    step: str
    until: str | None = None  # ISO time of the wake-up (or of the event wait's timeout)
    event_type: str | None = None


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pending_wait(details: Mapping[str, Any]) -> PendingWait | None:
    """What an instance (REST InstanceDetails with steps) is waiting for, if it can be told."""
    for step in reversed(details.get("steps") or []):
        kind = step.get("type")
        if kind == StepKind.WAIT_FOR_EVENT and not step.get("finished"):
            return PendingWait(
                "event", step.get("name", ""), step.get("timeout"), step.get("event_type")
            )
        if kind == StepKind.SLEEP and not step.get("finished"):
            return PendingWait("sleep", step.get("name", ""), step.get("end"))
        if kind == StepKind.STEP and step.get("success") is None:
            retry = next_retry(step)
            if retry is not None:
                return PendingWait("retry", step.get("name", ""), retry)
    return None


def next_retry(step: Mapping[str, Any]) -> str | None:
    """When a retrying step (REST step object) runs again, as an ISO time; None if it won't.

    `durable dev` sends each failed attempt's `next_retry`. For an API that does not, the time
    is computed from the step's retry config with the real back-off — constant d, linear d·n,
    exponential d·2^(n−1) after attempt n — unlike wrangler, which ignores the back-off.
    """
    attempts = step.get("attempts") or []
    if not attempts or attempts[-1].get("success") is not False:
        return None
    last = attempts[-1]
    if last.get("next_retry"):
        return str(last["next_retry"])
    retries = (step.get("config") or {}).get("retries") or {}
    ended = parse_iso(last.get("end"))
    if ended is None or "delay" not in retries:
        return None
    if len(attempts) > int(retries.get("limit", 5)):
        return None  # that was the last attempt
    from datetime import timedelta

    from durable.runtime.durations import parse_duration, retry_delay_ms
    from durable.runtime.errors import DurableError

    try:
        delay = parse_duration(retries["delay"], what="retry delay")
    except DurableError:
        return None
    backoff = str(retries.get("backoff", Backoff.EXPONENTIAL))
    moment = ended + timedelta(milliseconds=retry_delay_ms(delay, backoff, len(attempts)))
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wait_is_over(details: Mapping[str, Any], now: datetime | None = None) -> bool:
    """True when `--wait` should stop: finished, paused, or waiting for more than a moment.

    An instance waiting for an event waits for someone else, so `--wait` stops and says so. A
    sleep or a retry back-off ends by itself: `--wait` waits through it unless the wake-up is
    more than WAIT_THROUGH_MS away.
    """
    status = details.get("status")
    if status in FINISHED or status in (InstanceStatus.PAUSED, InstanceStatus.UNKNOWN):
        return True
    if status != InstanceStatus.WAITING:
        return False
    wait = pending_wait(details)
    if wait is None:
        # Between two writes (a failed attempt recorded, its retry time not yet) the reason
        # is not visible: look again rather than stop on a moment that passes by itself.
        return False
    if wait.kind == "event":
        return True
    wake = parse_iso(wait.until)
    if wake is None:
        return True
    now = now or datetime.now(UTC)
    return (wake - now).total_seconds() * 1000 > WAIT_THROUGH_MS


class ManagementClient(ABC):
    """The management operations, in the Cloudflare REST API's `result` shapes."""

    #: "dev" (a running durable dev), "remote" (Cloudflare), "offline" or "embedded".
    kind: str = ""
    #: Where requests go, for `-v` and messages ("durable dev at http://127.0.0.1:8787").
    description: str = ""
    #: Seconds between two polls of `wait()`.
    poll_interval: float = 0.2
    #: True when the last write was only recorded, as an intent for the next `durable dev`,
    #: rather than applied to the store (offline, while another process's `trigger --wait`
    #: holds the store).
    last_write_recorded: bool = False
    #: Offline: intents recorded earlier that could not be applied before this client's write
    #: (one line each, as `durable dev` prints them when it starts).
    intent_problems: tuple[str, ...] = ()

    @property
    def offline(self) -> bool:
        """True when no engine runs behind this client: nothing runs until `durable dev`."""
        return False

    # -- workflows --

    @abstractmethod
    def list_workflows(
        self, *, page: int = 1, per_page: int | None = None, counts: bool = True
    ) -> Page:
        """One page of workflows; `counts=False` lets a local store skip counting instances
        (a server's REST answer always has them, as Cloudflare's does)."""

    @abstractmethod
    def get_workflow(self, name: str) -> dict[str, Any]: ...

    @abstractmethod
    def delete_workflow(self, name: str) -> dict[str, Any]: ...

    # -- instances --

    @abstractmethod
    def create_instance(
        self, name: str, *, instance_id: str | None = None, params: Any = None
    ) -> dict[str, Any]:
        """Create an instance; `params` None means none given (the instance gets `{}`)."""

    @abstractmethod
    def list_instances(
        self,
        name: str,
        *,
        status: str | None = None,
        page: int = 1,
        per_page: int | None = None,
        direction: str = "desc",
    ) -> Page: ...

    @abstractmethod
    def get_instance(self, name: str, instance_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def change_status(
        self, name: str, instance_id: str, action: str, from_step: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`action` is pause, resume, terminate or restart; `from_step` only with restart."""

    @abstractmethod
    def send_event(self, name: str, instance_id: str, event_type: str, payload: Any) -> None: ...

    @abstractmethod
    def delete_instances(self, name: str, ids: list[str]) -> dict[str, Any]: ...

    def resolve_id(self, name: str, instance_id: str) -> str:
        """`latest` is the most recently created instance of the workflow; other ids pass."""
        if instance_id != "latest":
            return instance_id
        page = self.list_instances(name, page=1, per_page=25, direction="desc")
        if not page.items:
            raise NotFoundError(
                f'There are no instances in workflow "{name}", so "latest" names none. '
                f'Trigger one with "durable workflows trigger {name}".',
                code=10400,
            )
        # The API orders by creation already; sort anyway (stable, so same-millisecond
        # instances keep the API's order), as the API only promises the filter, not the order.
        items = sorted(page.items, key=lambda item: item.get("created_on") or "", reverse=True)
        return str(items[0]["id"])

    def wait(
        self,
        name: str,
        instance_id: str,
        *,
        timeout: float | None = None,
        until: Callable[[Mapping[str, Any]], bool] = wait_is_over,
        on_poll: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll the instance until `until(details)`; raise TimeoutError after `timeout` s.

        `on_poll` sees every poll's details (the last one too): `--wait` shows progress.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            details = self.get_instance(name, instance_id)
            if on_poll is not None:
                on_poll(details)
            if until(details):
                return details
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f'Instance "{instance_id}" is still {details.get("status")}.')
            time.sleep(self.poll_interval)

    def close(self) -> None:  # noqa: B027 - most clients hold nothing; those that do override
        """Release what the client holds (connections, the store, an engine)."""

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
