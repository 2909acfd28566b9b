"""`durable r2 object …`: put, get and delete objects of a local R2 bucket.

The data is wrangler's own local state (`.wrangler/state/v3/r2` next to the configuration), read
and written in place: the same files `durable dev` and `wrangler r2 object … --local` use,
whether or not a server runs. `BUCKET/KEY` is spelled as in wrangler (the bucket's name; a
binding of the configuration works too). There is no `--remote`: Cloudflare's buckets are
wrangler's job (`wrangler r2 object … --remote`).
"""

# No `from __future__ import annotations` here: typer reads every command's annotations.
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import load_project, options, print_json, say

if TYPE_CHECKING:
    from durable.runtime.bindings.r2 import R2Bucket, R2Object

HELP = (
    "🪣 Manage objects in local R2 buckets (wrangler's .wrangler/state). For the buckets on "
    "Cloudflare use `wrangler r2 object … --remote`."
)
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
object_app = typer.Typer(
    help="Put, get and delete objects of a local R2 bucket.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(object_app, name="object")

PathArg = Annotated[
    str,
    typer.Argument(
        metavar="BUCKET/KEY",
        help="The object path in the form of {bucket}/{key} (the bucket's name, or its binding).",
    ),
]
RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--remote",
        hidden=True,
        help="Not supported: durable works on local state; use wrangler for Cloudflare.",
    ),
]
LocalOpt = Annotated[
    bool,
    typer.Option("--local", hidden=True, help="Accepted for wrangler's spelling: always local."),
]


def _refuse_remote(remote: bool) -> None:
    if remote:
        from durable.runtime.errors import ValidationError

        raise ValidationError(
            "durable r2 works on the local buckets only; for the ones on Cloudflare run "
            "`wrangler r2 object … --remote`."
        )


def _bucket(ctx: typer.Context, object_path: str) -> "tuple[R2Bucket, str]":
    """The bucket and the key of `BUCKET/KEY`, as wrangler's `validateAndReturnBucketAndKey`."""
    import re

    from durable.runtime.bindings.miniflare import state_root
    from durable.runtime.bindings.r2 import R2Bucket, R2BucketState
    from durable.runtime.errors import ConfigError, ValidationError

    match = re.fullmatch(r"([^/]+)/(.*)", object_path, re.DOTALL)
    if match is None:
        raise ValidationError(
            "The object path must be in the form of {bucket}/{key} you provided " + object_path
        )
    bucket, key = match.groups()
    opts = options(ctx)
    try:
        config = load_project(opts)
    except ConfigError:
        config = None  # a bucket name works without a configuration, as in wrangler
    root = config.root if config is not None else opts.base
    found = [b for b in (config.r2_buckets if config else ()) if b.binding == bucket]
    binding: str | None = None
    if found:
        binding, bucket = bucket, found[0].local_name
    elif not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket):
        raise ValidationError(
            f'The bucket name "{bucket}" is invalid. Bucket names must begin and end with an '
            "alphanumeric character, only contain lowercase letters, numbers, and hyphens, and "
            "be between 3 and 63 characters long."
        )
    return R2Bucket(R2BucketState(state_root(root), bucket), binding), key


def _call(bucket: "R2Bucket", method: str, *args: Any, **kwargs: Any) -> Any:
    import asyncio

    from durable.runtime.errors import JsException, ValidationError

    try:
        return asyncio.run(getattr(bucket, method)(*args, **kwargs))
    except JsException as exc:
        raise ValidationError(str(exc).replace("\n", " ")) from None
    finally:
        bucket.close()


def _metadata(obj: "R2Object") -> dict[str, Any]:
    def plain(value: Any) -> Any:
        import datetime

        if isinstance(value, datetime.datetime):
            return value.isoformat(timespec="milliseconds") + "Z"
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {
        "key": obj.key,
        "size": obj.size,
        "etag": obj.etag,
        "httpEtag": obj.httpEtag,
        "uploaded": plain(obj.uploaded),
        "version": obj.version,
        "httpMetadata": plain(obj.httpMetadata),
        "customMetadata": plain(obj.customMetadata),
        "checksums": dict(obj.checksums.toJSON()),
        "storageClass": obj.storageClass,
    }


@object_app.command("put")
def put(
    ctx: typer.Context,
    object_path: PathArg,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="The path of the file to upload.")
    ] = None,
    pipe: Annotated[
        bool,
        typer.Option("--pipe", "-p", help="Read the object from stdin, rather than from a --file."),
    ] = False,
    content_type: Annotated[
        str | None,
        typer.Option("--content-type", "--ct", help="A MIME type describing the object's data."),
    ] = None,
    content_disposition: Annotated[
        str | None, typer.Option("--content-disposition", "--cd", help="Content-Disposition.")
    ] = None,
    content_encoding: Annotated[
        str | None, typer.Option("--content-encoding", "--ce", help="Content-Encoding.")
    ] = None,
    content_language: Annotated[
        str | None, typer.Option("--content-language", "--cl", help="Content-Language.")
    ] = None,
    cache_control: Annotated[
        str | None, typer.Option("--cache-control", "--cc", help="Cache-Control.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="When the object stops being cacheable: ms since the epoch (as wrangler "
            "reads it) or an ISO 8601 date.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored object's metadata as JSON.")
    ] = False,
    local: LocalOpt = False,
    remote: RemoteOpt = False,
) -> None:
    """Create an object in a local R2 bucket (from --file or --pipe)."""
    import datetime
    import sys

    from durable.runtime.errors import ValidationError

    _refuse_remote(remote)
    if (file is None) == (not pipe):
        raise ValidationError("Give exactly one of --file or --pipe.")
    bucket, key = _bucket(ctx, object_path)
    if file is not None:
        try:
            data = (options(ctx).base / file).read_bytes()
        except FileNotFoundError:
            raise ValidationError(f'The file "{file}" does not exist.') from None
        except OSError as exc:
            raise ValidationError(
                f'An error occurred while trying to read the file "{file}": {exc.strerror or exc}'
            ) from None
    else:
        data = sys.stdin.buffer.read()
    http: dict[str, Any] = {
        "contentType": content_type,
        "contentDisposition": content_disposition,
        "contentEncoding": content_encoding,
        "contentLanguage": content_language,
        "cacheControl": cache_control,
    }
    if expires is not None:
        try:
            http["cacheExpiry"] = int(expires)
        except ValueError:
            try:
                http["cacheExpiry"] = datetime.datetime.fromisoformat(expires)
            except ValueError:
                raise ValidationError(
                    f"--expires {expires!r} is neither ms since the epoch nor an ISO 8601 date."
                ) from None
    if not as_json:
        say(f'Creating object "{key}" in bucket "{bucket.bucket_name}".')
    stored = _call(bucket, "put", key, data, httpMetadata=http)
    if as_json:
        print_json(_metadata(stored))
    else:
        say("Upload complete.")


@object_app.command("get")
def get(
    ctx: typer.Context,
    object_path: PathArg,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="The file to write (default: one named as the key)."),
    ] = None,
    pipe: Annotated[
        bool, typer.Option("--pipe", "-p", help="Write the object to stdout, not to a file.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the object's metadata as JSON instead of its body."),
    ] = False,
    local: LocalOpt = False,
    remote: RemoteOpt = False,
) -> None:
    """Fetch an object from a local R2 bucket."""
    import sys

    from durable.runtime.errors import NotFoundError, ValidationError

    _refuse_remote(remote)
    if file is not None and pipe:
        raise ValidationError("Give at most one of --file or --pipe.")
    bucket, key = _bucket(ctx, object_path)
    base = options(ctx).base
    target: Path | None = None
    if not as_json and not pipe:
        # As wrangler, the default file is named as the key, but a key is never a way out of
        # the working folder: `../x` or `/etc/x` need an explicit --file.
        target = base / (file if file is not None else Path(key))
        if file is None and (not key or not target.resolve().is_relative_to(base)):
            raise ValidationError(
                f'The key "{key}" is not a file name inside {base}: give --file or --pipe.'
            )
    found = _call(bucket, "head" if as_json else "get", key)
    if found is None:
        raise NotFoundError("The specified key does not exist.")
    if as_json:
        print_json(_metadata(found))
        return
    import asyncio

    data = asyncio.run(found.arrayBuffer())
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    say(f'Downloading "{key}" from "{bucket.bucket_name}".')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    say("Download complete.")


@object_app.command("delete")
def delete(
    ctx: typer.Context,
    object_path: PathArg,
    local: LocalOpt = False,
    remote: RemoteOpt = False,
) -> None:
    """Delete an object from a local R2 bucket (nothing happens if it does not exist)."""
    _refuse_remote(remote)
    bucket, key = _bucket(ctx, object_path)
    say(f'Deleting object "{key}" from bucket "{bucket.bucket_name}".')
    _call(bucket, "delete", key)
    say("Delete complete.")
