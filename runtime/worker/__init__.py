"""The user's world: what Worker code sees on Cloudflare, and how it is loaded.

Modules:
    entrypoints   `WorkflowEntrypoint`, `WorkerEntrypoint`, `DurableObject`, `NonRetryableError`,
                  `ExecutionContext`: the classes user code subclasses or receives
    fetch_api     `Request`, `Response`, `Headers`, `fetch`: the Fetch API as the SDK presents it
                  (this is what user code sees, not the dev server's HTTP)
    jsdict        `JsDict`: how a JS object looks to Python
    streams       `ArrayBuffer`, `ReadableStream`: the JS objects `buffer()` and `body` return,
                  as plain-Python stand-ins
    blob          `Blob`, `File`, `FormData`: production's classes, in plain Python
    globals       what `workers.env` / `workers.wait_until` serve: the loaded Worker's env
    timezone      user code's local time zone is UTC while it may run, as in workerd
    loader        imports the Worker's `main` module with the `workers` shim first on the path
    unavailable   the error the shim's `js`/`pyodide` raise for what exists only in production
    _shim/        the `workers` package itself, importable by user code, and the `js` and
                  `pyodide.ffi` compatibility modules production code imports beside it

May import: the leaves (config, errors). Never the engine, bindings, api or dev: user classes are
instantiated by the engine with `(ctx, env)` and `env` already holds what the server built.
"""
