// @ts-check
// Small DOM helpers shared by every page: element builder, icons, status badges, formatting,
// a collapsible JSON viewer, toasts and modal dialogs. No framework, no build step.

/** @typedef {import("./api.js").Status} Status */

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Anything `h` accepts as a child: nodes, text, nothing (null/undefined/false), or lists of those.
 * @typedef {Node | string | number | boolean | null | undefined | ChildList} Child
 */
/** @typedef {Array<Child>} ChildList */

/**
 * The tag name in an `h` selector: "input.input#q" → "input".
 * @template {string} S
 * @typedef {S extends `${infer N}.${string}` ? TagOf<N> : S extends `${infer N}#${string}` ? TagOf<N> : S} TagOf
 */

/**
 * The element type `h(selector)` builds: h("input.x") is an HTMLInputElement.
 * @template {string} S
 * @typedef {TagOf<S> extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[TagOf<S>] : HTMLElement} ElementOf
 */

/**
 * Attributes for `h`: `on*` listeners, `class`, `style` (object), `dataset` (object), DOM
 * properties (non-string values) and plain attributes (strings; `true` → present).
 * @typedef {Record<string, any>} Attrs
 */

/**
 * h("div.card#main", {onclick, "aria-label": …}, children…) builds an element.
 * @template {string} S
 * @param {S} tag  tag name with `.class` and `#id` parts
 * @param {Attrs | Child} [attrs]  may be left out: then it is the first child
 * @param {...Child} children
 * @returns {ElementOf<S>}
 */
export function h(tag, attrs, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || "div");
  for (const part of rest) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className += (el.className ? " " : "") + value;
    else if (key === "style") Object.assign(el.style, value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return /** @type {ElementOf<S>} */ (/** @type {unknown} */ (el));
}

/** @param {Element} el @param {Child[]} children */
function append(el, children) {
  for (const child of /** @type {unknown[]} */ (children).flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

// -- icons (stroked 24×24 paths, drawn inline so the page works offline) --

/** @type {Record<string, string>} */
const ICONS = {
  check: "M5 12.5l4.5 4.5L19 7.5",
  x: "M6 6l12 12M18 6L6 18",
  pause: "M9 5v14M15 5v14",
  play: "M7 5l12 7-12 7z",
  stop: "M6 6h12v12H6z",
  clock: "M12 7v5l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z",
  hourglass: "M7 3h10M7 21h10M8 3c0 5 8 5 8 9s-8 4-8 9M16 3c0 5-8 5-8 9",
  question: "M9.5 9a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6V14M12 17.5v.5",
  bolt: "M13 3L5 14h6l-1 7 8-11h-6z",
  moon: "M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z",
  bell: "M6 16V11a6 6 0 1 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0",
  ban: "M5.6 5.6l12.8 12.8M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z",
  send: "M4 12l16-8-6 16-2-7z",
  restart: "M4 4v6h6M4.9 15a8 8 0 1 0 1.6-8.5L4 10",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  plus: "M12 5v14M5 12h14",
  copy: "M9 9h11v11H9zM5 15H4V4h11v1",
  chevron: "M9 6l6 6-6 6",
  search: "M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.5 15.5L20 20",
  refresh: "M20 11a8 8 0 0 0-14.6-4.5L4 8M4 4v4h4M4 13a8 8 0 0 0 14.6 4.5L20 16M20 20v-4h-4",
  list: "M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01",
  alert: "M12 9v4M12 17h.01M10.3 3.9L2 18a2 2 0 0 0 1.7 3h16.6a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
};

/**
 * @param {string} name  a key of ICONS; unknown names draw a question mark
 * @param {string} [cls]  extra classes
 * @returns {SVGSVGElement}
 */
export function icon(name, cls = "") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `icon ${cls}`.trim());
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name] || ICONS.question);
  svg.append(path);
  return svg;
}

// -- statuses: always text + icon + colour --

/** Every listed status in display order: [key, label, icon]. @type {[Status, string, string][]} */
export const STATUSES = [
  ["queued", "Queued", "hourglass"],
  ["running", "Running", "play"],
  ["waiting", "Waiting", "clock"],
  ["waitingForPause", "Waiting for pause", "pause"],
  ["paused", "Paused", "pause"],
  ["complete", "Complete", "check"],
  ["errored", "Errored", "x"],
  ["terminated", "Terminated", "ban"],
];
const STATUS_INFO = Object.fromEntries(STATUSES.map(([k, label, ic]) => [k, { label, ic }]));
/**
 * The finished statuses: an instance in one of them runs no more (terminate is refused, the clock
 * stops). The only definition in the dashboard; tests/dashboard checks it against the runtime's.
 * @type {ReadonlySet<Status>}
 */
export const FINISHED = new Set(["complete", "errored", "terminated"]);

/** @param {Status | null | undefined} status @returns {boolean} */
export function isFinished(status) {
  return status != null && FINISHED.has(status);
}

/** @param {Status | null | undefined} status @returns {string} */
export function statusLabel(status) {
  return (STATUS_INFO[status] || { label: "Unknown" }).label;
}

/**
 * A status badge: icon, label and colour; `extra` adds a count.
 * @param {Status} status
 * @param {string | number} [extra]
 * @returns {HTMLElement}
 */
export function badge(status, extra) {
  const info = STATUS_INFO[status] || { label: "Unknown", ic: "question" };
  return h(`span.badge.s-${STATUS_INFO[status] ? status : "unknown"}`, { "data-status": status },
    icon(info.ic), h("span.badge-text", info.label), extra != null ? h("span.badge-count", extra) : null);
}

// -- formatting --

/** ISO time → epoch ms, or null. @param {string | null | undefined} iso @returns {number | null} */
export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** @param {number} n @param {number} [w] */
const pad = (n, w = 2) => String(n).padStart(w, "0");

/** Local wall-clock time. @param {number | null | undefined} ms @param {{millis?: boolean}} [options] @returns {string} */
export function fmtClock(ms, { millis = false } = {}) {
  if (ms == null) return "—";
  const d = new Date(ms);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${clock}.${pad(d.getMilliseconds(), 3)}` : clock;
}

/** Clock time with milliseconds, with the date when not today. @param {number | null | undefined} ms @returns {string} */
export function fmtDateTime(ms) {
  if (ms == null) return "—";
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const date = sameDay ? "" : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `;
  return date + fmtClock(ms, { millis: true });
}

/** @param {number | null | undefined} ms @returns {string} */
export function fmtDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return "—";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(abs / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor(s / 3600) % 24}h`;
}

/** @param {number | null | undefined} ms @param {number} [now] @returns {string} */
export function fmtAgo(ms, now = Date.now()) {
  if (ms == null) return "—";
  const diff = now - ms;
  if (diff < 0) return `in ${fmtDuration(-diff)}`;
  if (diff < 2000) return "just now";
  if (diff < 60_000) return `${Math.floor(diff / 1000)}s ago`;
  if (diff < 3_600_000) return `${Math.floor(diff / 60_000)}m ago`;
  if (diff < 86_400_000) return `${Math.floor(diff / 3_600_000)}h ago`;
  return `${Math.floor(diff / 86_400_000)}d ago`;
}

/** @param {number} n @returns {string} */
export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** @type {(n: number | null | undefined) => string} */
export const fmtInt = (n) => (n ?? 0).toLocaleString("en-US");

/**
 * A <time> element showing local time, with the ISO value as tooltip.
 * @param {string | null | undefined} iso
 * @param {{ago?: boolean}} [options]
 * @returns {HTMLElement}
 */
export function timeEl(iso, { ago = false } = {}) {
  const ms = parseTime(iso);
  if (ms == null) return h("span.muted", "—");
  return h("time", { datetime: iso, title: iso }, ago ? fmtAgo(ms) : fmtDateTime(ms));
}

// -- JSON viewer --

const MAX_CHILDREN = 50;
const MAX_STRING = 240;
const CUT_CHARS = 3000;

/**
 * Formatted, collapsible JSON; long documents are cut with a "Show all" control.
 * @param {unknown} value
 * @param {{label?: string, openDepth?: number}} [options]
 * @returns {HTMLElement}
 */
export function jsonView(value, { label = "value", openDepth = 2 } = {}) {
  if (value === undefined) return h("p.muted.small", "No value");
  const text = JSON.stringify(value, null, 2) ?? "undefined";
  const tree = h("div.json-tree", jsonNode(value, 0, openDepth));
  const tools = h("div.json-tools",
    h("span.muted.small", describe(value), " · ", fmtBytes(new Blob([text]).size)),
    h("button.btn-link.small", { type: "button", "aria-label": `Copy ${label} as JSON`,
      onclick: (e) => copyText(text, e.currentTarget) }, icon("copy"), "Copy"));
  const box = h("div.json", { role: "group", "aria-label": label }, tools, tree);
  if (text.length > CUT_CHARS) {
    box.classList.add("json-cut");
    const more = h("button.json-more", { type: "button", "aria-expanded": "false",
      onclick: () => {
        const cut = box.classList.toggle("json-cut");
        more.setAttribute("aria-expanded", String(!cut));
        more.firstChild.textContent = cut ? `Show all (${text.split("\n").length} lines)` : "Show less";
      } }, h("span", `Show all (${text.split("\n").length} lines)`));
    box.append(more);
  }
  return box;
}

/** @param {unknown} value @returns {string} */
function describe(value) {
  if (Array.isArray(value)) return `array · ${value.length} item${value.length === 1 ? "" : "s"}`;
  if (value && typeof value === "object") {
    const n = Object.keys(value).length;
    return `object · ${n} key${n === 1 ? "" : "s"}`;
  }
  return value === null ? "null" : typeof value;
}

/** @param {unknown} value @param {number} depth @param {number} openDepth @returns {HTMLElement} */
function jsonNode(value, depth, openDepth) {
  if (value === null || typeof value !== "object") return jsonScalar(value);
  const isArray = Array.isArray(value);
  /** @type {[string | number, unknown][]} */
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (!entries.length) return h("span.j-punc", open + close);
  const children = h("div.j-children");
  const renderSome = (from, to) => {
    for (const [key, child] of entries.slice(from, to)) {
      children.append(h("div.j-line",
        isArray ? null : [h("span.j-key", JSON.stringify(key)), h("span.j-punc", ": ")],
        jsonNode(child, depth + 1, openDepth)));
    }
  };
  renderSome(0, MAX_CHILDREN);
  if (entries.length > MAX_CHILDREN) {
    let shown = MAX_CHILDREN;
    const more = h("button.btn-link.small.j-more", { type: "button", onclick: () => {
      renderSome(shown, shown + 500);
      shown += 500;
      children.append(more);
      if (shown >= entries.length) more.remove();
      else more.textContent = `… ${entries.length - shown} more`;
    } }, `… ${entries.length - MAX_CHILDREN} more`);
    children.append(more);
  }
  const count = isArray ? `${entries.length} item${entries.length === 1 ? "" : "s"}` : `${entries.length} key${entries.length === 1 ? "" : "s"}`;
  const details = h("details.j-node", { open: depth < openDepth },
    h("summary", h("span.j-punc", open), h("span.j-preview", ` ${count} `, h("span.j-punc", close))),
    children, h("span.j-punc.j-close", close));
  return details;
}

/** @param {unknown} value @returns {HTMLElement} */
function jsonScalar(value) {
  if (typeof value === "string") {
    const quoted = JSON.stringify(value);
    if (quoted.length <= MAX_STRING) return h("span.j-str", quoted);
    const span = h("span.j-str", quoted.slice(0, MAX_STRING) + "…");
    const toggle = h("button.btn-link.small", { type: "button", onclick: () => {
      const full = span.textContent.length < quoted.length;
      span.textContent = full ? quoted : quoted.slice(0, MAX_STRING) + "…";
      toggle.textContent = full ? "less" : `show ${fmtBytes(quoted.length)}`;
    } }, `show ${fmtBytes(quoted.length)}`);
    return h("span", span, " ", toggle);
  }
  if (typeof value === "number") return h("span.j-num", String(value));
  if (typeof value === "boolean") return h("span.j-bool", String(value));
  return h("span.j-null", "null");
}

/** @param {string} text @param {HTMLElement} button */
async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { value: text, style: { position: "fixed", opacity: "0" } });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const old = button.lastChild.textContent;
  button.lastChild.textContent = "Copied";
  setTimeout(() => { button.lastChild.textContent = old; }, 1200);
}

/**
 * An error object {name, message} (or anything) as a readable block.
 * @param {import("./api.js").ErrorInfo | unknown} error
 * @returns {HTMLElement | null}
 */
export function errorBlock(error) {
  if (error == null) return null;
  if (typeof error === "object" && ("message" in error || "name" in error)) {
    const { name, message } = /** @type {import("./api.js").ErrorInfo} */ (error);
    return h("div.error-block", { role: "note" },
      h("strong", name || "Error"), message ? [": ", h("span", message)] : null);
  }
  return h("div.error-block", { role: "note" }, typeof error === "string" ? error : JSON.stringify(error));
}

// -- toasts --

/**
 * @param {"success" | "error"} kind
 * @param {string} message
 * @param {{timeout?: number}} [options]  ms before it goes (default 6 s, errors 12 s)
 * @returns {HTMLElement}
 */
export function toast(kind, message, { timeout = undefined } = {}) {
  const region = document.getElementById("toasts");
  const close = h("button.toast-close", { type: "button", "aria-label": "Dismiss message" }, icon("x"));
  const el = h(`div.toast.toast-${kind}`, { role: kind === "error" ? "alert" : "status", "data-kind": kind },
    icon(kind === "error" ? "alert" : "check"), h("div.toast-msg", message), close);
  const remove = () => el.remove();
  close.addEventListener("click", remove);
  region.append(el);
  while (region.children.length > 3) region.firstChild.remove();
  setTimeout(remove, timeout ?? (kind === "error" ? 12_000 : 6000));
  return el;
}

// -- modal dialogs --

/**
 * @typedef {object} DialogOptions
 * @property {string} title
 * @property {string} [description]
 * @property {Child} [fields]  a node or a list of nodes
 * @property {string} [submitLabel]
 * @property {boolean} [danger]  a red submit button
 * @property {() => Promise<void>} submit  may throw: the message shows in the dialog
 * @property {() => boolean} [validate]  false disables the submit button
 */

/**
 * A modal form. `fields` is a node (or list); `submit` runs on submit and may throw: the message
 * is shown inside the dialog, which stays open. Returns the <dialog>.
 * @param {DialogOptions} options
 * @returns {HTMLDialogElement}
 */
export function openDialog({ title, description = undefined, fields = undefined, submitLabel = "Confirm", danger = false,
  submit, validate = undefined }) {
  const error = h("p.form-error", { role: "alert", hidden: true });
  const ok = h(`button.btn.${danger ? "btn-danger" : "btn-primary"}`, { type: "submit" }, submitLabel);
  const cancel = h("button.btn", { type: "button", onclick: () => dialog.close() }, "Cancel");
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const form = h("form.dialog-form", { method: "dialog", novalidate: true },
    h("h2", { id: titleId }, title),
    description ? h("p.dialog-desc", description) : null,
    fields, error, h("div.dialog-actions", cancel, ok));
  const dialog = /** @type {HTMLDialogElement} */ (h("dialog.dialog", { "aria-labelledby": titleId }, form));
  const refresh = () => { ok.disabled = validate ? !validate() : false; };
  form.addEventListener("input", refresh);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (validate && !validate()) return;
    ok.disabled = true;
    ok.classList.add("busy");
    error.hidden = true;
    try {
      await submit();
      dialog.close();
    } catch (exc) {
      error.textContent = exc.message || String(exc);
      error.hidden = false;
    } finally {
      ok.classList.remove("busy");
      refresh();
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  refresh();
  dialog.showModal();
  const first = /** @type {HTMLElement | null} */ (form.querySelector("input:not([type=radio]), textarea, select"));
  (first || ok).focus();
  return dialog;
}

/**
 * @typedef {object} JsonEditor
 * @property {HTMLElement} node
 * @property {HTMLTextAreaElement} area
 * @property {() => boolean} valid
 * @property {() => unknown} value  the parsed value; undefined when optional and empty
 */

/**
 * A JSON textarea that validates as you type; `.value()` returns the parsed value.
 * @param {{id: string, label: string, initial?: string, hint?: string, optional?: boolean, rows?: number}} options
 * @returns {JsonEditor}
 */
export function jsonEditor({ id, label, initial = "{}", hint = undefined, optional = false, rows = 8 }) {
  const status = h("p.field-status", { id: `${id}-status`, "aria-live": "polite" });
  const area = /** @type {HTMLTextAreaElement} */ (h("textarea.code", { id, rows, spellcheck: false, autocomplete: "off",
    "aria-describedby": `${id}-status` }, initial));
  area.value = initial;
  let parsed;
  let valid = true;
  const check = () => {
    const text = area.value.trim();
    if (!text && optional) {
      parsed = undefined; valid = true;
      status.className = "field-status muted";
      status.textContent = "Empty: nothing will be sent.";
    } else {
      try {
        parsed = JSON.parse(text);
        valid = true;
        status.className = "field-status ok";
        status.textContent = `✓ Valid JSON (${describe(parsed)})`;
      } catch (exc) {
        valid = false;
        status.className = "field-status bad";
        status.textContent = `✕ Invalid JSON: ${exc.message}`;
      }
    }
    area.setAttribute("aria-invalid", String(!valid));
  };
  area.addEventListener("input", check);
  check();
  const format = h("button.btn-link.small", { type: "button", onclick: () => {
    if (valid && parsed !== undefined) { area.value = JSON.stringify(parsed, null, 2); check(); }
  } }, "Format");
  const node = h("div.field",
    h("div.field-head", h("label", { for: id }, label), format),
    hint ? h("p.field-hint", hint) : null, area, status);
  return { node, area, valid: () => valid, value: () => parsed };
}

/**
 * A labelled form field; gives `input` the id.
 * @param {string} id @param {string} label @param {HTMLElement} input @param {string} [hint]
 * @returns {HTMLElement}
 */
export function field(id, label, input, hint) {
  input.id = id;
  return h("div.field", h("label", { for: id }, label), hint ? h("p.field-hint", hint) : null, input);
}

/**
 * Empty-state panel.
 * @param {string} title @param {Child} [text] @param {Child} [action]
 * @returns {HTMLElement}
 */
export function empty(title, text, action) {
  return h("div.empty", h("p.empty-title", title), text ? h("p.muted", text) : null, action || null);
}

/**
 * Instances over all statuses.
 * @param {import("./api.js").StatusCounts | null | undefined} counts
 * @returns {number}
 */
export const totalCount = (counts) => Object.values(counts || {}).reduce((a, b) => a + (b || 0), 0);

/**
 * Make `parent`'s children the nodes for `items`, keeping the DOM nodes whose data did not change
 * (same key and signature), so focus, selection and open states survive polls.
 * @template T
 * @param {Element} parent
 * @param {T[]} items
 * @param {(item: T) => string} keyOf
 * @param {(item: T) => string} sigOf  changes whenever the node must be rebuilt
 * @param {(item: T) => Element} build
 * @param {Map<string, {sig: string, node: Element}>} cache  kept by the caller between calls
 */
export function reconcile(parent, items, keyOf, sigOf, build, cache) {
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
