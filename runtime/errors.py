"""Every exception `durable` defines, in one tree.

The hierarchy, drawn as httpx draws its own:

    DurableError                 a mistake or failure reported to the *user of durable*
    ├── ConfigError              wrangler.toml / wrangler.jsonc is missing or wrong
    ├── UserCodeError            the Worker's `main` module cannot be imported or is incomplete
    ├── ValidationError          a bad argument: instance id, JSON, duration, payload size … (400)
    │   └── PayloadTooLargeError     over the 1 MiB limit (413)
    ├── NotFoundError            unknown workflow, instance or step (404)
    │   ├── WorkflowNotFoundError
    │   └── InstanceNotFoundError
    ├── ConflictError            the request clashes with the current state (409)
    │   └── DevServerRunningError    another `durable dev` serves this persist dir
    ├── StoreError               the SQLite store cannot be opened, is corrupt or too new
    ├── ListenError              `durable dev` cannot listen on the address (port in use …)
    ├── HttpError                the dev server refuses a request at the HTTP level (route, auth)
    ├── TransportError           a management client got no answer: could not connect, the
    │                            connection broke or timed out, the answer was not HTTP
    └── ApiError                 a management API answered, with an error envelope

    WorkflowError                raised *inside user code* with Cloudflare's semantics
    ├── WorkflowTimeoutError     a step attempt or a wait_for_event timed out (catchable)
    └── WorkflowFatalError       the instance cannot go on (step limit, unserialisable output)
    NonRetryableError            user code raises it in a step: fail now, no retries
    StepFailedError              a failed step's error as `run()` sees it (type not kept)

    IntrospectionError           durable.testing's introspection API used against its rules
    AssertionError               (durable.testing: failures a test reports)
    ├── DeterminismError         `run()` does not replay onto its own history
    └── UnexpectedStatusError    `wait_for_status` saw the instance finish otherwise

    JsException                  a JavaScript error, as production's `pyodide.ffi` presents it
                                 (`name` and `message`): what bindings raise with production's
                                 text; re-exported by the `pyodide.ffi` shim
    D1QueryError                 a D1 query failed (Miniflare's text): the D1 binding turns it
                                 into a JsException, the CLI into one line
    R2Error                      an error answer of Miniflare's R2 simulator, inside the R2
                                 binding, which turns it into production's JsException (or None)

    ImportError                  (the standard library's)
    └── UnavailableOnCPythonError    a `js`/`pyodide` name that exists only in the Workers runtime

    OSError                      (as the standard library's own I/O errors)
    ├── LoopbackError            the loopback client's exchange failed or was not HTTP/1.x
    └── HttpStatusError          `Response.raise_for_status()` in user code (as pyodide.http)

Each DurableError carries a message that says how to fix things, the numeric code the
Cloudflare REST API uses for the same failure, and the HTTP status the management API answers
with. The CLI turns them into one line on stderr and exit code 1; the server into an envelope.
A module that raises one of these may import it from where it used to live; this module is
where each is defined. Only private control-flow signals (the engine's `Park`, a
BaseException) live elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping


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


class DevServerRunningError(ConflictError):
    """Another `durable dev` already serves this persist dir."""


class ListenError(DurableError):
    """The address cannot be listened on (port in use, address not on this machine)."""


class HttpError(DurableError):
    """An HTTP-level refusal (unknown route, wrong method, auth): status and code given here."""

    def __init__(
        self,
        http_status: int,
        message: str,
        *,
        code: int = 10000,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status
        self.headers = dict(headers or {})


class TransportError(DurableError):
    """A management client got no answer from the server it talks to.

    Distinct from ApiError: nothing was answered, so retrying or starting the server may help,
    and there is no Cloudflare error code. The message says what to check.
    """

    http_status = 502  # what a gateway answers when the server behind it does not


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


class NonRetryableError(Exception):
    """Raised in a step to fail it at once, without further retries.

    A plain Exception, as in the SDK: `NonRetryableError("a", "b")` works and `message=` does not.
    """


class StepFailedError(Exception):
    """A failed step's error as `run()` sees it, for types that do not cross the boundary.

    On Cloudflare only TypeError, ValueError and NonRetryableError keep their type when a step
    fails; anything else arrives as a generic exception. `name` keeps the original type's name.
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name


# --- durable.testing ---------------------------------------------------------------------------


class IntrospectionError(Exception):
    """The introspection API was used against its rules (a double mock, a second session …)."""


class DeterminismError(AssertionError):
    """`run()` does not replay onto its own history (see `durable.testing.replay`)."""


class UnexpectedStatusError(AssertionError):
    """`wait_for_status` saw the instance finish with another status."""


# --- I/O, shaped as the standard library's ----------------------------------------------------


class LoopbackError(OSError):
    """The server could not be reached, or its answer was not HTTP/1.x."""


class HttpStatusError(OSError):
    """Raised by `Response.raise_for_status()` for a 4xx/5xx status (as in pyodide.http)."""

    def __init__(self, status: int, status_text: str, url: str) -> None:
        kind = "Client" if status < 500 else "Server"
        super().__init__(f"{status} {kind} Error: {status_text} for url: {url}")
        self.status = status
        self.status_text = status_text
        self.url = url


class JsException(Exception):  # noqa: N818 - production's name (pyodide.ffi.JsException)
    """A JavaScript error; `name` and `message` as in production."""

    # Tracebacks and `type(e).__module__` read as in production, where user code imports it.
    __module__ = "pyodide.ffi"

    def __init__(self, message: str = "", name: str = "Error") -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name
        self.message = message


class D1QueryError(Exception):
    """A D1 query failed; the message is the one Miniflare's D1 object sends back.

    The binding raises it to user code as `JsException("D1_ERROR: …")`, the CLI as one line.
    `index` is the failing query's position among those run (comment-only ones dropped).
    """

    def __init__(self, message: str, index: int = 0) -> None:
        super().__init__(message)
        self.index = index


class R2Error(Exception):
    """An error answer of Miniflare's R2 simulator: HTTP `status`, `message`, R2's `v4code`.

    It never reaches user code: the R2 binding gives it workerd's text as a `JsException`
    (`get: The requested range is not satisfiable (10039)`), or returns None where production
    does (a missing key, a failed `onlyIf`, whose object `row` it may carry).
    """

    def __init__(self, status: int, message: str, v4code: int) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.v4code = v4code
        self.row: object = None

    def js(self, action: str) -> JsException:
        return JsException(f"{action}: {self.message} ({self.v4code})")


class UnavailableOnCPythonError(ImportError):
    """A JavaScript or Pyodide name that only exists inside the Workers runtime.

    An ImportError so that `from js import X` reports this message instead of the bare
    "cannot import name"; attribute access (`js.X`) raises it too.
    """
