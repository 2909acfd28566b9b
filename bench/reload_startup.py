"""`durable dev` start → first response, and save → new code answering.

    python bench/reload_startup.py [--runs N] [--quick] [--json]

Start: from spawning `durable dev --port P` (the real console script, so CLI start-up counts)
until `GET /` first answers 200. A client connecting before the worker serves waits in the
accept backlog, which is what a user's browser would do.

Reload: with one `durable dev` running, from just before the entry module is rewritten until
`GET /` first answers with the new code's text (polled with fresh connections every 2 ms). Saves
are 0.4 s apart, as a person's are, so the warm spare worker is back between them.

Prints a summary, then (with --json) one line of JSON; always writes the figures to
bench/results/reload_startup.json. Medians are what the targets (≤ 500 ms each) refer to.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "reload_startup.json"
DURABLE = Path(sys.executable).parent / "durable"

CONFIG = """name = "bench-reload"
main = "src/entry.py"
compatibility_date = "2026-03-01"
compatibility_flags = ["python_workers"]

[[workflows]]
name = "my-workflow"
binding = "MY_WORKFLOW"
class_name = "MyWorkflow"
"""

ENTRY = """from workers import Response, WorkerEntrypoint, WorkflowEntrypoint

VERSION = "{version}"


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("only")
        async def only():
            return VERSION

        return await only()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(VERSION)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 10.0) -> str | None:
    """The body of GET url, or None if the connection is refused (not listening yet)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode()
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return None
        raise
    except (ConnectionResetError, ConnectionRefusedError):
        return None


def write_project(root: Path, version: str) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "wrangler.toml").write_text(CONFIG)
    entry = root / "src" / "entry.py"
    entry.write_text(ENTRY.format(version=version))
    return entry


def spawn(root: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(DURABLE), "dev", "--port", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure_start(root: Path) -> float:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    began = time.perf_counter()
    proc = spawn(root, port)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"durable dev exited with {proc.returncode}")
            if get(url) is not None:
                return (time.perf_counter() - began) * 1000
            time.sleep(0.002)
    finally:
        stop(proc)


def measure_reloads(root: Path, entry: Path, runs: int) -> list[float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = spawn(root, port)
    samples: list[float] = []
    try:
        deadline = time.monotonic() + 30
        while get(url) is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("durable dev did not start")
            time.sleep(0.01)
        time.sleep(1.0)  # let the spare worker and the file watchers settle
        for run in range(runs):
            version = f"v{run + 2}"
            began = time.perf_counter()
            entry.write_text(ENTRY.format(version=version))
            while get(url) != version:
                if time.perf_counter() - began > 30:
                    raise RuntimeError(f"{version} never answered")
                time.sleep(0.002)
            samples.append((time.perf_counter() - began) * 1000)
            time.sleep(0.4)
    finally:
        stop(proc)
    return samples


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "samples": [round(s, 1) for s in samples],
        "median": round(statistics.median(samples), 1),
        "min": round(ordered[0], 1),
        "max": round(ordered[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="samples of each figure (10)")
    parser.add_argument("--quick", action="store_true", help="3 samples of each figure")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    if not DURABLE.exists():
        print(f"{DURABLE} not found: install durable into this interpreter's environment")
        return 1
    with tempfile.TemporaryDirectory(prefix="durable-bench-reload-") as tmp:
        root = Path(tmp)
        entry = write_project(root, "v1")
        get_ready = measure_start(root)  # warm the OS file cache before measuring
        del get_ready
        start_ms = [measure_start(root) for _ in range(runs)]
        write_project(root, "v1")
        reload_ms = measure_reloads(root, entry, runs)
    result = {
        "start_ms": summary(start_ms),
        "reload_ms": summary(reload_ms),
        "targets_ms": {"start": 500, "reload": 500},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"durable dev start → first response: median {result['start_ms']['median']} ms "
        f"(min {result['start_ms']['min']}, max {result['start_ms']['max']}, n={runs})"
    )
    print(
        f"save → new code answering:          median {result['reload_ms']['median']} ms "
        f"(min {result['reload_ms']['min']}, max {result['reload_ms']['max']}, n={runs})"
    )
    print(f"written to {RESULTS.relative_to(BENCH.parent)}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
