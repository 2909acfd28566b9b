// The management API client. The dashboard reads and acts only through the Cloudflare-shaped
// REST API that `durable dev` serves on the same origin:
//   /client/v4/accounts/local/workflows/...
// Every response is the envelope {success, errors:[{code,message}], messages, result, result_info}.
//
// API token: when `durable dev` runs with an API token it requires `Authorization: Bearer …`.
// Open the dashboard as  http://127.0.0.1:8787/cdn-cgi/explorer/#token=<token>  — the token is
// moved out of the address bar into sessionStorage (this tab only) and sent with every request.

export const BASE = "/client/v4/accounts/local/workflows";
const TOKEN_KEY = "durable.apiToken";
const TIMEOUT_MS = 15_000;

export class ApiError extends Error {
  constructor(message, { status = 0, code = null, network = false } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.network = network;
  }
  get unauthorized() {
    return this.status === 401 || this.status === 403;
  }
}

/** Move `#token=…` (or `…&token=…` inside the route) from the URL into sessionStorage. */
export function captureToken() {
  const hash = location.hash;
  const match = hash.match(/(^#|[?&])token=([^&]*)/);
  if (!match) return;
  setToken(decodeURIComponent(match[2]));
  let rest = hash.replace(/(^#|[?&])token=[^&]*/, "$1").replace(/[?&]&/, (m) => m[0]).replace(/[?&]$/, "");
  if (rest === "#" || rest === "") rest = "#/";
  history.replaceState(null, "", location.pathname + location.search + rest);
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lives only in memory */ }
  memoryToken = token || null;
}

let memoryToken = null;
function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

/** One request; resolves to {result, info}, rejects with ApiError carrying errors[0].message. */
export async function request(method, path, { query, body, rawBody, signal } = {}) {
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (rawBody !== undefined) payload = rawBody;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers["Content-Type"] = "application/json";

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  signal?.addEventListener("abort", () => controller.abort());
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, signal: controller.signal,
      credentials: "same-origin", cache: "no-store" });
  } catch (exc) {
    if (signal?.aborted) throw exc;
    throw new ApiError(`Cannot reach durable dev at ${location.host} (${exc.name === "AbortError" ? "timed out" : "connection failed"}).`, { network: true });
  } finally {
    clearTimeout(timer);
  }
  let envelope = null;
  try {
    envelope = await response.json();
  } catch { /* not JSON: handled below */ }
  if (!envelope || typeof envelope !== "object" || !("success" in envelope)) {
    throw new ApiError(`${method} ${url} answered HTTP ${response.status} ${response.statusText} without an API envelope.`, { status: response.status });
  }
  if (!response.ok || !envelope.success) {
    const first = (envelope.errors || [])[0] || {};
    let message = first.message || `HTTP ${response.status} ${response.statusText}`;
    if ((response.status === 401 || response.status === 403) && !token) {
      message += " — this server needs an API token: open the dashboard with #token=<token> in the URL.";
    }
    throw new ApiError(message, { status: response.status, code: first.code ?? null });
  }
  return { result: envelope.result, info: envelope.result_info || null, messages: envelope.messages || [] };
}

const enc = encodeURIComponent;

export const api = {
  listWorkflows: (opts) => request("GET", "", { query: { per_page: 100 }, ...opts }),
  getWorkflow: (name, opts) => request("GET", `/${enc(name)}`, opts),
  deleteAllInstances: (name) => request("DELETE", `/${enc(name)}`),
  listInstances: (name, query, opts) => request("GET", `/${enc(name)}/instances`, { query, ...opts }),
  getInstance: (name, id, opts) => request("GET", `/${enc(name)}/instances/${enc(id)}`, opts),
  instanceEvents: (name, id, opts) => request("GET", `/${enc(name)}/instances/${enc(id)}/events`, opts),
  createInstance: (name, body) => request("POST", `/${enc(name)}/instances`, { body }),
  changeStatus: (name, id, status, from) =>
    request("PATCH", `/${enc(name)}/instances/${enc(id)}/status`, { body: from ? { status, from } : { status } }),
  sendEvent: (name, id, type, rawJson) =>
    request("POST", `/${enc(name)}/instances/${enc(id)}/events/${enc(type)}`, { rawBody: rawJson }),
  deleteInstances: (name, ids) => request("POST", `/${enc(name)}/instances/batch/delete`, { body: { instances: ids } }),
};

export const INSTANCE_ID = /^[a-zA-Z0-9_][a-zA-Z0-9-_]*$/;
export const EVENT_TYPE = /^[a-zA-Z0-9_][a-zA-Z0-9-_]*$/;
