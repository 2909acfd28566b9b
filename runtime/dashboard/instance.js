// The instance page: status, params, output, error, timings, the timeline, every step with its
// attempts, output and error, the events received and still buffered, and the actions
// (send event, pause, resume, restart, terminate, delete).

import { api, EVENT_TYPE } from "./api.js";
import { h, icon, badge, FINISHED, parseTime, fmtDateTime, fmtDuration, fmtClock, statusLabel,
  jsonView, errorBlock, toast, openDialog, jsonEditor, field, empty } from "./ui.js";
import { renderTimeline, splitStepName, stepState, stepDuration } from "./timeline.js";
import { link, navigate, refreshNow, breadcrumbs } from "./router.js";

const TYPE_WORD = { step: "Step", sleep: "Sleep", waitForEvent: "Wait for event" };
const TYPE_ICON = { step: "bolt", sleep: "moon", waitForEvent: "bell" };
const FROM_TYPE = { step: "do", sleep: "sleep", waitForEvent: "waitForEvent" };

export function instancePage(workflow, id) {
  let inst = null;
  let events = { received: [], buffered: [] };
  const openSteps = new Set();
  const stepCache = new Map();
  let lastSig = { inst: "", events: "", side: "" };

  const statusSlot = h("span.head-status");
  const buttons = {
    event: h("button.btn", { type: "button", onclick: sendEventDialog }, icon("send"), "Send event"),
    pause: h("button.btn", { type: "button", onclick: () => simpleAction("pause") }, icon("pause"), "Pause"),
    resume: h("button.btn", { type: "button", onclick: () => simpleAction("resume") }, icon("play"), "Resume"),
    restart: h("button.btn", { type: "button", onclick: restartDialog }, icon("restart"), "Restart…"),
    terminate: h("button.btn.btn-danger-ghost", { type: "button", onclick: terminateDialog }, icon("stop"), "Terminate…"),
    remove: h("button.btn.btn-danger-ghost", { type: "button", onclick: deleteDialog }, icon("trash"), "Delete…"),
  };
  const errorSlot = h("div");
  const summary = h("dl.summary");
  const timelineSlot = h("div.tl-slot");
  const stepsList = h("div.steps", { role: "list" });
  const stepsCount = h("span.muted.small");
  const side = h("div.side");

  const node = h("section.page.instance-page", { "aria-labelledby": "instance-title" },
    breadcrumbs(["Workflows", link.workflows()], [workflow, link.workflow(workflow)], [id]),
    h("div.page-head",
      h("div.title-block", h("h1#instance-title.mono", id), statusSlot),
      h("div.head-actions", { role: "toolbar", "aria-label": "Instance actions" }, Object.values(buttons))),
    errorSlot,
    h("div.panel.summary-panel", summary),
    h("section.panel.tl-panel", { "aria-labelledby": "tl-title" },
      h("div.panel-head", h("h2#tl-title", "Timeline"), h("span.muted.small", "Hover a bar for details; select a step to open it.")),
      timelineSlot),
    h("div.columns",
      h("section.col-main", { "aria-labelledby": "steps-title" },
        h("div.section-head", h("h2#steps-title", "Steps"), stepsCount), stepsList),
      side));

  // -- rendering --

  function renderHead(now) {
    statusSlot.replaceChildren(badge(inst.status));
    const st = inst.status;
    const finished = FINISHED.has(st);
    buttons.pause.disabled = finished || st === "paused" || st === "waitingForPause";
    buttons.resume.disabled = !(st === "paused" || st === "waitingForPause");
    buttons.terminate.disabled = finished;
    buttons.event.disabled = finished;
    const queued = parseTime(inst.queued);
    const start = parseTime(inst.start);
    const end = parseTime(inst.end);
    const item = (term, ...value) => h("div.sum-item", h("dt", term), h("dd", ...value));
    summary.replaceChildren(
      item("Status", badge(st)),
      item("Trigger", (inst.trigger && inst.trigger.source) || "—"),
      item("Queued", time(queued)),
      item("Started", time(start)),
      item("Ended", time(end)),
      item("Duration", start == null ? "—" : fmtDuration((end ?? now) - start), end == null && start != null && !finished ? h("span.muted", " so far") : null),
      item("Queue wait", start == null || queued == null ? "—" : fmtDuration(start - queued)),
      item("Steps", String((inst.steps || []).filter((s) => s.type !== "termination").length)));
    errorSlot.replaceChildren(...(inst.error ? [h("div.callout.callout-error", { role: "note" }, icon("alert"),
      h("div", h("strong", `${statusLabel(st)}: `), `${inst.error.name || "Error"}: ${inst.error.message || ""}`))] : []));
  }

  function time(ms) {
    return ms == null ? h("span.muted", "—") : h("time", { datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString() }, fmtDateTime(ms));
  }

  function selectStep(name) {
    const card = stepsList.querySelector(`[data-step="${CSS.escape(name)}"]`);
    if (!card) return;
    card.open = true;
    openSteps.add(name);
    card.scrollIntoView({ behavior: "smooth", block: "start" });
    card.querySelector("summary").focus({ preventScroll: true });
  }

  function stepCard(step, now) {
    const stopped = FINISHED.has(inst.status);
    if (stopped && inst.end) now = parseTime(inst.end);
    const state = stepState(step, now, stopped);
    const dur = stepDuration(step, now);
    const lastTry = (step.attempts || [])[(step.attempts || []).length - 1];
    const backingOff = step.success == null && lastTry && lastTry.success === false;
    const kind = state === "did not finish" ? "stop"
      : step.type === "step" ? (step.success === true ? "ok" : step.success === false ? "fail" : backingOff ? "wait" : "run")
        : step.type === "sleep" ? (step.finished ? "ok" : "wait")
          : step.finished ? (step.error ? "fail" : "ok") : "wait";
    const body = h("div.step-body");
    const times = h("dl.kv");
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
    if (step.error) body.append(h("h4", "Error"), errorBlock(step.error));
    if (step.output !== undefined && (step.type === "step" ? step.success : step.finished)) {
      body.append(h("h4", step.type === "waitForEvent" ? "Event received" : "Output"), jsonView(step.output, { label: `Output of ${step.name}` }));
    }
    const card = h(`details.step-card.k-${kind}`, { role: "listitem", dataset: { step: step.name, type: step.type }, open: openSteps.has(step.name) },
      h("summary",
        h("span.step-icon", icon(TYPE_ICON[step.type] || "question")),
        h("span.step-name", step.name),
        h("span.step-type", TYPE_WORD[step.type] || step.type),
        h(`span.step-state.k-${kind}`, stateIcon(kind), state),
        h("span.step-dur", dur != null ? fmtDuration(dur) : "")),
      body);
    card.addEventListener("toggle", () => (card.open ? openSteps.add(step.name) : openSteps.delete(step.name)));
    return card;
  }

  function renderSteps(now) {
    const steps = (inst.steps || []).filter((s) => s.type !== "termination");
    stepsCount.textContent = `${steps.length} step${steps.length === 1 ? "" : "s"}`;
    if (!steps.length) {
      stepCache.clear();
      stepsList.replaceChildren(empty(inst.status === "queued" ? "Not started yet" : "No steps yet", "Steps appear here as run() reaches them."));
      return;
    }
    const nodes = steps.map((step) => {
      // a running or waiting step shows live durations: rebuild it each tick
      const live = !FINISHED.has(inst.status) && (step.type === "step" ? step.success == null : !step.finished);
      const sig = JSON.stringify(step) + (live ? Math.floor(now / 1000) : "");
      let entry = stepCache.get(step.name);
      if (!entry || entry.sig !== sig) {
        const focused = entry && entry.node.contains(document.activeElement);
        entry = { sig, node: stepCard(step, now) };
        stepCache.set(step.name, entry);
        if (focused) queueMicrotask(() => entry.node.querySelector("summary").focus({ preventScroll: true }));
      }
      return entry.node;
    });
    const same = nodes.length === stepsList.children.length && nodes.every((n, i) => stepsList.children[i] === n);
    if (!same) stepsList.replaceChildren(...nodes);
  }

  function renderSide() {
    const sig = JSON.stringify([inst.params, inst.output, inst.error, inst.status, events]);
    if (sig === lastSig.side) return;
    lastSig.side = sig;
    const panel = (title, ...content) => h("section.panel.side-panel", { "aria-label": title }, h("h2", title), ...content);
    const finished = FINISHED.has(inst.status);
    const eventItem = (e, buffered) => h("li.event",
      h("div.event-head", h("code.event-type", e.type),
        buffered ? h("span.tag.tag-warn", "buffered") : h("span.tag", `→ ${e.consumed_by}`),
        h("time.muted.small", { datetime: e.received_on, title: e.received_on }, fmtDateTime(parseTime(e.received_on)))),
      jsonView(e.payload, { label: `Payload of ${e.type} event`, openDepth: 1 }));
    side.replaceChildren(...[
      panel("Params", inst.params === undefined || inst.params === null ? h("p.muted.small", "No params") : jsonView(inst.params, { label: "Params" })),
      panel("Output", inst.output !== null && inst.output !== undefined ? jsonView(inst.output, { label: "Output" })
        : h("p.muted.small", finished ? "run() returned nothing" : "Available when the instance completes")),
      inst.error ? panel("Error", errorBlock(inst.error)) : null,
      panel("Events",
        h("h3", `Received (${events.received.length})`),
        events.received.length ? h("ul.events", events.received.map((e) => eventItem(e, false))) : h("p.muted.small", "None yet"),
        h("h3", `Buffered (${events.buffered.length})`),
        events.buffered.length ? h("ul.events", events.buffered.map((e) => eventItem(e, true)))
          : h("p.muted.small", "No events waiting: events sent before a matching wait_for_event are buffered here."))].filter(Boolean));
  }

  function render() {
    const now = Date.now();
    renderHead(now);
    const sig = JSON.stringify(inst);
    if (sig !== lastSig.inst || !FINISHED.has(inst.status)) {
      timelineSlot.replaceChildren(renderTimeline(inst, { now, onSelect: selectStep }));
      lastSig.inst = sig;
    }
    renderSteps(now);
    renderSide();
  }

  async function refresh() {
    try {
      const [details, evs] = await Promise.all([api.getInstance(workflow, id), api.instanceEvents(workflow, id)]);
      inst = details.result;
      events = evs.result || { received: [], buffered: [] };
    } catch (exc) {
      if (exc.status === 404) { renderMissing(exc); return; }
      throw exc;
    }
    render();
  }

  function renderMissing(exc) {
    inst = null;
    statusSlot.replaceChildren(h("span.badge.s-unknown", icon("question"), h("span.badge-text", "Not found")));
    Object.values(buttons).forEach((b) => { b.disabled = true; });
    errorSlot.replaceChildren(h("div.callout.callout-error", { role: "note" }, icon("alert"),
      h("div", exc.message, " ", h("a", { href: link.workflow(workflow) }, `Back to ${workflow}`))));
    summary.replaceChildren();
    timelineSlot.replaceChildren();
    stepsList.replaceChildren();
    side.replaceChildren();
    lastSig = { inst: "", events: "", side: "" };
    stepCache.clear();
  }

  // -- actions --

  async function simpleAction(action) {
    const button = buttons[action];
    button.disabled = true;
    try {
      const { result } = await api.changeStatus(workflow, id, action);
      toast("success", `${action === "pause" ? "Pause requested for" : "Resumed"} ${id}: now ${statusLabel(result && result.status).toLowerCase()}.`);
    } catch (exc) {
      toast("error", `Could not ${action} ${id}: ${exc.message}`);
    }
    refreshNow();
  }

  function terminateDialog() {
    openDialog({
      title: "Terminate this instance?",
      description: `${id} stops at once and cannot be resumed; you can still restart it.`,
      submitLabel: "Terminate", danger: true,
      submit: async () => {
        await api.changeStatus(workflow, id, "terminate");
        toast("success", `Terminated ${id}.`);
        refreshNow();
      },
    });
  }

  function restartDialog() {
    const steps = (inst ? inst.steps || [] : []).filter((s) => s.type !== "termination");
    const fromStart = h("input", { type: "radio", name: "restart-from", value: "start", id: "restart-start", checked: true });
    const fromStep = h("input", { type: "radio", name: "restart-from", value: "step", id: "restart-step", disabled: !steps.length });
    const select = h("select.input", { id: "restart-step-select", "aria-label": "Restart from step", disabled: true },
      steps.map((s, i) => h("option", { value: String(i) }, `${s.name} (${TYPE_WORD[s.type]})`)));
    const sync = () => { select.disabled = !fromStep.checked; };
    fromStart.addEventListener("change", sync);
    fromStep.addEventListener("change", sync);
    openDialog({
      title: "Restart this instance?",
      description: "Intermediate state is erased and run() starts again with the same params. Restarting from a step keeps the results of the steps before it.",
      fields: h("fieldset.radio-group", h("legend.sr-only", "Restart from"),
        h("label.radio", { for: "restart-start" }, fromStart, "From the beginning"),
        h("label.radio", { for: "restart-step" }, fromStep, "From a step:"), select),
      submitLabel: "Restart",
      submit: async () => {
        let from;
        if (fromStep.checked) {
          const step = steps[Number(select.value)];
          const { name, count } = splitStepName(step.name);
          from = { name, count, type: FROM_TYPE[step.type] };
        }
        await api.changeStatus(workflow, id, "restart", from);
        toast("success", from ? `Restarted ${id} from step "${from.name}" (#${from.count}).` : `Restarted ${id} from the beginning.`);
        refreshNow();
      },
    });
  }

  function deleteDialog() {
    openDialog({
      title: "Delete this instance?",
      description: `${id} is stopped if it runs, and deleted with its steps and events. This cannot be undone.`,
      submitLabel: "Delete", danger: true,
      submit: async () => {
        const { result } = await api.deleteInstances(workflow, [id]);
        const failed = (result.errors || [])[0];
        if (failed) throw new Error(failed.message);
        toast("success", `Deleted instance ${id}.`);
        navigate(link.workflow(workflow));
      },
    });
  }

  function sendEventDialog() {
    const waiting = (inst ? inst.steps || [] : []).find((s) => s.type === "waitForEvent" && !s.finished);
    const type = h("input.input.mono", { type: "text", value: waiting ? waiting.event_type : "", autocomplete: "off", maxlength: 100, required: true });
    const typeStatus = h("p.field-status", { "aria-live": "polite" });
    const payload = jsonEditor({ id: "event-payload", label: "Payload (JSON)", initial: "{}", rows: 7 });
    const typeOk = () => {
      const v = type.value.trim();
      const ok = v.length > 0 && v.length <= 100 && EVENT_TYPE.test(v);
      typeStatus.className = `field-status ${ok ? "muted" : "bad"}`;
      typeStatus.textContent = ok ? (waiting && v === waiting.event_type ? `✓ ${waiting.name} is waiting for this type` : "")
        : "✕ Use 1–100 letters, digits, '-' or '_', not starting with '-'.";
      type.setAttribute("aria-invalid", String(!ok));
      return ok;
    };
    openDialog({
      title: "Send an event",
      description: waiting ? `This instance is waiting for "${waiting.event_type}" (step ${waiting.name}).` : "Events nobody waits for yet are buffered until a matching wait_for_event.",
      fields: [field("event-type", "Event type", type), typeStatus, payload.node],
      submitLabel: "Send event",
      validate: () => typeOk() && payload.valid(),
      submit: async () => {
        const t = type.value.trim();
        await api.sendEvent(workflow, id, t, JSON.stringify(payload.value()));
        toast("success", `Event "${t}" sent to ${id}.`);
        refreshNow();
      },
    });
  }

  return { node, refresh, title: `${id} · ${workflow}` };
}

function stateIcon(kind) {
  return icon({ ok: "check", fail: "x", run: "play", wait: "clock", stop: "ban" }[kind] || "question");
}

function configText(config) {
  const r = config.retries || {};
  const parts = [];
  if (r.limit !== undefined) parts.push(`${r.limit} retr${r.limit === 1 ? "y" : "ies"}`);
  if (r.delay !== undefined) parts.push(`delay ${typeof r.delay === "number" ? fmtDuration(r.delay) : r.delay}`);
  if (r.backoff) parts.push(r.backoff);
  if (config.timeout !== undefined) parts.push(`timeout ${typeof config.timeout === "number" ? fmtDuration(config.timeout) : config.timeout}`);
  return parts.join(" · ") || "default";
}

function attemptsTable(step) {
  const rows = step.attempts.map((a, i) => {
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
