"""Parameter coercion without pydantic, for start-up speed.

Since 0.26, typer converts every parameter value through a pydantic `TypeAdapter`, built on first
use. Importing pydantic and building one adapter per parameter costs 40-70 ms on every command
that takes an argument: a third of our start-up budget, spent turning "fast" into "fast". The
parameters of `durable` use only simple types (str, int with bounds, bool, Path, an Enum,
list[str]), so `install(command)` gives each of them a small converter with typer's own
checks (`coerce_cli_choice`, `coerce_cli_path`) and click's wording, and leaves any other
parameter to typer. If typer's internals change shape, `install` does nothing and typer's own
conversion applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

try:
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam
    from typer._param_types import coerce_cli_choice, coerce_cli_path

    AVAILABLE = True
except ImportError:  # pragma: no cover - a typer without pydantic coercion: nothing to do
    AVAILABLE = False


def _convert_one(kind: Any, value: Any, param: Any, ctx: Any) -> Any:
    info = param.type_descriptor.parameter_info
    if kind is str:
        return value if isinstance(value, str) else str(value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "t", "yes", "y", "on"):
            return True
        if text in ("0", "false", "f", "no", "n", "off", ""):
            return False
        raise BadParameter(f"{value!r} is not a valid boolean.", ctx=ctx, param=param)
    if kind is int:
        try:
            number = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            raise BadParameter(f"{value!r} is not a valid integer.", ctx=ctx, param=param) from None
        low, high = info.min, info.max
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                bounds = f"{low}<=x<={high}"
            else:
                bounds = f"x>={low}" if low is not None else f"x<={high}"
            raise BadParameter(f"{number} is not in the range {bounds}.", ctx=ctx, param=param)
        return number
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return coerce_cli_choice(
                value, choices=list(kind), case_sensitive=info.case_sensitive, ctx=ctx
            )
        except ValueError as exc:
            raise BadParameter(str(exc), ctx=ctx, param=param) from None
    if kind is Path:
        path = value if isinstance(value, Path) else Path(value)
        return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)
    raise AssertionError(f"unsupported parameter type {kind!r}")  # install() filters these


def _supported(kind: Any) -> bool:
    return kind in (str, bool, int, Path) or (isinstance(kind, type) and issubclass(kind, Enum))


if AVAILABLE:

    @dataclass(frozen=True)
    class LightRuntimeParam(RuntimeParam):
        """typer's RuntimeParam contract, converting without pydantic."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation: Any = self.annotation
            if get_origin(annotation) is list:
                (item,) = get_args(annotation)
                return [_convert_one(item, v, param, ctx) for v in value]
            return _convert_one(annotation, value, param, ctx)


def install_params(params: list[Any]) -> None:
    """Give each simple parameter the light converter (others keep typer's)."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", True) is not None:
            continue  # not a typer parameter, or its converter is built already
        info = descriptor.parameter_info
        if descriptor.file_annotation is not None or info.parser is not None or info.clamp:
            continue
        annotation = descriptor.annotation
        kind = get_args(annotation)[0] if get_origin(annotation) is list else annotation
        if get_origin(annotation) not in (None, list) or not _supported(kind):
            continue
        param._runtime_param = LightRuntimeParam(parameter_info=info, annotation=annotation)


def install(command: Any) -> None:
    """Convert the parameters of `command` and its subcommands without pydantic.

    `get_params` is wrapped rather than `params` walked once, because click adds parameters
    later: the `--help` option of each command and typer's completion options.
    """
    if not AVAILABLE or getattr(command, "_light_params", False):
        return
    original = command.get_params

    def get_params(ctx: Any) -> list[Any]:
        params: list[Any] = original(ctx)
        install_params(params)
        return params

    command.get_params = get_params
    command._light_params = True
    for sub in getattr(command, "commands", {}).values():
        install(sub)
