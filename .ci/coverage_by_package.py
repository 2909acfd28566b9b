"""Print line coverage per package from the .coverage file the test run left (no threshold).

    python .ci/coverage_by_package.py

Folders are named as the package they install as (runtime/testing/ is durable.testing). Only the
test process is measured: code that runs in the `durable dev` and CLI subprocesses the tests
start counts as missed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

import coverage


def package_of(path: str) -> str:
    parts = PurePosixPath(path).parent.parts
    if parts[:2] == ("runtime", "testing"):
        return ".".join(("durable", "testing", *parts[2:]))
    return ".".join(("durable", *parts))


def main() -> int:
    cov = coverage.Coverage()
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(report))
        files = json.loads(report.read_text())["files"]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, data in files.items():
        summary = data["summary"]
        for key in (package_of(Path(path).as_posix()), "TOTAL"):
            totals[key][0] += summary["num_statements"]
            totals[key][1] += summary["missing_lines"]
    width = max(len(name) for name in totals)
    print(f"\n{'coverage by package':<{width}}  {'stmts':>6}  {'miss':>6}  {'cover':>6}")
    for name in [*sorted(n for n in totals if n != "TOTAL"), "TOTAL"]:
        stmts, miss = totals[name]
        percent = 100 * (stmts - miss) / stmts if stmts else 100.0
        print(f"{name:<{width}}  {stmts:>6}  {miss:>6}  {percent:>5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
