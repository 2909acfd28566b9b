"""Management clients: how the CLI reaches instances, wherever they are.

Modules:
    base        `ManagementClient` (the interface), `Page`, and `--wait`'s stopping rule
    http        `HttpClient`: the REST shape, to a running `durable dev` or to Cloudflare
    in_process  `ServiceClient`: the service layer on the store itself, with no server
    loopback    one plain-socket HTTP exchange with a local server (no `http.client` import)
    connect     `connect()`: picks one of the above; the only module that knows them all

May import: dev (discovery, the composition root), api, engine and the leaves. Nothing here
is imported at package import time, so `durable --help` pays for none of it.
"""
