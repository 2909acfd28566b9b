"""The wrangler configuration (`wrangler.json`, `wrangler.jsonc`, `wrangler.toml`) as typed data.

Behaviour follows wrangler's `workers-utils/src/config` (reference/wrangler-workflows.md §4.3):

- **Finding the file.** Like wrangler's `findWranglerConfig`, each name is searched for from `cwd`
  up to the filesystem root before the next name is tried, in the order `wrangler.json`,
  `wrangler.jsonc`, `wrangler.toml`. So a `wrangler.json` in a parent folder beats a
  `wrangler.toml` in `cwd`, exactly as `wrangler dev` would pick it.
- **Parsing.** A file whose suffixes include `.toml` is TOML (so `wrangler.toml.example` works);
  anything else is JSONC, read with a real JSON5 parser (comments, trailing commas).
- **Problems.** Every validation error is collected and raised together as one `ConfigError`,
  with wrangler's wording; warnings (unknown fields, non-inherited `workflows`, a missing
  `compatibility_date`, …) are returned in `ProjectConfig.warnings` for the CLI to print.
- **Environments.** `--env NAME` selects `[env.NAME]`. `name` becomes `<name>-<NAME>` unless
  overridden; `main`, `compatibility_date` and `compatibility_flags` are inherited; `workflows`
  and `vars` are not (a warning says so). An unknown env is an error when environments are
  defined and a warning (top level used) when none are, as in wrangler.
- **Compatibility date.** When absent, today's date is used with wrangler's warning.
- **Secrets.** `.dev.vars.<env>` or `.dev.vars`; if neither exists, the `.env` family
  (`.env`, `.env.local`, `.env.<env>`, `.env.<env>.local`, later files win); `env_file`
  replaces both. Secrets override `vars`.
"""

from __future__ import annotations

import datetime
import json
import keyword
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .errors import ConfigError, WorkflowNotFoundError

__all__ = [
    "CONFIG_FILE_NAMES",
    "D1DatabaseConfig",
    "DEFAULT_STEP_LIMIT",
    "KVNamespaceConfig",
    "PRODUCTION_MAX_STEPS",
    "ProjectConfig",
    "R2BucketConfig",
    "WorkflowConfig",
    "config_from_dict",
    "find_config",
    "is_valid_workflow_name",
    "load_config",
    "parse_dotenv",
]

CONFIG_FILE_NAMES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")
DEFAULT_STEP_LIMIT = 1024
PRODUCTION_MAX_STEPS = 25_000
_WORKFLOW_NAME = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9_-]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_QUOTED = re.compile(r"""(["'`])((?:\\.|(?!\1).)*)\1""", re.DOTALL)

# Fields wrangler accepts in an environment (top level or `[env.NAME]`). Only names outside this
# list warn, so a real wrangler project loads silently.
_ENV_FIELDS = frozenset(
    "name main compatibility_date compatibility_flags workflows vars account_id zone_id "
    "workers_dev preview_urls routes route kv_namespaces d1_databases r2_buckets durable_objects "
    "queues services triggers build observability assets rules no_bundle "
    "find_additional_modules base_dir preserve_file_names minify keep_names node_compat tsconfig "
    "upload_source_maps limits placement logpush tail_consumers streaming_tail_consumers "
    "analytics_engine_datasets ai browser vectorize hyperdrive mtls_certificates send_email "
    "dispatch_namespaces pipelines secrets_store_secrets secrets unsafe migrations wasm_modules "
    "text_blobs data_blobs define jsx_factory jsx_fragment usage_model version_metadata images "
    "containers cloudchamber ratelimits unsafe_hello_world logfwdr python_modules "
    "compliance_region worker_loaders vpc_services media first_party_worker alias "
    "experimental_services".split()
)
_TOP_LEVEL_ONLY_FIELDS = frozenset(
    "$schema env legacy_env send_metrics keep_vars dev site pages_build_output_dir "
    "wasm_modules text_blobs data_blobs".split()
)
_R2_FIELDS = frozenset(
    "binding bucket_name preview_bucket_name jurisdiction remote experimental_remote".split()
)
_R2_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_BUCKET_FORMAT = (
    "Bucket names must begin and end with an alphanumeric character, only contain lowercase "
    "letters, numbers, and hyphens, and be between 3 and 63 characters long."
)
_KV_FIELDS = frozenset("binding id preview_id remote experimental_remote".split())
_D1_FIELDS = frozenset(
    "binding database_id database_internal_env database_name migrations_dir migrations_table "
    "preview_database_id remote experimental_remote".split()
)
_WORKFLOW_FIELDS = frozenset(
    "name binding class_name script_name limits schedules remote experimental_remote".split()
)


@dataclass(frozen=True)
class WorkflowConfig:
    """One `[[workflows]]` entry."""

    name: str
    binding: str
    class_name: str
    script_name: str | None
    step_limit: int = DEFAULT_STEP_LIMIT
    schedules: tuple[str, ...] = ()


@dataclass(frozen=True)
class KVNamespaceConfig:
    """One `[[kv_namespaces]]` entry. Locally the namespace is named by `id`, else `binding`."""

    binding: str
    id: str | None = None
    preview_id: str | None = None

    @property
    def local_id(self) -> str:
        """The name wrangler gives the namespace's local state (Miniflare's object name)."""
        return self.id if self.id is not None else self.binding


@dataclass(frozen=True)
class D1DatabaseConfig:
    """One `[[d1_databases]]` entry (wrangler's `d1DatabaseEntry` names its local state)."""

    binding: str
    database_name: str | None = None
    database_id: str | None = None
    preview_database_id: str | None = None
    migrations_dir: str = "./migrations"
    migrations_table: str = "d1_migrations"

    @property
    def local_id(self) -> str:
        """The name of the database's local state: `preview_database_id`, `database_id`, binding."""
        for value in (self.preview_database_id, self.database_id):
            if value is not None:
                return value
        return self.binding

    @property
    def shown(self) -> str | None:
        """What wrangler's bindings table shows in parentheses."""
        for value in (self.preview_database_id, self.database_name, self.database_id):
            if value:
                return value
        return None


@dataclass(frozen=True)
class R2BucketConfig:
    """One `[[r2_buckets]]` entry. `wrangler dev` names the local bucket by
    `preview_bucket_name`, else `bucket_name`, else `binding`."""

    binding: str
    bucket_name: str | None = None
    preview_bucket_name: str | None = None
    jurisdiction: str | None = None

    @property
    def local_name(self) -> str:
        """The name wrangler gives the bucket's local state (Miniflare's object name)."""
        for name in (self.preview_bucket_name, self.bucket_name):
            if name is not None:
                return name
        return self.binding


@dataclass(frozen=True)
class ProjectConfig:
    """The effective configuration for one environment (or the top level)."""

    path: Path
    root: Path
    name: str | None
    main: Path
    compatibility_date: datetime.date
    compatibility_flags: tuple[str, ...]
    workflows: tuple[WorkflowConfig, ...]
    vars: dict[str, object]
    env_name: str | None
    warnings: tuple[str, ...] = ()
    secret_names: frozenset[str] = field(default_factory=frozenset)
    kv_namespaces: tuple[KVNamespaceConfig, ...] = ()
    r2_buckets: tuple[R2BucketConfig, ...] = ()
    d1_databases: tuple[D1DatabaseConfig, ...] = ()

    def workflow(self, name: str) -> WorkflowConfig:
        for wf in self.workflows:
            if wf.name == name:
                return wf
        raise WorkflowNotFoundError(name, known=list(self.workflow_names))

    @property
    def workflow_names(self) -> tuple[str, ...]:
        return tuple(wf.name for wf in self.workflows)

    def flag_enabled(self, flag: str, disable: str, default_from: datetime.date | None) -> bool:
        """Evaluate a compat flag as workerd does: explicit flags win, then the date."""
        if flag in self.compatibility_flags:
            return True
        if disable in self.compatibility_flags:
            return False
        return default_from is not None and self.compatibility_date >= default_from

    def flag_reason(self, key: str) -> str:
        """What decides a compat behaviour here, for messages: the flag given, or the date."""
        flag, disable, default_from = _COMPAT_FLAGS[key]
        for given in (flag, disable):
            if given in self.compatibility_flags:
                return f'compatibility flag "{given}"'
        side = (
            "on or after" if default_from and self.compatibility_date >= default_from else "before"
        )
        return f"compatibility_date {self.compatibility_date} ({side} {default_from})"

    # `python_workers` implies the first two flags after their dates; durable only runs Python
    # Workers, so the implying flag is taken as on (a warning reports it when it is missing).
    @property
    def python_workflows(self) -> bool:
        return self.flag_enabled(*_COMPAT_FLAGS["python_workflows"])

    @property
    def implicit_step_dependencies(self) -> bool:
        return self.flag_enabled(*_COMPAT_FLAGS["implicit_step_dependencies"])

    @property
    def no_global_handlers(self) -> bool:
        return self.flag_enabled(*_COMPAT_FLAGS["no_global_handlers"])

    @property
    def preserve_non_retryable_error_message(self) -> bool:
        return self.flag_enabled(*_COMPAT_FLAGS["preserve_non_retryable_error_message"])


_COMPAT_FLAGS: dict[str, tuple[str, str, datetime.date | None]] = {
    "python_workflows": (
        "python_workflows",
        "disable_python_workflows",
        datetime.date(2025, 9, 20),
    ),
    "implicit_step_dependencies": (
        "python_workflows_implicit_dependencies",
        "no_python_workflows_implicit_dependencies",
        datetime.date(2026, 2, 25),
    ),
    "no_global_handlers": (
        "python_no_global_handlers",
        "disable_python_no_global_handlers",
        datetime.date(2025, 8, 14),
    ),
    "preserve_non_retryable_error_message": (
        "workflows_preserve_non_retryable_error_message",
        "workflows_replace_non_retryable_error_message",
        datetime.date(2026, 5, 14),
    ),
}


def is_valid_workflow_name(name: str) -> bool:
    return 1 <= len(name) <= 64 and _WORKFLOW_NAME.fullmatch(name) is not None


def find_config(cwd: Path, explicit: Path | None = None) -> Path:
    """The config file to use: `explicit` (must exist), else wrangler's upward search."""
    if explicit is not None:
        path = (cwd / explicit).resolve()
        if not path.is_file():
            raise ConfigError(
                "configuration file not found (given with --config).", path=str(explicit)
            )
        return path
    start = cwd.resolve()
    for name in CONFIG_FILE_NAMES:
        for folder in (start, *start.parents):
            if (folder / name).is_file():
                return folder / name
    raise ConfigError(
        f"No wrangler configuration found: looked for {', '.join(CONFIG_FILE_NAMES)} in {start} "
        "and its parent folders. Create a project with `durable init`, or pass --config PATH."
    )


DEFAULT_PERSIST_DIRNAME = ".durable"


def persist_dir_for(config: ProjectConfig, persist_to: Path | None = None) -> Path:
    """Where the store lives: `--persist-to`, else `.durable/` next to the config file."""
    return (
        persist_to if persist_to is not None else config.root / DEFAULT_PERSIST_DIRNAME
    ).resolve()


def load_config(
    path: Path | None = None,
    *,
    cwd: Path | None = None,
    env: str | None = None,
    env_file: Path | None = None,
    today: datetime.date | None = None,
) -> ProjectConfig:
    """Find, parse and validate the configuration; raise one ConfigError listing every problem."""
    base = cwd if cwd is not None else Path.cwd()
    config_path = find_config(base, path)
    raw = _parse_file(config_path)
    explicit_env_file = (base / env_file).resolve() if env_file is not None else None
    return config_from_dict(raw, config_path, env=env, env_file=explicit_env_file, today=today)


def _parse_file(path: Path) -> dict[str, object]:
    text = _read_text(path)
    if ".toml" in path.suffixes:
        try:
            data: object = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message, line, column = _toml_error_position(str(exc), text)
            raise ConfigError(
                f"invalid TOML: {message}", path=str(path), line=line, column=column
            ) from exc
    else:
        import json5  # only for wrangler.json(c): a wrangler.toml project never pays for it

        try:
            data = json5.loads(text)
        except (ValueError, RecursionError) as exc:
            message, line, column = _json_error_position(str(exc))
            raise ConfigError(
                f"invalid JSON: {message}", path=str(path), line=line, column=column
            ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"the configuration must be an object, but got {_js(data)}.", path=str(path)
        )
    return data


def _toml_error_position(message: str, text: str) -> tuple[str, int | None, int | None]:
    if match := re.search(r"\s*\(at line (\d+), column (\d+)\)", message):
        return message[: match.start()], int(match.group(1)), int(match.group(2))
    if match := re.search(r"\s*\(at end of document\)", message):
        lines = text.split("\n")
        return message[: match.start()], len(lines), len(lines[-1]) + 1
    return message, None, None


def _json_error_position(message: str) -> tuple[str, int | None, int | None]:
    # json5 formats errors as '<string>:LINE MESSAGE at column COL'.
    if match := re.fullmatch(r"<string>:(\d+) (.*) at column (\d+)", message, re.DOTALL):
        return match.group(2), int(match.group(1)), int(match.group(3))
    if message.startswith("Empty strings"):
        return "the file is empty", 1, 1
    return message, None, None


def _js(value: object) -> str:
    """A value rendered the way wrangler's messages show it (JSON.stringify)."""
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return repr(value)


@dataclass
class _Diagnostics:
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field path, message)
    warnings: list[str] = field(default_factory=list)

    def error(self, field_path: str, message: str) -> None:
        self.errors.append((field_path, message))

    def unexpected(self, value: Mapping[str, object], known: frozenset[str], where: str) -> None:
        extra = [key for key in value if key not in known]
        if extra:
            found = ",".join(f'"{key}"' for key in extra)
            self.warnings.append(f"Unexpected fields found in {where} field: {found}")


@dataclass
class _Section:
    """One environment's validated fields, before secrets and defaults are applied."""

    name: str | None = None
    main: str | None = None
    compatibility_date: datetime.date | None = None
    compatibility_flags: tuple[str, ...] = ()
    workflows: tuple[WorkflowConfig, ...] = ()
    vars: dict[str, object] = field(default_factory=dict)
    kv_namespaces: tuple[KVNamespaceConfig, ...] = ()
    r2_buckets: tuple[R2BucketConfig, ...] = ()
    d1_databases: tuple[D1DatabaseConfig, ...] = ()


def config_from_dict(
    raw: Mapping[str, object],
    path: Path,
    *,
    env: str | None = None,
    env_file: Path | None = None,
    today: datetime.date | None = None,
) -> ProjectConfig:
    """Validate an already parsed configuration that lives at `path`."""
    path = path.resolve()
    root = path.parent
    diag = _Diagnostics()
    diag.unexpected(raw, _ENV_FIELDS | _TOP_LEVEL_ONLY_FIELDS, "top-level")
    section = _validate_section(raw, "", diag, inherit=None)

    env_name: str | None = None
    envs = raw.get("env")
    if envs is not None and not isinstance(envs, dict):
        diag.error("env", f'The field "env" should be an object but got {_js(envs)}.')
        envs = None
    if env is not None:
        if envs and env in envs:
            env_name = env
            raw_env = envs[env]
            prefix = f"env.{env}"
            if isinstance(raw_env, dict):
                diag.unexpected(raw_env, _ENV_FIELDS, prefix)
                for key in ("workflows", "vars", "kv_namespaces", "d1_databases", "r2_buckets"):
                    if key in raw and key not in raw_env:
                        diag.warnings.append(
                            f'"{key}" exists at the top level, but not on "{prefix}".\n'
                            f'This is not what you probably want, since "{key}" is not '
                            "inherited by environments.\n"
                            f'Please add "{key}" to "{prefix}".'
                        )
                inherited = section
                section = _validate_section(raw_env, f"{prefix}.", diag, inherit=section)
                if "workflows" in raw_env:
                    env_bindings = {wf.binding for wf in section.workflows}
                    for wf in inherited.workflows:
                        if wf.binding not in env_bindings:
                            diag.warnings.append(
                                f'There is a workflows binding with name "{wf.binding}" at the '
                                f'top level, but not on "{prefix}". This is not what you probably '
                                'want, since "workflows" is not inherited by environments.'
                            )
            else:
                diag.error(prefix, f'"{prefix}" should be an object but got {_js(raw_env)}.')
        else:
            defined = sorted(str(key) for key in envs) if envs else []
            message = (
                f'No environment found in configuration with name "{env}".\n'
                f"Before using `--env={env}` there should be an equivalent environment section "
                "in the configuration."
            )
            if defined:
                available = ", ".join(f'"{n}"' for n in defined)
                diag.error(
                    "env", f"{message}\nThe available configured environment names are: {available}"
                )
            else:
                diag.warnings.append(
                    f"{message}\nAdd an [env.{env}] section to {path.name}; using the top level."
                )

    main_path = root
    if section.main is None:
        if not any(f == "main" or f.endswith(".main") for f, _ in diag.errors):
            example = (
                'main = "src/entry.py"' if ".toml" in path.suffixes else ('"main": "src/entry.py"')
            )
            diag.error(
                "main",
                f'Missing entry-point to Worker script: add "main" to {path.name} '
                f"(for example {example}).",
            )
    else:
        main_path = (root / section.main).resolve()
        if not main_path.is_file():
            diag.error(
                "main",
                f'The entry-point file at "{section.main}" was not found (relative to {root}).',
            )

    _check_flags(section.compatibility_flags, diag)
    _check_unique_bindings(section, "" if env_name is None else f"env.{env_name}.", diag)

    if diag.errors:
        if len(diag.errors) == 1:
            field_path, message = diag.errors[0]
            error = ConfigError(message, path=str(path))
            error.field = field_path
            raise error
        listing = "\n".join(f"  - {message}" for _, message in diag.errors)
        raise ConfigError(f"found {len(diag.errors)} problems:\n{listing}", path=str(path))

    compat_date = section.compatibility_date
    if compat_date is None:
        compat_date = today if today is not None else datetime.date.today()
        example = (
            f'compatibility_date = "{compat_date}"'
            if ".toml" in path.suffixes
            else f'"compatibility_date": "{compat_date}"'
        )
        diag.warnings.append(
            f"No compatibility_date was specified. Using today's date: {compat_date}.\n"
            f"❯❯ Add one to your {path.name} file: {example}\n"
            "See https://developers.cloudflare.com/workers/platform/compatibility-dates/ "
            "for more information."
        )

    secrets = _load_secrets(root, env_name, env_file)
    return ProjectConfig(
        path=path,
        r2_buckets=section.r2_buckets,
        root=root,
        name=section.name,
        main=main_path,
        compatibility_date=compat_date,
        compatibility_flags=section.compatibility_flags,
        workflows=section.workflows,
        vars={**section.vars, **secrets},
        env_name=env_name,
        warnings=tuple(diag.warnings),
        secret_names=frozenset(secrets),
        kv_namespaces=section.kv_namespaces,
        d1_databases=section.d1_databases,
    )


def _validate_section(
    raw: Mapping[str, object], prefix: str, diag: _Diagnostics, *, inherit: _Section | None
) -> _Section:
    section = _Section()
    if inherit is not None:
        env_name = prefix.removeprefix("env.").removesuffix(".")
        section.name = f"{inherit.name}-{env_name}" if inherit.name is not None else None
        section.main = inherit.main
        section.compatibility_date = inherit.compatibility_date
        section.compatibility_flags = inherit.compatibility_flags

    for key in ("name", "main"):
        if key in raw:
            value = raw[key]
            if isinstance(value, str):
                setattr(section, key, value)
            else:
                diag.error(
                    f"{prefix}{key}",
                    f'Expected "{prefix}{key}" to be of type string but got {_js(value)}.',
                )

    if "compatibility_date" in raw:
        value = raw["compatibility_date"]
        parsed: datetime.date | None = None
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                parsed = datetime.date.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            diag.error(
                f"{prefix}compatibility_date",
                f'"{prefix}compatibility_date" field should be a valid ISO-8601 date '
                f"(YYYY-MM-DD) string, but got {_js(value)}.",
            )
        section.compatibility_date = parsed

    if "compatibility_flags" in raw:
        flags = raw["compatibility_flags"]
        if isinstance(flags, list) and all(isinstance(flag, str) for flag in flags):
            section.compatibility_flags = tuple(str(flag) for flag in flags)
        else:
            diag.error(
                f"{prefix}compatibility_flags",
                f'Expected "{prefix}compatibility_flags" to be of type string array but '
                f"got {_js(flags)}.",
            )

    if "vars" in raw:
        variables = raw["vars"]
        if isinstance(variables, dict):
            section.vars = {str(key): value for key, value in variables.items()}
        else:
            diag.error(
                f"{prefix}vars",
                f'The field "{prefix}vars" should be an object but got {_js(variables)}.',
            )

    if "workflows" in raw:
        entries = raw["workflows"]
        if isinstance(entries, list):
            worker = section.name
            found = [
                _validate_workflow(entry, f"{prefix}workflows[{i}]", prefix, worker, diag)
                for i, entry in enumerate(entries)
            ]
            section.workflows = tuple(wf for wf in found if wf is not None)
        else:
            diag.error(
                f"{prefix}workflows",
                f'The field "{prefix}workflows" should be an array but got {_js(entries)}.',
            )
    # Every storage binding kind is an array of tables, each validated on its own.
    section.kv_namespaces = _binding_array(
        raw, "kv_namespaces", prefix, diag, lambda e, w: _validate_kv(e, w, prefix, diag)
    )
    section.d1_databases = _binding_array(
        raw, "d1_databases", prefix, diag, lambda e, w: _validate_d1(e, w, diag)
    )
    section.r2_buckets = _binding_array(
        raw, "r2_buckets", prefix, diag, lambda e, w: _validate_r2(e, w, diag)
    )
    return section


_T = TypeVar("_T")


def _binding_array(
    raw: Mapping[str, object],
    key: str,
    prefix: str,
    diag: _Diagnostics,
    validate: Callable[[object, str], _T | None],
) -> tuple[_T, ...]:
    """`raw[key]` as validated entries (the valid ones); an error if it is not an array."""
    entries = raw.get(key, [])
    if not isinstance(entries, list):
        diag.error(
            f"{prefix}{key}",
            f'The field "{prefix}{key}" should be an array but got {_js(entries)}.',
        )
        return ()
    checked = [validate(entry, f"{prefix}{key}[{i}]") for i, entry in enumerate(entries)]
    return tuple(item for item in checked if item is not None)


def _validate_r2(entry: object, where: str, diag: _Diagnostics) -> R2BucketConfig | None:
    """wrangler's `validateR2Binding`: bucket names in R2's format, `bucket_name` optional."""
    if not isinstance(entry, dict):
        diag.error(where, f'"r2_buckets" bindings should be objects, but got {_js(entry)}')
        return None
    diag.unexpected(entry, _R2_FIELDS, where)
    errors_before = len(diag.errors)
    binding = entry.get("binding")
    if not isinstance(binding, str):
        diag.error(
            f"{where}.binding",
            f'"{where}" bindings should have a string "binding" field but got {_js(entry)}.',
        )
    elif not binding.isidentifier() or keyword.iskeyword(binding):
        diag.error(
            f"{where}.binding",
            f'"{where}" bindings "binding" field must be a valid Python identifier (user '
            f"code reads it as env.<binding>) but got {_js(binding)}.",
        )
    bucket = entry.get("bucket_name")
    if "bucket_name" in entry and (not isinstance(bucket, str) or not bucket):
        diag.error(
            f"{where}.bucket_name",
            f'"{where}" bindings should have a string "bucket_name" field but got {_js(entry)}.',
        )
    elif isinstance(bucket, str) and not _R2_BUCKET_NAME.fullmatch(bucket):
        diag.error(
            f"{where}.bucket_name",
            f"{where}.bucket_name={_js(bucket)} is invalid. {_BUCKET_FORMAT}",
        )
    preview = entry.get("preview_bucket_name")
    if "preview_bucket_name" in entry and not isinstance(preview, str):
        diag.error(
            f"{where}.preview_bucket_name",
            f'"{where}" bindings should, optionally, have a string "preview_bucket_name" field '
            f"but got {_js(entry)}.",
        )
    elif isinstance(preview, str) and not _R2_BUCKET_NAME.fullmatch(preview):
        diag.error(
            f"{where}.preview_bucket_name",
            f"{where}.preview_bucket_name= {_js(preview)} is invalid. {_BUCKET_FORMAT}",
        )
    jurisdiction = entry.get("jurisdiction")
    if "jurisdiction" in entry and not isinstance(jurisdiction, str):
        diag.error(
            f"{where}.jurisdiction",
            f'"{where}" bindings should, optionally, have a string "jurisdiction" field but got '
            f"{_js(entry)}.",
        )
    if len(diag.errors) > errors_before or not isinstance(binding, str):
        return None
    return R2BucketConfig(
        binding=binding,
        bucket_name=bucket if isinstance(bucket, str) else None,
        preview_bucket_name=preview if isinstance(preview, str) else None,
        jurisdiction=jurisdiction if isinstance(jurisdiction, str) else None,
    )


def _validate_d1(entry: object, where: str, diag: _Diagnostics) -> D1DatabaseConfig | None:
    """wrangler's `validateD1Binding` (its wording), plus the Python-identifier rule."""
    if not isinstance(entry, dict):
        diag.error(where, f'"d1_databases" bindings should be objects, but got {_js(entry)}')
        return None
    diag.unexpected(entry, _D1_FIELDS, where)
    errors_before = len(diag.errors)
    binding = entry.get("binding")
    if not isinstance(binding, str):
        diag.error(
            f"{where}.binding",
            f'"{where}" bindings should have a string "binding" field but got {_js(entry)}.',
        )
    elif not binding.isidentifier() or keyword.iskeyword(binding):
        diag.error(
            f"{where}.binding",
            f'"{where}" bindings "binding" field must be a valid Python identifier (user '
            f"code reads it as env.<binding>) but got {_js(binding)}.",
        )
    if entry.get("database_id") is not None and not isinstance(entry["database_id"], str):
        diag.error(
            f"{where}.database_id",
            f'"{where}" bindings must have a "database_id" field but got {_js(entry)}.',
        )
    for key in ("preview_database_id", "database_name", "migrations_dir", "migrations_table"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            diag.error(
                f"{where}.{key}",
                f'"{where}" bindings should, optionally, have a string "{key}" field but got '
                f"{_js(entry)}.",
            )
    remote = entry.get("remote")
    if remote is not None and not isinstance(remote, bool):
        diag.error(
            f"{where}.remote",
            f'"{where}" should, optionally, have a boolean "remote" field but got {_js(entry)}.',
        )
    table = entry.get("migrations_table")
    if isinstance(table, str) and table and not _SQL_NAME.fullmatch(table):
        diag.error(
            f"{where}.migrations_table",
            f'"{where}" bindings "migrations_table" field must be a plain SQL table name '
            f"(letters, digits, underscores) but got {_js(table)}.",
        )
    if len(diag.errors) > errors_before or not isinstance(binding, str):
        return None

    def text(key: str) -> str | None:
        value = entry.get(key)
        return value if isinstance(value, str) else None

    return D1DatabaseConfig(
        binding=binding,
        database_name=text("database_name"),
        database_id=text("database_id"),
        preview_database_id=text("preview_database_id"),
        migrations_dir=text("migrations_dir") or "./migrations",
        migrations_table=text("migrations_table") or "d1_migrations",
    )


def _validate_kv(
    entry: object, where: str, prefix: str, diag: _Diagnostics
) -> KVNamespaceConfig | None:
    """wrangler's `validateKVBinding`; `id` may be absent (wrangler then names it by binding)."""
    if not isinstance(entry, dict):
        diag.error(
            where, f'"{prefix}kv_namespaces" bindings should be objects, but got {_js(entry)}'
        )
        return None
    diag.unexpected(entry, _KV_FIELDS, where)
    errors_before = len(diag.errors)
    binding = entry.get("binding")
    if not isinstance(binding, str):
        diag.error(
            f"{where}.binding",
            f'"{where}" bindings should have a string "binding" field but got {_js(entry)}.',
        )
    elif not binding.isidentifier() or keyword.iskeyword(binding):
        diag.error(
            f"{where}.binding",
            f'"{where}" bindings "binding" field must be a valid Python identifier (user '
            f"code reads it as env.<binding>) but got {_js(binding)}.",
        )
    for key in ("id", "preview_id"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            diag.error(
                f"{where}.{key}",
                f'"{where}" bindings should, optionally, have a string "{key}" field but got '
                f"{_js(entry)}.",
            )
    if len(diag.errors) > errors_before or not isinstance(binding, str):
        return None
    ns_id, preview = entry.get("id"), entry.get("preview_id")
    return KVNamespaceConfig(
        binding=binding,
        id=ns_id if isinstance(ns_id, str) else None,
        preview_id=preview if isinstance(preview, str) else None,
    )


def _validate_workflow(
    entry: object, where: str, prefix: str, worker: str | None, diag: _Diagnostics
) -> WorkflowConfig | None:
    if not isinstance(entry, dict):
        diag.error(where, f'"{prefix}workflows" bindings should be objects, but got {_js(entry)}')
        return None
    diag.unexpected(entry, _WORKFLOW_FIELDS, where)
    errors_before = len(diag.errors)
    strings: dict[str, str] = {}
    for key in ("binding", "name", "class_name"):
        value = entry.get(key)
        if isinstance(value, str):
            strings[key] = value
        else:
            diag.error(
                f"{where}.{key}",
                f'"{where}" bindings should have a string "{key}" field but got {_js(entry)}.',
            )
    if "name" in strings and not is_valid_workflow_name(strings["name"]):
        diag.error(
            f"{where}.name",
            f'"{where}" binding "name" field is invalid. Workflow names must be 1-64 '
            "characters long, start with a letter, number, or underscore, and may only "
            "contain letters, numbers, underscores, or hyphens.",
        )
    binding = strings.get("binding")
    if binding is not None and (not binding.isidentifier() or keyword.iskeyword(binding)):
        diag.error(
            f"{where}.binding",
            f'"{where}" bindings "binding" field must be a valid Python identifier (user '
            f"code reads it as env.<binding>) but got {_js(binding)}.",
        )

    script_name = entry.get("script_name")
    if script_name is not None and not isinstance(script_name, str):
        diag.error(
            f"{where}.script_name",
            f'"{where}" bindings should, optionally, have a string '
            f'"script_name" field but got {_js(script_name)}.',
        )
        script_name = None
    external = isinstance(script_name, str) and script_name != worker

    step_limit = DEFAULT_STEP_LIMIT
    if "limits" in entry:
        limits = entry["limits"]
        if not isinstance(limits, dict):
            diag.error(
                f"{where}.limits",
                f'"{where}" bindings should, optionally, have an object '
                f'"limits" field but got {_js(limits)}.',
            )
        else:
            diag.unexpected(limits, frozenset({"steps"}), f"{where}.limits")
            if "steps" in limits:
                steps = _positive_int(limits["steps"])
                if steps is None:
                    diag.error(
                        f"{where}.limits.steps",
                        f'"{where}" bindings "limits.steps" field must be a positive '
                        f"integer but got {_js(limits['steps'])}.",
                    )
                else:
                    step_limit = steps
                    if steps > PRODUCTION_MAX_STEPS:
                        diag.warnings.append(
                            f'"{where}" has a step limit of {steps}, which exceeds the production '
                            "maximum of 25,000. This configuration may not work when deployed."
                        )

    schedules: tuple[str, ...] = ()
    if "schedules" in entry:
        schedules, problem = _schedules(entry["schedules"])
        if problem is not None:
            diag.error(f"{where}.schedules", f'"{where}" bindings "schedules" field {problem}')
    for key in ("limits", "schedules"):
        if external and key in entry:
            diag.error(
                f"{where}.{key}",
                f'Workflow "{strings.get("name")}" has "{key}" configured but references '
                f'external script "{script_name}". Configure {key} on the worker that '
                "defines the workflow.",
            )

    if entry.get("remote") is True:
        diag.error(
            f"{where}.remote", "Workflow bindings do not support accessing remote resources."
        )

    if len(diag.errors) > errors_before:
        return None
    return WorkflowConfig(
        name=strings["name"],
        binding=strings["binding"],
        class_name=strings["class_name"],
        script_name=script_name if isinstance(script_name, str) else None,
        step_limit=step_limit,
        schedules=schedules,
    )


def _positive_int(value: object) -> int | None:
    # JSON has one number type: 5.0 is the integer 5 to wrangler, so accept integral floats too.
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _schedules(value: object) -> tuple[tuple[str, ...], str | None]:
    if isinstance(value, str):
        return ((value,), None) if value else ((), "must not be an empty string.")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        if not value:
            return (), "must not be an empty array."
        if any(item == "" for item in value):
            return (), "must not contain empty strings."
        return tuple(str(item) for item in value), None
    return (), f"must be a string or an array of strings but got {_js(value)}."


def _check_flags(flags: tuple[str, ...], diag: _Diagnostics) -> None:
    for enable, disable, _ in _COMPAT_FLAGS.values():
        if enable in flags and disable in flags:
            diag.error(
                "compatibility_flags",
                f'Compatibility flags "{enable}" and "{disable}" cannot both be set.',
            )
    if "python_workers" not in flags:
        diag.warnings.append(
            'The "python_workers" compatibility flag is required to run Python on Cloudflare: '
            'add it to "compatibility_flags" (durable assumes it is set).'
        )


def _check_unique_bindings(section: _Section, prefix: str, diag: _Diagnostics) -> None:
    names = [wf.name for wf in section.workflows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        found = ", ".join(f'"{n}"' for n in duplicates)
        diag.error(
            f"{prefix}workflows",
            f'"{prefix}workflows" bindings must have unique "name" '
            f"values; duplicate(s) found: {found}. Give each [[workflows]] entry its own name.",
        )
    bindings = [wf.binding for wf in section.workflows]
    for binding in sorted({b for b in bindings if bindings.count(b) > 1}):
        diag.error(
            f"{prefix}workflows",
            f"{binding} assigned to multiple Workflow bindings. Give each [[workflows]] entry "
            "its own binding.",
        )
    for binding in sorted(set(bindings) & set(section.vars)):
        diag.error(
            f"{prefix}vars", f"{binding} assigned to Environment Variable and Workflow bindings."
        )
    kv = [ns.binding for ns in section.kv_namespaces]
    for binding in sorted({b for b in kv if kv.count(b) > 1}):
        diag.error(
            f"{prefix}kv_namespaces", f"{binding} assigned to multiple KV Namespace bindings."
        )
    for binding in sorted(set(kv) & set(bindings)):
        diag.error(
            f"{prefix}kv_namespaces", f"{binding} assigned to KV Namespace and Workflow bindings."
        )
    for binding in sorted(set(kv) & set(section.vars)):
        diag.error(
            f"{prefix}vars",
            f"{binding} assigned to Environment Variable and KV Namespace bindings.",
        )
    r2 = [bucket.binding for bucket in section.r2_buckets]
    for binding in sorted({b for b in r2 if r2.count(b) > 1}):
        diag.error(f"{prefix}r2_buckets", f"{binding} assigned to multiple R2 Bucket bindings.")
    for binding in sorted(set(r2) & set(kv)):
        diag.error(
            f"{prefix}r2_buckets", f"{binding} assigned to KV Namespace and R2 Bucket bindings."
        )
    for binding in sorted(set(r2) & set(bindings)):
        diag.error(f"{prefix}r2_buckets", f"{binding} assigned to R2 Bucket and Workflow bindings.")
    for binding in sorted(set(r2) & set(section.vars)):
        diag.error(
            f"{prefix}vars", f"{binding} assigned to Environment Variable and R2 Bucket bindings."
        )
    _check_unique_d1(section, prefix, kv, bindings, diag)


def _check_unique_d1(
    section: _Section, prefix: str, kv: list[str], workflows: list[str], diag: _Diagnostics
) -> None:
    """wrangler's `validateBindingsHaveUniqueNames` for D1 (its order: KV, D1, vars, Workflow)."""
    d1 = [db.binding for db in section.d1_databases]
    where = f"{prefix}d1_databases"
    for binding in sorted({b for b in d1 if d1.count(b) > 1}):
        diag.error(where, f"{binding} assigned to multiple D1 Database bindings.")
    for binding in sorted(set(kv) & set(d1)):
        diag.error(where, f"{binding} assigned to KV Namespace and D1 Database bindings.")
    for binding in sorted(set(d1) & set(section.vars)):
        diag.error(where, f"{binding} assigned to D1 Database and Environment Variable bindings.")
    for binding in sorted(set(d1) & set(workflows)):
        diag.error(where, f"{binding} assigned to D1 Database and Workflow bindings.")


def _load_secrets(root: Path, env_name: str | None, env_file: Path | None) -> dict[str, str]:
    if env_file is not None:
        if not env_file.is_file():
            raise ConfigError(
                "the env file given with --env-file does not exist.", path=str(env_file)
            )
        return parse_dotenv(_read_text(env_file))
    candidates = [root / f".dev.vars.{env_name}"] if env_name else []
    for dev_vars in (*candidates, root / ".dev.vars"):
        if dev_vars.is_file():
            return parse_dotenv(_read_text(dev_vars))
    names = [".env", ".env.local"]
    if env_name:
        names += [f".env.{env_name}", f".env.{env_name}.local"]
    secrets: dict[str, str] = {}
    for name in names:
        if (root / name).is_file():
            secrets.update(parse_dotenv(_read_text(root / name)))
    return secrets


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", path=str(path)) from exc


def parse_dotenv(text: str) -> dict[str, str]:
    """`KEY=value` lines; `#` comments, `export ` prefixes and quotes as dotenv handles them."""
    result: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _ENV_VAR_NAME.fullmatch(key):
            continue
        value = value.strip()
        if quoted := _QUOTED.match(value):
            quote, value = quoted.group(1), quoted.group(2)
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        result[key] = value
    return result
