"""The management API: one service layer and the two HTTP shapes it is served in.

Modules:
    service    `Service`: every management operation, in the Cloudflare REST `result` shapes,
               over an engine (server running) or a store alone (offline intents)
    pages      `Page` and `page_info`: one page of a list call (the client reads them too)
    common     what both HTTP shapes share, on starlette: requests, routes, the envelope,
               errors as responses
    rest       the Cloudflare REST API shape (`/client/v4/accounts/{id}/workflows/…`)
    explorer   wrangler's local explorer shape (`/cdn-cgi/local/explorer/api/workflows/…`)

May import: engine, bindings, worker and the leaves.
"""

# Here, not with the server, so the supervisor can print it without importing starlette.
DASHBOARD_PATH = "/cdn-cgi/explorer/"
