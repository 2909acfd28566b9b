// @ts-check
// The panels of the instances page (one workflow's instances), each rendering one part from the
// data it is given: the head, the status filter tabs, the exact-ID lookup, the "delete selected"
// button, the table with its rows, and the pager. instances.js keeps the state and composes them.

import { h, icon, badge, STATUSES, fmtDateTime, fmtDuration, fmtInt, parseTime, empty, reconcile,
  totalCount } from "./ui.js";
import { link } from "./router.js";

/** @typedef {import("./api.js").Instance} Instance */
/** @typedef {import("./api.js").InstanceSummary} InstanceSummary */
/** @typedef {import("./api.js").StatusCounts} StatusCounts */
/** @typedef {import("./api.js").Status} Status */

/**
 * The result of looking an instance id up across all pages.
 * @typedef {{id: string, found: Instance | null, error?: string | null}} Lookup
 */

/**
 * The page title, the workflow's class (set later) and the page's buttons.
 * @param {string} workflow
 * @param {{onTrigger: () => void, onDeleteAll: () => void}} handlers
 * @returns {{node: HTMLElement, setSubtitle: (text: string) => void}}
 */
export function instancesHead(workflow, { onTrigger, onDeleteAll }) {
  const sub = h("p.page-sub.mono", "");
  const node = h("div.page-head",
    h("div", h("h1#inst-title", workflow), sub),
    h("div.head-actions",
      h("button.btn.btn-primary", { type: "button", onclick: onTrigger }, icon("plus"), "Trigger instance"),
      h("button.btn.btn-danger-ghost", { type: "button", onclick: onDeleteAll }, icon("trash"), "Delete all…")));
  return { node, setSubtitle: (text) => { sub.textContent = text; } };
}

/**
 * Filter tabs: "All" and one per status, each with its count. A click on another tab marks it
 * pressed and calls `onSelect(status)` ("" for all).
 * @param {{onSelect: (status: string) => void}} options
 * @returns {{node: HTMLElement, update: (counts: StatusCounts, active: string) => void, clear: () => void}}
 */
export function statusTabs({ onSelect }) {
  const node = h("div.tabs", { role: "group", "aria-label": "Filter by status" });
  /** @type {StatusCounts} */
  let counts = {};
  let active = "";
  function render() {
    /** @param {string} key @param {string} label @param {number} n */
    const tab = (key, label, n) => h("button.tab", { type: "button", "aria-pressed": String(active === key), "data-zero": n === 0,
      dataset: { status: key || "all" },
      onclick: () => { if (active !== key) { active = key; render(); onSelect(key); } } },
    key ? badge(key) : h("span.badge.s-all", h("span.badge-text", label)), h("span.tab-count", fmtInt(n)));
    node.replaceChildren(tab("", "All", totalCount(counts)), ...STATUSES.map(([key, label]) => tab(key, label, counts[key] || 0)));
  }
  return {
    node,
    update(newCounts, newActive) {
      counts = newCounts || {};
      active = newActive;
      render();
    },
    clear() { node.replaceChildren(); },
  };
}

/**
 * What the exact-ID lookup says: the match, or why there is none (nothing when the id is on this
 * page anyway).
 * @param {string} workflow
 * @param {Lookup | null} lookup
 * @param {{search: string, items: InstanceSummary[]}} page  the search text and this page's rows
 * @returns {HTMLElement[]}
 */
export function lookupCallout(workflow, lookup, { search, items }) {
  if (!lookup || !search) return [];
  if (lookup.found) {
    return [h("div.callout", icon("search"), h("span", "Exact match: "),
      h("a.mono", { href: link.instance(workflow, lookup.found.id) }, lookup.found.id), " ", badge(lookup.found.status),
      h("span.muted", ` created ${fmtDateTime(parseTime(lookup.found.queued))}`))];
  }
  const onPage = items.some((i) => i.id.includes(search));
  return onPage && !lookup.error ? [] : [h("div.callout.callout-muted", icon("search"),
    lookup.error ? `Lookup failed: ${lookup.error}` : `No instance with ID "${lookup.id}" in ${workflow}${onPage ? "" : "; nothing on this page matches either"}.`)];
}

/**
 * The "Delete selected (n)" button, disabled when nothing is selected.
 * @param {{onClick: () => void}} options
 * @returns {{node: HTMLButtonElement, update: (selected: number) => void}}
 */
export function deleteSelectedButton({ onClick }) {
  const node = h("button.btn.btn-sm.btn-danger-ghost", { type: "button", disabled: true, onclick: onClick }, icon("trash"), "Delete selected");
  return {
    node,
    update(n) {
      node.disabled = n === 0;
      /** @type {ChildNode} */ (node.lastChild).textContent = n ? `Delete selected (${n})` : "Delete selected";
    },
  };
}

/**
 * One instance row: checkbox, id link, status, times and duration (live while it runs).
 * @param {string} workflow
 * @param {InstanceSummary} item
 * @param {{selected: boolean, onToggle: (id: string, checked: boolean) => void, now?: number}} options
 * @returns {HTMLTableRowElement}
 */
export function instanceRow(workflow, item, { selected, onToggle, now = Date.now() }) {
  const started = parseTime(item.started_on);
  const ended = parseTime(item.ended_on);
  const check = h("input", { type: "checkbox", checked: selected, "aria-label": `Select ${item.id}`,
    onchange: () => onToggle(item.id, check.checked) });
  const duration = started == null ? h("span.muted", "—")
    : ended != null ? fmtDuration(ended - started)
      : h("span.live-dur", { dataset: { since: String(started) } }, fmtDuration(now - started));
  return h("tr", { dataset: { id: item.id, status: item.status } },
    h("td.col-check", check),
    h("td", h("a.mono.row-title", { href: link.instance(workflow, item.id) }, item.id)),
    h("td", badge(item.status)),
    h("td", h("time", { datetime: item.created_on, title: item.created_on }, fmtDateTime(parseTime(item.created_on)))),
    h("td.col-hide", started ? fmtDateTime(started) : h("span.muted", "—")),
    h("td.col-hide", ended ? fmtDateTime(ended) : h("span.muted", "—")),
    h("td.num", duration));
}

/**
 * What the table shows.
 * @typedef {object} TableView
 * @property {InstanceSummary[]} items  this page's rows
 * @property {Set<string>} selected  ids, on any page
 * @property {string} search  show only rows whose id contains it
 * @property {string} status  the status filter ("" for all), for the empty message
 */

/**
 * The instances table with its select-all box. Unchanged rows are kept between polls.
 * @param {string} workflow
 * @param {{onToggle: (id: string, checked: boolean) => void, onToggleAll: (checked: boolean) => void}} handlers
 * @returns {{node: HTMLElement, render: (view: TableView) => void, syncSelectAll: (items: InstanceSummary[], selected: Set<string>) => void,
 *   forget: () => void, notFound: (message: string) => void}}
 */
export function instancesTable(workflow, { onToggle, onToggleAll }) {
  const selectAll = h("input", { type: "checkbox", "aria-label": "Select all instances on this page" });
  selectAll.addEventListener("change", () => onToggleAll(selectAll.checked));
  const tbody = h("tbody");
  const node = h("div.table-wrap", h("table.table.inst-table",
    h("caption.sr-only", `Instances of ${workflow}, newest first`),
    h("thead", h("tr",
      h("th.col-check", { scope: "col" }, selectAll),
      h("th", { scope: "col" }, "Instance ID"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Created"), h("th.col-hide", { scope: "col" }, "Started"),
      h("th.col-hide", { scope: "col" }, "Ended"), h("th.num", { scope: "col" }, "Duration"))),
    tbody));
  /** @type {Map<string, {sig: string, node: Element}>} */
  const cache = new Map();

  /** @param {Child} content */
  const fullRow = (content) => h("tr", h("td", { colspan: 7 }, content));

  /** @param {TableView} view */
  function render({ items, selected, search, status }) {
    const visible = search ? items.filter((i) => i.id.includes(search)) : items;
    if (!visible.length) {
      cache.clear();
      const filtered = status ? ` with status ${status}` : "";
      tbody.replaceChildren(fullRow(search
        ? empty("No match on this page", "The exact ID lookup above searches every instance.")
        : empty(`No instances${filtered}`, ["Trigger one with the button above, from your Worker, or with ", h("code", `durable workflows trigger ${workflow}`), "."])));
    } else {
      reconcile(tbody, visible, (i) => i.id, (i) => `${JSON.stringify(i)}|${selected.has(i.id)}`,
        (i) => instanceRow(workflow, i, { selected: selected.has(i.id), onToggle }), cache);
    }
    tbody.querySelectorAll(".live-dur").forEach((el) => {
      el.textContent = fmtDuration(Date.now() - Number(/** @type {HTMLElement} */ (el).dataset.since));
    });
    syncSelectAll(items, selected);
  }

  /** @param {InstanceSummary[]} items @param {Set<string>} selected */
  function syncSelectAll(items, selected) {
    const onPage = items.filter((i) => selected.has(i.id)).length;
    selectAll.checked = onPage > 0 && onPage === items.length;
    selectAll.indeterminate = onPage > 0 && onPage < items.length;
  }

  return {
    node,
    render,
    syncSelectAll,
    forget: () => cache.clear(),
    notFound(message) {
      cache.clear();
      tbody.replaceChildren(fullRow(empty("Workflow not found", message, h("a", { href: link.workflows() }, "All workflows"))));
    },
  };
}

/** @typedef {import("./ui.js").Child} Child */

/**
 * "26–50 of 1,234 instances".
 * @param {{pageIndex: number, perPage: number, count: number, matching: number}} page
 * @returns {string}
 */
export function pageInfoText({ pageIndex, perPage, count, matching }) {
  const from = pageIndex * perPage + 1;
  return count
    ? `${fmtInt(from)}–${fmtInt(from + count - 1)} of ${fmtInt(matching)} instance${matching === 1 ? "" : "s"}`
    : `0 of ${fmtInt(matching)} instances`;
}

/**
 * The pager: position text, page size, newer/older buttons.
 * @param {{choices: number[], perPage: number, onNewer: () => void, onOlder: () => void, onPerPage: (n: number) => void}} options
 * @returns {{node: HTMLElement, update: (page: {text: string, hasNewer: boolean, hasOlder: boolean}) => void, clear: () => void}}
 */
export function pager({ choices, perPage, onNewer, onOlder, onPerPage }) {
  const info = h("span.page-info", { "aria-live": "polite" });
  const newer = h("button.btn.btn-sm", { type: "button", "aria-label": "Newer instances", onclick: onNewer }, "‹ Newer");
  const older = h("button.btn.btn-sm", { type: "button", "aria-label": "Older instances", onclick: onOlder }, "Older ›");
  const size = h("select.input.input-sm", { "aria-label": "Instances per page",
    onchange: () => onPerPage(Number(size.value)) },
  choices.map((n) => h("option", { value: String(n), selected: n === perPage }, `${n} / page`)));
  const node = h("div.pager", info, h("div.pager-buttons", size, newer, older));
  return {
    node,
    update({ text, hasNewer, hasOlder }) {
      info.textContent = text;
      newer.disabled = !hasNewer;
      older.disabled = !hasOlder;
    },
    clear() { info.textContent = ""; },
  };
}
