// @ts-check
// The workflows page (every workflow with its instance counts per status) and the trigger dialog,
// which the instances page uses too.

import { api, INSTANCE_ID } from "./api.js";
import { h, icon, badge, STATUSES, fmtDateTime, fmtInt, parseTime, toast, openDialog, jsonEditor,
  field, empty, reconcile, totalCount } from "./ui.js";
import { link, navigate } from "./router.js";

/** @typedef {import("./api.js").Workflow} Workflow */
/** @typedef {import("./api.js").StatusCounts} StatusCounts */
/** @typedef {import("./router.js").Page} Page */

/**
 * Trigger dialog: optional id + JSON params, validated before sending.
 * @param {string} workflow
 */
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
      /** @type {{instance_id?: string, params?: unknown}} */
      const body = {};
      if (idInput.value.trim()) body.instance_id = idInput.value.trim();
      if (params.value() !== undefined) body.params = params.value();
      const { result } = await api.createInstance(workflow, body);
      toast("success", `Instance ${result.id} of ${workflow} created (${result.status}).`);
      navigate(link.instance(workflow, result.id));
    },
  });
}

/**
 * A badge per status that has instances, each linking to the filtered list.
 * @param {StatusCounts | undefined} counts
 * @param {string} workflow
 * @returns {HTMLElement}
 */
export function statusChips(counts, workflow) {
  const c = counts || {};
  const chips = STATUSES.filter(([key]) => (c[key] ?? 0) > 0)
    .map(([key]) => h("a.chip-link", { href: link.workflow(workflow, key), "aria-label": `${c[key]} ${key} instances` },
      badge(key, fmtInt(c[key]))));
  return chips.length ? h("div.chips", chips) : h("span.muted", "No instances yet");
}

/** One row of the workflows table. @param {Workflow} wf @returns {HTMLTableRowElement} */
export function workflowRow(wf) {
  return h("tr", { dataset: { workflow: wf.name } },
    h("td", h("a.row-title", { href: link.workflow(wf.name) }, wf.name),
      h("div.muted.small.mono", wf.class_name, wf.script_name ? ` · ${wf.script_name}` : "")),
    h("td.num", h("span.big-num", fmtInt(totalCount(wf.instances)))),
    h("td", statusChips(wf.instances, wf.name)),
    h("td.col-hide", wf.triggered_on ? h("time", { datetime: wf.triggered_on, title: wf.triggered_on }, fmtDateTime(parseTime(wf.triggered_on))) : h("span.muted", "never")),
    h("td.actions", h("button.btn.btn-sm", { type: "button", "aria-label": `Trigger ${wf.name}`, onclick: () => openTriggerDialog(wf.name) }, icon("plus"), "Trigger")));
}

/** @param {Workflow[]} workflows @returns {string} "2 workflows · 10 instances" */
export function workflowsSubtitle(workflows) {
  const sum = workflows.reduce((a, wf) => a + totalCount(wf.instances), 0);
  return `${workflows.length} workflow${workflows.length === 1 ? "" : "s"} · ${fmtInt(sum)} instance${sum === 1 ? "" : "s"}`;
}

/** @returns {Page} */
export function workflowsPage() {
  const tbody = h("tbody");
  const sub = h("p.page-sub", "Loading…");
  const table = h("div.panel.table-wrap", h("table.table.wf-table",
    h("caption.sr-only", "Workflows and their instances"),
    h("thead", h("tr", h("th", { scope: "col" }, "Workflow"), h("th.num", { scope: "col" }, "Instances"),
      h("th", { scope: "col" }, "By status"), h("th.col-hide", { scope: "col" }, "Last triggered"),
      h("th", { scope: "col" }, h("span.sr-only", "Actions")))), tbody));
  const node = h("section.page", { "aria-labelledby": "wf-title" },
    h("div.page-head", h("div", h("h1#wf-title", "Workflows"), sub)), table);
  /** @type {Map<string, {sig: string, node: Element}>} */
  const cache = new Map();

  async function refresh() {
    const { result } = await api.listWorkflows();
    const workflows = result || [];
    sub.textContent = workflowsSubtitle(workflows);
    if (!workflows.length) {
      cache.clear();
      tbody.replaceChildren(h("tr", h("td", { colspan: 5 }, empty("No workflows",
        "Declare one under [[workflows]] in wrangler.toml; durable dev reloads on save."))));
      return;
    }
    reconcile(tbody, workflows, (wf) => wf.name, (wf) => JSON.stringify(wf), workflowRow, cache);
  }
  return { node, refresh, title: "Workflows" };
}
