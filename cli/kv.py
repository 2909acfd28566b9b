"""`durable kv key …`: put, get, list and delete keys of a local KV namespace.

The data is wrangler's own local state (`.wrangler/state/v3/kv` next to the configuration), read
and written in place: the same files `durable dev` and `wrangler kv key … --local` use, whether
or not a server runs. There is no `--remote`: Cloudflare's namespaces are wrangler's job
(`wrangler kv key … --remote`).
"""

# No `from __future__ import annotations` here: typer reads every command's annotations.
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import JsonOpt, console, load_project, options, print_json, say, warn

if TYPE_CHECKING:
    from durable.runtime.bindings.kv import KVNamespace

HELP = (
    "🗂️ Manage local KV namespaces (wrangler's .wrangler/state). For the namespaces on "
    "Cloudflare use `wrangler kv … --remote`."
)
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
key_app = typer.Typer(
    help="Put, get, list and delete keys of a local KV namespace.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(key_app, name="key")

KeyArg = Annotated[str, typer.Argument(help="The key (any string up to 512 bytes).")]
BindingOpt = Annotated[
    str | None,
    typer.Option("--binding", help="The binding of the namespace in the configuration (KV)."),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace-id", help="The namespace's id, as its local state is named."),
]
RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--remote",
        hidden=True,
        help="Not supported: durable works on local state; use wrangler for Cloudflare.",
    ),
]


def _refuse_remote(remote: bool) -> None:
    if remote:
        from durable.runtime.errors import ValidationError

        raise ValidationError(
            "durable kv works on the local namespaces only; for the ones on Cloudflare run "
            "`wrangler kv key … --remote`."
        )


def _namespace(ctx: typer.Context, binding: str | None, namespace_id: str | None) -> "KVNamespace":
    from durable.runtime.bindings.kv import KVNamespace, KVNamespaceState
    from durable.runtime.bindings.miniflare import state_root
    from durable.runtime.errors import ConfigError, ValidationError

    if (binding is None) == (namespace_id is None):
        raise ValidationError("Specify exactly one of --binding or --namespace-id.")
    opts = options(ctx)
    try:
        config = load_project(opts)
    except ConfigError:
        if binding is not None:
            raise
        root = opts.base  # --namespace-id works without a configuration, as in wrangler
    else:
        root = config.root
        if binding is not None:
            found = [ns for ns in config.kv_namespaces if ns.binding == binding]
            if not found:
                known = ", ".join(ns.binding for ns in config.kv_namespaces) or "none"
                raise ValidationError(
                    f'No KV namespace with binding "{binding}" in {config.path.name} '
                    f"(KV bindings: {known}). Add a [[kv_namespaces]] entry."
                )
            namespace_id = found[0].local_id
    assert namespace_id is not None
    return KVNamespace(KVNamespaceState(state_root(root), namespace_id), binding)


def _call(namespace: "KVNamespace", method: str, *args: Any, **kwargs: Any) -> Any:
    import asyncio

    from durable.runtime.errors import JsException, ValidationError

    try:
        return asyncio.run(getattr(namespace, method)(*args, **kwargs))
    except JsException as exc:
        raise ValidationError(str(exc)) from None
    finally:
        namespace.close()


@key_app.command("put")
def put(
    ctx: typer.Context,
    key: KeyArg,
    value: Annotated[
        str | None, typer.Argument(help="The value (or give --path to read it from a file).")
    ] = None,
    binding: BindingOpt = None,
    namespace_id: NamespaceOpt = None,
    path: Annotated[
        Path | None, typer.Option("--path", help="Read the value from this file (bytes).")
    ] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="Metadata as JSON (≤ 1024 bytes).")
    ] = None,
    ttl: Annotated[
        int | None, typer.Option("--ttl", help="Seconds until the key expires (≥ 60).")
    ] = None,
    expiration: Annotated[
        int | None,
        typer.Option("--expiration", help="When the key expires, in seconds since the epoch."),
    ] = None,
    remote: RemoteOpt = False,
) -> None:
    """Write a value to a key of a local KV namespace."""
    from durable.runtime.errors import ValidationError

    from .common import parse_json_arg

    _refuse_remote(remote)
    if (value is None) == (path is None):
        raise ValidationError("Give exactly one of a VALUE argument or --path.")
    data: str | bytes
    if path is not None:
        file = options(ctx).base / path
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ValidationError(f"cannot read --path {path}: {exc.strerror or exc}") from None
    else:
        assert value is not None
        data = value
    put_options: dict[str, Any] = {}
    if metadata is not None:
        put_options["metadata"] = parse_json_arg(metadata, "--metadata")
    if ttl is not None:
        put_options["expirationTtl"] = ttl
    if expiration is not None:
        put_options["expiration"] = expiration
    namespace = _namespace(ctx, binding, namespace_id)
    _call(namespace, "put", key, data, put_options)
    say(f'Wrote key "{key}" to the local KV namespace "{namespace.namespace_id}".')


@key_app.command("get")
def get(
    ctx: typer.Context,
    key: KeyArg,
    binding: BindingOpt = None,
    namespace_id: NamespaceOpt = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print {key, value, metadata} as JSON (the value as text)."),
    ] = False,
    remote: RemoteOpt = False,
) -> None:
    """Print the value of a key (its raw bytes) from a local KV namespace."""
    import sys

    from durable.runtime.errors import NotFoundError

    _refuse_remote(remote)
    namespace = _namespace(ctx, binding, namespace_id)
    found = _call(namespace, "getWithMetadata", key, {"type": "arrayBuffer"})
    if found.value is None:
        raise NotFoundError(
            f'Key "{key}" not found in the local KV namespace "{namespace.namespace_id}".'
        )
    if as_json:
        text = found.value.decode("utf-8", "replace")
        print_json({"key": key, "value": text, "metadata": found.metadata})
        return
    sys.stdout.buffer.write(found.value)
    sys.stdout.flush()


@key_app.command("list")
def list_(
    ctx: typer.Context,
    binding: BindingOpt = None,
    namespace_id: NamespaceOpt = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Only keys starting with this.")
    ] = None,
    as_json: JsonOpt = False,
    remote: RemoteOpt = False,
) -> None:
    """List the keys of a local KV namespace (all pages), in key order."""
    _refuse_remote(remote)
    namespace = _namespace(ctx, binding, namespace_id)
    keys: list[Any] = []
    cursor: str | None = None
    try:
        while True:
            page = _call_open(namespace, "list", {"prefix": prefix, "cursor": cursor})
            keys.extend(page["keys"])
            if page["list_complete"]:
                break
            cursor = page["cursor"]
    finally:
        namespace.close()
    if as_json:
        print_json(keys)
        return
    if not keys:
        warn(f'No keys in the local KV namespace "{namespace.namespace_id}".')
        return
    from rich.table import Table

    table = Table(box=None)
    for column in ("Key", "Expiration", "Metadata"):
        table.add_column(column)
    import json

    for item in keys:
        expires = item.get("expiration")
        table.add_row(
            item["name"],
            "" if expires is None else str(expires),
            "" if "metadata" not in item else json.dumps(item["metadata"]),
        )
    console().print(table)


def _call_open(namespace: "KVNamespace", method: str, *args: Any) -> Any:
    import asyncio

    from durable.runtime.errors import JsException, ValidationError

    try:
        return asyncio.run(getattr(namespace, method)(*args))
    except JsException as exc:
        raise ValidationError(str(exc)) from None


@key_app.command("delete")
def delete(
    ctx: typer.Context,
    key: KeyArg,
    binding: BindingOpt = None,
    namespace_id: NamespaceOpt = None,
    remote: RemoteOpt = False,
) -> None:
    """Delete a key from a local KV namespace (nothing happens if it does not exist)."""
    _refuse_remote(remote)
    namespace = _namespace(ctx, binding, namespace_id)
    _call(namespace, "delete", key)
    say(f'Deleted key "{key}" from the local KV namespace "{namespace.namespace_id}".')
