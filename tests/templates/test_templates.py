"""Every template, created with `durable init`, passes its own tests and runs to completion."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DURABLE = str(Path(sys.executable).with_name("durable"))
TEMPLATES = ["hello", "approval", "dag", "dag-legacy", "retries"]


def run(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("templates")
    made = {}
    for template in TEMPLATES:
        result = run(DURABLE, "init", f"my-{template}", "--template", template, cwd=root)
        assert result.returncode == 0, result.stderr
        made[template] = root / f"my-{template}"
    return made


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_tests_pass(projects: dict[str, Path], template: str) -> None:
    result = run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=projects[template]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


@pytest.mark.parametrize(
    ("template", "workflow", "params", "expected"),
    [
        (
            "hello",
            "hello-workflow",
            {"name": "Ada"},
            {"greeting": "Hello, Ada!", "loud": "HELLO, ADA!"},
        ),
        (
            "dag",
            "dag-workflow",
            {"items": [{"sku": "a", "qty": 2, "price": 5}]},
            {"total": 10, "in_stock": True},
        ),
        ("dag-legacy", "dag-workflow", {}, {"total": 6, "in_stock": True}),
        ("retries", "retries-workflow", {}, {"flaky": {"attempts": 3}, "charge": "charged"}),
    ],
)
def test_trigger_wait_runs_to_completion(projects, template, workflow, params, expected) -> None:
    project = projects[template]
    result = run(
        DURABLE,
        "workflows",
        "trigger",
        workflow,
        json.dumps(params),
        "--wait",
        "--json",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "complete"
    assert document["output"] == expected
    shutil.rmtree(project / ".durable")


def test_approval_waits_then_completes_with_an_event(projects) -> None:
    project = projects["approval"]
    waiting = run(
        DURABLE,
        "workflows",
        "trigger",
        "approval-workflow",
        '{"item": "desk"}',
        "--id",
        "req-1",
        "--wait",
        "--json",
        cwd=project,
    )
    assert waiting.returncode == 0, waiting.stderr
    assert json.loads(waiting.stdout)["status"] == "waiting"
    # No server runs: the event is recorded, and the next engine to start delivers it.
    sent = run(
        DURABLE,
        "workflows",
        "instances",
        "send-event",
        "approval-workflow",
        "latest",
        "--type",
        "approval",
        "--payload",
        '{"approved": true, "by": "kim"}',
        cwd=project,
    )
    assert sent.returncode == 0, sent.stderr
    assert "durable dev" in sent.stdout + sent.stderr
