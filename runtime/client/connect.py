"""`connect()`: choose the management client for one invocation.

This module sits above every client so that none of them imports another: `HttpClient` for a
running `durable dev` or Cloudflare, `ServiceClient` for the store itself. Each is imported only
when chosen, so `--remote` never loads the store and offline reads never load `http.client`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from durable.runtime.errors import ConfigError

if TYPE_CHECKING:
    from durable.runtime.config import ProjectConfig

    from .base import ManagementClient


def connect(
    config: ProjectConfig | None,
    *,
    persist_dir: Path | None = None,
    remote: bool = False,
    port: int | None = None,
    embedded: bool = False,
    environ: Mapping[str, str] | None = None,
) -> ManagementClient:
    """The client for this invocation.

    `remote` → Cloudflare. Otherwise the `durable dev` named by the discovery file in
    `persist_dir`; else, with `port`, a `durable dev` on 127.0.0.1:port (like wrangler's
    `--local --port`); else the store itself: offline, or `embedded` with an engine.
    """
    environ = os.environ if environ is None else environ
    if remote:
        from .http import HttpClient

        return HttpClient.cloudflare(environ)
    if config is None or persist_dir is None:
        raise ConfigError("A wrangler configuration is needed to manage local workflows.")
    from durable.runtime.dev.discovery import find_server

    token = environ.get("DURABLE_API_TOKEN") or None
    server = find_server(persist_dir)
    from .http import HttpClient

    if server is not None:
        return HttpClient.local(server.url, token=server.api_token or token)
    if port is not None:
        return HttpClient.local(f"http://127.0.0.1:{port}", token=token)
    from .in_process import ServiceClient

    return ServiceClient(config, persist_dir, embedded=embedded)
