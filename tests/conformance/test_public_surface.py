"""The public surface of durable's `workers` shim against the production SDK's: names and kinds."""

from __future__ import annotations

import importlib.util
import sys
import types
import typing
from typing import Any

import conformance_prod

from durable.runtime.worker.loader import SHIM_DIR

# Where durable's shim differs from production, as (name, production kind, durable kind); "-"
# is a name missing on that side. None today (audit 9 and 15 are fixed).
EXPECTED_DIFF: set[tuple[str, str, str]] = set()


def _load_shim() -> types.ModuleType:
    """durable's shim under another name, so that neither `workers` is disturbed."""
    name = "_durable_workers"
    if name in sys.modules:
        return sys.modules[name]
    package = SHIM_DIR / "workers"
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def kind(module: types.ModuleType, name: str) -> str:
    if name not in vars(module):
        # Served by the module's __getattr__ (production: env, wait_until, waitUntil need the
        # JS runtime, so they are looked up lazily and never touched here)
        return "lazy" if "__getattr__" in vars(module) else "-"
    value = vars(module)[name]
    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, str) or isinstance(value, (types.UnionType, typing._GenericAlias)):  # type: ignore[attr-defined]
        return "type alias"
    if isinstance(value, type):
        return "class"
    if callable(value):
        return "function"
    return type(value).__name__


def surface(module: types.ModuleType, names: set[str]) -> dict[str, str]:
    return {name: kind(module, name) for name in sorted(names)}


def _public(module: types.ModuleType) -> set[str]:
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return set(declared)
    return {n for n in vars(module) if not n.startswith("_")}


def _diff(production: dict[str, str], durable: dict[str, str]) -> set[tuple[str, str, str]]:
    return {
        (name, production.get(name, "-"), durable.get(name, "-"))
        for name in set(production) | set(durable)
        if production.get(name, "-") != durable.get(name, "-")
    }


def test_workers_surface_matches_production() -> None:
    prod = conformance_prod.load_prod_workers()
    shim = _load_shim()
    production = surface(prod, _public(prod))
    durable = surface(shim, _public(shim))
    assert _diff(production, durable) == EXPECTED_DIFF


def test_workers_workflows_surface_matches_production() -> None:
    prod = conformance_prod.load_prod_workers()
    shim = _load_shim()
    production = surface(prod.workflows, _public(prod.workflows))
    durable = surface(shim.workflows, _public(shim.workflows))
    assert production == durable == {"NonRetryableError": "class"}


def test_the_workflows_submodule_is_reachable_on_both() -> None:
    prod = conformance_prod.load_prod_workers()
    shim = _load_shim()
    assert kind(prod, "workflows") == kind(shim, "workflows") == "module"


def test_the_kind_probe_tells_kinds_apart() -> None:
    prod: Any = conformance_prod.load_prod_workers()
    assert kind(prod, "Headers") == "type alias"  # a str TypeAlias in production
    assert kind(prod, "Response") == "class"
    assert kind(prod, "handler") == "function"
    assert kind(prod, "env") == "lazy"
