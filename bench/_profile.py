"""Turn a cProfile dump into a short table of where the time goes."""

from __future__ import annotations

import pstats
from pathlib import Path
from typing import Any


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name  # a builtin, e.g. <method 'execute' of 'sqlite3.Connection' objects>
    path = Path(filename)
    parts = path.parts
    for anchor in (
        "runtime",
        "asyncio",
        "aiosqlite",
        "json",
        "sqlite3",
        "cli",
        "starlette",
        "uvicorn",
        "bench",
    ):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            return f"{'/'.join(parts[index:])}:{line} {name}"
    return f"{path.name}:{line} {name}"


def summarize(
    path: Path, top: int = 15, include: tuple[str, ...] = ("runtime/", "aiosqlite/")
) -> dict[str, Any]:
    """Top functions by own time, and by cumulative time among functions whose file path
    contains one of `include`, as % of the profiled total."""
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values()) or 1.0
    by_own = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    by_cum = sorted(
        ((k, v) for k, v in raw.items() if any(i in k[0] for i in include)),
        key=lambda kv: kv[1][3],
        reverse=True,
    )[:top]
    return {
        "total_s": total,
        "own": [
            {"function": _label(k), "calls": v[1], "own_s": v[2], "own_pct": 100 * v[2] / total}
            for k, v in by_own
        ],
        "cumulative": [
            {"function": _label(k), "calls": v[1], "cum_s": v[3], "cum_pct": 100 * v[3] / total}
            for k, v in by_cum
        ],
    }


def markdown(summary: dict[str, Any], top: int = 12) -> str:
    lines = [
        f"Profiled total {summary['total_s']:.2f} s (all threads' Python own time in the "
        "main thread's profile).",
        "",
        "| own time | % | calls | function |",
        "|---:|---:|---:|---|",
    ]
    for item in summary["own"][:top]:
        lines.append(
            f"| {item['own_s']:.3f} s | {item['own_pct']:.1f}% | {item['calls']:,} | "
            f"`{item['function']}` |"
        )
    lines += [
        "",
        "| cumulative | % | calls | function (durable and its libraries) |",
        "|---:|---:|---:|---|",
    ]
    for item in summary["cumulative"][:top]:
        lines.append(
            f"| {item['cum_s']:.3f} s | {item['cum_pct']:.1f}% | {item['calls']:,} | "
            f"`{item['function']}` |"
        )
    return "\n".join(lines)


# Leaf frames of threads that are blocked, not working: py-spy cannot always tell them apart
# from busy ones here (no --idle), so they are counted as idle and left out of the percentages.
IDLE_LEAVES = (
    "_connection_worker_thread ",
    "WorkerThread.run ",
    "_worker (",
    "Popen._try_wait ",
    "Condition.wait ",
    "Thread.join ",
    "Event.wait ",
    "_wait_for_tstate_lock ",
)


def summarize_folded(path: Path, top: int = 15) -> dict[str, Any]:
    """py-spy `--format raw` (folded stacks, all threads, maybe several processes): own and
    inclusive % per function, over the busy samples."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0
    idle = 0
    waiting: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        raw = [f for f in stack.split(";") if f]
        process = ""
        for f in raw:
            if f.startswith("process "):
                process = (
                    "worker"
                    if "runtime.worker" in f
                    else ("supervisor" if "durable dev" in f else f.split(":", 1)[0])
                )
        frames = [_frame(f) for f in raw if not f.startswith("process ")]
        if not frames:
            continue
        if frames[-1].startswith(IDLE_LEAVES):
            idle += count
            continue
        if frames[-1].startswith("EpollSelector.select "):
            waiting[process or "main"] = waiting.get(process or "main", 0) + count
            continue
        total += count
        if any("aiosqlite/" in f for f in frames):
            thread = "writer/reader threads (aiosqlite)"
        elif any("asyncio/" in f for f in frames):
            thread = "event loop"
        else:
            thread = "other"
        label = f"{process} {thread}".strip()
        threads[label] = threads.get(label, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    total = total or 1
    durable = {k: v for k, v in inclusive.items() if "runtime/" in k}
    return {
        "samples": total,
        "idle_samples": idle,
        "select_samples": waiting,
        "threads": {k: 100 * v / total for k, v in sorted(threads.items(), key=lambda kv: -kv[1])},
        "own": [
            {"function": k, "pct": 100 * v / total}
            for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:top]
        ],
        "inclusive": [
            {"function": k, "pct": 100 * v / total}
            for k, v in sorted(durable.items(), key=lambda kv: -kv[1])[:top]
        ],
    }


def _frame(text: str) -> str:
    """'Store.put_step (runtime/store.py:282)' -> 'Store.put_step (runtime/store.py)'."""
    name, _, where = text.partition(" (")
    where = where.rstrip(")")
    filename = where.rsplit(":", 1)[0]
    for anchor in (
        "runtime/",
        "asyncio/",
        "aiosqlite/",
        "json/",
        "dataclasses",
        "copy.py",
        "uuid.py",
        "inspect.py",
        "selectors.py",
        "threading.py",
    ):
        index = filename.find(anchor)
        if index >= 0:
            filename = filename[index:]
            break
    else:
        filename = Path(filename).name
    return f"{name} ({filename})"


def markdown_folded(summary: dict[str, Any], top: int = 12) -> str:
    threads = ", ".join(f"{k} {v:.0f}%" for k, v in summary["threads"].items())
    waits = ", ".join(f"{k} {v:,}" for k, v in summary["select_samples"].items()) or "none"
    lines = [
        f"py-spy, {summary['samples']:,} busy samples over all threads ({threads}). Left "
        f"out: {summary['idle_samples']:,} samples of threads blocked on a queue or a "
        f"child, and event loops idle in `select` ({waits} samples).",
        "",
        "| own % | function (leaf of the stack) |",
        "|---:|---|",
    ]
    lines += [f"| {i['pct']:.1f}% | `{i['function']}` |" for i in summary["own"][:top]]
    lines += ["", "| inclusive % | durable function |", "|---:|---|"]
    lines += [f"| {i['pct']:.1f}% | `{i['function']}` |" for i in summary["inclusive"][:top]]
    return "\n".join(lines)


def import_times(stderr: str) -> list[tuple[str, int, int, int]]:
    """Parse `python -X importtime` output: (module, self µs, cumulative µs, depth)."""
    out = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        self_us, cum_us, name = parts
        depth = (len(name) - len(name.lstrip(" "))) // 2
        out.append((name.strip(), int(self_us), int(cum_us), depth))
    return out


def markdown_imports(label: str, stderr: str, top: int = 10) -> str:
    """The slowest imports of one command: top-level ones by cumulative time, and the
    modules with the most time of their own."""
    entries = import_times(stderr)
    if not entries:
        return f"(no -X importtime output for {label})"
    total = sum(e[1] for e in entries)
    roots = sorted((e for e in entries if e[3] <= 1), key=lambda e: -e[2])[:top]
    own = sorted(entries, key=lambda e: -e[1])[:top]
    return (
        f"`{label}` imports {total / 1000:.0f} ms in total (`python -X importtime`). "
        "Slowest top-level imports (cumulative): "
        + ", ".join(f"`{m}` {c / 1000:.1f} ms" for m, _s, c, _d in roots)
        + ". Most time of their own: "
        + ", ".join(f"`{m}` {s / 1000:.1f} ms" for m, s, _c, _d in own)
        + "."
    )
