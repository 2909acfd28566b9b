"""The dashboard's modules type-check, and the dashboard agrees with the runtime on which statuses
are finished.

Every module starts with `// @ts-check` and carries JSDoc types; `tsc` (pinned below, run through
`npx`, which keeps it in the npm cache after the first run) checks them with
runtime/dashboard/jsconfig.json. Without `npx` the check is skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from durable.runtime.states import FINISHED

DASHBOARD = Path(__file__).resolve().parents[2] / "runtime" / "dashboard"
# Pinned: a new TypeScript may find new errors; bump it on purpose.
TYPESCRIPT = "typescript@5.9.3"
# The runtime's finished statuses: the dashboard's copy must be the same set.
RUNTIME_FINISHED = {str(status) for status in FINISHED}


def _modules() -> list[Path]:
    return sorted(DASHBOARD.glob("*.js"))


def test_every_module_is_type_checked() -> None:
    for module in _modules():
        assert module.read_text().startswith("// @ts-check\n"), f"{module.name}: add // @ts-check"


@pytest.mark.timeout(600)
def test_dashboard_type_checks() -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip(f"needs npx (Node.js) to run the TypeScript compiler ({TYPESCRIPT})")
    proc = subprocess.run(
        [npx, "--yes", "--prefer-offline", "-p", TYPESCRIPT, "tsc", "-p", "jsconfig.json"],
        cwd=DASHBOARD,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and "error TS" not in output and re.search(r"npm (ERR!|error)", output):
        pytest.skip(f"npx could not fetch {TYPESCRIPT} (offline, no npm cache?): {output[-400:]}")
    assert proc.returncode == 0, f"tsc found type errors in runtime/dashboard:\n{output}"


# -- the finished set: one definition in the JS, equal to the runtime's --


def test_finished_statuses_defined_once_and_match_the_runtime() -> None:
    ui = (DASHBOARD / "ui.js").read_text()
    found = re.findall(r"^export const FINISHED = new Set\(\[([^\]]*)\]\);$", ui, re.MULTILINE)
    assert len(found) == 1, "ui.js must define FINISHED once, as a literal Set"
    assert set(re.findall(r'"([^"]+)"', found[0])) == RUNTIME_FINISHED
    # no other copy: a literal list naming both "complete" and "terminated" appears only there
    copies = [
        (module.name, items)
        for module in _modules()
        for items in re.findall(r"\[([^\[\]]*)\]", module.read_text())
        if {'"complete"', '"terminated"'} <= set(re.findall(r'"[a-zA-Z]+"', items))
    ]
    assert copies == [("ui.js", found[0])], f"more than one finished set: {copies}"


def test_finished_statuses_in_the_browser(blank: Any) -> None:
    result = blank.evaluate(
        """async () => {
      const { FINISHED, isFinished } = await import('/ui.js');
      return { set: [...FINISHED], checks: ['complete', 'errored', 'terminated', 'running',
        'waiting', 'paused', 'waitingForPause', 'queued', 'unknown'].map(isFinished) };
    }"""
    )
    assert set(result["set"]) == RUNTIME_FINISHED
    assert result["checks"] == [True, True, True, False, False, False, False, False, False]
