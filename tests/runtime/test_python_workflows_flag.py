"""Audit 7: a Python WorkflowEntrypoint runs only under the `python_workflows` compat flag.

`python_workers` implies it from compatibility_date 2025-09-20 (workerd's
`$impliedByAfterDate`); before that, or with `disable_python_workflows`, production cannot run
the workflow, so every way of starting one (open_runtime, `durable_env`, `trigger --wait`,
`durable dev`, all through the loader) refuses at start with the one-line fix.
"""

from __future__ import annotations

import pytest

from durable.runtime.config import load_config
from durable.runtime.errors import ConfigError
from durable.testing import open_env

ENTRY = """
from workers import WorkflowEntrypoint

class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        return "ran"
"""

DOCS = (
    "you must add both python_workflows and python_workers compatibility flags to your "
    "Wrangler configuration file"
)


@pytest.mark.parametrize(
    ("date", "flags", "fix"),
    [
        ("2025-09-19", ("python_workers",), 'add "python_workflows" to compatibility_flags'),
        (
            "2026-03-01",
            ("python_workers", "disable_python_workflows"),
            'remove "disable_python_workflows"',
        ),
    ],
)
async def test_a_workflow_without_the_flag_is_refused_at_start(
    project, runtime_factory, date: str, flags: tuple[str, ...], fix: str
):
    config = project(ENTRY, compatibility_date=date, flags=flags)
    with pytest.raises(ConfigError) as info:
        await runtime_factory(config)
    message = str(info.value)
    where = load_config(config).path
    assert message.startswith(f"{where}: compatibility_flags: MyWorkflow: Python Workflows need")
    assert DOCS in message
    assert f"Fix: {fix}" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("date", "flags"),
    [
        ("2025-09-20", ("python_workers",)),  # implied from this date on
        ("2025-01-01", ("python_workers", "python_workflows")),
    ],
)
async def test_the_flag_given_or_implied_runs_the_workflow(
    project, runtime_factory, date: str, flags: tuple[str, ...]
):
    config = project(ENTRY, compatibility_date=date, flags=flags)
    assert load_config(config).python_workflows is True
    runtime = await runtime_factory(config)
    await runtime.env.MY_WORKFLOW.create({"id": "i1"})
    row = await runtime.engine.wait_for("my-workflow", "i1", ("complete", "errored"), timeout=10)
    assert row.status == "complete"


async def test_durable_env_refuses_it_too(project):
    config = project(ENTRY, compatibility_date="2025-08-20", flags=("python_workers",))
    with pytest.raises(ConfigError, match="compatibility_date 2025-08-20 \\(before 2025-09-20\\)"):
        async with open_env(config, persist_dir=config.parent / ".durable"):
            pass


async def test_a_worker_without_workflows_needs_no_flag(tmp_path, runtime_factory):
    (tmp_path / "entry.py").write_text("from workers import Response\n")
    config = tmp_path / "wrangler.toml"
    config.write_text(
        'name = "w"\nmain = "entry.py"\ncompatibility_date = "2025-01-01"\n'
        'compatibility_flags = ["python_workers"]\n'
    )
    runtime = await runtime_factory(config)
    assert runtime.code is not None and runtime.code.workflow_classes == {}
