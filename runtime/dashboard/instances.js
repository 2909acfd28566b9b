// @ts-check
// The instances page: one workflow's instances, newest first, with status tabs, an exact-ID
// lookup, selection and deletion, and cursor paging. The panels are in instances-panels.js; this
// module keeps the page's state, fetches, and composes.

import { api, INSTANCE_ID } from "./api.js";
import { h, icon, toast, openDialog, totalCount } from "./ui.js";
import { link, refreshNow, breadcrumbs } from "./router.js";
import { openTriggerDialog } from "./workflows.js";
import { instancesHead, statusTabs, lookupCallout, deleteSelectedButton, instancesTable, pager,
  pageInfoText } from "./instances-panels.js";

/** @typedef {import("./api.js").InstanceSummary} InstanceSummary */
/** @typedef {import("./instances-panels.js").Lookup} Lookup */
/** @typedef {import("./router.js").Page} Page */

export const PER_PAGE_CHOICES = [25, 50, 100];

/**
 * @param {string} workflow
 * @param {URLSearchParams} query  the route's query: status, per_page
 * @returns {Page}
 */
export function instancesPage(workflow, query) {
  const askedPerPage = Number(query.get("per_page"));
  const state = {
    status: query.get("status") || "",
    perPage: PER_PAGE_CHOICES.includes(askedPerPage) ? askedPerPage : 25,
    /** @type {(string | null)[]} cursor used to fetch each page; page 0 has none */
    cursors: [null],
    pageIndex: 0,
    nextCursor: "",
    search: "",
    /** @type {Lookup | null} */
    lookup: null,
    /** @type {Set<string>} */
    selected: new Set(),
    /** @type {InstanceSummary[]} */
    items: [],
  };

  const head = instancesHead(workflow, { onTrigger: () => openTriggerDialog(workflow), onDeleteAll: deleteAll });
  const tabs = statusTabs({ onSelect: (status) => { state.status = status; resetPaging(); syncHash(); refreshNow(); } });
  const search = h("input.input", { type: "search", placeholder: "Find by instance ID", "aria-label": "Find instance by ID",
    autocomplete: "off", spellcheck: false, oninput: onSearch });
  const lookupBox = h("div.lookup", { "aria-live": "polite" });
  const deleteSelected = deleteSelectedButton({ onClick: deleteSelectedDialog });
  const table = instancesTable(workflow, {
    onToggle: (id, checked) => { checked ? state.selected.add(id) : state.selected.delete(id); updateSelection(); },
    onToggleAll: (checked) => {
      for (const item of state.items) checked ? state.selected.add(item.id) : state.selected.delete(item.id);
      table.forget();
      renderRows();
    },
  });
  const pages = pager({ choices: PER_PAGE_CHOICES, perPage: state.perPage, onNewer, onOlder,
    onPerPage: (n) => { state.perPage = n; resetPaging(); syncHash(); refreshNow(); } });

  const node = h("section.page", { "aria-labelledby": "inst-title" },
    breadcrumbs(["Workflows", link.workflows()], [workflow]),
    head.node,
    tabs.node,
    h("div.panel",
      h("div.toolbar", h("div.search", icon("search"), search), deleteSelected.node),
      lookupBox,
      table.node,
      pages.node));

  // -- state changes --

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
    table.forget();
  }
  function onNewer() {
    if (state.pageIndex === 0) return;
    state.pageIndex -= 1;
    state.cursors.length = state.pageIndex + 1;
    table.forget();
    refreshNow();
  }
  function onOlder() {
    if (!state.nextCursor) return;
    state.cursors[state.pageIndex + 1] = state.nextCursor;
    state.pageIndex += 1;
    table.forget();
    refreshNow();
  }

  // -- exact-ID lookup: the list pages, the lookup finds an id on any page --

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let lookupTimer;
  function onSearch() {
    state.search = search.value.trim();
    renderRows();
    clearTimeout(lookupTimer);
    state.lookup = null;
    renderLookup();
    if (state.search) lookupTimer = setTimeout(lookup, 250);
  }
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

  // -- rendering --

  function renderLookup() {
    lookupBox.replaceChildren(...lookupCallout(workflow, state.lookup, state));
  }
  function updateSelection() {
    deleteSelected.update(state.selected.size);
    table.syncSelectAll(state.items, state.selected);
  }
  function renderRows() {
    table.render(state);
    updateSelection();
  }

  // -- actions --

  function deleteSelectedDialog() {
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
        const errors = result.errors || [];
        if (errors.length) {
          toast("error", `Deleted ${deleted}; ${errors.length} failed: ${errors.map((e) => `${e.id}: ${e.message}`).join("; ")}`);
        } else toast("success", `Deleted ${deleted} instance${deleted === 1 ? "" : "s"} of ${workflow}.`);
        table.forget();
        refreshNow();
      },
    });
  }
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

  async function refresh() {
    const cursor = state.cursors[state.pageIndex];
    /** @type {Record<string, string | number | undefined>} */
    const params = { per_page: state.perPage, direction: "desc", status: state.status || undefined };
    if (cursor) params.cursor = cursor; else params.page = 1;
    let wf;
    let list;
    try {
      [wf, list] = await Promise.all([api.getWorkflow(workflow), api.listInstances(workflow, params)]);
    } catch (exc) {
      if (exc.status !== 404) throw exc;
      tabs.clear();
      pages.clear();
      table.notFound(exc.message);
      return;
    }
    const counts = wf.result.instances || {};
    head.setSubtitle(`${wf.result.class_name}${wf.result.script_name ? ` · ${wf.result.script_name}` : ""}`);
    tabs.update(counts, state.status);
    state.items = list.result || [];
    state.nextCursor = (list.info && list.info.cursor) || "";
    const matching = state.status ? counts[state.status] || 0 : totalCount(counts);
    pages.update({
      text: pageInfoText({ pageIndex: state.pageIndex, perPage: state.perPage, count: state.items.length, matching }),
      hasNewer: state.pageIndex > 0,
      hasOlder: Boolean(state.nextCursor),
    });
    if (!state.items.length && state.pageIndex > 0) { state.pageIndex -= 1; state.cursors.length = state.pageIndex + 1; }
    if (state.lookup && state.lookup.found) lookup();
    renderRows();
  }

  return { node, refresh, title: workflow };
}
