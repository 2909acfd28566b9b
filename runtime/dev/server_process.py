"""A `durable dev` worker process: loads the user's code, runs the engine and serves HTTP.

The supervisor (supervisor.py) owns the listening socket and starts workers with
`python -m durable.runtime.dev.server_process --ctrl-fd N`. The two talk over a Unix socket pair: first one
byte that carries the listening socket (SCM_RIGHTS), then one JSON object per line:

    worker → supervisor                    supervisor → worker
    {"event": "idle"}   imports done       {"cmd": "load", "options": {...}}
    {"event": "loaded", "warnings"}        {"cmd": "start"}  open the store and serve
    {"event": "load_failed", "error"}      {"cmd": "start_degraded"}  serve with no user code
    {"event": "serving", ...}              {"cmd": "stop"}   stop gracefully, then exit
    {"event": "start_failed", "error"}     {"cmd": "exit"}   exit without serving
    {"event": "stopped"}  store closed

Loading is split from starting so that a reload can import the new code while the old worker
still serves, and only then hand the store over: the old worker stops its engine (running steps
get a grace period), releases the engine lock and says "stopped"; only then is the new one told
to start. Connections that arrive in between wait in the kernel's accept backlog.

A worker that loses its supervisor (EOF on the control socket, e.g. the supervisor was
SIGKILLed) stops gracefully by itself, so no orphan keeps the store. SIGTERM does the same.
SIGINT is ignored: Ctrl-C reaches the whole process group, and the supervisor decides.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import socket
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from durable.runtime.api.service import Service
from durable.runtime.config import ProjectConfig, load_config
from durable.runtime.engine.state import Limits
from durable.runtime.engine.store import Store
from durable.runtime.errors import DurableError
from durable.runtime.worker.loader import LoadedCode, load_code
from durable.runtime.worker.timezone import enter_utc

from .discovery import FileLock, acquire_engine_lock
from .project import Runtime, open_runtime
from .server import DevApp, ServerSettings

FRESH_CONNECTION_SECONDS = 0.1  # a connection accepted this recently gets to send its request
STOP_GRACE_SECONDS = 1.0  # running steps get this long to finish before a reload cancels them
HTTP_DRAIN_SECONDS = 3  # in-flight requests get this long when the worker stops


@dataclass(frozen=True)
class WorkerOptions:
    """What the supervisor sends with "load" (plain JSON types only)."""

    config_path: str
    env_name: str | None
    cwd: str
    persist_dir: str
    ip: str
    api_token: str | None = None
    max_concurrency: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkerOptions:
        return cls(**data)


def _tracked_protocol() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, noting when each connection was accepted and if it sent bytes.

    A reload must not drop a connection the old worker accepted a moment before it stopped but
    whose request had not arrived yet: uvicorn would close it as idle, and the client would see
    "disconnected without a response". `_Server.shutdown` waits for such connections instead.
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]

    class TrackedProtocol(base):
        made_at = 0.0
        seen_bytes = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self.made_at = asyncio.get_running_loop().time()
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            self.seen_bytes = True
            super().data_received(data)

    return TrackedProtocol


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handling and without its 100 ms exit latency."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the worker owns SIGTERM/SIGINT, not uvicorn

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):  # the tick keeps the Date header fresh
                    await self.exit_requested.wait()
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Like uvicorn's, minus a fixed 100 ms sleep (a reload waits for this), plus a short wait
        # for just-accepted connections to send their request (see _tracked_protocol).
        loop = asyncio.get_running_loop()
        for server in self.servers:
            server.close()
        began = loop.time()

        def fresh() -> bool:
            return any(
                not getattr(c, "seen_bytes", True)
                and getattr(c, "made_at", 0.0) > began - FRESH_CONNECTION_SECONDS
                for c in self.server_state.connections
            )

        while fresh() and loop.time() < began + FRESH_CONNECTION_SECONDS:
            await asyncio.sleep(0.002)
        await asyncio.sleep(0)  # let a request whose bytes just arrived start its cycle
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = loop.time() + HTTP_DRAIN_SECONDS
        while (self.server_state.connections or self.server_state.tasks) and (
            loop.time() < deadline
        ):
            await asyncio.sleep(0.005)
        for task in self.server_state.tasks:
            task.cancel()

    def request_exit(self) -> None:
        self.should_exit = True
        self.exit_requested.set()


class Worker:
    def __init__(self, ctrl_sock: socket.socket, listen_fd: int) -> None:
        self.ctrl_sock = ctrl_sock
        self.listen_fd = listen_fd
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.stop_requested = asyncio.Event()

    async def send(self, event: str, **fields: Any) -> None:
        if self.writer is None or self.writer.is_closing():
            return
        with contextlib.suppress(OSError):
            self.writer.write((json.dumps({"event": event, **fields}) + "\n").encode())
            await self.writer.drain()

    async def receive(self) -> dict[str, Any]:
        """The next command; a closed control socket means "stop"."""
        assert self.reader is not None
        try:
            line = await self.reader.readline()
        except OSError:
            line = b""
        if not line:
            return {"cmd": "stop", "eof": True}
        message: dict[str, Any] = json.loads(line)
        return message

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop_requested.set)
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.ctrl_sock)
        await self.send("idle")
        command = await self.receive()
        if command.get("cmd") != "load":
            return 0
        options = WorkerOptions.from_json(command["options"])
        config: ProjectConfig | None = None
        code: LoadedCode | None = None
        load_error: str | None = None
        try:
            config = load_config(
                Path(options.config_path), cwd=Path(options.cwd), env=options.env_name
            )
            code = load_code(config)
        except DurableError as exc:
            load_error = str(exc)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - e.g. sys.exit() at import time
            load_error = f"Loading the Worker failed: {type(exc).__name__}: {exc}"
            code = None
        if load_error is None:
            await self.send("loaded", warnings=list(code.warnings) if code is not None else [])
        else:
            await self.send("load_failed", error=load_error)
        command = await self.receive()
        wanted = command.get("cmd")
        if wanted == "start" and code is not None and config is not None:
            return await self.serve(options, config, code, None)
        if wanted == "start_degraded" and config is not None:
            return await self.serve(options, config, None, load_error)
        return 0

    async def serve(
        self,
        options: WorkerOptions,
        config: ProjectConfig,
        code: LoadedCode | None,
        load_error: str | None,
    ) -> int:
        persist_dir = Path(options.persist_dir)
        lock = await asyncio.to_thread(acquire_engine_lock, persist_dir, 30.0)
        if lock is None:
            await self.send(
                "start_failed", error=f"Another engine kept {persist_dir} locked for 30 seconds."
            )
            return 1
        runtime: Runtime | None = None
        store: Store | None = None
        try:
            limits = Limits(max_concurrency=options.max_concurrency or 1000)
            problems: list[str] = []

            async def apply_recorded(opened: Store) -> None:
                # Writes recorded while another engine held the store, applied under the lock
                # before the engine resumes anything (an offline pause stops the instance
                # before it runs another step), with the rules an offline write follows.
                offline = Service(config, opened, None)
                offline.exclusive = True
                problems.extend(await offline.apply_intents())

            # Degraded (the code did not load): an engine with no workflow classes. It runs
            # nothing, but every write takes effect in the store at once, so an acknowledged
            # trigger is an instance (queued) that list, describe and the dashboard show, and
            # the first start with loadable code runs it (README, "When the code does not load").
            runtime = await open_runtime(
                config,
                persist_dir=persist_dir,
                limits=limits,
                code=code,
                load_user_code=code is not None,
                before_start=apply_recorded,
            )
            store = runtime.store
            # Counted before anything else awaits, while resumed instances are still
            # unfinished; the engine resumed them in open_runtime.
            resumed = len(await store.unfinished_instances()) if code is not None else 0
            service = Service(config, runtime.store, runtime.engine)
            service.load_error = load_error
        except BaseException as exc:  # noqa: BLE001 - reported to the supervisor, which decides
            await _close(runtime, store, lock)
            await self.send("start_failed", error=str(exc) or type(exc).__name__)
            return 1
        app = DevApp(
            service=service,
            env=runtime.env if code is not None else None,
            code=code,
            settings=ServerSettings(ip=options.ip, api_token=options.api_token),
            load_error=load_error,
        )
        server = _Server(
            uvicorn.Config(
                app,
                http=_tracked_protocol(),
                lifespan="off",
                log_config=None,
                log_level="warning",
                access_log=False,
                server_header=False,
                timeout_graceful_shutdown=HTTP_DRAIN_SECONDS,
            )
        )
        listener = socket.socket(fileno=self.listen_fd)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.002)
        if serving.done():
            await _close(runtime, store, lock)
            await self.send("start_failed", error=f"The HTTP server failed: {serving.exception()}")
            return 1
        # Everything loaded so far (the server, the user's code, resumed instances) lives as
        # long as this worker: keep it out of the collector's full passes, which otherwise
        # stall the event loop for 15 ms or more while a thousand timers come due at once.
        gc.freeze()
        await self.send("serving", resumed=resumed, problems=problems)
        await self._wait_for_stop()
        server.request_exit()
        await serving
        await _close(runtime, store, lock)
        await self.send("stopped")
        return 0

    async def _wait_for_stop(self) -> None:
        commands = asyncio.create_task(self._commands_until_stop())
        signalled = asyncio.create_task(self.stop_requested.wait())
        await asyncio.wait({commands, signalled}, return_when=asyncio.FIRST_COMPLETED)
        for task in (commands, signalled):
            task.cancel()

    async def _commands_until_stop(self) -> None:
        while (await self.receive()).get("cmd") != "stop":
            pass


async def _close(runtime: Runtime | None, store: Store | None, lock: FileLock) -> None:
    try:
        if runtime is not None:
            await runtime.close(grace=STOP_GRACE_SECONDS)
        elif store is not None:
            await store.close()
    finally:
        lock.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="durable-worker")
    parser.add_argument("--ctrl-fd", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    enter_utc()  # user code's local time zone is UTC, as in workerd, for this process's life
    ctrl = socket.socket(fileno=args.ctrl_fd)
    # The listening socket comes first, as one byte carrying it (SCM_RIGHTS): the supervisor
    # starts workers before it has bound the port. Nothing means the supervisor gave up.
    try:
        _, fds, _, _ = socket.recv_fds(ctrl, 1, 1)
    except OSError:
        fds = []
    if not fds:
        os._exit(0)
    code = asyncio.run(Worker(ctrl, fds[0]).run())
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (user modules, threads): the store is closed and flushed, and
    # a reload is waiting for this process to be gone.
    os._exit(code)


if __name__ == "__main__":
    main()
