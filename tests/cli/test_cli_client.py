"""runtime/client.py on its own: choosing the target, `--wait`'s stopping rule, the back-off
fallback for "Retries At", and how HTTP requests are built."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from durable.cli import common
from durable.runtime.client.base import next_retry, pending_wait, wait_is_over
from durable.runtime.client.connect import connect
from durable.runtime.client.http import HttpClient
from durable.runtime.client.in_process import ServiceClient
from durable.runtime.config import load_config, persist_dir_for
from durable.runtime.dev.discovery import ServerInfo, write_discovery
from durable.runtime.errors import ConfigError

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failed_step(n_attempts: int, retries: dict, *, next_retry_at: str | None = None) -> dict:
    attempts = []
    for i in range(n_attempts):
        end = NOW + timedelta(seconds=i)
        attempts.append(
            {
                "start": iso(end),
                "end": iso(end),
                "success": False,
                "error": {"name": "E", "message": "x"},
            }
        )
    if next_retry_at:
        attempts[-1]["next_retry"] = next_retry_at
    return {
        "type": "step",
        "name": "s-1",
        "success": None,
        "config": {"retries": retries},
        "attempts": attempts,
    }


# --- target selection ---------------------------------------------------------------------------


def test_connect_chooses_the_target(cli_project, monkeypatch):
    config = load_config(None)
    persist = cli_project / ".durable"
    offline = connect(config, persist_dir=persist)
    assert isinstance(offline, ServiceClient) and offline.offline and offline.kind == "offline"
    embedded = connect(config, persist_dir=persist, embedded=True)
    assert embedded.kind == "embedded" and not embedded.offline

    by_port = connect(config, persist_dir=persist, port=9999)
    assert isinstance(by_port, HttpClient) and by_port.base_url == "http://127.0.0.1:9999/client/v4"

    # A live discovery file wins over --port (our own pid is certainly alive).
    write_discovery(
        persist, ServerInfo(os.getpid(), "0.0.0.0", 8123, "http://0.0.0.0:8123", "", "tok")
    )
    found = connect(config, persist_dir=persist, port=9999)
    assert isinstance(found, HttpClient)
    assert (
        found.base_url == "http://127.0.0.1:8123/client/v4"
    )  # a wildcard bind is reached on loopback
    assert found.account_id == "local" and found.token == "tok"

    # A stale file (dead pid) is ignored.
    write_discovery(
        persist, ServerInfo(2**22 + 12345, "127.0.0.1", 8123, "http://127.0.0.1:8123", "")
    )
    assert isinstance(connect(config, persist_dir=persist), ServiceClient)

    remote = connect(
        None, remote=True, environ={"CLOUDFLARE_API_TOKEN": "t", "CLOUDFLARE_ACCOUNT_ID": "a"}
    )
    assert isinstance(remote, HttpClient) and remote.kind == "remote"
    assert remote.base_url == "https://api.cloudflare.com/client/v4"


def test_cloudflare_credentials_and_base_url():
    client = HttpClient.cloudflare(
        {
            "CLOUDFLARE_API_TOKEN": "t",
            "CLOUDFLARE_ACCOUNT_ID": "a",
            "CLOUDFLARE_API_BASE_URL": "http://x:1/v4/",
        }
    )
    assert client.base_url == "http://x:1/v4"
    with pytest.raises(ConfigError, match="CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID"):
        HttpClient.cloudflare({})
    with pytest.raises(ConfigError, match="Invalid API base URL"):
        HttpClient.cloudflare(
            {
                "CLOUDFLARE_API_TOKEN": "t",
                "CLOUDFLARE_ACCOUNT_ID": "a",
                "CLOUDFLARE_API_BASE_URL": "ftp:/x",
            }
        )


def test_paths_are_percent_encoded():
    client = HttpClient("http://127.0.0.1:1/client/v4", "acc")
    assert (
        client._path("wf", "instances", "a/b c") == "/accounts/acc/workflows/wf/instances/a%2Fb%20c"
    )


def test_cli_default_persist_dir_matches_the_runtime(cli_project):
    config = load_config(None)
    assert common.persist_dir(config, common.GlobalOptions()) == persist_dir_for(config)


# --- --wait's stopping rule -----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["complete", "errored", "terminated", "paused"])
def test_wait_stops_on_end_states(status):
    assert wait_is_over({"status": status}, NOW)


@pytest.mark.parametrize("status", ["queued", "running", "waitingForPause"])
def test_wait_goes_on_while_it_runs(status):
    assert not wait_is_over({"status": status}, NOW)


def test_wait_stops_for_an_event_and_a_long_sleep_only():
    event = {
        "status": "waiting",
        "steps": [
            {
                "type": "waitForEvent",
                "name": "e-1",
                "finished": False,
                "event_type": "go",
                "timeout": iso(NOW),
            }
        ],
    }
    assert wait_is_over(event, NOW)
    assert pending_wait(event).event_type == "go"

    def sleeping(minutes: int) -> dict:
        return {
            "status": "waiting",
            "steps": [
                {
                    "type": "sleep",
                    "name": "n-1",
                    "finished": False,
                    "end": iso(NOW + timedelta(minutes=minutes)),
                }
            ],
        }

    assert not wait_is_over(sleeping(4), NOW)
    assert wait_is_over(sleeping(6), NOW)
    # Waiting, but what for is not recorded yet: look again.
    assert not wait_is_over({"status": "waiting", "steps": []}, NOW)


# --- Retries At ------------------------------------------------------------------------------------


def test_next_retry_prefers_the_api_value():
    step = failed_step(1, {"limit": 5, "delay": 1000}, next_retry_at="2030-01-01T00:00:00.000Z")
    assert next_retry(step) == "2030-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("backoff", "attempts", "seconds"),
    [
        ("constant", 3, 10),
        ("linear", 3, 30),
        ("exponential", 3, 40),  # 10 · 2^(3−1)
        ("exponential", 1, 10),
    ],
)
def test_next_retry_applies_the_backoff(backoff, attempts, seconds):
    step = failed_step(attempts, {"limit": 5, "delay": "10 seconds", "backoff": backoff})
    last_end = NOW + timedelta(seconds=attempts - 1)
    assert next_retry(step) == iso(last_end + timedelta(seconds=seconds))


def test_no_retry_after_the_last_attempt_or_a_success():
    assert next_retry(failed_step(3, {"limit": 2, "delay": 10})) is None
    ok = failed_step(1, {"limit": 2, "delay": 10})
    ok["attempts"][-1]["success"] = True
    assert next_retry(ok) is None
