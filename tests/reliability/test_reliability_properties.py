"""Property tests (hypothesis): duration parsing, and the management APIs' request validation.

* Durations (`runtime/durations.py`): every valid form reads as the right number of
  milliseconds; anything else raises ValidationError, never another exception.
* Config parsing has its own property tests: tests/runtime/test_config_properties.py (arbitrary
  configs and arbitrary file text raise only ConfigError, with the file named).
* The REST API (`/client/v4/…`) and the explorer API (`/cdn-cgi/local/explorer/api/…`): any
  method, path (raw bytes: `..`, `%2F`, `%00`, unicode), query string and body sent to the ASGI
  app in process, with an engine running, is answered with a 2xx/4xx Cloudflare envelope,
  never a 5xx and never anything else. The ASGI app is called directly (a hand-built scope), so
  paths reach it exactly as generated, with no client normalising them on the way.

Each run writes its figures to tests/artifacts/reliability-properties.json.
"""

from __future__ import annotations

import asyncio
import json
import string
import textwrap
from collections import Counter
from collections.abc import Iterator, MutableMapping
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from durable.runtime.api.service import Service
from durable.runtime.config import load_config
from durable.runtime.dev.project import open_runtime
from durable.runtime.dev.server import DevApp
from durable.runtime.durations import MAX_DURATION_MS, parse_duration
from durable.runtime.engine.state import Limits
from durable.runtime.errors import ValidationError
from tests.conftest import write_project

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FIGURES: Counter[str] = Counter()

# --- durations -------------------------------------------------------------------------------

UNITS = {
    "ms": 1,
    "millisecond": 1,
    "second": 1_000,
    "sec": 1_000,
    "s": 1_000,
    "minute": 60_000,
    "min": 60_000,
    "m": 60_000,
    "hour": 3_600_000,
    "hr": 3_600_000,
    "h": 3_600_000,
    "day": 86_400_000,
    "d": 86_400_000,
    "week": 604_800_000,
    "w": 604_800_000,
    "month": 2_592_000_000,
    "year": 31_557_600_000,
    "y": 31_557_600_000,
}
spaces = st.text(alphabet=" \t", max_size=2)


@st.composite
def duration_strings(draw: st.DrawFn) -> tuple[str, Fraction]:
    unit = draw(st.sampled_from(sorted(UNITS)))
    factor = UNITS[unit]
    whole = draw(st.integers(0, MAX_DURATION_MS // factor))
    decimals = draw(st.none() | st.text(alphabet=string.digits, min_size=1, max_size=3))
    number = str(whole) + (f".{decimals}" if decimals else "")
    spelled = unit + ("s" if unit in ("millisecond", "second", "minute", "hour", "day") else "")
    spelled = "".join(
        c.upper() if draw(st.booleans()) else c for c in draw(st.sampled_from([unit, spelled]))
    )
    text = f"{draw(spaces)}{number}{draw(spaces)}{spelled}{draw(spaces)}"
    return text, Fraction(number) * factor


@settings(max_examples=400, deadline=None)
@given(duration_strings())
@example(("10 seconds", Fraction(10_000)))
@example(("1500", Fraction(1500)))
@example(("2 Years", Fraction(2 * 31_557_600_000)))
def test_valid_duration_strings_read_as_their_milliseconds(case: tuple[str, Fraction]) -> None:
    text, exact = case
    FIGURES["durations_valid"] += 1
    near = Fraction(MAX_DURATION_MS) * Fraction(10**12 + 1, 10**12)  # float rounding
    try:
        got = parse_duration(text)
    except ValidationError as exc:  # over 2**53 ms: refused, clearly
        assert "too long" in str(exc) and exact * Fraction(10**12 + 1, 10**12) > MAX_DURATION_MS
        return
    assert exact <= near, (text, got)
    assert isinstance(got, int) and 0 <= got <= MAX_DURATION_MS
    assert abs(got - exact) <= max(Fraction(1), exact * Fraction(1, 10**12)), (
        text,
        got,
        float(exact),
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(0, MAX_DURATION_MS) | st.floats(0, MAX_DURATION_MS))
def test_numbers_are_milliseconds(value: float) -> None:
    FIGURES["durations_valid"] += 1
    assert parse_duration(value) == int(value)


anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary(max_size=8)
    | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))
    | st.text(alphabet="0123456789.-+eE _smhdwySMHDWYinutecondayearl\n١", max_size=12),
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=3), children)
    ),
    max_leaves=4,
)


@settings(max_examples=1000, deadline=None)
@given(anything)
@example(float("inf"))
@example(float("nan"))
@example(-1)
@example("1" + "0" * 400 + " seconds")
@example("1e3 seconds")
@example("١٠ seconds")
@example(True)
def test_anything_else_is_a_validation_error_only(value: Any) -> None:
    FIGURES["durations_arbitrary"] += 1
    try:
        got = parse_duration(value, what="timeout")
    except ValidationError as exc:
        assert "timeout" in str(exc)
        FIGURES["durations_refused"] += 1
        return
    assert isinstance(got, int) and 0 <= got <= MAX_DURATION_MS
    assert not isinstance(value, bool | timedelta | list | dict | bytes | type(None))


# --- the management APIs ----------------------------------------------------------------------

ENTRY = """
from workers import WorkflowEntrypoint


class MyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("echo")
        async def echo():
            return event.payload

        got = await echo()
        if isinstance(got, dict) and got.get("wait"):
            await step.wait_for_event("w", "go", timeout="1 hour")
        return got
"""


class App:
    """The ASGI app of a `durable dev` worker with a running engine, called by hand."""

    def __init__(self, root: Path) -> None:
        self.runner = asyncio.Runner()
        config = load_config(write_project(root, textwrap.dedent(ENTRY)))
        self.runtime = self.runner.run(
            open_runtime(
                config,
                persist_dir=root / ".durable",
                limits=Limits(park_after_ms=50, min_event_timeout_ms=10),
            )
        )
        self.app = DevApp(Service(config, self.runtime.store, self.runtime.engine), None, None)
        self.statuses: Counter[int] = Counter()
        self.runner.run(self.runtime.env.MY_WORKFLOW.create({"id": "known", "params": {"wait": 1}}))

    def close(self) -> None:
        self.runner.run(self.runtime.close())
        self.runner.close()

    def call(
        self,
        method: str,
        raw_path: bytes,
        query: bytes = b"",
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        return self.runner.run(self._call(method, raw_path, query, body, headers or []))

    async def _call(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8787"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8787),
        }
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if chunks:
                chunk = chunks.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        async with asyncio.timeout(30):
            await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        self.statuses[start["status"]] += 1
        return start["status"], dict(start.get("headers", [])), data


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    app = App(tmp_path_factory.mktemp("api-properties"))
    yield app
    app.close()


def assert_envelope(status: int, headers: dict[bytes, bytes], data: bytes, what: str) -> None:
    assert status < 500, (what, status, data[:500])
    assert headers.get(b"content-type", b"").startswith(b"application/json"), (what, headers)
    envelope = json.loads(data)
    assert isinstance(envelope, dict), (what, data[:300])
    assert {"success", "errors", "messages", "result"} <= set(envelope), (what, envelope)
    assert envelope["success"] is (status < 400), (what, status, envelope)
    if status >= 400:
        assert envelope["result"] is None
        assert envelope["errors"] and all(
            isinstance(e.get("code"), int) and isinstance(e.get("message"), str) and e["message"]
            for e in envelope["errors"]
        ), envelope


SEGMENTS = [
    "workflows", "my-workflow", "nope", "instances", "known", "latest", "batch", "delete",
    "status", "events", "go", "step", "versions", "terminate", "..", ".", "%2F", "a%2Fb",
    "%2e%2e", "%00", "%ff", "x" * 101, "é", "%",
]  # fmt: skip
segment = st.sampled_from(SEGMENTS) | st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), max_size=12
).map(lambda s: quote(s, safe="%.~-_"))
PREFIXES = [
    "/client/v4/accounts/local",
    "/client/v4/accounts/local/workflows/my-workflow",
    "/client/v4/accounts/local/workflows/my-workflow/instances",
    "/client/v4/accounts/local/workflows/my-workflow/instances/known",
    "/cdn-cgi/local/explorer/api/workflows/my-workflow",
    "/cdn-cgi/explorer/api/workflows/my-workflow/instances",
    "/client/v4",
    "/cdn-cgi/local/explorer/api",
]
# Every route of both shapes, its captures filled with known names or fuzzed segments: most
# requests reach a handler and its validation rather than the 404 of an unknown path.
REST = "/client/v4/accounts/{a}/workflows"
EXPLORER = "/cdn-cgi/local/explorer/api/workflows"
ROUTES = [
    ("GET", REST),
    ("GET", REST + "/{w}"),
    ("DELETE", REST + "/{w}"),
    ("GET", REST + "/{w}/versions"),
    ("GET", REST + "/{w}/versions/{v}"),
    ("GET", REST + "/{w}/instances"),
    ("POST", REST + "/{w}/instances"),
    ("POST", REST + "/{w}/instances/batch"),
    ("POST", REST + "/{w}/instances/batch/delete"),
    ("PUT", REST + "/{w}/instances/terminate"),
    ("GET", REST + "/{w}/instances/{i}"),
    ("PATCH", REST + "/{w}/instances/{i}/status"),
    ("GET", REST + "/{w}/instances/{i}/step"),
    ("GET", REST + "/{w}/instances/{i}/events"),
    ("POST", REST + "/{w}/instances/{i}/events/{t}"),
    ("GET", EXPLORER),
    ("GET", EXPLORER + "/{w}"),
    ("GET", EXPLORER + "/{w}/instances"),
    ("POST", EXPLORER + "/{w}/instances"),
    ("POST", EXPLORER + "/{w}/instances/batch/delete"),
    ("GET", "/cdn-cgi/explorer/api/workflows/{w}/instances/{i}"),
    ("DELETE", EXPLORER + "/{w}/instances/{i}"),
    ("PATCH", EXPLORER + "/{w}/instances/{i}/status"),
    ("POST", EXPLORER + "/{w}/instances/{i}/events/{t}"),
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "get", "BREW"]
name_segment = st.sampled_from(["my-workflow"] * 4 + ["known", "latest", "go"]) | segment
# Every route of both shapes with its own method (or, now and then, another), its captures
# filled with known names or fuzzed segments: most requests reach a handler's validation.
routed = st.builds(
    lambda route, other, a, w, v, i, t: (
        other or route[0],
        route[1].format(a=a, w=w, v=v, i=i, t=t).encode(),
    ),
    st.sampled_from(ROUTES),
    st.sampled_from([None] * 20 + METHODS),
    st.sampled_from(["local", "acc-1"]) | segment,
    st.one_of(*[st.just("my-workflow")] * 3, name_segment),
    segment,
    st.sampled_from(["known"] * 3 + ["latest"]) | name_segment,
    st.sampled_from(["go"] * 3) | name_segment,
)
# And anything at all under the two prefixes.
unrouted = st.tuples(
    st.sampled_from(METHODS),
    st.builds(
        lambda prefix, rest, slash: (prefix + "".join("/" + s for s in rest) + slash).encode(),
        st.sampled_from(PREFIXES),
        st.lists(segment, max_size=4),
        st.sampled_from(["", "/"]),
    ),
)
QUERY_KEYS = [
    "page", "per_page", "status", "cursor", "direction", "date_start", "date_end", "order",
    "simple", "name", "type", "search",
]  # fmt: skip
query_values = (
    st.integers(-(10**30), 10**30).map(str)
    | st.floats(allow_nan=True, allow_infinity=True).map(str)
    | st.sampled_from(
        ["", "complete", "bogus", "asc", "desc", "true", "maybe", "1e20", "2026-01-01", "x"]
    )
    | st.text(max_size=10)
)
queries = st.dictionaries(
    st.sampled_from(QUERY_KEYS) | st.text(max_size=5), query_values, max_size=4
).map(lambda d: urlencode(d).encode()) | st.binary(max_size=30)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
known_fields = st.fixed_dictionaries(
    {},
    optional={
        "instance_id": st.sampled_from(["known", "x" * 101, "../x", "a/b", "ok-1"]) | json_values,
        "id": st.sampled_from(["known", "../x", "new-1"]) | json_values,
        "params": json_values,
        "status": st.sampled_from(["pause", "resume", "terminate", "restart", "bogus"])
        | json_values,
        "action": st.sampled_from(["pause", "resume", "terminate", "restart"]) | json_values,
        "from": json_values | st.fixed_dictionaries({"name": st.sampled_from(["echo", "w"])}),
        "instances": st.lists(st.sampled_from(["known", "nope"]) | json_values, max_size=3)
        | json_values,
    },
)
bodies = (
    st.just(b"")
    | json_values.map(lambda v: json.dumps(v).encode())
    | known_fields.map(lambda v: json.dumps(v).encode())
    | st.lists(known_fields, max_size=3).map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=40)
    | st.sampled_from([b"{", b"[1,", b'{"a":}', b"\xff\xfe", b"nul", b"1e999", b"[" * 5000])
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(routed | unrouted, queries, bodies)
@example(("GET", b"/client/v4/accounts/local/workflows/my-workflow/instances"), b"page=1e20", b"")
@example(
    ("POST", b"/client/v4/accounts/local/workflows/my-workflow/instances"),
    b"",
    b'{"params": ' + b"[" * 600 + b"]" * 600 + b"}",
)
@example(("POST", b"/client/v4/accounts/local/workflows/my-workflow/instances/.."), b"", b"{}")
@example(("GET", b"/client/v4/accounts/local/workflows/%2e%2e/instances/a%2Fb"), b"", b"")
def test_api_answers_every_request_with_an_envelope(
    api: App, request: tuple[str, bytes], query: bytes, body: bytes
) -> None:
    method, path = request
    FIGURES["api_requests"] += 1
    status, headers, data = api.call(method, path, query, body)
    assert_envelope(status, headers, data, f"{method} {path!r}?{query!r} {body[:80]!r}")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["instances", "instances/known/events/go"]), st.integers(0, 3))
def test_oversized_bodies_are_413_envelopes(api: App, route: str, extra: int) -> None:
    FIGURES["api_requests"] += 1
    body = b'"' + b"x" * (1024 * 1024 + extra) + b'"'
    path = f"/client/v4/accounts/local/workflows/my-workflow/{route}".encode()
    for headers in ([(b"content-length", str(len(body)).encode())], []):  # declared, or chunked
        status, response_headers, data = api.call("POST", path, b"", body, headers)
        assert status == 413
        assert_envelope(status, response_headers, data, route)


def test_deeply_nested_params_are_stored_or_refused_never_a_500(api: App) -> None:
    base = b"/client/v4/accounts/local/workflows/my-workflow/instances"
    for depth in range(50, 1501, 50):
        FIGURES["api_requests"] += 1
        nested = b"[" * depth + b"]" * depth
        body = b'{"instance_id": "deep-%d", "params": %s}' % (depth, nested)
        status, headers, data = api.call("POST", base, b"", body)
        assert_envelope(status, headers, data, f"depth {depth}")
        if status == 200:  # stored: it reads back and runs like any other instance
            for _ in range(200):
                status, headers, data = api.call("GET", base + f"/deep-{depth}".encode())
                assert_envelope(status, headers, data, f"GET depth {depth}")
                if json.loads(data)["result"]["status"] in ("complete", "errored"):
                    break
            assert json.loads(data)["result"]["status"] == "complete", data[:300]
        else:
            assert status == 400 and b"nested too deeply" in data, data


def test_zz_write_property_figures(api: App) -> None:
    """Runs last in this module (pytest keeps file order): the figures of this run."""
    FIGURES.update({f"api_status_{k}": v for k, v in sorted(api.statuses.items())})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reliability-properties.json").write_text(
        json.dumps(dict(sorted(FIGURES.items())), indent=2) + "\n"
    )
