"""`replay()`: run an instance's `run()` again from its stored steps, as the engine would after a
crash or a reload, and check that the code still lines up with its history.

Workflows are replayed from the top whenever an instance resumes, so `run()` must reach the same
steps, with the same names, in every run. The replay serves each recorded step from the stored
history (no callback runs, nothing is written) and stops a branch of `run()` where the history
ends. It fails when

* a step that is not in the history is reached although the instance had finished: replaying
  would run it (again, if it is a completed step whose name or occurrence changed), or
* a recorded step is never reached: it vanished from the code or was renamed (a name built from
  the time, a random value or a dict's iteration order is the usual culprit), or
* `run()` ends differently (returns where it raised, or raises where it returned).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from durable.runtime.engine.execution import Execution, error_dict
from durable.runtime.engine.hooks import EngineHooks
from durable.runtime.engine.hooks import StepKey as CacheKey
from durable.runtime.engine.scheduler import Engine
from durable.runtime.engine.serialization import decode, encode
from durable.runtime.engine.state import LoadedInstance
from durable.runtime.errors import DeterminismError as DeterminismError

from .modifier import IntrospectionError

_KINDS = {"step": "step.do", "sleep": "step.sleep", "waitForEvent": "step.wait_for_event"}


@dataclass
class ReplayResult:
    """What the replay saw: steps in the order reached, where it stopped, how `run()` ended."""

    status: str  # the instance's status when the replay started
    reached: list[CacheKey] = field(default_factory=list)
    stopped_at: list[CacheKey] = field(default_factory=list)  # steps the history does not finish
    finished: bool = False  # run() returned or raised (rather than stopping at the history's end)
    output: Any = None
    error: dict[str, str] | None = None

    @property
    def steps(self) -> list[str]:
        return [name for kind, name, _ in self.reached if kind == "step"]


def describe(key: CacheKey) -> str:
    kind, name, index = key
    occurrence = f" (occurrence {index})" if index > 1 else ""
    return f'{_KINDS.get(kind, kind)} "{name}"{occurrence}'


class _Replayer(EngineHooks):
    """The replay's hooks: hold each branch of `run()` at the first step the history lacks."""

    def __init__(self) -> None:
        self.reached: list[CacheKey] = []
        self.stopped: list[tuple[CacheKey, bool]] = []  # (key, recorded?)
        self.progress = 0

    async def step_reached(self, inst: LoadedInstance, key: CacheKey) -> None:
        """Block this branch of run() forever if the history has no outcome for the step.

        Reached before the engine looks at the cache, and before `sleep_until` compares its
        timestamp with "now": on replay it may well be in the past, which only matters for a
        step that would run for real.
        """
        execution = inst.execution
        assert execution is not None
        row = execution.cache.get(key)
        self.progress += 1
        if row is None or row.status not in ("complete", "errored"):
            self.stopped.append((key, row is not None))
            await asyncio.get_running_loop().create_future()
        self.reached.append(key)


async def replay_instance(
    engine: Engine, workflow: str, instance_id: str, *, timeout: float = 5.0
) -> ReplayResult:
    """Replay one instance (see the module docstring); raise DeterminismError on a mismatch."""
    __tracebackhide__ = True  # pytest shows the test's line, not the harness's
    await engine.store.flush()
    live = await engine.get_row(workflow, instance_id)
    definition = engine.definition(workflow)
    if definition.cls is None:
        raise IntrospectionError(f'Workflow "{workflow}" is not defined by this Worker.')
    steps = await engine.store.steps_of(live.pk)
    # A detached copy: the replay must not touch the live instance or its row.
    inst = LoadedInstance(dataclasses.replace(live), definition)
    replayer = _Replayer()
    execution = Execution(engine, inst, steps, [], replayer)
    inst.execution = execution
    result = ReplayResult(status=live.status)

    async def run() -> Any:
        # Not engine._run: this run is not the instance's, and records nothing.
        value = await engine._call_run(inst, execution)
        if execution.fatal is not None:
            raise execution.fatal
        return decode(encode(value, what="The output of run()"))

    task = asyncio.create_task(run(), name=f"replay-{instance_id}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    idle, last, spins = 0, -1, 0
    while not task.done():
        spins += 1
        await asyncio.sleep(0 if spins < 500 else 0.001)
        idle = idle + 1 if replayer.progress == last else 0
        last = replayer.progress
        # Once a branch stopped at the end of the history, give the others a few idle loop
        # passes to reach theirs (concurrent steps), then stop the whole run().
        if replayer.stopped and idle >= 20:
            break
        if loop.time() > deadline:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise TimeoutError(
                f"Replaying {workflow}/{instance_id}: run() did not get on in {timeout:g}s"
            )
    if task.done():
        result.finished = True
        exc = task.exception()
        if exc is None:
            result.output = task.result()
        else:
            result.error = error_dict(exc)
    else:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    result.reached = list(replayer.reached)
    result.stopped_at = [key for key, _ in replayer.stopped]
    _check(result, steps, replayer.stopped, workflow, instance_id)
    return result


def _check(
    result: ReplayResult,
    steps: list[Any],
    stopped: list[tuple[CacheKey, bool]],
    workflow: str,
    instance_id: str,
) -> None:
    __tracebackhide__ = True
    problems: list[str] = []
    finished = result.status in ("complete", "errored")
    new = [key for key, recorded in stopped if not recorded]
    if finished:
        problems += [
            f"{describe(key)} is not in the recorded history: replaying run() would run it again"
            for key in new
        ]
    seen = set(result.reached) | {key for key, _ in stopped}
    instead = f" (the replay reached {describe(new[0])} instead)" if new else ""
    for step in sorted(steps, key=lambda s: s.seq):
        if step.key not in seen:
            problems.append(
                f"recorded {describe(step.key)} was not reached by the replay: it vanished or "
                f"was renamed{instead}"
            )
            instead = ""
    if result.finished and result.status == "complete" and result.error is not None:
        problems.append(
            f"run() raised {result.error['name']}: {result.error['message']} on replay, "
            "but the instance completed"
        )
    if result.finished and result.status == "errored" and result.error is None:
        problems.append("run() returned on replay, but the instance errored")
    if problems:
        raise DeterminismError(
            f"Replay of {workflow}/{instance_id} ({result.status}) does not match its history:\n- "
            + "\n- ".join(problems)
        )
