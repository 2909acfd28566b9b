// @ts-check
// The instance page: status, params, output, error, timings, the timeline, every step with its
// attempts, output and error, the events received and still buffered, and the actions
// (send event, pause, resume, restart, terminate, delete). The panels are in instance-panels.js,
// what the actions do in instance-actions.js; this module fetches and composes.

import { api } from "./api.js";
import { h } from "./ui.js";
import { link, breadcrumbs } from "./router.js";
import { statusSlot, actionsPanel, errorCallout, missingCallout, summaryItems, timelinePanel,
  stepsPanel, sidePanel, visibleSteps } from "./instance-panels.js";
import { simpleAction, terminateDialog, restartDialog, deleteDialog, sendEventDialog } from "./instance-actions.js";

/** @typedef {import("./api.js").Instance} Instance */
/** @typedef {import("./api.js").InstanceEvents} InstanceEvents */

/** @typedef {import("./router.js").Page} Page */

/**
 * @param {string} workflow
 * @param {string} id
 * @returns {Page}
 */
export function instancePage(workflow, id) {
  /** @type {Instance | null} */
  let inst = null;

  const status = statusSlot();
  const actions = actionsPanel({
    event: () => sendEventDialog(workflow, id, visibleSteps(inst)),
    pause: () => simpleAction(workflow, id, "pause", actions.buttons.pause),
    resume: () => simpleAction(workflow, id, "resume", actions.buttons.resume),
    restart: () => restartDialog(workflow, id, visibleSteps(inst)),
    terminate: () => terminateDialog(workflow, id),
    remove: () => deleteDialog(workflow, id),
  });
  const errorSlot = h("div");
  const summary = h("dl.summary");
  const steps = stepsPanel();
  const timeline = timelinePanel({ onSelect: steps.select });
  const side = sidePanel();

  const node = h("section.page.instance-page", { "aria-labelledby": "instance-title" },
    breadcrumbs(["Workflows", link.workflows()], [workflow, link.workflow(workflow)], [id]),
    h("div.page-head", h("div.title-block", h("h1#instance-title.mono", id), status.node), actions.node),
    errorSlot,
    h("div.panel.summary-panel", summary),
    timeline.node,
    h("div.columns", steps.node, side.node));

  /** @param {Instance} data @param {InstanceEvents} events */
  function render(data, events) {
    const now = Date.now();
    status.update(data.status);
    actions.update(data.status);
    summary.replaceChildren(...summaryItems(data, now));
    errorSlot.replaceChildren(...errorCallout(data));
    timeline.update(data, now);
    steps.update(data, now);
    side.update(data, events);
  }

  /** @param {{message: string}} exc */
  function renderMissing(exc) {
    inst = null;
    status.update(null);
    actions.update(null);
    errorSlot.replaceChildren(missingCallout(workflow, exc.message));
    summary.replaceChildren();
    timeline.clear();
    steps.clear();
    side.clear();
  }

  async function refresh() {
    let events;
    try {
      const [details, evs] = await Promise.all([api.getInstance(workflow, id), api.instanceEvents(workflow, id)]);
      inst = details.result;
      events = evs.result || { received: [], buffered: [] };
    } catch (exc) {
      if (exc.status === 404) { renderMissing(exc); return; }
      throw exc;
    }
    render(inst, events);
  }

  return { node, refresh, title: `${id} · ${workflow}` };
}
