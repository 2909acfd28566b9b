// @ts-check
// The management API client. The dashboard reads and acts only through the Cloudflare-shaped
// REST API that `durable dev` serves on the same origin:
//   /client/v4/accounts/local/workflows/...
// Every response is the envelope {success, errors:[{code,message}], messages, result, result_info}.
//
// API token: when `durable dev` runs with an API token it requires `Authorization: Bearer …`.
// Open the dashboard as  http://127.0.0.1:8787/cdn-cgi/explorer/#token=<token>  — the token is
// moved out of the address bar into sessionStorage (this tab only) and sent with every request.

// -- the API shapes the dashboard reads (see runtime/api/service.py) --

/**
 * A status string: queued, running, paused, errored, terminated, complete, waiting,
 * waitingForPause or unknown.
 * @typedef {string} Status
 */

/** @typedef {{name?: string, message?: string}} ErrorInfo  a Python exception as the API shows it */

/** @typedef {Partial<Record<Status, number>>} StatusCounts  instances of a workflow per status */

/**
 * GET /workflows and /workflows/{name}.
 * @typedef {object} Workflow
 * @property {string} id
 * @property {string} name
 * @property {string} class_name
 * @property {string} [script_name]
 * @property {string | null} [created_on]
 * @property {string | null} [modified_on]
 * @property {string | null} [triggered_on] when the newest instance was created
 * @property {StatusCounts} [instances]
 */

/**
 * One row of GET /workflows/{name}/instances.
 * @typedef {object} InstanceSummary
 * @property {string} id
 * @property {Status} status
 * @property {string} created_on
 * @property {string | null} [modified_on]
 * @property {string | null} [started_on]
 * @property {string | null} [ended_on]
 */

/**
 * One try of a `step.do`.
 * @typedef {object} Attempt
 * @property {string | null} start
 * @property {string | null} [end]
 * @property {boolean | null} success  null while it runs
 * @property {ErrorInfo | null} [error]
 * @property {string} [next_retry] when the next try starts, after a failure
 * @property {string | string[]} [logs]
 */

/**
 * A step of InstanceDetails: `step.do` ("step"), `step.sleep` ("sleep"),
 * `step.wait_for_event` ("waitForEvent"), or the "termination" marker of a terminated instance.
 * @typedef {object} Step
 * @property {"step" | "sleep" | "waitForEvent" | "termination"} type
 * @property {string} name  "name-count", e.g. "charge card-1"
 * @property {string | null} [start]
 * @property {string | null} [end]  for a sleep: the wake time
 * @property {boolean | null} [success]  step: true, false, or null while unsettled
 * @property {boolean} [finished]  sleep and waitForEvent
 * @property {string} [event_type]  waitForEvent
 * @property {string | null} [timeout]  waitForEvent: when it times out
 * @property {{retries?: {limit?: number, delay?: number | string, backoff?: string}, timeout?: number | string} | null} [config]
 * @property {Attempt[]} [attempts]
 * @property {ErrorInfo | null} [error]
 * @property {unknown} [output]
 * @property {{source: string}} [trigger]
 */

/**
 * GET /workflows/{name}/instances/{id}.
 * @typedef {object} Instance
 * @property {string} id
 * @property {Status} status
 * @property {unknown} [params]
 * @property {{source: string}} [trigger]
 * @property {string | null} [queued]
 * @property {string | null} [start]
 * @property {string | null} [end]
 * @property {boolean | null} [success]
 * @property {ErrorInfo | null} [error]
 * @property {unknown} [output]
 * @property {Step[]} [steps]
 */

/**
 * An event sent to an instance; `consumed_by` names the wait that took it (null: buffered).
 * @typedef {object} EventRecord
 * @property {string} type
 * @property {unknown} payload
 * @property {string} received_on
 * @property {string | null} consumed_by
 */

/** GET …/instances/{id}/events. @typedef {{received: EventRecord[], buffered: EventRecord[]}} InstanceEvents */

/**
 * `result_info` of a list: page numbers on the first page, a `cursor` for the next (older) page.
 * @typedef {object} PageInfo
 * @property {number} [page]
 * @property {number} [per_page]
 * @property {number} [count]
 * @property {number} [total_count]
 * @property {number} [total_pages]
 * @property {string} [cursor]  empty when there is no next page
 */

/** POST …/instances/batch/delete. @typedef {{deleted?: {id: string}[], errors?: {id: string, message: string}[]}} DeleteResult */

/**
 * A response envelope, unwrapped.
 * @template T
 * @typedef {{result: T, info: PageInfo | null, messages: unknown[]}} Reply
 */

/**
 * @typedef {object} RequestOptions
 * @property {Record<string, string | number | undefined | null>} [query]
 * @property {unknown} [body]  sent as JSON
 * @property {string} [rawBody]  sent as it is (JSON text)
 * @property {AbortSignal} [signal]
 */

export const BASE = "/client/v4/accounts/local/workflows";
const TOKEN_KEY = "durable.apiToken";
const TIMEOUT_MS = 15_000;

export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: number | null, network?: boolean}} [details]
   */
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

/** @param {string | null} token  null or "" forgets it */
export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lives only in memory */ }
  memoryToken = token || null;
}

/** @type {string | null} */
let memoryToken = null;
function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

/**
 * One request; resolves to {result, info}, rejects with ApiError carrying errors[0].message.
 * @param {string} method
 * @param {string} path  below BASE
 * @param {RequestOptions} [options]
 * @returns {Promise<Reply<any>>}
 */
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
  /** @type {Record<string, string>} */
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

/** @typedef {{name: string, count: number, type: string}} RestartFrom  the step to restart from */

export const api = {
  /** @type {(opts?: RequestOptions) => Promise<Reply<Workflow[]>>} */
  listWorkflows: (opts) => request("GET", "", { query: { per_page: 100 }, ...opts }),
  /** @type {(name: string, opts?: RequestOptions) => Promise<Reply<Workflow>>} */
  getWorkflow: (name, opts) => request("GET", `/${enc(name)}`, opts),
  /** @type {(name: string) => Promise<Reply<unknown>>} */
  deleteAllInstances: (name) => request("DELETE", `/${enc(name)}`),
  /** @type {(name: string, query: RequestOptions["query"], opts?: RequestOptions) => Promise<Reply<InstanceSummary[]>>} */
  listInstances: (name, query, opts) => request("GET", `/${enc(name)}/instances`, { query, ...opts }),
  /** @type {(name: string, id: string, opts?: RequestOptions) => Promise<Reply<Instance>>} */
  getInstance: (name, id, opts) => request("GET", `/${enc(name)}/instances/${enc(id)}`, opts),
  /** @type {(name: string, id: string, opts?: RequestOptions) => Promise<Reply<InstanceEvents>>} */
  instanceEvents: (name, id, opts) => request("GET", `/${enc(name)}/instances/${enc(id)}/events`, opts),
  /** @type {(name: string, body: {instance_id?: string, params?: unknown}) => Promise<Reply<{id: string, status: Status}>>} */
  createInstance: (name, body) => request("POST", `/${enc(name)}/instances`, { body }),
  /** @type {(name: string, id: string, status: "pause" | "resume" | "terminate" | "restart", from?: RestartFrom) => Promise<Reply<{status: Status} | null>>} */
  changeStatus: (name, id, status, from) =>
    request("PATCH", `/${enc(name)}/instances/${enc(id)}/status`, { body: from ? { status, from } : { status } }),
  /** @type {(name: string, id: string, type: string, rawJson: string) => Promise<Reply<unknown>>} */
  sendEvent: (name, id, type, rawJson) =>
    request("POST", `/${enc(name)}/instances/${enc(id)}/events/${enc(type)}`, { rawBody: rawJson }),
  /** @type {(name: string, ids: string[]) => Promise<Reply<DeleteResult>>} */
  deleteInstances: (name, ids) => request("POST", `/${enc(name)}/instances/batch/delete`, { body: { instances: ids } }),
};

export const INSTANCE_ID = /^[a-zA-Z0-9_][a-zA-Z0-9-_]*$/;
export const EVENT_TYPE = /^[a-zA-Z0-9_][a-zA-Z0-9-_]*$/;
