"""`durable dev`: the processes, the server and the composition root.

Modules:
    supervisor      owns the socket, watches files, swaps server processes on reload
    server_handle   a server process as the supervisor sees it: start, talk, stop, kill
    server_process  the server process itself: loads the user's code, runs the engine, serves
    server          the ASGI app: the user's Worker, the management API, the dashboard
    project         the composition root: config + user code + store + engine + bindings
    discovery       the file through which clients find a running server, and the store lock
    watch           which files are watched and which changes count
    hotkeys         wrangler's b/e/x hotkeys

May import: api, bindings, engine, worker and the leaves. Not client: the clients sit above
`dev`, since they either find a running server (discovery) or open the same composition
in-process (project).
"""
