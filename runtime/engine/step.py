"""The `step` object handed to `run(self, event, step)`, with the Python SDK's exact surface.

`step.do` has two signatures, chosen from the compatibility date and flags as on Cloudflare:

* legacy: `@step.do("name", depends=[a, b], concurrent=False, config=None)`; the i-th non-`ctx`
  parameter receives the result of `depends[i]`;
* implicit dependencies: `@step.do()` / `@step.do("name", concurrent=..., config=...)`; each
  parameter is named after a step declared earlier in this run.

The decorator does not run the step: it returns an awaitable callable. Awaiting it resolves the
dependencies first (a completed one is reused, an in-flight one awaited, any other run), then
runs the step through the engine; when a step counts as in flight is the SDK's (see `_run`).
"""

from __future__ import annotations

import asyncio
import inspect
import types
from collections.abc import Callable
from typing import Any

from durable.runtime.worker.jsdict import JsDict

from .execution import DEFAULT_EVENT_TIMEOUT, Execution

IMPLICIT_FROM = "2026-02-25"  # the python_workflows_implicit_dependencies default date
_MISSING: Any = object()  # legacy step.do called without its required name


def _wrapper_code() -> types.CodeType:
    async def wrapper() -> Any:  # only its code object is used: it marks a coroutine function
        raise NotImplementedError

    return wrapper.__code__


_WRAPPER_CODE = _wrapper_code()
# The SDK's `@step.do` returns this closure (workers/entrypoints.py, _create_step_decorator)
_WRAPPER_QUALNAME = (
    "_WorkflowStepWrapper._create_step_decorator.<locals>.decorator.<locals>.wrapper"
)


class StepCallable:
    """What `@step.do(...)` returns: await it (`await my_step()`) to run the step.

    In production that is an `async def wrapper()`; this object reads the same to code that
    looks (`__name__` "wrapper", `inspect.iscoroutinefunction`, a `()` signature, `_step_name`)
    but stays an object, so that calling it is seen: a step called and never awaited is
    reported by name when run() ends (scheduler), which a plain function could not tell.
    """

    def __init__(
        self,
        owner: WorkflowStep,
        func: Callable[..., Any],
        name: str,
        concurrent: bool,
        config: Any,
        depends: list[Any] | None,
    ) -> None:
        self._owner = owner
        self._func = func
        self._step_name = name
        self._concurrent = concurrent
        self._config = config
        self._depends = depends
        # What inspect reads to call an object a (coroutine) function, with the SDK's values
        self.__name__ = "wrapper"
        self.__qualname__ = _WRAPPER_QUALNAME
        self.__code__ = _WRAPPER_CODE
        self.__defaults__ = None
        self.__kwdefaults__ = None
        self.__annotations__: dict[str, Any] = {}
        self.__doc__ = None

    @property
    def function_name(self) -> str:
        """The decorated function's name, which is how run() refers to the step."""
        return str(getattr(self._func, "__name__", self._step_name))

    def __call__(self) -> Any:
        call = self._owner._run(self)
        self._owner._calls.append((self, call))
        return call

    def __repr__(self) -> str:
        return f"<function {_WRAPPER_QUALNAME} at {id(self):#x}>"


class WorkflowStep:
    """`step` inside `run()`: `do`, `sleep`, `sleep_until`, `wait_for_event`; like the SDK's
    step wrapper, it has no JavaScript spellings (`sleepUntil`, `waitForEvent`)."""

    def __init__(self, execution: Execution, *, implicit_dependencies: bool) -> None:
        self._execution = execution
        self._closures: dict[str, StepCallable] = {}
        self._results: dict[StepCallable, Any] = {}
        # Per step in flight: the futures of the dependants waiting for its result.
        self._in_flight: dict[StepCallable, list[asyncio.Future[Any]]] = {}
        self._calls: list[tuple[StepCallable, Any]] = []  # what `my_step()` returned, in order
        self._implicit = implicit_dependencies
        self.do: Callable[..., Callable[[Callable[..., Any]], StepCallable]] = (
            self._do_implicit if implicit_dependencies else self._do_legacy
        )

    # -- the two signatures of step.do --

    def _do_legacy(
        self,
        name: Any = _MISSING,
        depends: list[Any] | None = None,
        concurrent: bool = False,
        config: Any = None,
    ) -> Callable[[Callable[..., Any]], StepCallable]:
        if name is _MISSING:
            raise TypeError(
                "step.do() missing 1 required positional argument: 'name'. "
                f"{self._chosen_by()} selects the legacy signature step.do(name, depends=None, "
                "concurrent=False, config=None), where a step needs a name and its dependencies "
                f"are listed in depends=[...]. The implicit-dependency signature, step.do(name="
                f"None, *, concurrent=False, config=None), is the default from {IMPLICIT_FROM}: "
                "set a later compatibility_date or add the compatibility flag "
                '"python_workflows_implicit_dependencies" to use it, or give the step a name.'
            )

        def decorator(func: Callable[..., Any]) -> StepCallable:
            # The name is required, but may be None: then the function's name, as in the SDK.
            step_name = func.__name__ if name is None else name
            return self._register(StepCallable(self, func, step_name, concurrent, config, depends))

        return decorator

    def _do_implicit(
        self,
        name: str | None = None,
        *,
        concurrent: bool = False,
        config: Any = None,
        **unexpected: Any,
    ) -> Callable[[Callable[..., Any]], StepCallable]:
        if unexpected:
            keyword = next(iter(unexpected))
            why = (
                f"{self._chosen_by()} selects the implicit-dependency signature step.do(name="
                "None, *, concurrent=False, config=None), the default since "
                f"{IMPLICIT_FROM}: a step's dependencies are its parameters, named after the "
                "steps they wait for, and depends=[...] is gone. Either add the compatibility "
                'flag "no_python_workflows_implicit_dependencies" to keep depends=[...], or drop '
                "depends and name the parameters after the steps (async def c(a, b))."
            )
            raise TypeError(
                f"step.do() got an unexpected keyword argument '{keyword}'"
                + (f". {why}" if keyword == "depends" else "")
            )

        def decorator(func: Callable[..., Any]) -> StepCallable:
            step_name = name if name is not None else func.__name__
            return self._register(StepCallable(self, func, step_name, concurrent, config, None))

        return decorator

    def _chosen_by(self) -> str:
        chosen = self._execution.instance.definition.dependencies_chosen_by
        return f"This Worker's {chosen}" if chosen else "The compatibility date or flags"

    def _register(self, callable_: StepCallable) -> StepCallable:
        self._closures[callable_._step_name] = callable_
        return callable_

    # -- dependency resolution --

    def _dependencies(self, callable_: StepCallable) -> list[StepCallable | None]:
        """The dependency of each parameter in order; None marks the `ctx` parameter."""
        params = _parameter_names(callable_._func)
        if not self._implicit:
            # The SDK's checks, in its order and words (entrypoints.py _build_dependency_list).
            non_ctx = [p for p in params if p != "ctx"]
            depends = callable_._depends
            if depends is None and non_ctx:
                raise TypeError(
                    f"Step has {len(non_ctx)} non-ctx parameter(s) but no 'depends' list provided"
                )
            if depends is not None and len(depends) != len(non_ctx):
                raise TypeError(
                    f"Step declares {len(non_ctx)} non-ctx parameter(s) but 'depends' has "
                    f"{len(depends)} item(s)"
                )
            legacy: list[StepCallable | None] = []
            for param in params:
                if param == "ctx":
                    legacy.append(None)
                    continue
                assert depends is not None
                dep = depends[len(legacy) - legacy.count(None)]
                if not isinstance(dep, StepCallable):
                    raise TypeError(
                        f"'depends' entry for parameter {param!r} is not a function decorated "
                        "with step.do"
                    )
                legacy.append(dep)
            return legacy
        resolved: list[StepCallable | None] = []
        for param in params:
            if param == "ctx":
                resolved.append(None)
            elif param in self._closures:
                resolved.append(self._closures[param])
            else:
                raise TypeError(f"Received unexpected parameter {param}")
        return resolved

    async def _resolve(self, dependency: StepCallable) -> Any:
        """A dependency's value: memoized, or the in-flight run awaited, or a run of its own."""
        if dependency in self._results:
            return self._results[dependency]
        waiters = self._in_flight.get(dependency)
        if waiters is not None:
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            waiters.append(waiter)
            return await waiter
        return await self._run(dependency)

    async def _run(self, callable_: StepCallable) -> Any:
        deps = self._dependencies(callable_)
        needed = [d for d in deps if d is not None]
        if callable_._concurrent:
            values = await asyncio.gather(*(self._resolve(d) for d in needed))
        else:
            values = [await self._resolve(d) for d in needed]

        async def invoke(ctx: JsDict) -> Any:
            supplied = iter(values)
            args = [ctx if d is None else next(supplied) for d in deps]
            result = callable_._func(*args)
            if inspect.isawaitable(result):
                result = await result
            return result

        # As the SDK's `_do_call`: a step is "in flight" (so a dependant awaits it instead of
        # running it again) only from the moment its engine call is scheduled, after its own
        # dependencies resolved, and until that call ends; only a success is memoized. So
        # `gather(a(), b())` with b depending on a runs a once, while two branches that both
        # reach a shared step before it is scheduled each run it (a-1, a-2).
        # The call runs in this task; a dependant that arrives meanwhile waits on a future of its
        # own, settled when the call ends (a task per step would cost a loop round trip each).
        waiters: list[asyncio.Future[Any]] = []
        self._in_flight[callable_] = waiters
        try:
            result = await self._execution.do(callable_._step_name, callable_._config, invoke)
        except asyncio.CancelledError:
            for waiter in waiters:
                waiter.cancel()
            raise
        except BaseException as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            raise
        else:
            self._results[callable_] = result
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(result)
        finally:
            self._in_flight.pop(callable_, None)
        return result

    def unawaited(self) -> list[StepCallable]:
        """Steps that were called (`my_step()`) but never awaited, so never ran.

        Their coroutines are closed, which silences Python's "coroutine … was never awaited"
        warning: the engine says it better, naming the step.
        """
        missed = []
        for callable_, call in self._calls:
            if inspect.getcoroutinestate(call) == inspect.CORO_CREATED:
                call.close()
                missed.append(callable_)
        self._calls.clear()
        return missed

    # -- sleeps and events --

    async def sleep(self, *args: Any, **kwargs: Any) -> None:
        """`sleep(name, duration)`: a number is milliseconds, a string like "10 seconds".

        Takes anything, as the SDK's `sleep(*args, **kwargs)`, which passes it all to JS."""
        await self._execution.sleep_call(args, kwargs)

    async def sleep_until(self, name: str, timestamp: Any) -> None:
        """Sleep until a datetime (naive = UTC) or epoch milliseconds; a str goes to JS as it
        is, where it is a number of milliseconds or NaN (no sleep)."""
        await self._execution.sleep_until(name, timestamp)

    async def wait_for_event(
        self, name: str, event_type: str, /, timeout: Any = DEFAULT_EVENT_TIMEOUT
    ) -> Any:
        """Wait for an event of `event_type`; returns `{payload, timestamp, type}`."""
        return await self._execution.wait_for_event(name, event_type, timeout)


# A step function is defined anew on every replay of run(), but its code object is the same
# one each time: the names of a plain function's parameters are read once per code object
# (inspect.signature was a tenth of the cost of waking an instance).
_PARAMETER_NAMES: dict[types.CodeType, tuple[str, ...]] = {}


def _parameter_names(func: Callable[..., Any]) -> tuple[str, ...]:
    plain = isinstance(func, types.FunctionType) and not hasattr(func, "__wrapped__")
    if not plain or hasattr(func, "__signature__"):
        return tuple(inspect.signature(func).parameters)
    code = func.__code__
    names = _PARAMETER_NAMES.get(code)
    if names is None:
        names = _PARAMETER_NAMES[code] = tuple(inspect.signature(func).parameters)
    return names
