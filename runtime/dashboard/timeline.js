// @ts-check
// The instance timeline: every step on one time axis. Each attempt of a `step.do` is a bar
// (failed attempts hatched red, the running one animated), retry back-off is a dashed gap between
// attempts, sleeps and event waits are their own bars labelled with their wake or timeout time.
// Deadlines far in the future are not allowed to squash the axis: their bars run off the right
// edge with an arrow and the time written out.

import { h, icon, parseTime, fmtClock, fmtDuration, isFinished, statusLabel } from "./ui.js";

/** @typedef {import("./api.js").Instance} Instance */
/** @typedef {import("./api.js").Step} Step */
/** @typedef {import("./api.js").Attempt} Attempt */

/**
 * A stretch of time drawn as one bar.
 * @typedef {object} Segment
 * @property {string} kind  ok, fail, run, backoff, sleep, sleep-rest, event, event-rest, timeout
 * @property {number | null} from
 * @property {number | null} to
 * @property {boolean} [open]  still growing
 * @property {boolean} [pending]  in the future
 * @property {number | null} [deadline]
 * @property {number} [attempt]
 * @property {Partial<Attempt>} [data]
 */

const TICK_STEPS = [
  10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000,
  300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
  86_400_000, 172_800_000, 604_800_000,
];

/**
 * "step-name-2" → {name: "step-name", count: 2}.
 * @param {string | null | undefined} full
 * @returns {{name: string, count: number}}
 */
export function splitStepName(full) {
  const match = /^(.*)-(\d+)$/.exec(full || "");
  return match ? { name: match[1], count: Number(match[2]) } : { name: full || "", count: 1 };
}

/**
 * Turn each API step into the time segments we draw.
 * @param {Step} step @param {number} now @returns {Segment[]}
 */
function segmentsOf(step, now) {
  /** @type {Segment[]} */
  const segs = [];
  const start = parseTime(step.start);
  if (step.type === "step") {
    const attempts = step.attempts && step.attempts.length ? step.attempts
      : [{ start: step.start, end: step.end, success: step.success, error: step.error }];
    attempts.forEach((a, i) => {
      const s = parseTime(a.start) ?? start;
      const e = parseTime(a.end);
      const kind = a.success === true ? "ok" : a.success === false ? "fail" : "run";
      segs.push({ kind, from: s, to: e ?? now, open: e == null, attempt: i + 1, data: a });
      const next = attempts[i + 1];
      if (a.success === false && e != null) {
        if (next) segs.push({ kind: "backoff", from: e, to: parseTime(next.start) ?? e, attempt: i + 1 });
        else if (a.next_retry) {
          const retry = parseTime(a.next_retry);
          segs.push({ kind: "backoff", from: e, to: retry, pending: retry > now, deadline: retry, attempt: i + 1 });
        }
      }
    });
  } else if (step.type === "sleep") {
    const wake = parseTime(step.end);
    if (step.finished || (wake != null && wake <= now)) segs.push({ kind: "sleep", from: start, to: wake ?? now });
    else {
      segs.push({ kind: "sleep", from: start, to: now, open: true });
      segs.push({ kind: "sleep-rest", from: now, to: wake, pending: true, deadline: wake });
    }
  } else if (step.type === "waitForEvent") {
    const end = parseTime(step.end);
    const timeout = parseTime(step.timeout);
    if (step.finished) {
      segs.push({ kind: step.error ? "timeout" : "event", from: start, to: end ?? timeout ?? now });
    } else {
      segs.push({ kind: "event", from: start, to: now, open: true });
      if (timeout != null) segs.push({ kind: "event-rest", from: now, to: timeout, pending: true, deadline: timeout });
    }
  }
  return segs.filter((s) => s.from != null && s.to != null);
}

/** @param {number} span @param {number} [target] */
function niceStep(span, target = 7) {
  for (const step of TICK_STEPS) if (span / step <= target) return step;
  return TICK_STEPS[TICK_STEPS.length - 1];
}

/** @param {number} ms */
function fmtOffset(ms) {
  if (ms === 0) return "0";
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s ? `${m}m${s}s` : `${m}m`;
  }
  if (ms < 86_400_000) {
    const hr = Math.floor(ms / 3_600_000);
    const m = Math.round((ms % 3_600_000) / 60_000);
    return m ? `${hr}h${m}m` : `${hr}h`;
  }
  return `${+(ms / 86_400_000).toFixed(1)}d`;
}

/** @type {Record<string, string>} */
const TYPE_ICON = { step: "bolt", sleep: "moon", waitForEvent: "bell", termination: "ban" };
/** @type {Record<string, string>} */
const TYPE_WORD = { step: "step", sleep: "sleep", waitForEvent: "wait for event", termination: "termination" };

/**
 * A one-line plain-text state of a step, for the label and screen readers.
 * @param {Step} step
 * @param {number} [now]
 * @param {boolean} [stopped]  the instance is finished: unsettled steps "did not finish"
 * @returns {string}
 */
export function stepState(step, now = Date.now(), stopped = false) {
  const unfinished = step.type === "step" ? step.success == null : step.type !== "termination" && !step.finished;
  if (stopped && unfinished) return "did not finish";
  if (step.type === "step") {
    const n = (step.attempts || []).length;
    const tries = n > 1 ? ` after ${n} attempts` : "";
    if (step.success === true) return `completed${tries}`;
    if (step.success === false) return `failed${tries}`;
    const last = (step.attempts || [])[n - 1];
    if (last && last.success === false && last.next_retry) {
      const at = parseTime(last.next_retry);
      return at > now ? `retry ${n + 1} in ${fmtDuration(at - now)}` : `retrying (attempt ${n + 1})`;
    }
    return n > 1 ? `running attempt ${n}` : "running";
  }
  if (step.type === "sleep") {
    const wake = parseTime(step.end);
    return step.finished ? "slept" : `sleeping until ${fmtClock(wake)}`;
  }
  if (step.type === "waitForEvent") {
    if (!step.finished) return `waiting for "${step.event_type}"`;
    return step.error ? "timed out" : `received "${step.event_type}"`;
  }
  return "terminated";
}

/** How long a step took (or has taken so far). @param {Step} step @param {number} [now] @returns {number | null} */
export function stepDuration(step, now = Date.now()) {
  const s = parseTime(step.start);
  if (s == null) return null;
  if (step.type === "sleep") return (step.finished ? parseTime(step.end) : now) - s;
  const e = parseTime(step.end);
  return (e ?? now) - s;
}

/**
 * Build the timeline element for InstanceDetails `inst`. `onSelect(stepName)` is called when a
 * step label is activated.
 * @param {Instance} inst
 * @param {{now?: number, onSelect?: (stepName: string) => void}} [options]
 * @returns {HTMLElement}
 */
export function renderTimeline(inst, { now = Date.now(), onSelect = undefined } = {}) {
  const steps = (inst.steps || []).filter((s) => s.type !== "termination");
  const terminated = (inst.steps || []).some((s) => s.type === "termination");
  const finished = isFinished(inst.status);
  const runStart = parseTime(inst.start);
  const runEnd = parseTime(inst.end);
  // a finished instance stops the clock: nothing it left pending runs on past its end
  if (finished && runEnd != null) now = runEnd;
  const rows = steps.map((step) => ({ step, segs: segmentsOf(step, now) }));

  const starts = [runStart, ...rows.flatMap((r) => r.segs.map((s) => s.from))].filter((t) => t != null);
  if (!starts.length) {
    return h("div.tl-empty", icon("hourglass"), h("span", inst.status === "queued"
      ? "Queued — the timeline starts when the instance starts running." : "No steps yet."));
  }
  const t0 = Math.min(...starts);
  let t1 = Math.max(t0 + 1, runEnd ?? 0, finished ? 0 : now,
    ...rows.flatMap((r) => r.segs.filter((s) => !s.pending).map((s) => s.to)));
  // Pull near deadlines into view; far ones are clipped with an arrow.
  const deadlines = rows.flatMap((r) => r.segs.filter((s) => s.pending).map((s) => s.to)).sort((a, b) => a - b);
  for (const d of deadlines) if (d - t1 <= Math.max(0.6 * (t1 - t0), 3000)) t1 = Math.max(t1, d);
  t1 = Math.max(t1, t0 + 1000);
  const span = (t1 - t0) * 1.03;
  const pct = (t) => Math.min(100, Math.max(0, ((t - t0) / span) * 100));

  // axis and grid
  const tickStep = niceStep(span);
  const ticks = [];
  for (let off = 0; off <= span; off += tickStep) ticks.push(off);
  const axis = h("div.tl-axis", { "aria-hidden": "true" },
    ticks.map((off) => h("span.tl-tick", { style: { left: `${(off / span) * 100}%` } }, fmtOffset(off))));
  const grid = h("div.tl-grid", { "aria-hidden": "true" },
    ticks.map((off) => h("span.tl-gridline", { style: { left: `${(off / span) * 100}%` } })),
    !finished ? h(`span.tl-now${pct(now) > 88 ? ".tl-now-left" : ""}`, { style: { left: `${pct(now)}%` }, title: `now ${fmtClock(now)}` }, h("span", "now")) : null,
    terminated && runEnd ? h("span.tl-term", { style: { left: `${pct(runEnd)}%` }, title: `terminated at ${fmtClock(runEnd, { millis: true })}` }) : null);

  const body = h("div.tl-rows", { role: "list", "aria-label": "Steps on a time axis" });
  // the run itself
  if (runStart != null) {
    const end = runEnd ?? now;
    body.append(h("div.tl-row.tl-run", { role: "listitem" },
      h("div.tl-label", icon("list"), h("span.tl-name", "Workflow run")),
      h("div.tl-track", bar(`run-${inst.status}`, pct(runStart), pct(end), {
        title: `Run: ${statusLabel(inst.status)} — ${fmtDuration(end - runStart)}`, open: runEnd == null })),
      h("div.tl-meta", fmtDuration(end - runStart))));
  }
  for (const { step, segs } of rows) body.append(stepRow(step, segs, pct, now, t1, onSelect, finished));
  if (terminated) {
    body.append(h("div.tl-row.tl-termrow", { role: "listitem" },
      h("div.tl-label", icon("ban"), h("span.tl-name", "Terminated")),
      h("div.tl-track", runEnd ? h("span.tl-marker", { style: { left: `${pct(runEnd)}%` } }, h("span", `terminated ${fmtClock(runEnd)}`)) : null),
      h("div.tl-meta", "")));
  }

  return h("div.tl", { dataset: { steps: String(steps.length) } },
    h("div.tl-head", h("div.tl-label.tl-origin", `Start ${fmtClock(t0, { millis: true })}`), axis, h("div.tl-meta", "Duration")),
    h("div.tl-body", grid, body),
    legend());
}

/**
 * @param {Step} step @param {Segment[]} segs @param {(t: number) => number} pct @param {number} now
 * @param {number} t1 @param {((name: string) => void) | undefined} onSelect @param {boolean} stopped
 */
function stepRow(step, segs, pct, now, t1, onSelect, stopped) {
  const state = stepState(step, now, stopped);
  const duration = stepDuration(step, now);
  const track = h("div.tl-track");
  let first = 100;
  let last = 0;
  for (const seg of segs) {
    const from = pct(seg.from);
    const to = pct(seg.to);
    first = Math.min(first, from);
    last = Math.max(last, to);
    track.append(bar(seg.kind, from, to, { ...describeSeg(step, seg, now), clipped: seg.to > t1, open: seg.open }));
  }
  const caption = stopped && state === "did not finish" ? state : rowCaption(step, now);
  if (caption && segs.length) {
    // one caption per row, where there is room: after the bars, before them, or not at all
    const cap = h(`span.tl-cap.c-${step.type}`, { "aria-hidden": "true" }, caption);
    const solid = segs.filter((g) => !g.pending && g.kind !== "backoff")
      .map((g) => ({ from: pct(g.from), width: pct(g.to) - pct(g.from) }))
      .sort((a, b) => b.width - a.width)[0];
    if (last < 76) {
      Object.assign(cap.style, { left: `calc(${last}% + 8px)`, maxWidth: `calc(${100 - last}% - 8px)` });
      track.append(cap);
    } else if (first > 24) {
      Object.assign(cap.style, { right: `calc(${100 - first}% + 8px)`, maxWidth: `calc(${first}% - 8px)` });
      track.append(cap);
    }
    else if (solid && solid.width > 18) {
      cap.classList.add("cap-in");
      Object.assign(cap.style, { left: `calc(${solid.from}% + 8px)`, maxWidth: `calc(${solid.width}% - 16px)` });
      track.append(cap);
    }
  }
  const label = h("button.tl-label", { type: "button",
    "aria-label": `${step.name}: ${TYPE_WORD[step.type]}, ${state}${duration != null ? `, ${fmtDuration(duration)}` : ""}. Show details`,
    title: `${step.name} — ${state}`,
    onclick: () => onSelect && onSelect(step.name) },
  icon(TYPE_ICON[step.type] || "question"), h("span.tl-name", step.name));
  return h(`div.tl-row.tl-${step.type}`, { role: "listitem", dataset: { step: step.name, state } },
    label, track, h("div.tl-meta", duration != null ? fmtDuration(duration) : ""));
}

/** The short text written next to a row's bars. @param {Step} step @param {number} now */
function rowCaption(step, now) {
  if (step.type === "step") {
    const attempts = step.attempts || [];
    const n = attempts.length;
    const last = attempts[n - 1];
    if (last && last.success === false && last.next_retry && parseTime(last.next_retry) > now) {
      return `attempt ${n} failed · retry at ${fmtClock(parseTime(last.next_retry))}`;
    }
    if (step.success === false) return n > 1 ? `failed after ${n} attempts` : "failed";
    if (n > 1) return step.success ? `succeeded on attempt ${n}` : `attempt ${n}`;
    return "";
  }
  if (step.type === "sleep") {
    const wake = parseTime(step.end);
    return step.finished || wake <= now ? `woke ${fmtClock(wake)}` : `wakes ${fmtClock(wake)} (in ${fmtDuration(wake - now)})`;
  }
  if (step.type === "waitForEvent") {
    if (!step.finished) {
      const timeout = parseTime(step.timeout);
      return `"${step.event_type}" · times out ${fmtClock(timeout)} (in ${fmtDuration(timeout - now)})`;
    }
    return step.error ? `timed out waiting for "${step.event_type}"` : `received "${step.event_type}"`;
  }
  return "";
}

/** @param {Step} step @param {Segment} seg @param {number} now @returns {{title: string, caption?: string}} */
function describeSeg(step, seg, now) {
  const dur = fmtDuration(seg.to - seg.from);
  switch (seg.kind) {
    case "ok":
    case "fail":
    case "run": {
      const a = seg.data || {};
      const verb = seg.kind === "ok" ? "succeeded" : seg.kind === "fail" ? "failed" : "running";
      const err = a.error ? `\n${a.error.name || "Error"}: ${a.error.message || ""}` : "";
      return { title: `Attempt ${seg.attempt} of ${step.name}: ${verb} after ${dur}\nstarted ${fmtClock(seg.from, { millis: true })}${err}` };
    }
    case "backoff":
      return { title: `Retry back-off after attempt ${seg.attempt}: ${dur}${seg.pending ? ` (retry at ${fmtClock(seg.to, { millis: true })})` : ""}`,
        caption: `retry ${seg.pending ? "at " + fmtClock(seg.to) : "after " + dur}` };
    case "sleep":
      return { title: `Sleep ${step.name}: ${seg.open ? "sleeping for" : "slept"} ${dur}; wake time ${fmtClock(parseTime(step.end), { millis: true })}` };
    case "sleep-rest":
      return { title: `Wakes at ${fmtClock(seg.to, { millis: true })} (in ${fmtDuration(seg.to - now)})` };
    case "event":
      return { title: `Wait for "${step.event_type}": ${seg.open ? "waiting for" : "received after"} ${dur}` };
    case "event-rest":
      return { title: `Times out at ${fmtClock(seg.to, { millis: true })} (in ${fmtDuration(seg.to - now)})` };
    case "timeout":
      return { title: `Wait for "${step.event_type}" timed out after ${dur}` };
    default:
      return { title: dur };
  }
}

/**
 * @param {string} kind @param {number} from @param {number} to
 * @param {{title: string, caption?: string, clipped?: boolean, open?: boolean}} options
 */
function bar(kind, from, to, { title, caption = undefined, clipped = false, open = false }) {
  const width = Math.max(0, to - from);
  const el = h(`span.tl-bar.b-${kind}`, { title, role: "img", "aria-label": title.replace(/\n/g, ". "),
    style: { left: `${from}%`, width: `${width}%` } });
  if (clipped) el.classList.add("clipped");
  if (open) el.classList.add("open");
  // back-off gaps carry their length above the dashed line when there is room for it
  if (caption && width > 9) el.append(h("span.tl-cap", { "aria-hidden": "true" }, caption));
  return el;
}

/** @returns {HTMLElement} */
function legend() {
  const item = (kind, text) => h("li", h(`span.tl-swatch.b-${kind}`), text);
  return h("ul.tl-legend", { "aria-label": "Legend" },
    item("ok", "Attempt succeeded"), item("fail", "Attempt failed"), item("run", "Running"),
    item("backoff", "Retry back-off"), item("sleep", "Sleep"), item("event", "Waiting for event"),
    item("timeout", "Timed out"));
}
