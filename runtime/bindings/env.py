"""`env`: what user code receives as `self.env` (and, on Cloudflare, `workers.env`).

One attribute per binding declared in the config and per var; each binding kind lives in its own
module of this package. `build_env` is the one place that turns a config into an `Env`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .d1 import D1Database, D1DatabaseState
from .kv import KVNamespace, KVNamespaceState, wall_ms
from .r2 import R2Bucket, R2BucketState
from .workflows import WorkflowBinding

if TYPE_CHECKING:
    from durable.runtime.config import D1DatabaseConfig, KVNamespaceConfig, R2BucketConfig
    from durable.runtime.engine.scheduler import Engine


class Env:
    """Attribute access to bindings and vars, like the SDK's `_EnvWrapper`.

    `_EnvWrapper` has only `__getattr__` (workers/rpc.py), so `env["X"]`, `"X" in env` and
    iterating refuse with the TypeErrors Python raises for it; use `getattr(env, "X", None)`.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getitem__(self, name: str) -> Any:
        raise TypeError("'_EnvWrapper' object is not subscriptable")

    def __contains__(self, name: object) -> bool:
        raise TypeError("argument of type '_EnvWrapper' is not iterable")

    def __iter__(self) -> Any:
        raise TypeError("'_EnvWrapper' object is not iterable")

    def __repr__(self) -> str:
        return f"<Env {', '.join(sorted(self.__dict__))}>"

    if TYPE_CHECKING:
        # The names come from each project's config: to a type checker, any attribute is a binding.
        def __getattr__(self, name: str) -> Any: ...


def build_env(
    engine: Engine,
    vars: dict[str, Any],
    bindings: dict[str, str],
    *,
    kv_namespaces: Iterable[KVNamespaceConfig] = (),
    d1_databases: Iterable[D1DatabaseConfig] = (),
    r2_buckets: Iterable[R2BucketConfig] = (),
    state_dir: Path | None = None,
    now_ms: Callable[[], int] = wall_ms,
) -> Env:
    """`bindings` maps binding name (MY_WORKFLOW) to workflow name.

    KV namespaces, D1 databases and R2 buckets keep their data in wrangler's local state under
    `state_dir` (`.wrangler/state`
    next to the config, see `miniflare.py`); `now_ms` is the time expirations are judged by.
    """
    values: dict[str, Any] = dict(vars)
    for binding, workflow in bindings.items():
        values[binding] = WorkflowBinding(engine, workflow)
    for ns in kv_namespaces:
        if state_dir is None:
            raise ValueError("KV namespaces need the folder of wrangler's local state")
        state = KVNamespaceState(state_dir, ns.local_id, now_ms)
        values[ns.binding] = KVNamespace(state, ns.binding)
    for db in d1_databases:
        if state_dir is None:
            raise ValueError("D1 databases need the folder of wrangler's local state")
        values[db.binding] = D1Database(D1DatabaseState(state_dir, db.local_id), db.binding)
    for bucket in r2_buckets:
        if state_dir is None:
            raise ValueError("R2 buckets need the folder of wrangler's local state")
        values[bucket.binding] = R2Bucket(
            R2BucketState(state_dir, bucket.local_name, now_ms), bucket.binding
        )
    return Env(values)
