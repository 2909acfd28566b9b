"""Running a conformance workflow through durable: a project on disk, opened with `open_env`."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from durable.testing import open_env

IMPLICIT_DATE = "2026-03-01"  # step.do with implicit dependencies
LEGACY_DATE = "2025-11-02"  # step.do("name", depends=[...])
TERMINAL = {"complete", "errored", "terminated"}


def write_project(
    root: Path, source: str, class_name: str, implicit: bool, env_vars: dict[str, str]
) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "worker.py").write_text(textwrap.dedent(source))
    date = IMPLICIT_DATE if implicit else LEGACY_DATE
    var_lines = "".join(f'{k} = "{v}"\n' for k, v in env_vars.items())
    config = root / "wrangler.toml"
    config.write_text(
        f'name = "conformance"\nmain = "src/worker.py"\ncompatibility_date = "{date}"\n'
        # The fake JS engine rethrows a NonRetryableError as it is: the preserving behaviour
        'compatibility_flags = ["python_workers", "workflows_preserve_non_retryable_error_message"]\n'
        + (f"[vars]\n{var_lines}" if var_lines else "")
        + f'[[workflows]]\nname = "conformance"\nbinding = "CASE"\nclass_name = "{class_name}"\n'
    )
    return config


async def run_workflow(
    root: Path,
    source: str,
    class_name: str,
    *,
    params: Any,
    implicit: bool,
    env_vars: dict[str, str] | None = None,
) -> tuple[str, Any]:
    """Run one instance to its end: ("complete", output) or ("errored", (name, message))."""
    config = write_project(root, source, class_name, implicit, env_vars or {})
    async with open_env(config, persist_dir=root / ".durable") as env:
        handle = await env.env.CASE.create(id="conformance-1", params=params)
        await env.settle()
        for _ in range(100):
            status = await handle.status()
            if status["status"] in TERMINAL:
                break
            await env.advance("1 hour")
        else:
            raise AssertionError(f"the instance never finished: {status}")
        if status["status"] == "complete":
            return ("complete", status.get("output"))
        error = status.get("error") or {}
        return (status["status"], (error.get("name"), error.get("message")))
