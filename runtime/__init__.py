"""durable: a local runtime for Cloudflare Python Workflows (the library; the CLI is `durable.cli`).

The library is a set of subsystems, each a subpackage whose `__init__` says what it holds, what
it exports and what it may import. Imports point down this list; the top composes
(`tests/test_architecture.py` enforces it):

    testing/    durable.testing: the pytest plugin, `durable_env`, the test harness
    client/     management clients: over HTTP (durable dev or Cloudflare), or in-process
    dev/        durable dev: supervisor, the server process, the ASGI app, watch, hotkeys,
                discovery, and the composition root that wires a project together
    api/        the service layer (every management operation) and its two HTTP shapes
    bindings/   the `env` object user code receives, one module per binding kind
    engine/     the durable engine: scheduler, execution by replay, step, store, clock
    worker/     the user's world: entrypoint classes, Request/Response/fetch, the loader, the
                `workers` shim; it knows nothing of the engine
    leaves      config, errors, durations, rules, scaffold: import only each other

Why this order: user code must be loadable and runnable without the engine knowing how it is
served (worker below engine); bindings hand the engine to user code (above engine); the service
layer drives the engine and is what every transport shares (api above bindings and engine); dev
composes all of it into a process; the clients either talk to a dev server or open the same
composition in-process (client above dev); tests drive everything.
"""

__version__ = "0.1.0"
