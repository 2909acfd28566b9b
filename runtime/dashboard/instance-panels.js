// @ts-check
// The panels of the instance page, each rendering one part from the data it is given: the status
// badge, the action buttons, the error callout, the summary, the timeline, the step cards, and
// the side column (params, output, error, events). instance.js composes them.
//
// Pure builders (`summaryItems`, `stepCard`, `paramsPanel`, `eventsPanel`, …) return nodes. The
// stateful panels (`stepsPanel`, `sidePanel`, …) return {node, update(…), clear()}: they keep
// what must survive the 700 ms polls (open step cards, focus, unchanged nodes).

import { h, icon, badge, isFinished, parseTime, fmtDateTime, fmtDuration, fmtClock, statusLabel,
  jsonView, errorBlock, empty } from "./ui.js";
import { renderTimeline, stepState, stepDuration } from "./timeline.js";
import { link } from "./router.js";

/** @typedef {import("./api.js").Instance} Instance */
/** @typedef {import("./api.js").Step} Step */
/** @typedef {import("./api.js").InstanceEvents} InstanceEvents */
/** @typedef {import("./api.js").EventRecord} EventRecord */
/** @typedef {import("./api.js").Status} Status */

/** @type {Record<string, string>} */
export const TYPE_WORD = { step: "Step", sleep: "Sleep", waitForEvent: "Wait for event" };
/** @type {Record<string, string>} */
const TYPE_ICON = { step: "bolt", sleep: "moon", waitForEvent: "bell" };

/** The steps a user sees: all but the "termination" marker. @param {Instance | null} inst @returns {Step[]} */
export function visibleSteps(inst) {
  return (inst ? inst.steps || [] : []).filter((s) => s.type !== "termination");
}

// -- head: status badge and action buttons --

/**
 * The status badge next to the title. `update(null)`: the instance was not found.
 * @returns {{node: HTMLElement, update: (status: Status | null) => void}}
 */
export function statusSlot() {
  const node = h("span.head-status");
  return {
    node,
    update(status) {
      node.replaceChildren(status == null
        ? h("span.badge.s-unknown", icon("question"), h("span.badge-text", "Not found"))
        : badge(status));
    },
  };
}

/** @typedef {"event" | "pause" | "resume" | "restart" | "terminate" | "remove"} ActionName */

/**
 * The action toolbar. Each handler runs on its button's click; `update(status)` enables the
 * buttons that make sense for the status (`null`: none, the instance is gone).
 * @param {Record<ActionName, () => void>} handlers
 * @returns {{node: HTMLElement, buttons: Record<ActionName, HTMLButtonElement>, update: (status: Status | null) => void}}
 */
export function actionsPanel(handlers) {
  const buttons = {
    event: h("button.btn", { type: "button", onclick: handlers.event }, icon("send"), "Send event"),
    pause: h("button.btn", { type: "button", onclick: handlers.pause }, icon("pause"), "Pause"),
    resume: h("button.btn", { type: "button", onclick: handlers.resume }, icon("play"), "Resume"),
    restart: h("button.btn", { type: "button", onclick: handlers.restart }, icon("restart"), "Restart…"),
    terminate: h("button.btn.btn-danger-ghost", { type: "button", onclick: handlers.terminate }, icon("stop"), "Terminate…"),
    remove: h("button.btn.btn-danger-ghost", { type: "button", onclick: handlers.remove }, icon("trash"), "Delete…"),
  };
  const node = h("div.head-actions", { role: "toolbar", "aria-label": "Instance actions" }, Object.values(buttons));
  return {
    node,
    buttons,
    update(status) {
      if (status == null) {
        Object.values(buttons).forEach((b) => { b.disabled = true; });
        return;
      }
      const finished = isFinished(status);
      buttons.pause.disabled = finished || status === "paused" || status === "waitingForPause";
      buttons.resume.disabled = !(status === "paused" || status === "waitingForPause");
      buttons.terminate.disabled = finished;
      buttons.event.disabled = finished;
    },
  };
}

/**
 * The instance's error, as a callout under the title (nothing when it has none).
 * @param {Instance} inst
 * @returns {HTMLElement[]}
 */
export function errorCallout(inst) {
  return inst.error ? [h("div.callout.callout-error", { role: "note" }, icon("alert"),
    h("div", h("strong", `${statusLabel(inst.status)}: `), `${inst.error.name || "Error"}: ${inst.error.message || ""}`))] : [];
}

/**
 * The "not found" callout with a way back to the workflow.
 * @param {string} workflow
 * @param {string} message
 * @returns {HTMLElement}
 */
export function missingCallout(workflow, message) {
  return h("div.callout.callout-error", { role: "note" }, icon("alert"),
    h("div", message, " ", h("a", { href: link.workflow(workflow) }, `Back to ${workflow}`)));
}

// -- summary --

/** @param {number | null} ms @returns {HTMLElement} */
function time(ms) {
  return ms == null ? h("span.muted", "—") : h("time", { datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString() }, fmtDateTime(ms));
}

/**
 * The summary's items: status, trigger, queued/started/ended times, durations, step count.
 * @param {Instance} inst
 * @param {number} now  for the duration of a running instance
 * @returns {HTMLElement[]}
 */
export function summaryItems(inst, now) {
  const st = inst.status;
  const queued = parseTime(inst.queued);
  const start = parseTime(inst.start);
  const end = parseTime(inst.end);
  /** @param {string} term @param {...import("./ui.js").Child} value */
  const item = (term, ...value) => h("div.sum-item", h("dt", term), h("dd", ...value));
  return [
    item("Status", badge(st)),
    item("Trigger", (inst.trigger && inst.trigger.source) || "—"),
    item("Queued", time(queued)),
    item("Started", time(start)),
    item("Ended", time(end)),
    item("Duration", start == null ? "—" : fmtDuration((end ?? now) - start), end == null && start != null && !isFinished(st) ? h("span.muted", " so far") : null),
    item("Queue wait", start == null || queued == null ? "—" : fmtDuration(start - queued)),
    item("Steps", String(visibleSteps(inst).length)),
  ];
}

// -- timeline --

/**
 * The timeline panel. A finished instance's timeline is drawn again only when its data changes;
 * an unfinished one every tick (its bars grow).
 * @param {{onSelect: (stepName: string) => void}} options
 * @returns {{node: HTMLElement, update: (inst: Instance, now: number) => void, clear: () => void}}
 */
export function timelinePanel({ onSelect }) {
  const slot = h("div.tl-slot");
  const node = h("section.panel.tl-panel", { "aria-labelledby": "tl-title" },
    h("div.panel-head", h("h2#tl-title", "Timeline"), h("span.muted.small", "Hover a bar for details; select a step to open it.")),
    slot);
  let lastSig = "";
  return {
    node,
    update(inst, now) {
      const sig = JSON.stringify(inst);
      if (sig !== lastSig || !isFinished(inst.status)) {
        slot.replaceChildren(renderTimeline(inst, { now, onSelect }));
        lastSig = sig;
      }
    },
    clear() {
      slot.replaceChildren();
      lastSig = "";
    },
  };
}

// -- steps --

/** @param {string} kind @returns {SVGSVGElement} */
function stateIcon(kind) {
  /** @type {Record<string, string>} */
  const icons = { ok: "check", fail: "x", run: "play", wait: "clock", stop: "ban" };
  return icon(icons[kind] || "question");
}

/** @param {NonNullable<Step["config"]>} config @returns {string} */
export function configText(config) {
  const r = config.retries || {};
  const parts = [];
  if (r.limit !== undefined) parts.push(`${r.limit} retr${r.limit === 1 ? "y" : "ies"}`);
  if (r.delay !== undefined) parts.push(`delay ${typeof r.delay === "number" ? fmtDuration(r.delay) : r.delay}`);
  if (r.backoff) parts.push(r.backoff);
  if (config.timeout !== undefined) parts.push(`timeout ${typeof config.timeout === "number" ? fmtDuration(config.timeout) : config.timeout}`);
  return parts.join(" · ") || "default";
}

/** Every attempt of a `step.do`: start, duration, result, error and logs. @param {Step} step @returns {HTMLElement} */
export function attemptsTable(step) {
  const rows = (step.attempts || []).map((a, i) => {
    const s = parseTime(a.start);
    const e = parseTime(a.end);
    const result = a.success === true ? h("span.res.res-ok", icon("check"), "Succeeded")
      : a.success === false ? h("span.res.res-fail", icon("x"), "Failed") : h("span.res.res-run", icon("play"), "Running");
    const next = a.next_retry ? h("div.muted.small", `next try ${fmtClock(parseTime(a.next_retry), { millis: true })}`) : null;
    const logs = a.logs ? h("details.logs", h("summary", "Logs"), h("pre.code-block", Array.isArray(a.logs) ? a.logs.join("\n") : String(a.logs))) : null;
    return h("tr", h("td.num", String(i + 1)), h("td", fmtClock(s, { millis: true })),
      h("td.num", e != null && s != null ? fmtDuration(e - s) : "—"),
      h("td", result, next), h("td.attempt-error", a.error ? errorBlock(a.error) : h("span.muted", "—"), logs));
  });
  return h("div.table-wrap", h("table.table.table-compact.attempts",
    h("caption.sr-only", `Attempts of ${step.name}`),
    h("thead", h("tr", h("th.num", { scope: "col" }, "#"), h("th", { scope: "col" }, "Started"), h("th.num", { scope: "col" }, "Took"),
      h("th", { scope: "col" }, "Result"), h("th", { scope: "col" }, "Error"))),
    h("tbody", rows)));
}

/**
 * The colour class of a step card: ok, fail, run, wait or stop.
 * @param {Step} step @param {string} state  from stepState()
 * @returns {string}
 */
function stepKind(step, state) {
  const lastTry = (step.attempts || [])[(step.attempts || []).length - 1];
  const backingOff = step.success == null && lastTry && lastTry.success === false;
  return state === "did not finish" ? "stop"
    : step.type === "step" ? (step.success === true ? "ok" : step.success === false ? "fail" : backingOff ? "wait" : "run")
      : step.type === "sleep" ? (step.finished ? "ok" : "wait")
        : step.finished ? (step.error ? "fail" : "ok") : "wait";
}

/**
 * One step as a collapsible card: state, times, config, attempts, error and output.
 * @param {Step} step
 * @param {{now: number, stopped?: boolean, end?: string | null, open?: boolean, onToggle?: (open: boolean) => void}} options
 *   `stopped`: the instance is finished, its clock stops at `end`.
 * @returns {HTMLDetailsElement}
 */
export function stepCard(step, { now, stopped = false, end = null, open = false, onToggle = undefined }) {
  if (stopped && end) now = parseTime(end) ?? now;
  const state = stepState(step, now, stopped);
  const dur = stepDuration(step, now);
  const kind = stepKind(step, state);
  const body = h("div.step-body");
  const times = h("dl.kv");
  /** @param {string} k @param {import("./ui.js").Child} v */
  const kv = (k, v) => times.append(h("dt", k), h("dd", v));
  kv("Started", fmtDateTime(parseTime(step.start)));
  if (step.type === "step") {
    kv("Ended", fmtDateTime(parseTime(step.end)));
    if (step.config) kv("Config", configText(step.config));
  } else if (step.type === "sleep") {
    kv(step.finished ? "Woke" : "Wakes", fmtDateTime(parseTime(step.end)));
  } else {
    kv("Event type", h("code", step.event_type || "—"));
    kv("Times out", fmtDateTime(parseTime(step.timeout)));
    kv("Ended", fmtDateTime(parseTime(step.end)));
  }
  body.append(times);
  if (step.type === "step" && (step.attempts || []).length) body.append(attemptsTable(step));
  if (step.error) body.append(h("h4", "Error"), errorBlock(step.error) || "");
  if (step.output !== undefined && (step.type === "step" ? step.success : step.finished)) {
    body.append(h("h4", step.type === "waitForEvent" ? "Event received" : "Output"), jsonView(step.output, { label: `Output of ${step.name}` }));
  }
  const card = /** @type {HTMLDetailsElement} */ (h(`details.step-card.k-${kind}`, { role: "listitem", dataset: { step: step.name, type: step.type }, open },
    h("summary",
      h("span.step-icon", icon(TYPE_ICON[step.type] || "question")),
      h("span.step-name", step.name),
      h("span.step-type", TYPE_WORD[step.type] || step.type),
      h(`span.step-state.k-${kind}`, stateIcon(kind), state),
      h("span.step-dur", dur != null ? fmtDuration(dur) : "")),
    body));
  if (onToggle) card.addEventListener("toggle", () => onToggle(card.open));
  return card;
}

/**
 * The "Steps" section: one card per step. Cards whose step did not change are kept (with their
 * open state and focus); running or waiting steps are rebuilt each second for their durations.
 * @returns {{node: HTMLElement, update: (inst: Instance, now: number) => void, select: (name: string) => void, clear: () => void}}
 */
export function stepsPanel() {
  const list = h("div.steps", { role: "list" });
  const count = h("span.muted.small");
  const node = h("section.col-main", { "aria-labelledby": "steps-title" },
    h("div.section-head", h("h2#steps-title", "Steps"), count), list);
  /** @type {Set<string>} */
  const openSteps = new Set();
  /** @type {Map<string, {sig: string, node: HTMLDetailsElement}>} */
  const cache = new Map();

  /** @param {Instance} inst @param {number} now */
  function update(inst, now) {
    const steps = visibleSteps(inst);
    count.textContent = `${steps.length} step${steps.length === 1 ? "" : "s"}`;
    if (!steps.length) {
      cache.clear();
      list.replaceChildren(empty(inst.status === "queued" ? "Not started yet" : "No steps yet", "Steps appear here as run() reaches them."));
      return;
    }
    const stopped = isFinished(inst.status);
    const nodes = steps.map((step) => {
      // a running or waiting step shows live durations: rebuild it each tick
      const live = !stopped && (step.type === "step" ? step.success == null : !step.finished);
      const sig = JSON.stringify(step) + (live ? Math.floor(now / 1000) : "");
      let entry = cache.get(step.name);
      if (!entry || entry.sig !== sig) {
        const focused = entry && entry.node.contains(document.activeElement);
        const card = stepCard(step, { now, stopped, end: inst.end, open: openSteps.has(step.name),
          onToggle: (open) => (open ? openSteps.add(step.name) : openSteps.delete(step.name)) });
        entry = { sig, node: card };
        cache.set(step.name, entry);
        if (focused) queueMicrotask(() => summaryOf(card).focus({ preventScroll: true }));
      }
      return entry.node;
    });
    const same = nodes.length === list.children.length && nodes.every((n, i) => list.children[i] === n);
    if (!same) list.replaceChildren(...nodes);
  }

  /** Open a step's card and bring it into view. @param {string} name */
  function select(name) {
    const card = /** @type {HTMLDetailsElement | null} */ (list.querySelector(`[data-step="${CSS.escape(name)}"]`));
    if (!card) return;
    card.open = true;
    openSteps.add(name);
    card.scrollIntoView({ behavior: "smooth", block: "start" });
    summaryOf(card).focus({ preventScroll: true });
  }

  function clear() {
    list.replaceChildren();
    cache.clear();
  }

  return { node, update, select, clear };
}

/** @param {HTMLDetailsElement} card @returns {HTMLElement} */
function summaryOf(card) {
  return /** @type {HTMLElement} */ (card.querySelector("summary"));
}

// -- side column: params, output, error, events --

/** @param {string} title @param {...import("./ui.js").Child} content @returns {HTMLElement} */
function sideSection(title, ...content) {
  return h("section.panel.side-panel", { "aria-label": title }, h("h2", title), ...content);
}

/** @param {unknown} params @returns {HTMLElement} */
export function paramsPanel(params) {
  return sideSection("Params", params === undefined || params === null ? h("p.muted.small", "No params") : jsonView(params, { label: "Params" }));
}

/**
 * @param {unknown} output
 * @param {boolean} finished  says "returned nothing" rather than "available when it completes"
 * @returns {HTMLElement}
 */
export function outputPanel(output, finished) {
  return sideSection("Output", output !== null && output !== undefined ? jsonView(output, { label: "Output" })
    : h("p.muted.small", finished ? "run() returned nothing" : "Available when the instance completes"));
}

/** @param {import("./api.js").ErrorInfo} error @returns {HTMLElement} */
export function errorPanel(error) {
  return sideSection("Error", errorBlock(error));
}

/** @param {EventRecord} e @param {boolean} buffered @returns {HTMLElement} */
function eventItem(e, buffered) {
  return h("li.event",
    h("div.event-head", h("code.event-type", e.type),
      buffered ? h("span.tag.tag-warn", "buffered") : h("span.tag", `→ ${e.consumed_by}`),
      h("time.muted.small", { datetime: e.received_on, title: e.received_on }, fmtDateTime(parseTime(e.received_on)))),
    jsonView(e.payload, { label: `Payload of ${e.type} event`, openDepth: 1 }));
}

/**
 * The events an instance received (with the wait that took each) and those still buffered.
 * @param {InstanceEvents} events
 * @returns {HTMLElement}
 */
export function eventsPanel(events) {
  return sideSection("Events",
    h("h3", `Received (${events.received.length})`),
    events.received.length ? h("ul.events", events.received.map((e) => eventItem(e, false))) : h("p.muted.small", "None yet"),
    h("h3", `Buffered (${events.buffered.length})`),
    events.buffered.length ? h("ul.events", events.buffered.map((e) => eventItem(e, true)))
      : h("p.muted.small", "No events waiting: events sent before a matching wait_for_event are buffered here."));
}

/**
 * The side column; rebuilt only when what it shows changes (keeps JSON trees' open state).
 * @returns {{node: HTMLElement, update: (inst: Instance, events: InstanceEvents) => void, clear: () => void}}
 */
export function sidePanel() {
  const node = h("div.side");
  let lastSig = "";
  return {
    node,
    update(inst, events) {
      const sig = JSON.stringify([inst.params, inst.output, inst.error, inst.status, events]);
      if (sig === lastSig) return;
      lastSig = sig;
      node.replaceChildren(...[
        paramsPanel(inst.params),
        outputPanel(inst.output, isFinished(inst.status)),
        inst.error ? errorPanel(inst.error) : null,
        eventsPanel(events)].filter((n) => n !== null));
    },
    clear() {
      node.replaceChildren();
      lastSig = "";
    },
  };
}
