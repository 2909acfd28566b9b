"""How a running `durable dev` is found, and how two of them are kept off one store.

Three small files live in the persist dir:

- `dev.json`, the *discovery file*: pid, address, port and URL of the `durable dev` that serves
  this store. It exists while that server runs and is removed when it exits. A file whose pid is
  dead (the server was SIGKILLed) is stale and `find_server` ignores it.
- `dev.lock`, held with `flock` by the `durable dev` supervisor for its whole life: a second
  `durable dev` on the same persist dir cannot take it and refuses to start. The kernel drops the
  lock when the holder dies, however it dies, so a crash never leaves the dir locked.
- `engine.lock`, held by whichever process runs an engine on the store. During a hot reload the
  old worker holds it until it has stopped, and the new worker waits for it, so two engines never
  write the same store at once. Anything else that wants to run an engine (an embedded engine in
  the CLI) should take it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from durable.runtime.errors import DevServerRunningError as DevServerRunningError
from durable.runtime.errors import StoreError

DISCOVERY_FILENAME = "dev.json"
LOCK_FILENAME = "dev.lock"
ENGINE_LOCK_FILENAME = "engine.lock"

__all__ = [
    "DISCOVERY_FILENAME",
    "DevServerRunningError",
    "FileLock",
    "ServerInfo",
    "acquire_dev_lock",
    "acquire_engine_lock",
    "find_server",
    "pid_alive",
    "prepare_persist_dir",
    "remove_discovery",
    "write_discovery",
]


@dataclass(frozen=True)
class ServerInfo:
    """What the discovery file says about a running `durable dev`."""

    pid: int
    ip: str
    port: int
    url: str
    started: str
    # The --api-token, so the CLI of the same user can talk to a token-protected server. The
    # file is created 0600: the token keeps out browsers and other users, not the owner.
    api_token: str | None = None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read_info(path: Path) -> ServerInfo | None:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(
            pid=int(data["pid"]),
            ip=str(data["ip"]),
            port=int(data["port"]),
            url=str(data["url"]),
            started=str(data.get("started", "")),
            api_token=data.get("api_token") if isinstance(data.get("api_token"), str) else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, half-written by a crash, or not ours: as good as absent


def find_server(persist_dir: Path) -> ServerInfo | None:
    """The `durable dev` serving `persist_dir`, or None if none runs (stale files are ignored)."""
    info = _read_info(Path(persist_dir) / DISCOVERY_FILENAME)
    if info is None or not pid_alive(info.pid):
        return None
    return info


def write_discovery(persist_dir: Path, info: ServerInfo) -> Path:
    """Write the discovery file atomically (readers never see half a file), mode 0600."""
    persist_dir.mkdir(parents=True, exist_ok=True)
    path = persist_dir / DISCOVERY_FILENAME
    tmp = path.with_name(f".{DISCOVERY_FILENAME}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(info), handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def remove_discovery(persist_dir: Path, pid: int | None = None) -> None:
    """Remove the discovery file, but only if it is ours (`pid`) when a pid is given."""
    path = Path(persist_dir) / DISCOVERY_FILENAME
    if pid is not None:
        info = _read_info(path)
        if info is not None and info.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class FileLock:
    """An exclusive `flock` on a file; released by `release()` or when the process dies."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    @property
    def fileno(self) -> int:
        assert self._handle is not None
        return self._handle.fileno()

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def prepare_persist_dir(persist_dir: Path) -> None:
    """Create the persist dir if need be, or raise a StoreError saying why it cannot be used."""
    try:
        Path(persist_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot use {persist_dir} as the persist directory ({exc.strerror or exc}). Pass "
            "--persist-to with a writable directory."
        ) from None


def _try_lock(path: Path) -> FileLock | None:
    prepare_persist_dir(path.parent)
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - owned by the FileLock
    except OSError as exc:
        raise StoreError(
            f"Cannot write {path} ({exc.strerror or exc}). Make the directory writable or pass "
            "--persist-to with a writable directory."
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise
    os.set_inheritable(handle.fileno(), False)
    return FileLock(path, handle)


def acquire_dev_lock(persist_dir: Path) -> FileLock:
    """Take the single-instance lock of `durable dev`, or raise DevServerRunningError."""
    path = Path(persist_dir) / LOCK_FILENAME
    lock = _try_lock(path)
    if lock is None:
        try:
            holder = path.read_text(encoding="utf-8").strip()
        except OSError:
            holder = ""
        info = find_server(Path(persist_dir))
        where = f" on {info.url}" if info is not None else ""
        pid = info.pid if info is not None else (holder or "unknown")
        raise DevServerRunningError(
            f"durable dev is already running for {persist_dir} (pid {pid}){where}. "
            "Stop it first, or pass --persist-to to use another store."
        )
    assert lock._handle is not None
    lock._handle.seek(0)
    lock._handle.truncate()
    lock._handle.write(f"{os.getpid()}\n")
    lock._handle.flush()
    return lock


def acquire_engine_lock(
    persist_dir: Path, timeout: float | None = None, poll: float = 0.01
) -> FileLock | None:
    """Wait (up to `timeout` seconds; forever if None) to become the only engine on the store.

    Returns None on timeout. Polls instead of blocking in `flock` so the caller can give up.
    """
    path = Path(persist_dir) / ENGINE_LOCK_FILENAME
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        lock = _try_lock(path)
        if lock is not None:
            return lock
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(poll)
