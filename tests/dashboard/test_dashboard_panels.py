"""The pages' panels on their own: each is rendered in a blank page from given data, and the DOM
is checked. No `durable dev` is needed (see conftest.py for the browser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def t(ms: int) -> str:
    moment = T0 + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def instance(
    status: str, steps: list[dict[str, Any]], end: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": "inst-1",
        "status": status,
        "trigger": {"source": "api"},
        "queued": t(0),
        "start": t(5),
        "end": t(end) if end is not None else None,
        "params": {"order": 7},
        "output": None,
        "error": None,
        "steps": steps,
        **extra,
    }


CHARGE = {
    "type": "step",
    "name": "charge-1",
    "start": t(5),
    "end": t(1205),
    "success": True,
    "config": {"retries": {"limit": 2, "delay": 400, "backoff": "constant"}},
    "attempts": [
        {
            "start": t(5),
            "end": t(105),
            "success": False,
            "error": {"name": "Error", "message": "gateway down"},
        },
        {"start": t(1105), "end": t(1205), "success": True, "error": None},
    ],
    "output": {"charge": "ch_1"},
}
NAP = {
    "type": "sleep",
    "name": "nap-1",
    "start": t(1205),
    "end": t(60_000),
    "finished": False,
    "error": None,
}


# -- instance page --


def test_summary_items(blank: Any) -> None:
    inst = instance(
        "terminated", [CHARGE, NAP, {"type": "termination", "trigger": {"source": "api"}}], end=2005
    )
    items = blank.evaluate(
        """async ([inst, now]) => {
      const { summaryItems } = await import('/instance-panels.js');
      const dl = document.createElement('dl');
      dl.replaceChildren(...summaryItems(inst, Date.parse(now)));
      document.body.replaceChildren(dl);
      return Object.fromEntries([...dl.querySelectorAll('.sum-item')].map((i) =>
        [i.querySelector('dt').textContent, i.querySelector('dd').textContent]));
    }""",
        [inst, t(9000)],
    )
    assert items["Status"] == "Terminated"
    assert items["Trigger"] == "api"
    assert items["Duration"] == "2.00 s"  # to its end, not to "now"
    assert items["Queue wait"] == "5 ms"
    assert items["Steps"] == "2"  # the termination marker is not a step


def test_actions_follow_the_status(blank: Any) -> None:
    states = blank.evaluate(
        """async () => {
      const { actionsPanel } = await import('/instance-panels.js');
      const clicked = [];
      const names = ['event', 'pause', 'resume', 'restart', 'terminate', 'remove'];
      const panel = actionsPanel(Object.fromEntries(names.map((n) => [n, () => clicked.push(n)])));
      document.body.replaceChildren(panel.node);
      const enabled = () => names.filter((n) => !panel.buttons[n].disabled);
      const out = {};
      for (const status of ['running', 'paused', 'complete', 'terminated']) {
        panel.update(status);
        out[status] = enabled();
      }
      panel.update(null);
      out.missing = enabled();
      panel.update('paused');
      panel.buttons.resume.click();
      out.clicked = clicked;
      out.toolbar = panel.node.getAttribute('role');
      return out;
    }"""
    )
    assert states["running"] == ["event", "pause", "restart", "terminate", "remove"]
    assert states["paused"] == ["event", "resume", "restart", "terminate", "remove"]
    assert states["complete"] == states["terminated"] == ["restart", "remove"]
    assert states["missing"] == []
    assert states["clicked"] == ["resume"]
    assert states["toolbar"] == "toolbar"


def test_step_card(blank: Any) -> None:
    cards = blank.evaluate(
        """async ([charge, nap, now, end]) => {
      const { stepCard } = await import('/instance-panels.js');
      const toggles = [];
      const done = stepCard(charge, { now: Date.parse(now), open: true, onToggle: (open) => toggles.push(open) });
      const cut = stepCard(nap, { now: Date.parse(now), stopped: true, end });
      document.body.replaceChildren(done, cut);
      const read = (card) => ({
        classes: [...card.classList], open: card.open, step: card.dataset.step,
        state: card.querySelector('.step-state').textContent,
        attempts: [...card.querySelectorAll('.attempts tbody tr')].map((r) => r.textContent),
        headings: [...card.querySelectorAll('h4')].map((x) => x.textContent),
        config: [...card.querySelectorAll('dd')].map((x) => x.textContent),
      });
      return { done: read(done), cut: read(cut) };
    }""",
        [CHARGE, NAP, t(5000), t(2005)],
    )
    done, cut = cards["done"], cards["cut"]
    assert "k-ok" in done["classes"] and done["open"] and done["step"] == "charge-1"
    assert done["state"] == "completed after 2 attempts"
    assert len(done["attempts"]) == 2 and "gateway down" in done["attempts"][0]
    assert done["headings"] == ["Output"]
    assert "2 retries · delay 400 ms · constant" in done["config"]
    assert "k-stop" in cut["classes"] and not cut["open"]
    assert cut["state"] == "did not finish"


def test_side_panels_params_output_events(blank: Any) -> None:
    events = {
        "received": [
            {
                "type": "approve",
                "payload": {"by": "ada"},
                "received_on": t(10),
                "consumed_by": "approval-1",
            }
        ],
        "buffered": [
            {"type": "ping", "payload": 1, "received_on": t(11), "consumed_by": None},
            {"type": "ping", "payload": 2, "received_on": t(12), "consumed_by": None},
        ],
    }
    inst = instance("errored", [], end=20, error={"name": "ValueError", "message": "bad order"})
    side = blank.evaluate(
        """async ([inst, events]) => {
      const { sidePanel } = await import('/instance-panels.js');
      const panel = sidePanel();
      document.body.replaceChildren(panel.node);
      panel.update(inst, events);
      const first = panel.node.firstChild;
      panel.update(inst, events);  // same data: nothing rebuilt
      const sections = [...panel.node.querySelectorAll('.side-panel')];
      return {
        kept: panel.node.firstChild === first,
        titles: sections.map((s) => s.getAttribute('aria-label')),
        output: sections[1].textContent,
        error: sections[2].textContent,
        heads: [...panel.node.querySelectorAll('h3')].map((x) => x.textContent),
        tags: [...panel.node.querySelectorAll('.event .tag')].map((x) => x.textContent),
      };
    }""",
        [inst, events],
    )
    assert side["kept"]
    assert side["titles"] == ["Params", "Output", "Error", "Events"]
    assert "run() returned nothing" in side["output"]
    assert side["error"] == "ErrorValueError: bad order"
    assert side["heads"] == ["Received (1)", "Buffered (2)"]
    assert side["tags"] == ["→ approval-1", "buffered", "buffered"]


# -- instances page --


def test_status_tabs(blank: Any) -> None:
    tabs = blank.evaluate(
        """async () => {
      const { statusTabs } = await import('/instances-panels.js');
      const picked = [];
      const panel = statusTabs({ onSelect: (s) => picked.push(s) });
      document.body.replaceChildren(panel.node);
      panel.update({ running: 2, complete: 1234, errored: 0 }, '');
      const read = () => [...panel.node.querySelectorAll('.tab')].map((b) => [
        b.dataset.status, b.querySelector('.tab-count').textContent, b.getAttribute('aria-pressed'),
        b.hasAttribute('data-zero')]);
      const before = read();
      panel.node.querySelector('[data-status="complete"]').click();
      panel.node.querySelector('[data-status="complete"]').click();  // already pressed: no call
      return { before, after: read(), picked };
    }"""
    )
    before = {status: rest for status, *rest in tabs["before"]}
    assert list(before)[:3] == ["all", "queued", "running"]
    assert before["all"] == ["1,236", "true", False]
    assert before["complete"] == ["1,234", "false", False]
    assert before["errored"] == ["0", "false", True]
    after = {status: pressed for status, _, pressed, _ in tabs["after"]}
    assert after["complete"] == "true" and after["all"] == "false"
    assert tabs["picked"] == ["complete"]


def test_instances_table_rows_selection_and_empty_states(blank: Any) -> None:
    items = [
        {
            "id": "b-running",
            "status": "running",
            "created_on": t(100),
            "started_on": t(110),
            "ended_on": None,
        },
        {
            "id": "a-done",
            "status": "complete",
            "created_on": t(0),
            "started_on": t(10),
            "ended_on": t(1510),
        },
    ]
    result = blank.evaluate(
        """async (items) => {
      const { instancesTable } = await import('/instances-panels.js');
      const toggled = [];
      const table = instancesTable('orders', { onToggle: (id, on) => toggled.push([id, on]), onToggleAll: () => {} });
      document.body.replaceChildren(table.node);
      const rows = () => [...table.node.querySelectorAll('tbody tr')];
      table.render({ items, selected: new Set(['a-done']), search: '', status: '' });
      const first = rows().map((r) => ({ id: r.dataset.id, status: r.dataset.status,
        href: r.querySelector('a').getAttribute('href'), checked: r.querySelector('input').checked,
        duration: r.lastChild.textContent, live: !!r.querySelector('.live-dur') }));
      const all = table.node.querySelector('thead input');
      const mixed = all.indeterminate;
      const kept = rows()[0];
      table.render({ items, selected: new Set(['a-done']), search: '', status: '' });
      const same = rows()[0] === kept;
      rows()[0].querySelector('input').click();
      table.render({ items, selected: new Set(), search: 'zzz', status: '' });
      const noMatch = table.node.querySelector('tbody').textContent;
      table.render({ items: [], selected: new Set(), search: '', status: 'errored' });
      const none = table.node.querySelector('tbody').textContent;
      return { first, mixed, same, toggled, noMatch, none };
    }""",
        items,
    )
    assert [r["id"] for r in result["first"]] == ["b-running", "a-done"]
    running, done = result["first"]
    assert running["href"] == "#/workflows/orders/instances/b-running" and running["live"]
    assert done["checked"] and done["duration"] == "1.50 s" and done["status"] == "complete"
    assert result["mixed"] is True  # one of two selected
    assert result["same"] is True  # unchanged rows are kept between polls
    assert result["toggled"] == [["b-running", True]]
    assert "No match on this page" in result["noMatch"]
    assert "No instances with status errored" in result["none"]
    assert "durable workflows trigger orders" in result["none"]


def test_pager_and_lookup(blank: Any) -> None:
    result = blank.evaluate(
        """async () => {
      const { pager, pageInfoText, lookupCallout } = await import('/instances-panels.js');
      const calls = [];
      const p = pager({ choices: [25, 50, 100], perPage: 50, onNewer: () => calls.push('newer'),
        onOlder: () => calls.push('older'), onPerPage: (n) => calls.push(n) });
      document.body.replaceChildren(p.node);
      p.update({ text: pageInfoText({ pageIndex: 1, perPage: 50, count: 50, matching: 1234 }), hasNewer: true, hasOlder: false });
      const [newer, older] = p.node.querySelectorAll('button');
      newer.click();
      const select = p.node.querySelector('select');
      select.value = '100';
      select.dispatchEvent(new Event('change'));
      const found = lookupCallout('orders', { id: 'x1', found: { id: 'x1', status: 'paused', queued: null } },
        { search: 'x1', items: [] });
      const missing = lookupCallout('orders', { id: 'zz', found: null }, { search: 'zz', items: [] });
      const onPage = lookupCallout('orders', { id: 'a', found: null }, { search: 'a', items: [{ id: 'abc' }] });
      return { info: p.node.querySelector('.page-info').textContent, selected: select.options[1].selected,
        newer: newer.disabled, older: older.disabled, calls,
        found: found.map((n) => n.textContent), href: found[0].querySelector('a').getAttribute('href'),
        missing: missing.map((n) => n.textContent), onPage: onPage.length,
        empty: pageInfoText({ pageIndex: 0, perPage: 25, count: 0, matching: 0 }) };
    }"""
    )
    assert result["info"] == "51–100 of 1,234 instances"
    assert result["newer"] is False and result["older"] is True
    assert result["calls"] == ["newer", 100]
    assert result["found"][0].startswith("Exact match: x1") and "Paused" in result["found"][0]
    assert result["href"] == "#/workflows/orders/instances/x1"
    assert result["missing"] == [
        'No instance with ID "zz" in orders; nothing on this page matches either.'
    ]
    assert result["onPage"] == 0
    assert result["empty"] == "0 of 0 instances"


def test_workflow_row(blank: Any) -> None:
    row = blank.evaluate(
        """async (wf) => {
      const { workflowRow, workflowsSubtitle } = await import('/workflows.js');
      const tr = workflowRow(wf);
      const table = document.createElement('table');
      table.append(tr);
      document.body.replaceChildren(table);
      return { workflow: tr.dataset.workflow, total: tr.querySelector('.big-num').textContent,
        chips: [...tr.querySelectorAll('.chip-link')].map((a) => [a.getAttribute('href'), a.textContent]),
        trigger: tr.querySelector('button').getAttribute('aria-label'),
        sub: workflowsSubtitle([wf, { ...wf, name: 'other', instances: {} }]) };
    }""",
        {
            "id": "w1",
            "name": "orders",
            "class_name": "OrderWorkflow",
            "script_name": "shop",
            "triggered_on": None,
            "instances": {"queued": 0, "running": 1, "complete": 2},
        },
    )
    assert row["workflow"] == "orders" and row["total"] == "3"
    assert row["chips"] == [
        ["#/workflows/orders?status=running", "Running1"],
        ["#/workflows/orders?status=complete", "Complete2"],
    ]
    assert row["trigger"] == "Trigger orders"
    assert row["sub"] == "2 workflows · 3 instances"
