"""`durable dev`: serve the Worker, run its Workflows durably, reload on every save.

Only typer and the standard library are imported here; the runtime is imported when the command
runs, so `durable --help` stays fast.

`--config`, `--env`, `--port` and `--persist-to` are also global options of `durable` (given
before the command words). They are declared here too, because `dev` gives `--port` another
meaning (the port to *listen* on, 8787 by default, 0 for any free port). Their parameters are
named `global_*` so the root group does not add its own copies; a value given here wins over one
given before `dev`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_PORT = 8787


def _root_options(ctx: typer.Context) -> Any:
    """The global options given before `dev` (None when run outside the `durable` group)."""
    from .common import options

    try:
        return options(ctx)
    except Exception:  # noqa: BLE001 - a missing context must not stop the server
        return None


def dev(
    ctx: typer.Context,
    global_config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Path to the wrangler configuration (default: wrangler.json, wrangler.jsonc or "
            "wrangler.toml, searched upwards from the current folder).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    global_env: Annotated[
        str | None,
        typer.Option("--env", "-e", help="Environment to use ([env.NAME] in the configuration)."),
    ] = None,
    ip: Annotated[
        str, typer.Option("--ip", help="IP address to listen on (loopback by default).")
    ] = "127.0.0.1",
    global_port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help=f"Port to listen on (0: any free port).  [default: {DEFAULT_PORT}]",
            show_default=False,
        ),
    ] = None,
    global_persist_to: Annotated[
        Path | None,
        typer.Option(
            "--persist-to",
            help="Folder for the local state (default: .durable/ next to the configuration).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    no_reload: Annotated[
        bool, typer.Option("--no-reload", help="Do not reload when files change.")
    ] = False,
    max_concurrency: Annotated[
        int | None,
        typer.Option(
            "--max-concurrency",
            min=1,
            help="Most instances running at once; the rest wait as queued.  [default: 1000]",
            show_default=False,
        ),
    ] = None,
    api_token: Annotated[
        str | None,
        typer.Option(
            "--api-token",
            envvar="DURABLE_API_TOKEN",
            help="Require 'Authorization: Bearer TOKEN' on the management API.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start a local server for the Worker and its Workflows (like `wrangler dev`)."""
    from durable.runtime.dev.supervisor import DevOptions, run_dev

    root = _root_options(ctx)
    config = global_config or getattr(root, "config", None)
    env = global_env or getattr(root, "env", None)
    persist_to = global_persist_to or getattr(root, "persist_to", None)
    port = global_port if global_port is not None else getattr(root, "port", None)
    cwd = getattr(root, "cwd", None)
    code = run_dev(
        DevOptions(
            config=config,
            env=env,
            ip=ip,
            port=DEFAULT_PORT if port is None else port,
            persist_to=persist_to,
            reload=not no_reload,
            max_concurrency=max_concurrency,
            api_token=api_token or None,
            cwd=cwd.resolve() if cwd is not None else None,
        )
    )
    if code:
        raise typer.Exit(code)
