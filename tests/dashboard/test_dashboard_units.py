"""The dashboard's pieces in isolation: assets that work offline, the timeline on canned
InstanceDetails (states that are slow to reach for real), the JSON viewer and the token hand-off.

The browser tests import the ES modules into a blank page served next to runtime/dashboard/; no
`durable dev` is needed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "runtime" / "dashboard"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def t(ms: int) -> str:
    moment = T0 + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- static checks: no build step, no CDN, nothing fetched from elsewhere --


def test_assets_are_self_contained() -> None:
    files = {p.name: p.read_text() for p in DASHBOARD.iterdir() if p.is_file()}
    assert {"index.html", "app.js", "style.css"} <= files.keys()
    index = files["index.html"]
    for ref in re.findall(r'(?:src|href)="([^"]+)"', index):
        assert ref.startswith("#") or ref in files, f"index.html refers to {ref!r}"
    for name, text in files.items():
        # only XML namespaces may name another host; nothing is loaded from one
        outside = [u for u in re.findall(r"https?://[^\s\"'`)<>]+", text) if "w3.org" not in u]
        # the doc comment in api.js shows the dashboard's own local address
        outside = [u for u in outside if not u.startswith("http://127.0.0.1:8787/")]
        assert not outside, f"{name} refers to {outside}"
        assert "@import" not in text and "fonts.googleapis" not in text
        if name.endswith(".js"):
            for target in re.findall(r'from\s+"([^"]+)"|import\("([^"]+)"\)', text):
                ref = next(filter(None, target))
                assert ref.startswith("./") and ref[2:] in files, f"{name} imports {ref!r}"
            assert "innerHTML" not in text, f"{name}: build DOM nodes, never HTML strings"
    assert len(files["app.js"].splitlines()) < 900


def test_dev_server_serves_this_folder() -> None:
    """`durable dev` serves runtime/dashboard/ itself, wherever its server module lives."""
    from durable.runtime.dev.server import DASHBOARD_DIR

    assert DASHBOARD_DIR.resolve() == DASHBOARD.resolve()
    assert (DASHBOARD_DIR / "index.html").is_file()


# -- the modules in a real browser --


RENDER = """async ([inst, now]) => {
  const { renderTimeline } = await import('/timeline.js');
  const el = renderTimeline(inst, { now: Date.parse(now) });
  document.body.replaceChildren(el);
  return [...el.querySelectorAll('.tl-row')].map((row) => ({
    name: row.querySelector('.tl-name').textContent,
    state: row.dataset.state || null,
    bars: [...row.querySelectorAll('.tl-bar')].map((b) => ({
      kind: [...b.classList].find((c) => c.startsWith('b-')),
      classes: [...b.classList],
      left: parseFloat(b.style.left),
      right: parseFloat(b.style.left) + parseFloat(b.style.width),
      label: b.getAttribute('aria-label'),
    })),
    text: row.textContent,
  }));
}"""


def render(page: Any, inst: dict[str, Any], now_ms: int) -> dict[str, dict[str, Any]]:
    rows = page.evaluate(RENDER, [inst, t(now_ms)])
    return {row["name"]: row for row in rows}


def attempt(start: int, end: int | None, success: bool | None, **extra: Any) -> dict[str, Any]:
    error = {"name": "Error", "message": "boom"} if success is False else None
    return {
        "start": t(start),
        "end": t(end) if end is not None else None,
        "success": success,
        "error": error,
        **extra,
    }


def instance(status: str, steps: list[dict[str, Any]], end: int | None = None) -> dict[str, Any]:
    return {
        "id": "x",
        "status": status,
        "queued": t(0),
        "start": t(0),
        "end": t(end) if end is not None else None,
        "params": {},
        "output": None,
        "error": None,
        "steps": steps,
    }


def test_timeline_shows_pending_retry_backoff(blank: Any) -> None:
    step = {
        "type": "step",
        "name": "charge-1",
        "start": t(0),
        "end": None,
        "success": None,
        "attempts": [
            attempt(0, 100, False),
            attempt(1100, 1200, False, next_retry=t(3200)),
        ],
    }
    rows = render(blank, instance("waiting", [step]), 1500)
    row = rows["charge-1"]
    assert row["state"] == "retry 3 in 1.70 s"
    assert [b["kind"] for b in row["bars"]] == ["b-fail", "b-backoff", "b-fail", "b-backoff"]
    first_gap, pending_gap = row["bars"][1], row["bars"][3]
    assert "Retry back-off after attempt 1: 1.00 s" in first_gap["label"]
    assert "retry at" in pending_gap["label"]
    # the near deadline is pulled into view rather than clipped
    assert "clipped" not in pending_gap["classes"] and pending_gap["right"] < 100
    assert "retry at" in row["text"]


def test_timeline_errored_step_and_timed_out_wait(blank: Any) -> None:
    steps = [
        {
            "type": "waitForEvent",
            "name": "approval-1",
            "event_type": "approve",
            "start": t(0),
            "end": t(1000),
            "timeout": t(1000),
            "finished": True,
            "error": {"name": "WorkflowTimeoutError", "message": "timed out"},
            "output": None,
        },
        {
            "type": "step",
            "name": "pay-1",
            "start": t(1000),
            "end": t(4000),
            "success": False,
            "attempts": [
                attempt(1000, 1100, False),
                attempt(2100, 2200, False),
                attempt(3900, 4000, False),
            ],
            "error": {"name": "Error", "message": "boom"},
        },
    ]
    rows = render(blank, instance("errored", steps, end=4000), 10_000)
    assert rows["approval-1"]["state"] == "timed out"
    assert [b["kind"] for b in rows["approval-1"]["bars"]] == ["b-timeout"]
    pay = rows["pay-1"]
    assert pay["state"] == "failed after 3 attempts"
    assert [b["kind"] for b in pay["bars"]].count("b-fail") == 3
    assert [b["kind"] for b in pay["bars"]].count("b-backoff") == 2
    run = rows["Workflow run"]
    assert run["bars"][0]["kind"] == "b-run-errored"


def test_timeline_clips_far_deadlines_and_shows_wake_time(blank: Any) -> None:
    steps = [
        {
            "type": "sleep",
            "name": "nap-1",
            "start": t(0),
            "end": t(86_400_000),
            "finished": False,
            "error": None,
        }
    ]
    rows = render(blank, instance("waiting", steps), 2000)
    nap = rows["nap-1"]
    assert [b["kind"] for b in nap["bars"]] == ["b-sleep", "b-sleep-rest"]
    rest = nap["bars"][1]
    assert "clipped" in rest["classes"] and rest["right"] == pytest.approx(100)
    # a day away does not squash the 2 s that happened: the elapsed part keeps its width
    assert nap["bars"][0]["right"] > 80
    assert "wakes" in nap["text"] and "in 23h" in nap["text"]


def test_timeline_after_termination(blank: Any) -> None:
    steps: list[dict[str, Any]] = [
        {
            "type": "step",
            "name": "slow-1",
            "start": t(0),
            "end": None,
            "success": None,
            "attempts": [attempt(0, None, None)],
        },
        {"type": "termination", "trigger": {"source": "api"}},
    ]
    rows = render(blank, instance("terminated", steps, end=3000), 60_000)
    slow = rows["slow-1"]
    assert slow["state"] == "did not finish"
    bar = slow["bars"][0]
    assert bar["kind"] == "b-run"
    # the clock stopped at termination: the open attempt ends there, not at "now"
    assert bar["right"] == pytest.approx(100 / 1.03, abs=0.5)
    assert "Terminated" in rows
    assert blank.locator(".tl-term").count() == 1 and blank.locator(".tl-now").count() == 0


def test_json_viewer_cuts_long_values(blank: Any) -> None:
    result = blank.evaluate(
        """async () => {
      const { jsonView } = await import('/ui.js');
      const value = { rows: Array.from({ length: 120 }, (_, i) => ({ i, text: 'x'.repeat(20) })),
                      long: 'y'.repeat(1000) };
      const el = jsonView(value, { label: 'big' });
      document.body.replaceChildren(el);
      const more = [...el.querySelectorAll('button')].map((b) => b.textContent);
      el.querySelector('.json-more').click();
      return { cut: el.classList.contains('json-cut'), more };
    }"""
    )
    assert "… 70 more" in result["more"]  # arrays show 50 items, then a button
    assert any(m.startswith("show ") for m in result["more"])  # long strings are cut
    assert any(m.startswith("Show all (") for m in result["more"])  # and the whole value
    assert result["cut"] is False  # after clicking "Show all"


def test_token_moves_from_url_to_session_storage(blank: Any, static_dashboard: str) -> None:
    blank.goto(static_dashboard + "/blank.html#/workflows/w?status=running&token=s3cr%20t")
    state = blank.evaluate(
        """async () => {
      const { captureToken } = await import('/api.js');
      captureToken();
      return { hash: location.hash, token: sessionStorage.getItem('durable.apiToken') };
    }"""
    )
    assert state == {"hash": "#/workflows/w?status=running", "token": "s3cr t"}
