// durable dashboard: hash router, live polling, the workflows and instances pages.
// The instance page lives in instance.js, the timeline in timeline.js, helpers in ui.js and the
// API client in api.js. Routes:
//   #/                              workflows with instance counts per status
//   #/workflows/NAME[?status=S]     instances of a workflow
//   #/workflows/NAME/instances/ID   one instance: timeline, steps, events, actions

import { api, captureToken, setToken, INSTANCE_ID } from "./api.js";
import { h, icon, badge, STATUSES, fmtDateTime, fmtDuration, fmtInt, parseTime,
  toast, openDialog, jsonEditor, field, empty } from "./ui.js";
import { instancePage } from "./instance.js";
import { link, parseRoute, navigate, refreshNow, setRefresher, breadcrumbs } from "./router.js";

const POLL_MS = 700;
const PER_PAGE_CHOICES = [25, 50, 100];

// -- live polling: one loop for the open page, paused while the tab is hidden --

class Poller {
  constructor(fn) {
    this.fn = fn;
    this.timer = null;
    this.busy = false;
    this.again = false;
    this.stopped = false;
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
  async run() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.busy) { this.again = true; return; }
    if (document.hidden) { setLive("paused"); return; } // visibilitychange restarts us
    this.busy = true;
    try {
      await this.fn();
      setLive("ok");
    } catch (exc) {
      setLive("error", exc);
    } finally {
      this.busy = false;
    }
    if (this.stopped) return;
    if (this.again) { this.again = false; this.run(); return; }
    this.timer = setTimeout(() => this.run(), POLL_MS);
  }
}

let poller = null;
let currentPage = null;

function setLive(state, exc) {
  const el = document.getElementById("live");
  const text = el.querySelector(".live-text");
  el.dataset.state = state;
  if (state === "ok") {
    text.textContent = "Live";
    el.title = `Updating every ${POLL_MS} ms`;
    hideBanner();
  } else if (state === "paused") {
    text.textContent = "Paused";
    el.title = "Updates pause while this tab is hidden";
  } else {
    text.textContent = exc && exc.network ? "Offline" : "Error";
    el.title = exc ? exc.message : "";
    showBanner(exc);
  }
}

function showBanner(exc) {
  const banner = document.getElementById("banner");
  if (!exc) return;
  const children = [icon("alert"), h("span", exc.message)];
  if (exc.unauthorized) {
    const input = h("input.input", { type: "password", placeholder: "API token", "aria-label": "API token", autocomplete: "off" });
    children.push(h("form.banner-form", { onsubmit: (e) => { e.preventDefault(); setToken(input.value.trim()); refreshNow(); } },
      input, h("button.btn.btn-primary", { type: "submit" }, "Use token")));
  }
  if (banner.dataset.msg === exc.message && !banner.hidden) return;
  banner.dataset.msg = exc.message;
  banner.replaceChildren(...children);
  banner.hidden = false;
}

function hideBanner() {
  const banner = document.getElementById("banner");
  banner.hidden = true;
  banner.dataset.msg = "";
}

function mount() {
  poller?.stop();
  currentPage?.destroy?.();
  const route = parseRoute();
  const main = document.getElementById("main");
  if (route.page === "instance") currentPage = instancePage(route.workflow, route.id);
  else if (route.page === "instances") currentPage = instancesPage(route.workflow, route.query);
  else currentPage = workflowsPage();
  main.replaceChildren(currentPage.node);
  document.title = `${currentPage.title} · durable`;
  for (const a of document.querySelectorAll(".topnav a")) {
    a.toggleAttribute("aria-current", route.page === "workflows" && a.getAttribute("href") === "#/");
  }
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  poller = new Poller(currentPage.refresh);
  const mine = poller;
  setRefresher(() => mine.run());
  mine.run();
}

// -- shared pieces --

/** Trigger dialog: optional id + JSON params, validated before sending. */
export function openTriggerDialog(workflow) {
  const idInput = h("input.input.mono", { type: "text", placeholder: "generated if empty", autocomplete: "off", maxlength: 100 });
  const idStatus = h("p.field-status", { "aria-live": "polite" });
  const params = jsonEditor({ id: "trigger-params", label: "Params (JSON)", initial: "{}",
    hint: "Passed to run() as event.payload. Leave empty to send no params.", optional: true });
  const idOk = () => {
    const v = idInput.value.trim();
    const ok = !v || (v.length <= 100 && INSTANCE_ID.test(v));
    idStatus.className = `field-status ${ok ? "muted" : "bad"}`;
    idStatus.textContent = ok ? "" : "✕ Use at most 100 letters, digits, '-' or '_', not starting with '-'.";
    idInput.setAttribute("aria-invalid", String(!ok));
    return ok;
  };
  openDialog({
    title: `Trigger ${workflow}`,
    description: "Create a new instance of this workflow.",
    fields: [field("trigger-id", "Instance ID (optional)", idInput), idStatus, params.node],
    submitLabel: "Trigger instance",
    validate: () => idOk() && params.valid(),
    submit: async () => {
      const body = {};
      if (idInput.value.trim()) body.instance_id = idInput.value.trim();
      if (params.value() !== undefined) body.params = params.value();
      const { result } = await api.createInstance(workflow, body);
      toast("success", `Instance ${result.id} of ${workflow} created (${result.status}).`);
      navigate(link.instance(workflow, result.id));
    },
  });
}

function statusChips(counts, workflow) {
  const chips = STATUSES.filter(([key]) => (counts || {})[key] > 0)
    .map(([key]) => h("a.chip-link", { href: link.workflow(workflow, key), "aria-label": `${counts[key]} ${key} instances` },
      badge(key, fmtInt(counts[key]))));
  return chips.length ? h("div.chips", chips) : h("span.muted", "No instances yet");
}

const total = (counts) => Object.values(counts || {}).reduce((a, b) => a + (b || 0), 0);

/** Keep DOM nodes whose data did not change, so focus, selection and open states survive polls. */
function reconcile(parent, items, keyOf, sigOf, build, cache) {
  const nodes = [];
  const seen = new Set();
  for (const item of items) {
    const key = keyOf(item);
    const sig = sigOf(item);
    seen.add(key);
    let entry = cache.get(key);
    if (!entry || entry.sig !== sig) {
      entry = { sig, node: build(item) };
      cache.set(key, entry);
    }
    nodes.push(entry.node);
  }
  for (const key of [...cache.keys()]) if (!seen.has(key)) cache.delete(key);
  const same = nodes.length === parent.children.length && nodes.every((n, i) => parent.children[i] === n);
  if (!same) parent.replaceChildren(...nodes);
}

// -- page: workflows --

function workflowsPage() {
  const tbody = h("tbody");
  const sub = h("p.page-sub", "Loading…");
  const table = h("div.panel.table-wrap", h("table.table.wf-table",
    h("caption.sr-only", "Workflows and their instances"),
    h("thead", h("tr", h("th", { scope: "col" }, "Workflow"), h("th.num", { scope: "col" }, "Instances"),
      h("th", { scope: "col" }, "By status"), h("th.col-hide", { scope: "col" }, "Last triggered"),
      h("th", { scope: "col" }, h("span.sr-only", "Actions")))), tbody));
  const node = h("section.page", { "aria-labelledby": "wf-title" },
    h("div.page-head", h("div", h("h1#wf-title", "Workflows"), sub)), table);
  const cache = new Map();

  const row = (wf) => h("tr", { dataset: { workflow: wf.name } },
    h("td", h("a.row-title", { href: link.workflow(wf.name) }, wf.name),
      h("div.muted.small.mono", wf.class_name, wf.script_name ? ` · ${wf.script_name}` : "")),
    h("td.num", h("span.big-num", fmtInt(total(wf.instances)))),
    h("td", statusChips(wf.instances, wf.name)),
    h("td.col-hide", wf.triggered_on ? h("time", { datetime: wf.triggered_on, title: wf.triggered_on }, fmtDateTime(parseTime(wf.triggered_on))) : h("span.muted", "never")),
    h("td.actions", h("button.btn.btn-sm", { type: "button", "aria-label": `Trigger ${wf.name}`, onclick: () => openTriggerDialog(wf.name) }, icon("plus"), "Trigger")));

  async function refresh() {
    const { result } = await api.listWorkflows();
    const workflows = result || [];
    const sum = workflows.reduce((a, wf) => a + total(wf.instances), 0);
    sub.textContent = `${workflows.length} workflow${workflows.length === 1 ? "" : "s"} · ${fmtInt(sum)} instance${sum === 1 ? "" : "s"}`;
    if (!workflows.length) {
      cache.clear();
      tbody.replaceChildren(h("tr", h("td", { colspan: 5 }, empty("No workflows",
        "Declare one under [[workflows]] in wrangler.toml; durable dev reloads on save."))));
      return;
    }
    reconcile(tbody, workflows, (wf) => wf.name, (wf) => JSON.stringify(wf), row, cache);
  }
  return { node, refresh, title: "Workflows" };
}

// -- page: instances of a workflow --

function instancesPage(workflow, query) {
  const state = {
    status: query.get("status") || "",
    perPage: PER_PAGE_CHOICES.includes(Number(query.get("per_page"))) ? Number(query.get("per_page")) : 25,
    cursors: [null], // cursor used to fetch each page; page 0 has none
    pageIndex: 0,
    nextCursor: "",
    search: "",
    lookup: null, // {id, found: InstanceDetails | null}
    selected: new Set(),
    items: [],
  };
  const cache = new Map();

  const title = h("h1#inst-title", workflow);
  const sub = h("p.page-sub.mono", "");
  const tabs = h("div.tabs", { role: "group", "aria-label": "Filter by status" });
  const search = h("input.input", { type: "search", placeholder: "Find by instance ID", "aria-label": "Find instance by ID",
    autocomplete: "off", spellcheck: false });
  const lookupBox = h("div.lookup", { "aria-live": "polite" });
  const selectAll = h("input", { type: "checkbox", "aria-label": "Select all instances on this page" });
  const deleteSelected = h("button.btn.btn-sm.btn-danger-ghost", { type: "button", disabled: true }, icon("trash"), "Delete selected");
  const tbody = h("tbody");
  const pageInfo = h("span.page-info", { "aria-live": "polite" });
  const newer = h("button.btn.btn-sm", { type: "button", "aria-label": "Newer instances" }, "‹ Newer");
  const older = h("button.btn.btn-sm", { type: "button", "aria-label": "Older instances" }, "Older ›");
  const perPage = h("select.input.input-sm", { "aria-label": "Instances per page" },
    PER_PAGE_CHOICES.map((n) => h("option", { value: String(n), selected: n === state.perPage }, `${n} / page`)));

  const node = h("section.page", { "aria-labelledby": "inst-title" },
    breadcrumbs(["Workflows", link.workflows()], [workflow]),
    h("div.page-head",
      h("div", title, sub),
      h("div.head-actions",
        h("button.btn.btn-primary", { type: "button", onclick: () => openTriggerDialog(workflow) }, icon("plus"), "Trigger instance"),
        h("button.btn.btn-danger-ghost", { type: "button", onclick: deleteAll }, icon("trash"), "Delete all…"))),
    tabs,
    h("div.panel",
      h("div.toolbar", h("div.search", icon("search"), search), deleteSelected),
      lookupBox,
      h("div.table-wrap", h("table.table.inst-table",
        h("caption.sr-only", `Instances of ${workflow}, newest first`),
        h("thead", h("tr",
          h("th.col-check", { scope: "col" }, selectAll),
          h("th", { scope: "col" }, "Instance ID"), h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col" }, "Created"), h("th.col-hide", { scope: "col" }, "Started"),
          h("th.col-hide", { scope: "col" }, "Ended"), h("th.num", { scope: "col" }, "Duration"))),
        tbody)),
      h("div.pager", pageInfo, h("div.pager-buttons", perPage, newer, older))));

  function syncHash() {
    const q = new URLSearchParams();
    if (state.status) q.set("status", state.status);
    if (state.perPage !== 25) q.set("per_page", String(state.perPage));
    const qs = q.toString();
    history.replaceState(null, "", `#/workflows/${encodeURIComponent(workflow)}${qs ? `?${qs}` : ""}`);
  }
  function resetPaging() {
    state.cursors = [null];
    state.pageIndex = 0;
    state.selected.clear();
    cache.clear();
  }
  newer.addEventListener("click", () => { if (state.pageIndex > 0) { state.pageIndex -= 1; state.cursors.length = state.pageIndex + 1; cache.clear(); refreshNow(); } });
  older.addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.cursors[state.pageIndex + 1] = state.nextCursor;
    state.pageIndex += 1;
    cache.clear();
    refreshNow();
  });
  perPage.addEventListener("change", () => { state.perPage = Number(perPage.value); resetPaging(); syncHash(); refreshNow(); });
  selectAll.addEventListener("change", () => {
    for (const item of state.items) selectAll.checked ? state.selected.add(item.id) : state.selected.delete(item.id);
    cache.clear();
    renderRows();
  });
  deleteSelected.addEventListener("click", () => {
    const ids = [...state.selected];
    openDialog({
      title: `Delete ${ids.length} instance${ids.length === 1 ? "" : "s"}?`,
      description: `This permanently deletes the selected instance${ids.length === 1 ? "" : "s"} of ${workflow}, with ${ids.length === 1 ? "its" : "their"} steps and events. Running instances are stopped first.`,
      fields: h("ul.id-list", ids.slice(0, 8).map((id) => h("li.mono", id)), ids.length > 8 ? h("li.muted", `… and ${ids.length - 8} more`) : null),
      submitLabel: "Delete", danger: true,
      submit: async () => {
        const { result } = await api.deleteInstances(workflow, ids);
        const deleted = (result.deleted || []).length;
        for (const d of result.deleted || []) state.selected.delete(d.id);
        if ((result.errors || []).length) {
          toast("error", `Deleted ${deleted}; ${result.errors.length} failed: ${result.errors.map((e) => `${e.id}: ${e.message}`).join("; ")}`);
        } else toast("success", `Deleted ${deleted} instance${deleted === 1 ? "" : "s"} of ${workflow}.`);
        cache.clear();
        refreshNow();
      },
    });
  });
  function deleteAll() {
    openDialog({
      title: `Delete all instances of ${workflow}?`,
      description: "Every instance of this workflow is stopped and deleted with its steps and events. The workflow itself stays: it comes from your wrangler config.",
      submitLabel: "Delete all instances", danger: true,
      submit: async () => {
        await api.deleteAllInstances(workflow);
        toast("success", `Deleted all instances of ${workflow}.`);
        resetPaging();
        refreshNow();
      },
    });
  }

  let lookupTimer = null;
  search.addEventListener("input", () => {
    state.search = search.value.trim();
    renderRows();
    clearTimeout(lookupTimer);
    state.lookup = null;
    renderLookup();
    if (state.search) lookupTimer = setTimeout(lookup, 250);
  });
  async function lookup() {
    const id = state.search;
    if (!id || id.length > 100 || !INSTANCE_ID.test(id)) { state.lookup = { id, found: null }; renderLookup(); return; }
    try {
      const { result } = await api.getInstance(workflow, id);
      if (state.search === id) state.lookup = { id, found: { ...result, id: result.id || id } };
    } catch (exc) {
      if (state.search === id) state.lookup = { id, found: null, error: exc.status === 404 ? null : exc.message };
    }
    renderLookup();
  }
  function renderLookup() {
    const lk = state.lookup;
    if (!lk || !state.search) { lookupBox.replaceChildren(); return; }
    if (lk.found) {
      lookupBox.replaceChildren(h("div.callout", icon("search"), h("span", "Exact match: "),
        h("a.mono", { href: link.instance(workflow, lk.found.id) }, lk.found.id), " ", badge(lk.found.status),
        h("span.muted", ` created ${fmtDateTime(parseTime(lk.found.queued))}`)));
    } else {
      const onPage = state.items.some((i) => i.id.includes(state.search));
      lookupBox.replaceChildren(onPage && !lk.error ? [] : h("div.callout.callout-muted", icon("search"),
        lk.error ? `Lookup failed: ${lk.error}` : `No instance with ID "${lk.id}" in ${workflow}${onPage ? "" : "; nothing on this page matches either"}.`));
    }
  }

  function renderTabs(counts) {
    const all = total(counts);
    const tab = (key, label, n) => h("button.tab", { type: "button", "aria-pressed": String(state.status === key), "data-zero": n === 0,
      dataset: { status: key || "all" },
      onclick: () => { if (state.status !== key) { state.status = key; resetPaging(); syncHash(); renderTabs(counts); refreshNow(); } } },
    key ? badge(key) : h("span.badge.s-all", h("span.badge-text", label)), h("span.tab-count", fmtInt(n)));
    tabs.replaceChildren(tab("", "All", all), ...STATUSES.map(([key, label]) => tab(key, label, (counts || {})[key] || 0)));
  }

  function row(item) {
    const started = parseTime(item.started_on);
    const ended = parseTime(item.ended_on);
    const check = h("input", { type: "checkbox", checked: state.selected.has(item.id), "aria-label": `Select ${item.id}`,
      onchange: (e) => { e.target.checked ? state.selected.add(item.id) : state.selected.delete(item.id); updateSelection(); } });
    const duration = started == null ? h("span.muted", "—")
      : ended != null ? fmtDuration(ended - started)
        : h("span.live-dur", { dataset: { since: String(started) } }, fmtDuration(Date.now() - started));
    return h("tr", { dataset: { id: item.id, status: item.status } },
      h("td.col-check", check),
      h("td", h("a.mono.row-title", { href: link.instance(workflow, item.id) }, item.id)),
      h("td", badge(item.status)),
      h("td", h("time", { datetime: item.created_on, title: item.created_on }, fmtDateTime(parseTime(item.created_on)))),
      h("td.col-hide", started ? fmtDateTime(started) : h("span.muted", "—")),
      h("td.col-hide", ended ? fmtDateTime(ended) : h("span.muted", "—")),
      h("td.num", duration));
  }

  function updateSelection() {
    const n = state.selected.size;
    deleteSelected.disabled = n === 0;
    deleteSelected.lastChild.textContent = n ? `Delete selected (${n})` : "Delete selected";
    const onPage = state.items.filter((i) => state.selected.has(i.id)).length;
    selectAll.checked = onPage > 0 && onPage === state.items.length;
    selectAll.indeterminate = onPage > 0 && onPage < state.items.length;
  }

  function renderRows() {
    const visible = state.search ? state.items.filter((i) => i.id.includes(state.search)) : state.items;
    if (!visible.length) {
      cache.clear();
      const filtered = state.status ? ` with status ${state.status}` : "";
      tbody.replaceChildren(h("tr", h("td", { colspan: 7 }, state.search
        ? empty("No match on this page", "The exact ID lookup above searches every instance.")
        : empty(`No instances${filtered}`, ["Trigger one with the button above, from your Worker, or with ", h("code", `durable workflows trigger ${workflow}`), "."]))));
    } else {
      reconcile(tbody, visible, (i) => i.id, (i) => `${JSON.stringify(i)}|${state.selected.has(i.id)}`, row, cache);
    }
    for (const el of tbody.querySelectorAll(".live-dur")) el.textContent = fmtDuration(Date.now() - Number(el.dataset.since));
    updateSelection();
  }

  async function refresh() {
    const cursor = state.cursors[state.pageIndex];
    const query = { per_page: state.perPage, direction: "desc", status: state.status || undefined };
    if (cursor) query.cursor = cursor; else query.page = 1;
    let wf;
    let list;
    try {
      [wf, list] = await Promise.all([api.getWorkflow(workflow), api.listInstances(workflow, query)]);
    } catch (exc) {
      if (exc.status !== 404) throw exc;
      cache.clear();
      tabs.replaceChildren();
      pageInfo.textContent = "";
      tbody.replaceChildren(h("tr", h("td", { colspan: 7 }, empty("Workflow not found", exc.message,
        h("a", { href: link.workflows() }, "All workflows")))));
      return;
    }
    const counts = wf.result.instances || {};
    sub.textContent = `${wf.result.class_name}${wf.result.script_name ? ` · ${wf.result.script_name}` : ""}`;
    renderTabs(counts);
    state.items = list.result || [];
    state.nextCursor = (list.info && list.info.cursor) || "";
    const matching = state.status ? counts[state.status] || 0 : total(counts);
    const from = state.pageIndex * state.perPage + 1;
    pageInfo.textContent = state.items.length
      ? `${fmtInt(from)}–${fmtInt(from + state.items.length - 1)} of ${fmtInt(matching)} instance${matching === 1 ? "" : "s"}`
      : `0 of ${fmtInt(matching)} instances`;
    newer.disabled = state.pageIndex === 0;
    older.disabled = !state.nextCursor;
    if (!state.items.length && state.pageIndex > 0) { state.pageIndex -= 1; state.cursors.length = state.pageIndex + 1; }
    if (state.lookup && state.lookup.found) lookup();
    renderRows();
  }

  return { node, refresh, title: workflow };
}

// -- boot --

function boot() {
  captureToken();
  window.addEventListener("hashchange", () => { captureToken(); mount(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshNow(); });
  mount();
}

boot();

