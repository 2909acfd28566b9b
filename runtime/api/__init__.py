"""The management API: one service layer and the two HTTP shapes it is served in.

Modules:
    service    `Service`: every management operation, in the Cloudflare REST `result` shapes,
               over an engine (server running) or a store alone (offline intents)
    common     what both HTTP shapes share: bodies, the envelope, errors as responses
    rest       the Cloudflare REST API shape (`/client/v4/accounts/{id}/workflows/…`)
    explorer   wrangler's local explorer shape (`/cdn-cgi/local/explorer/api/workflows/…`)

May import: engine, bindings, worker and the leaves.
"""
