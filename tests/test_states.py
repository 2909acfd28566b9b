"""Each state set is defined once, in `durable.runtime.states`, and everything else uses it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from durable.runtime.engine.store import InstanceRow, OfflineStore, run_now
from durable.runtime.states import FINISHED, LISTABLE, InstanceStatus, StepKind, StepType

ROOT = Path(__file__).resolve().parents[1]
FINISHED_VALUES = {str(s) for s in FINISHED}
# states.py defines the set; a shipped migration is frozen text (tested against it below).
EXEMPT = {"runtime/states.py", "runtime/engine/migrations.py"}


def _python_sources() -> list[Path]:
    return sorted(p for d in ("runtime", "cli") for p in (ROOT / d).rglob("*.py"))


def test_the_finished_set() -> None:
    assert FINISHED_VALUES == {"complete", "errored", "terminated"}
    assert set(LISTABLE) == set(InstanceStatus) - {InstanceStatus.UNKNOWN}


def test_states_imports_only_enum() -> None:
    # The CLI imports it at start-up: it must stay free.
    tree = ast.parse((ROOT / "runtime" / "states.py").read_text())
    imported: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"enum"}


def test_no_other_module_spells_the_finished_set() -> None:
    """A tuple, list or set of the three finished statuses, or an SQL list of them, anywhere
    but `states.py` is a second definition that can drift."""
    sql = re.compile(r"'(complete|errored|terminated)'")
    offenders: list[str] = []
    for path in _python_sources():
        if path.relative_to(ROOT).as_posix() in EXEMPT:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                values = {
                    e.value
                    for e in node.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                }
                if FINISHED_VALUES <= values:
                    offenders.append(where)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if sql.search(node.value):
                    offenders.append(where)
    assert offenders == []


def test_the_unfinished_query_matches_the_partial_index(tmp_path: Path) -> None:
    """SQLite uses the `instances_unfinished` partial index only when the query's WHERE
    term is the index's own: the enum-built SQL must come out as the migration spelled it."""
    from durable.runtime.engine import store as store_module
    from durable.runtime.engine.migrations import MIGRATIONS

    predicate = f"status NOT IN {store_module._FINISHED_SQL}"
    assert any(predicate in migration for migration in MIGRATIONS)
    store = OfflineStore.open_now(tmp_path / "s.sqlite3")
    try:
        plan = store._conn.execute(
            f"EXPLAIN QUERY PLAN SELECT pk FROM instances WHERE {predicate}"
        ).fetchall()
        assert any("instances_unfinished" in str(row) for row in plan), plan
    finally:
        run_now(store.close())


def test_the_dashboard_finished_set_matches() -> None:
    """runtime/dashboard/ui.js keeps `export const FINISHED = new Set([...])`: it must hold
    exactly `states.FINISHED`'s values."""
    source = (ROOT / "runtime" / "dashboard" / "ui.js").read_text()
    match = re.search(r"export const FINISHED = new Set\(\[([^\]]*)\]\)", source)
    assert match is not None, "ui.js no longer exports FINISHED as a Set literal"
    assert set(re.findall(r'"([^"]+)"', match.group(1))) == FINISHED_VALUES


def test_the_cli_filter_choices_are_the_listable_statuses() -> None:
    from cli.instances import Status

    assert [s.value for s in Status] == [s.value for s in LISTABLE]


def test_every_status_and_step_kind_has_a_label() -> None:
    from cli.render import STATUS_LABELS, STEP_TYPE_LABELS

    assert set(STATUS_LABELS) == set(InstanceStatus)
    assert set(StepKind) <= set(STEP_TYPE_LABELS)


def test_terminate_all_filters_are_the_unfinished_statuses() -> None:
    from durable.runtime.api import rest

    assert set(rest._UNFINISHED) == set(LISTABLE) - FINISHED


@pytest.mark.parametrize("given", list(StepType))
def test_a_restart_step_type_names_a_stored_kind(given: StepType) -> None:
    assert given.kind in set(StepKind)
    assert (given.kind == StepKind.STEP) == (given is StepType.DO)


def test_the_store_finds_unfinished_instances_by_the_enum(tmp_path: Path) -> None:
    store = OfflineStore.open_now(tmp_path / "s.sqlite3")
    try:
        for pk, status in enumerate(InstanceStatus, start=1):
            store.put_instance(
                InstanceRow(pk, "wf", f"i{pk}", status, None, None, None, "api", 0, None, None, 0)
            )
        unfinished = run_now(store.unfinished_instances())
        assert {row.status for row in unfinished} == set(InstanceStatus) - FINISHED
        assert all(row.finished == (row.status in FINISHED) for row in unfinished)
    finally:
        run_now(store.close())
