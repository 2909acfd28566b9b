// @ts-check
// Links, navigation and the "refresh now" hook, shared by the pages without import cycles.

import { h } from "./ui.js";

/**
 * A parsed location hash.
 * @typedef {{page: "workflows", query: URLSearchParams}
 *   | {page: "instances", workflow: string, query: URLSearchParams}
 *   | {page: "instance", workflow: string, id: string, query: URLSearchParams}} Route
 */

/**
 * A mounted page: its root node, the poll that refreshes it, the document title.
 * @typedef {{node: HTMLElement, refresh: () => Promise<void>, title: string, destroy?: () => void}} Page
 */

export const link = {
  /** @type {() => string} */
  workflows: () => "#/",
  /** @type {(name: string, status?: string) => string} */
  workflow: (name, status) => `#/workflows/${encodeURIComponent(name)}${status ? `?status=${encodeURIComponent(status)}` : ""}`,
  /** @type {(name: string, id: string) => string} */
  instance: (name, id) => `#/workflows/${encodeURIComponent(name)}/instances/${encodeURIComponent(id)}`,
};

/** @returns {Route} */
export function parseRoute() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  const query = new URLSearchParams(qs || "");
  if (parts[0] === "workflows" && parts.length === 2) return { page: "instances", workflow: parts[1], query };
  if (parts[0] === "workflows" && parts[2] === "instances" && parts.length === 4) {
    return { page: "instance", workflow: parts[1], id: parts[3], query };
  }
  return { page: "workflows", query };
}

/** Go to `hash`; re-mounts the page even when it is the current one. @param {string} hash */
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** @type {() => void} */
let refresher = () => {};
/** @param {() => void} fn  what refreshNow() runs: the open page's poll */
export function setRefresher(fn) {
  refresher = fn;
}
/** Refresh the open page now (after an action) instead of waiting for the next poll. */
export function refreshNow() {
  refresher();
}

/**
 * Breadcrumb trail; the last item is the current page (no link).
 * @param {...([string, string] | [string])} items  [text, href]
 * @returns {HTMLElement}
 */
export function breadcrumbs(...items) {
  const list = h("ol");
  items.forEach(([text, href], i) => {
    const last = i === items.length - 1;
    list.append(h("li", last ? h("span", { "aria-current": "page" }, text) : h("a", { href }, text)));
  });
  return h("nav.crumbs", { "aria-label": "Breadcrumb" }, list);
}
