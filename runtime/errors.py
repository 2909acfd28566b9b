"""Every error `durable` reports, modelled once.

Two families live here:

    DurableError                 a mistake or failure reported to the *user of durable*
    ├── ConfigError              wrangler.toml / wrangler.jsonc is missing or wrong
    ├── UserCodeError            the Worker's `main` module cannot be imported or is incomplete
    ├── ValidationError          a bad argument: instance id, JSON, duration, payload size … (400)
    ├── NotFoundError            unknown workflow, instance or step (404)
    ├── ConflictError            the request clashes with the current state (409)
    ├── StoreError               the SQLite store cannot be opened, is corrupt or too new
    └── ApiError                 a management API answered with an error envelope

    WorkflowError                raised *inside user code* with Cloudflare's semantics
    ├── WorkflowTimeoutError     a step attempt or a wait_for_event timed out (catchable)
    └── WorkflowFatalError       the instance cannot go on (step limit, unserialisable output)

Each DurableError carries a message that says how to fix things, the numeric code the
Cloudflare REST API uses for the same failure, and the HTTP status the management API answers
with. The CLI turns them into one line on stderr and exit code 1; the server into an envelope.
"""

from __future__ import annotations


class DurableError(Exception):
    """Base of every error reported to a user of `durable`."""

    code: int = 10001
    http_status: int = 500

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(DurableError):
    """The wrangler configuration cannot be used.

    `path` is the config file, `field` the dotted field path (`workflows[0].class_name`), and
    `line`/`column` locate syntax errors.
    """

    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = path or ""
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        if field:
            message = f"{field}: {message}"
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.field = field
        self.line = line
        self.column = column


class UserCodeError(DurableError):
    """The Worker's code cannot be loaded (import error, syntax error, missing class)."""

    http_status = 500


class ValidationError(DurableError):
    """A caller passed something invalid."""

    code = 10021
    http_status = 400


class PayloadTooLargeError(ValidationError):
    """A body, params, payload or step output is over the 1 MiB limit."""

    http_status = 413


class NotFoundError(DurableError):
    code = 10404
    http_status = 404


class WorkflowNotFoundError(NotFoundError):
    code = 10200

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        hint = ""
        if known is not None:
            hint = (
                f" Known workflows: {', '.join(known)}."
                if known
                else " No workflows are configured: add a [[workflows]] section to wrangler.toml."
            )
        super().__init__(f'Workflow "{name}" not found.{hint}')
        self.name = name


class InstanceNotFoundError(NotFoundError):
    code = 10400

    def __init__(self, workflow: str, instance_id: str) -> None:
        super().__init__(
            f'Instance "{instance_id}" not found in workflow "{workflow}". '
            f'List them with "durable workflows instances list {workflow}".'
        )
        self.workflow = workflow
        self.instance_id = instance_id


class ConflictError(DurableError):
    code = 10409
    http_status = 409


class StoreError(DurableError):
    """The SQLite store cannot be used."""

    http_status = 500


class ApiError(DurableError):
    """A management API (local or Cloudflare) answered with an error."""

    def __init__(self, message: str, *, code: int = 10001, http_status: int = 500) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status


# --- errors raised into user code -------------------------------------------------------------


class WorkflowError(Exception):
    """Base of the errors the engine raises inside a workflow's `run()`."""


class WorkflowTimeoutError(WorkflowError):
    """A step attempt or an event wait exceeded its timeout (Cloudflare: WorkflowTimeoutError)."""


class WorkflowFatalError(WorkflowError):
    """The instance cannot continue; ends it `errored` even if caught (Cloudflare semantics)."""
