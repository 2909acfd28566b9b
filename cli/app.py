"""The `durable` command: a thin typer shell over `durable.runtime`.

Each command group lives in its own module; every module imports only typer and the standard
library at import time, so `durable --help` stays fast. rich and the runtime are imported inside
the commands that need them.
"""

from __future__ import annotations

import typer

from . import dev, init
from .common import DurableGroup, global_options

app = typer.Typer(
    name="durable",
    cls=DurableGroup,  # global options on every subcommand, and the one error boundary
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.callback()(global_options)
app.command("dev")(dev.dev)
app.command("init")(init.init)
# `workflows` and `instances` (cli/workflows.py, cli/instances.py) are added by DurableGroup
# when a command line names them.


def main() -> None:
    app(prog_name="durable")


if __name__ == "__main__":
    main()
