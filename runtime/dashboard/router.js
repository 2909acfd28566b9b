// Links, navigation and the "refresh now" hook, shared by the pages without import cycles.

import { h } from "./ui.js";

export const link = {
  workflows: () => "#/",
  workflow: (name, status) => `#/workflows/${encodeURIComponent(name)}${status ? `?status=${encodeURIComponent(status)}` : ""}`,
  instance: (name, id) => `#/workflows/${encodeURIComponent(name)}/instances/${encodeURIComponent(id)}`,
};

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

/** Go to `hash`; re-mounts the page even when it is the current one. */
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

let refresher = () => {};
export function setRefresher(fn) {
  refresher = fn;
}
/** Refresh the open page now (after an action) instead of waiting for the next poll. */
export function refreshNow() {
  refresher();
}

export function breadcrumbs(...items) {
  const list = h("ol");
  items.forEach(([text, href], i) => {
    const last = i === items.length - 1;
    list.append(h("li", last ? h("span", { "aria-current": "page" }, text) : h("a", { href }, text)));
  });
  return h("nav.crumbs", { "aria-label": "Breadcrumb" }, list);
}
