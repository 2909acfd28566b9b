"""User code's local time zone is UTC, as in workerd, whatever the host's zone (audit 20).

Each case runs in a subprocess with TZ set to a zone west and one east of UTC: `durable_env`,
`trigger --wait` with its embedded engine, and `durable dev`. The docs' example,
`step.sleep_until("…", datetime.now() + timedelta(seconds=…))`, must sleep that long.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from durable.runtime.dev.discovery import find_server

ENTRY = """
import time
from datetime import UTC, datetime, timedelta

from workers import WorkflowEntrypoint

LOADED_OFFSET = time.localtime().tm_gmtoff


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do()
        async def zone():
            naive = datetime.now()
            return {
                "loaded_offset": LOADED_OFFSET,
                "offset": time.localtime().tm_gmtoff,
                "name": time.strftime("%Z"),
                "skew": abs((naive - datetime.now(UTC).replace(tzinfo=None)).total_seconds()),
                "naive_is_utc": abs(naive.timestamp() - time.time()) < 5,
            }

        @step.do()
        async def before():
            return time.time()

        info = await zone()
        started = await before()
        seconds = event.payload["seconds"]
        await step.sleep_until("wake", datetime.now() + timedelta(seconds=seconds))

        @step.do()
        async def after():
            return time.time()

        info["slept"] = await after() - started
        return info
"""

ZONES = ["America/New_York", "Asia/Tokyo"]


def durable_command() -> list[str]:
    script = Path(sys.executable).parent / "durable"
    return [str(script)] if script.exists() else [sys.executable, "-m", "durable.cli.app"]


def zoned_env(zone: str) -> dict[str, str]:
    return {**os.environ, "TZ": zone, "NO_COLOR": "1"}


def assert_utc(info: dict[str, Any]) -> None:
    assert info["loaded_offset"] == 0, info
    assert info["offset"] == 0, info
    assert info["name"] == "UTC", info
    assert info["skew"] < 5, info
    assert info["naive_is_utc"] is True, info


@pytest.mark.parametrize("zone", ZONES)
def test_durable_env_runs_user_code_in_utc(zone: str, project, tmp_path: Path) -> None:
    config = project(ENTRY)
    script = tmp_path / "check.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, json, time
            from pathlib import Path
            from durable.testing import open_env

            async def main():
                host = time.localtime().tm_gmtoff
                async with open_env({str(config)!r}, persist_dir=Path({str(tmp_path / "store")!r})) as env:
                    handle = await env.env.MY_WORKFLOW.create(params={{"seconds": 600}})
                    await env.settle()
                    await env.advance("9 minutes")
                    waiting = (await handle.status())["status"]
                    await env.advance("2 minutes")
                    status = await handle.status()
                print(json.dumps({{"host": host, "after": time.localtime().tm_gmtoff,
                                   "waiting": waiting, "status": status["status"],
                                   "output": status["output"]}}))

            asyncio.run(main())
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        env=zoned_env(zone),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["host"] != 0  # the zone really was not UTC
    assert result["waiting"] == "waiting"  # not woken early (Tokyo would sleep 9 h, NY not at all)
    assert result["status"] == "complete", result
    assert_utc(result["output"])
    assert result["after"] == result["host"]  # the test's process gets its zone back


def trigger_wait(root: Path, zone: str, seconds: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            *durable_command(),
            "workflows",
            "trigger",
            "my-workflow",
            json.dumps({"seconds": seconds}),
            "--wait",
            "--json",
        ],
        cwd=root,
        env=zoned_env(zone),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    details = json.loads(done.stdout)
    assert details["status"] == "complete", details
    return details["output"]


@pytest.mark.parametrize("zone", ZONES)
def test_trigger_wait_and_durable_dev_run_user_code_in_utc(
    zone: str, project, tmp_path: Path
) -> None:
    project(ENTRY)
    # no server: the embedded engine runs the instance in the CLI's process
    info = trigger_wait(tmp_path, zone, 2)
    assert_utc(info)
    assert 2 <= info["slept"] < 15, info

    log = (tmp_path / "dev.log").open("wb")
    server = subprocess.Popen(
        [*durable_command(), "dev", "--port", "0", "--no-reload"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=zoned_env(zone),
    )
    try:
        deadline = time.monotonic() + 30
        while find_server(tmp_path / ".durable") is None:
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            assert server.poll() is None, (tmp_path / "dev.log").read_text()
            time.sleep(0.1)
        info = trigger_wait(tmp_path, zone, 2)  # through the server
        assert_utc(info)
        assert 2 <= info["slept"] < 15, info
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
