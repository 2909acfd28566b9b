"""The house rules of `runtime/`, read from the source with `ast`.

* Imports point down the layers that `runtime/__init__.py` declares: a module may import its own
  subpackage and any layer below it, never one above (TYPE_CHECKING imports included: a type
  that points up is a design that points up).
* No cycle between modules, counting every import that runs (module level and inside functions),
  leaving out only those under `if TYPE_CHECKING:`.
* Few modules at the top of `runtime/`; everything else lives in a subsystem.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "runtime"

# Lowest first. A module may import modules of its own layer and of any layer before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("leaves",),
    ("worker",),
    ("engine",),
    ("bindings",),
    ("api",),
    ("dev",),
    ("client",),
    ("testing",),
    ("cli",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
MAX_TOP_LEVEL_MODULES = 10


@dataclass(frozen=True)
class Import:
    source: str  # dotted module that imports
    target: str  # dotted module imported
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    """The import name of a file under cli/ or runtime/ (durable.testing lives in runtime/testing)."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] == "runtime" and len(parts) > 1 and parts[1] == "testing":
        return ".".join(["durable", "testing", *parts[2:]])
    top = {"runtime": "runtime", "cli": "cli"}[parts[0]]
    return ".".join(["durable", top, *parts[1:]])


def layer_of(module: str) -> str | None:
    """The layer a `durable.*` module belongs to, or None for modules outside the rules."""
    parts = module.split(".")
    if parts[:2] == ["durable", "testing"]:
        return "testing"
    if parts[:2] == ["durable", "cli"]:
        return "cli"
    if parts[:2] != ["durable", "runtime"]:
        return None
    if len(parts) == 2:
        return "leaves"  # the package itself (__version__)
    if (RUNTIME / parts[2]).is_dir():
        return parts[2]
    return "leaves"


def source_files() -> list[Path]:
    files = [*RUNTIME.rglob("*.py"), *(ROOT / "cli").rglob("*.py")]
    # The `workers` shim is imported by user code as the top-level `workers` package.
    return sorted(p for p in files if "_shim" not in p.parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> list[Import]:
    source = module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[Import] = []

    def resolve(node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = source.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                visit(statement, True)
            for statement in node.orelse:
                visit(statement, type_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(source, alias.name, node.lineno, type_only))
        elif isinstance(node, ast.ImportFrom):
            target = resolve(node)
            for alias in node.names:
                # `from pkg import module` imports the module; `from module import name` the module.
                candidate = f"{target}.{alias.name}"
                found.append(
                    Import(
                        source,
                        candidate if _is_module(candidate) else target,
                        node.lineno,
                        type_only,
                    )
                )
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return [i for i in found if i.target.startswith("durable.")]


def _is_module(dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[:2] == ["durable", "testing"]:
        base = RUNTIME / "testing"
        rest = parts[2:]
    elif parts[:2] == ["durable", "runtime"]:
        base, rest = RUNTIME, parts[2:]
    elif parts[:2] == ["durable", "cli"]:
        base, rest = ROOT / "cli", parts[2:]
    else:
        return False
    path = base.joinpath(*rest)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


ALL_IMPORTS = [imp for path in source_files() for imp in imports_of(path)]


def test_the_parser_sees_the_imports_it_must() -> None:
    """Guards the test itself: known edges are found, with their kind."""
    edges = {(i.source, i.target, i.type_only) for i in ALL_IMPORTS}
    assert ("durable.runtime.engine.scheduler", "durable.runtime.engine.store", False) in edges
    assert ("durable.runtime.engine.execution", "durable.runtime.engine.scheduler", True) in edges
    assert ("durable.runtime.client.connect", "durable.runtime.client.in_process", False) in edges


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src is None or dst is None or src == dst:
            continue
        if RANK[dst] > RANK[src]:
            wrong.append(f"{imp.source}:{imp.line} imports {imp.target} ({src} -> {dst})")
    assert not wrong, "imports against the declared order:\n" + "\n".join(wrong)


def test_leaves_import_only_leaves_and_worker_knows_no_engine() -> None:
    for imp in ALL_IMPORTS:
        if layer_of(imp.source) == "worker":
            assert layer_of(imp.target) in ("worker", "leaves"), imp


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for imp in ALL_IMPORTS:
        if not imp.type_only and imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if state.get(nxt) is None and (found := walk(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None and (found := walk(start)) is not None:
            return found
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


@pytest.mark.parametrize(
    "subpackage", sorted(p.name for p in RUNTIME.iterdir() if (p / "__init__.py").is_file())
)
def test_each_subpackage_says_what_it_holds_and_may_import(subpackage: str) -> None:
    doc = ast.get_docstring(ast.parse((RUNTIME / subpackage / "__init__.py").read_text()))
    assert doc, f"runtime/{subpackage}/__init__.py has no docstring"
    if subpackage != "testing":
        assert "May import" in doc, (
            f"runtime/{subpackage}/__init__.py does not say what it may import"
        )
    modules = sorted(p.stem for p in (RUNTIME / subpackage).glob("*.py") if p.stem != "__init__")
    missing = [m for m in modules if m not in doc]
    assert not missing, f"runtime/{subpackage}/__init__.py does not mention {missing}"


def test_few_modules_at_the_top_of_runtime() -> None:
    top = sorted(p.name for p in RUNTIME.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    for subpackage in RANK:
        if subpackage not in ("leaves", "cli"):
            assert (RUNTIME / subpackage / "__init__.py").is_file(), subpackage


def test_client_modules_do_not_import_each_other_but_through_connect() -> None:
    clients = {"durable.runtime.client.http", "durable.runtime.client.in_process"}
    for imp in ALL_IMPORTS:
        if imp.source in clients:
            assert imp.target not in clients, f"{imp.source} imports {imp.target}"
