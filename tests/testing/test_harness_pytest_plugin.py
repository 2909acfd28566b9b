"""The plugin as a user meets it: a project and its tests in a folder, `python -m pytest` there.

Nothing here is imported from the test suite: the plugin must be active through its entry point
alone, and `from workers import ...` must work in the user's test files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC_FILE = re.compile(r"<!-- file: (?P<path>[\w./-]+) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def doc_example() -> dict[str, str]:
    """The files of the complete example in the README's "Testing your workflows" section."""
    files = {m["path"]: m["body"] for m in DOC_FILE.finditer((REPO / "README.md").read_text())}
    if "tests/test_order.py" in files:
        return files
    pytest.fail("the testing documentation's complete example (<!-- file: ... --> blocks) is gone")


@pytest.mark.slow
def test_the_documented_example_passes(tmp_path: Path) -> None:
    write(tmp_path, doc_example())
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


STRICT_WORKER = {
    "worker/wrangler.toml": """
        name = "strict"
        main = "src/entry.py"
        compatibility_date = "2026-03-01"
        compatibility_flags = ["python_workers"]

        [[workflows]]
        name = "greeter"
        binding = "GREETER"
        class_name = "Greeter"
    """,
    "worker/src/entry.py": """
        from workers import WorkflowEntrypoint

        class Greeter(WorkflowEntrypoint):
            async def run(self, event, step):
                @step.do()
                async def greet():
                    return f"hello {event.payload['name']}"
                await step.sleep("wait a bit", "10 minutes")
                return await greet()
    """,
    # Outside the project tree: the config is found from the working directory instead.
    "elsewhere/test_greeter.py": """
        import pytest
        from workers import WorkflowEntrypoint  # the shim is importable in user tests

        from durable.testing import introspect_workflow_instance

        @pytest.mark.asyncio  # strict mode: no asyncio_mode configured here
        async def test_greets(durable_env):
            assert issubclass(WorkflowEntrypoint, object)
            greeter = durable_env.env.GREETER
            async with introspect_workflow_instance(greeter, "g1") as instance:
                await greeter.create(id="g1", params={"name": "Ada"})
                await durable_env.advance("10 minutes")
                await instance.wait_for_status("complete")
                assert await instance.get_output() == "hello Ada"
                await instance.replay()

        @pytest.mark.asyncio
        async def test_fails_like_a_test(durable_env):
            async with introspect_workflow_instance(durable_env.env.GREETER, "g2") as instance:
                await durable_env.env.GREETER.create(id="g2", params={"name": "Bob"})
                await instance.wait_for_status("complete", timeout=0.1)
    """,
}


@pytest.mark.slow
def test_strict_mode_and_config_from_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path, STRICT_WORKER)
    result = run_pytest(tmp_path / "worker", "../elsewhere")
    output = result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout, output
    # The failing test explains why the instance does not finish, and how to move on.
    assert "waits on a sleep of 'wait a bit'" in output
    assert "durable_env.advance" in output
