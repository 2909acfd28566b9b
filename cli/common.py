"""What every `durable` command shares: global options, the error boundary, output, the client.

Global options (`-c/--config`, `-e/--env`, `--cwd`, `--persist-to`, `--port`, `--remote`,
`-v/--verbose`) are declared once, on the root callback, and `DurableGroup` copies them onto
every subcommand, so they work before or after the command words, as wrangler's flags do:
`durable --remote workflows list` and `durable workflows list --remote` mean the same.

The one error boundary is `handle_errors`, called by `DurableGroup.main`, which every way of
running the CLI goes through (the `durable` script, `python -m`, `CliRunner`): a DurableError
becomes one line on stderr and exit code 1, a usage error one line and exit code 2. Anything
else is a bug in durable and keeps its traceback.

Only typer and the standard library are imported at module level: rich, the runtime and the
store are imported inside the functions that need them, so `durable --help` stays fast.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations, and
# string annotations would be eval'ed (and their typer.Option(...) rebuilt) on each start, ~10 ms.
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer import Abort
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer._click.exceptions import UsageError as UsageError
else:
    try:  # typer >= 0.26 vendors click
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    except ImportError:  # pragma: no cover - older typer on real click
        from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from durable.runtime.errors import DurableError, ValidationError

if TYPE_CHECKING:
    from rich.console import Console

    from durable.runtime.client.base import ManagementClient
    from durable.runtime.config import ProjectConfig

OPTIONS_KEY = "durable.options"
PROJECT_KEY = "durable.project"


@dataclass
class GlobalOptions:
    """The global options of one invocation, wherever on the command line they were given."""

    config: Path | None = None
    env: str | None = None
    cwd: Path | None = None
    persist_to: Path | None = None
    port: int | None = None
    remote: bool = False
    verbose: bool = False

    @property
    def base(self) -> Path:
        """The folder relative paths are read from: `--cwd`, else the working directory."""
        return (self.cwd or Path.cwd()).resolve()


_PATH_FIELDS = frozenset({"config", "cwd", "persist_to"})
_GLOBAL_FIELDS = tuple(f.name for f in fields(GlobalOptions))


# The options of the invocation in progress, for the error boundary (which runs after the
# contexts are gone). One invocation at a time per process, as with any CLI.
_current: GlobalOptions | None = None


def options(ctx: typer.Context) -> GlobalOptions:
    """The global options of this invocation (see the module docstring)."""
    global _current
    found = ctx.meta.get(OPTIONS_KEY)
    if not isinstance(found, GlobalOptions):
        found = ctx.meta[OPTIONS_KEY] = GlobalOptions()
    _current = found
    return found


# --- shared option and argument types ---------------------------------------------------------


def complete_workflow(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion for workflow names, read from the wrangler config (best effort)."""
    root = ctx.find_root().params
    try:
        from durable.runtime.config import load_config

        config = load_config(root.get("config"), cwd=root.get("cwd"), env=root.get("env"))
    except Exception:  # noqa: BLE001 - completion must never print a traceback into a shell
        return []
    return [name for name in config.workflow_names if name.startswith(incomplete)]


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Path to the wrangler.toml / wrangler.jsonc / wrangler.json configuration file.",
        dir_okay=False,
        show_default=False,
    ),
]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment to use ([env.NAME] in the configuration)."),
]
CwdOpt = Annotated[
    Path | None,
    typer.Option(
        "--cwd",
        help="Run as if durable was started in this directory.",
        exists=True,
        file_okay=False,
        show_default=False,
    ),
]
PersistOpt = Annotated[
    Path | None,
    typer.Option(
        "--persist-to",
        help="Directory of the local store (default: .durable/ next to the configuration).",
        file_okay=False,
        show_default=False,
    ),
]
PortOpt = Annotated[
    int | None,
    typer.Option(
        "--port",
        help="Port of a local durable dev to use when none is found in the persist directory.",
        min=1,
        max=65535,
    ),
]
RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--remote",
        help="Manage Workflows on Cloudflare (needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID).",
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Say which target is used; log more.")
]

WorkflowArg = Annotated[
    str,
    typer.Argument(
        help="Name of the workflow (the `name` of its [[workflows]] entry).",
        autocompletion=complete_workflow,
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print the Cloudflare REST API `result` object as one JSON document."
    ),
]
PageOpt = Annotated[int, typer.Option("--page", min=1, help="Page of the listing to show.")]
PerPageOpt = Annotated[
    int | None,
    typer.Option("--per-page", min=1, help="How many items a page holds.", show_default=False),
]


def _print_version(value: bool) -> None:
    if value:
        from durable.runtime import __version__

        typer.echo(f"durable {__version__}")
        raise typer.Exit()


def global_options(
    ctx: typer.Context,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    cwd: CwdOpt = None,
    persist_to: PersistOpt = None,
    port: PortOpt = None,
    remote: RemoteOpt = False,
    verbose: VerboseOpt = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            expose_value=False,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Local development for Cloudflare Python Workflows.

    Global options may be given before or after the command words.
    """
    global _current
    _current = ctx.meta[OPTIONS_KEY] = GlobalOptions(
        config, env, cwd, persist_to, port, remote, verbose
    )


def _store_global(ctx: Any, param: Any, value: Any) -> Any:
    """Callback of a global option repeated on a subcommand: it overrides the root's value."""
    if value is None or value is False or value == ():
        return value
    field = param.name.removeprefix("global_")
    opts = options(ctx)
    setattr(opts, field, Path(value) if field in _PATH_FIELDS else value)
    return value


# The command groups that manage workflows take every global option; other top-level commands
# (`dev`, `init`) only those that mean something to them and that they do not declare. They are
# built when first named (see DurableGroup.get_command): module that defines each group's `app`.
MANAGEMENT_GROUPS = {
    "workflows": "durable.cli.workflows",
    "instances": "durable.cli.instances",
    "kv": "durable.cli.kv",
    "d1": "durable.cli.d1",
    "r2": "durable.cli.r2",
}
_GENERAL_FIELDS = ("cwd", "verbose")
# `kv`, `d1` and `r2` work on wrangler's local files: no server, so no --port, --persist-to or
# --remote.
_GROUP_FIELDS = {
    "kv": ("config", "env", "cwd", "verbose"),
    "d1": ("config", "env", "cwd", "verbose"),
    "r2": ("config", "env", "cwd", "verbose"),
}


def _copy_global_options(root: Any, command: Any, wanted: tuple[str, ...] = _GLOBAL_FIELDS) -> None:
    import copy

    have = {p.name for p in command.params}
    for param in root.params:
        if param.name not in wanted or f"global_{param.name}" in have:
            continue
        clone = copy.copy(param)
        clone.name = f"global_{param.name}"
        clone.expose_value = False
        clone.callback = _store_global
        command.params.append(clone)
    for sub in getattr(command, "commands", {}).values():
        _copy_global_options(root, sub, wanted)


# --- the error boundary -----------------------------------------------------------------------


def error_line(message: str) -> None:
    """The one way an error reaches the user: `✘ [ERROR] message` on stderr, like wrangler."""
    typer.echo(typer.style("✘ [ERROR]", fg="red", bold=True) + " " + message, err=True)


def handle_errors(run: Callable[[], Any], *, verbose: Callable[[], bool] = lambda: False) -> int:
    """Run the CLI (`run` parses and invokes, non-standalone) and return its exit code."""
    try:
        result = run()
    except DurableError as exc:
        if verbose():
            import traceback

            traceback.print_exc(file=sys.stderr)
        error_line(exc.message)
        return 1
    except NoArgsIsHelpError as exc:
        exc.show()  # the group's help: a group given no command is asking for it
        return exc.exit_code
    except UsageError as exc:
        # typer validates choices through pydantic, whose wording leaks into the message.
        message = exc.format_message().replace("Value error, ", "")
        if exc.ctx is not None:
            # "… Did you mean 'list'?" keeps its question mark: no "?." before the hint.
            body = message.rstrip(".")
            stop = "" if body.endswith(("?", "!")) else "."
            message = f'{body}{stop} See "{exc.ctx.command_path} --help".'
        error_line(message)
        return exc.exit_code
    except ClickException as exc:
        error_line(exc.format_message())
        return exc.exit_code
    except Abort:
        error_line("Aborted.")
        return 1
    except KeyboardInterrupt:
        error_line("Interrupted.")
        return 130
    return result if isinstance(result, int) else 0


class DurableGroup(TyperGroup):
    """The root command: shares the global options with every subcommand, guards errors.

    The management groups are built only when a command line names them: typer builds a group
    by reading every command's signature, and one invocation needs one group, not all of them.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, command in self.commands.items():
            self._prepare(name, command)
        self._prepare("", self)

    def _prepare(self, name: str, command: Any) -> None:
        from . import coercion

        if command is not self:
            wanted = _GROUP_FIELDS.get(
                name, _GLOBAL_FIELDS if name in MANAGEMENT_GROUPS else _GENERAL_FIELDS
            )
            _copy_global_options(self, command, wanted)
        coercion.install(command)

    def list_commands(self, ctx: Any) -> list[str]:
        built = super().list_commands(ctx)
        return [*built, *(name for name in MANAGEMENT_GROUPS if name not in built)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in MANAGEMENT_GROUPS and cmd_name not in self.commands:
            import importlib

            from typer.main import get_group

            group = get_group(importlib.import_module(MANAGEMENT_GROUPS[cmd_name]).app)
            group.name = cmd_name
            self._prepare(cmd_name, group)
            self.commands[cmd_name] = group
        return super().get_command(ctx, cmd_name)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        global _current
        _current = None

        def run() -> Any:
            return super(DurableGroup, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )

        code = handle_errors(run, verbose=lambda: _current is not None and _current.verbose)
        if standalone_mode:
            sys.exit(code)
        return code


# --- output -----------------------------------------------------------------------------------


def console(*, stderr: bool = False) -> "Console":
    """A rich Console on stdout (or stderr), created when first needed: rich loads lazily."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not _isatty(stream) and not (os.environ.get("COLUMNS") or os.environ.get("TERMINAL_WIDTH")):
        # Piped or redirected: rich would assume 80 columns and wrap ids and dates across lines,
        # which breaks grep and copy. Output as wide as the content instead (tables are not
        # expanded, so they take their content's width); COLUMNS still decides when set.
        width = 100_000
    return Console(stderr=stderr, highlight=False, emoji=False, markup=False, width=width)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def print_json(value: Any) -> None:
    """Exactly one JSON document on stdout."""
    import json

    from durable.runtime.engine.serialization import json_safe

    # never a bare NaN/Infinity (invalid JSON): null, as JSON.stringify writes them
    typer.echo(json.dumps(json_safe(value), indent=2, ensure_ascii=False, allow_nan=False))


def say(message: str) -> None:
    """A plain line of human output on stdout (no markup: names and ids are printed as is)."""
    typer.echo(message)


def warn(message: str) -> None:
    """A warning on stderr, wrangler style."""
    typer.echo(typer.style("▲ [WARNING]", fg="yellow", bold=True) + " " + message, err=True)


def note(message: str) -> None:
    """A diagnostic on stderr (never mixed into the output a script reads)."""
    typer.echo(message, err=True)


def stdin_is_tty() -> bool:
    """Whether a person can answer a question (a function so tests can pretend)."""
    return sys.stdin.isatty()


# --- input ------------------------------------------------------------------------------------


def parse_json_arg(text: str, what: str) -> Any:
    """Parse a JSON argument; `-` reads it from stdin. Errors name the line and column."""
    import json

    if text == "-":
        text = sys.stdin.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ValidationError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            f"(character {exc.pos + 1}) in {shown!r}."
        ) from None


# --- the project and the client ---------------------------------------------------------------


def configure_logging(opts: GlobalOptions) -> None:
    """Library loggers stay at WARNING unless -v is given."""
    import logging

    level = logging.DEBUG if opts.verbose else logging.WARNING
    logger = logging.getLogger("durable")
    logger.setLevel(level)
    if not logger.handlers:

        class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
            """Writes to whatever sys.stderr is when a record comes (CliRunner swaps it)."""

            @property
            def stream(self) -> Any:
                return sys.stderr

            @stream.setter
            def stream(self, value: Any) -> None:
                pass

        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def load_project(opts: GlobalOptions) -> "ProjectConfig":
    from durable.runtime.config import load_config

    config = load_config(opts.config, cwd=opts.base, env=opts.env)
    for warning in config.warnings:
        warn(warning)
    return config


def persist_dir(config: "ProjectConfig", opts: GlobalOptions) -> Path:
    """`--persist-to` (relative to `--cwd`), else `.durable/` next to the configuration."""
    from durable.runtime.config import persist_dir_for

    return persist_dir_for(config, None if opts.persist_to is None else opts.base / opts.persist_to)


@contextmanager
def open_client(ctx: typer.Context, *, embedded: bool = False) -> "Iterator[ManagementClient]":
    """The client for this invocation (see `durable.runtime.client.connect`), closed after."""
    from durable.runtime.client.connect import connect

    opts = options(ctx)
    configure_logging(opts)
    config = None if opts.remote else load_project(opts)
    ctx.meta[PROJECT_KEY] = config
    client = connect(
        config,
        persist_dir=persist_dir(config, opts) if config is not None else None,
        remote=opts.remote,
        port=opts.port,
        embedded=embedded,
        environ=os.environ,
    )
    if opts.verbose:
        note(f"Using {client.description}.")
    try:
        yield client
    finally:
        client.close()
        for problem in client.intent_problems:
            warn(f"A change recorded earlier could not be applied: {problem}")


def project_config(ctx: typer.Context) -> "ProjectConfig | None":
    """The configuration `open_client` loaded (None with --remote)."""
    found = ctx.meta.get(PROJECT_KEY)
    return found if found is not None else None


def recorded(action: str, target: str, *, to_stderr: bool = False) -> None:
    """What the CLI says after recording a write for the next `durable dev`."""
    message = (
        f'📥 No durable dev is running: recorded "{action}" for {target}; '
        "durable dev applies it when it starts."
    )
    (note if to_stderr else say)(message)
