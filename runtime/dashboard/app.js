// @ts-check
// durable dashboard: hash router, live polling, the live indicator and error banner. The pages
// live in workflows.js, instances.js and instance.js (their panels in *-panels.js), the timeline
// in timeline.js, helpers in ui.js and the API client in api.js. Routes:
//   #/                              workflows with instance counts per status
//   #/workflows/NAME[?status=S]     instances of a workflow
//   #/workflows/NAME/instances/ID   one instance: timeline, steps, events, actions

import { captureToken, setToken } from "./api.js";
import { h, icon } from "./ui.js";
import { instancePage } from "./instance.js";
import { instancesPage } from "./instances.js";
import { workflowsPage } from "./workflows.js";
import { parseRoute, refreshNow, setRefresher } from "./router.js";

/** @typedef {import("./router.js").Page} Page */
/** @typedef {import("./api.js").ApiError} ApiError */

const POLL_MS = 700;

// -- live polling: one loop for the open page, paused while the tab is hidden --

class Poller {
  /** @param {() => Promise<void>} fn  one refresh of the open page */
  constructor(fn) {
    this.fn = fn;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
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

/** @type {Poller | null} */
let poller = null;
/** @type {Page | null} */
let currentPage = null;

/** @param {string} id @returns {HTMLElement} an element of index.html */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * The live indicator in the top bar; errors also show the banner.
 * @param {"ok" | "paused" | "error"} state
 * @param {ApiError} [exc]
 */
function setLive(state, exc) {
  const el = byId("live");
  const text = /** @type {HTMLElement} */ (el.querySelector(".live-text"));
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

/** @param {ApiError | undefined} exc */
function showBanner(exc) {
  const banner = byId("banner");
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
  const banner = byId("banner");
  banner.hidden = true;
  banner.dataset.msg = "";
}

function mount() {
  poller?.stop();
  currentPage?.destroy?.();
  const route = parseRoute();
  const main = byId("main");
  /** @type {Page} */
  const page = route.page === "instance" ? instancePage(route.workflow, route.id)
    : route.page === "instances" ? instancesPage(route.workflow, route.query)
      : workflowsPage();
  currentPage = page;
  main.replaceChildren(page.node);
  document.title = `${page.title} · durable`;
  document.querySelectorAll(".topnav a").forEach((a) => {
    a.toggleAttribute("aria-current", route.page === "workflows" && a.getAttribute("href") === "#/");
  });
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  poller = new Poller(page.refresh);
  const mine = poller;
  setRefresher(() => mine.run());
  mine.run();
}

// -- boot --

function boot() {
  captureToken();
  window.addEventListener("hashchange", () => { captureToken(); mount(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshNow(); });
  mount();
}

boot();

