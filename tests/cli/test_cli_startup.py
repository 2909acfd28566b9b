"""Start-up stays fast: importing the CLI loads no heavy module, and each command path loads
only what it needs (like typer's own test_rich_import). The timings themselves are measured
by a benchmark, not asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "rich",
    "pydantic",
    "aiosqlite",
    "asyncio",
    "sqlite3",
    "starlette",
    "uvicorn",
    "httpx",
    "json5",
    "http.client",
    "durable.runtime.client.loopback",
    "durable.runtime.engine.scheduler",
    "durable.runtime.api.service",
    "durable.runtime.engine.store",
    "durable.runtime.config",
)

PROBE = """
import json, sys
sys.argv = ["durable", *json.loads(sys.argv[1])]
from durable.cli.app import main
try:
    main()
except SystemExit:
    pass
print("LOADED=" + json.dumps(sorted(m for m in HEAVY if m in sys.modules)), file=sys.stderr)
"""


def loaded_after(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    code = f"HEAVY = {HEAVY!r}\n" + PROBE
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    lines = [x for x in proc.stderr.splitlines() if x.startswith("LOADED=")]
    assert lines, proc.stderr
    line = lines[0]
    return json.loads(line.removeprefix("LOADED="))


def test_importing_the_cli_loads_nothing_heavy(tmp_path):
    code = (
        "import json, sys\nimport durable.cli.app\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_help_loads_nothing_heavy(tmp_path):
    assert loaded_after(["--help"], tmp_path) == []
    assert loaded_after(["workflows", "instances", "list", "--help"], tmp_path) == []


def test_offline_reads_load_the_store_but_no_event_loop_pydantic_or_server(run, cli_project):
    assert run("workflows", "trigger", "my-workflow", "--wait").exit_code == 0
    for command in (
        ["workflows", "instances", "list", "my-workflow"],
        ["workflows", "instances", "describe", "my-workflow", "latest"],
        ["workflows", "list"],
    ):
        loaded = set(loaded_after(command, cli_project))
        assert "pydantic" not in loaded  # typer's pydantic coercion is bypassed (cli/coercion.py)
        assert not loaded & {"starlette", "uvicorn", "httpx", "http.client"}
        # The offline path reads through OfflineStore, with no event loop (runtime/store.py).
        assert not loaded & {"asyncio", "aiosqlite", "durable.runtime.engine.scheduler"}
        assert {"durable.runtime.api.service", "sqlite3", "rich"} <= loaded


def test_http_path_loads_no_engine(cli_project):
    env = {
        "CLOUDFLARE_API_TOKEN": "t",
        "CLOUDFLARE_ACCOUNT_ID": "a",
        "CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:9/client/v4",  # the discard port: refused
    }
    loaded = loaded_after(["workflows", "list", "--remote"], cli_project, env)
    # Plain http goes through runtime/loopback.py: no http.client, email or ssl to import.
    assert "durable.runtime.client.loopback" in loaded and "http.client" not in loaded
    for module in (
        "durable.runtime.engine.scheduler",
        "durable.runtime.api.service",
        "aiosqlite",
        "pydantic",
    ):
        assert module not in loaded
