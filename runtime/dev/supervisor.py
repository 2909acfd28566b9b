"""`durable dev`: the supervisor that owns the socket, watches files and swaps worker processes.

Hot reload is a process restart with the listening socket kept. The supervisor binds the port
once and hands the socket to a worker process (worker.py), which loads the user's code, runs the
engine and serves. On a change to the entry module's folder, the config or `.dev.vars`:

1. a fresh worker imports the new code while the old one keeps serving. One spare worker is
   kept warm (Python and the server already imported), so this takes tens of milliseconds;
2. if the config or the code is broken, the error is printed and the old worker keeps serving;
3. otherwise the old worker stops gracefully (running steps get a second to finish) and gives up
   the store, then the new one opens it, resumes every unfinished instance by replay and serves.
   Only one engine ever owns the store. Connections arriving meanwhile wait in the kernel's
   accept backlog: none is refused.

If the worker dies (SIGKILL, OOM), the supervisor starts another, which resumes everything. If the
supervisor dies, its worker notices the closed control socket and stops gracefully. Ctrl-C or
SIGTERM stop gracefully; a second Ctrl-C exits at once (durable state makes that safe too).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from durable.runtime import __version__
from durable.runtime.api import DASHBOARD_PATH
from durable.runtime.config import ProjectConfig, load_config, persist_dir_for
from durable.runtime.errors import DurableError
from durable.runtime.errors import ListenError as ListenError

from .discovery import (
    DISCOVERY_FILENAME,
    FileLock,
    ServerInfo,
    acquire_dev_lock,
    find_server,
    prepare_persist_dir,
    remove_discovery,
    write_discovery,
)
from .hotkeys import HINT, hotkeys
from .server_handle import STOP_TIMEOUT, WorkerProcess, event_reason, exit_reason
from .watch import WATCH_STEP_MS, WatchPlan, watch_plan

__all__ = [
    "DevOptions",
    "ListenError",
    "bindings_table",
    "open_listener",
    "run_dev",
    "watch_plan",
]

LOAD_TIMEOUT = 60.0  # importing user code: generous, a module may do real work at import
START_TIMEOUT = 45.0  # includes waiting up to 30 s for the engine lock


@dataclass(frozen=True)
class DevOptions:
    config: Path | None = None
    env: str | None = None
    ip: str = "127.0.0.1"
    port: int = 8787
    persist_to: Path | None = None
    reload: bool = True
    max_concurrency: int | None = None
    api_token: str | None = None
    cwd: Path | None = None


def _out(line: str = "") -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, flush=True)


def _err(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


# -- what the banner shows ----------------------------------------------------------------------


def bindings_table(config: ProjectConfig) -> list[str]:
    """wrangler's bindings table: `env.MY_WORKFLOW (MyWorkflow)      Workflow      local`."""
    rows: list[tuple[str, str, str]] = []
    for wf in config.workflows:
        value = wf.class_name
        if wf.script_name is not None and wf.script_name != config.name:
            value += f" (defined in {wf.script_name})"
        rows.append((f"env.{wf.binding} ({value})", "Workflow", "local"))
    for ns in config.kv_namespaces:
        rows.append((f"env.{ns.binding} ({ns.local_id})", "KV Namespace", "local"))
    for db in config.d1_databases:
        shown = f"env.{db.binding}" + (f" ({db.shown})" if db.shown else "")
        rows.append((shown, "D1 Database", "local"))
    for bucket in config.r2_buckets:
        name = bucket.preview_bucket_name or bucket.bucket_name  # as `wrangler dev` shows it
        shown = f" ({name}{f' ({bucket.jurisdiction})' if bucket.jurisdiction else ''})"
        rows.append((f"env.{bucket.binding}{shown if name else ''}", "R2 Bucket", "local"))
    for name, var in config.vars.items():
        shown = '"(hidden)"' if name in config.secret_names else json.dumps(var)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        rows.append((f"env.{name} ({shown})", "Environment Variable", "local"))
    if not rows:
        return []
    header = ("Binding", "Resource", "Mode")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(2)]

    def line(row: tuple[str, str, str]) -> str:
        return f"{row[0].ljust(widths[0])}      {row[1].ljust(widths[1])}      {row[2]}"

    return [
        "Your Worker has access to the following bindings:",
        line(header),
        *(line(r) for r in rows),
        "",
    ]


# -- the listening socket -------------------------------------------------------------------------


def open_listener(ip: str, port: int, *, retry_for: float = 0.0) -> socket.socket:
    """Bind and listen once; workers inherit this socket for the life of `durable dev`.

    `retry_for` waits for a port still held by a previous `durable dev` that is shutting down.
    """
    try:
        infos = socket.getaddrinfo(ip, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"Cannot listen on {ip!r}: {exc.strerror}. Check --ip.") from None
    family, kind, proto, _, address = infos[0]
    deadline = time.monotonic() + retry_for
    while True:
        sock = socket.socket(family, kind, proto)
        try:
            # Restarting right after a stop must not fail on connections in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(2048)  # reloads park new connections here: keep room for bursts
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if exc.errno == errno.EADDRINUSE:
                raise ListenError(
                    f"Address already in use ({_host_port(ip, port)}): another server listens "
                    "there. Stop it or pass --port to use another port."
                ) from None
            raise ListenError(f"Cannot listen on {_host_port(ip, port)}: {exc.strerror}.") from None
        return sock


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _load_warnings(event: dict[str, Any]) -> None:
    """What the worker found in the code that the compatibility date changes (an ignored
    on_fetch): said when the code loads, not only when a request finds no handler."""
    for warning in event.get("warnings") or []:
        _err(f"▲ [WARNING] {warning}")


def _changed(paths: set[Path], root: Path) -> str:
    names = []
    for path in sorted(paths):
        try:
            names.append(str(path.relative_to(root)))
        except ValueError:
            names.append(str(path))
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


# -- the supervisor -----------------------------------------------------------------------------


_STOP = object()


class Supervisor:
    def __init__(
        self,
        options: DevOptions,
        config: ProjectConfig,
        persist_dir: Path,
        listener: socket.socket,
        first: WorkerProcess,
    ) -> None:
        self.options = options
        self.first = first
        self.config = config
        self.persist_dir = persist_dir
        self.listener = listener
        self.port = int(listener.getsockname()[1])
        shown = f"[{options.ip}]" if ":" in options.ip else options.ip
        self.url = f"http://{shown}:{self.port}"
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.current: WorkerProcess | None = None
        self.spare: asyncio.Task[WorkerProcess] | None = None
        self.watchers: list[asyncio.Task[None]] = []
        self.plan: WatchPlan | None = None
        self.signals = 0
        self.recent_crashes = 0

    # -- options sent to workers --

    def _load_options(self) -> dict[str, Any]:
        return {
            "config_path": str(self.config.path),
            "env_name": self.options.env,
            "cwd": str(self.options.cwd or Path.cwd()),
            "persist_dir": str(self.persist_dir),
            "ip": self.options.ip,
            "api_token": self.options.api_token,
            "max_concurrency": self.options.max_concurrency,
        }

    # -- lifecycle --

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)
        _out(f" durable {__version__}")
        _out("─" * 20)
        for warning in self.config.warnings:
            _err(f"▲ [WARNING] {warning}")
        for line in bindings_table(self.config):
            _out(line)
        _out("⎔ Starting local server...")
        worker = self.first
        await worker.attach()
        started = await self._bring_up(worker, announce=True)
        if not started:
            return 1
        if self.options.reload:  # watching before "Ready": an edit right after is never missed
            await self._watch(watch_plan(self.config, self.persist_dir))
        write_discovery(
            self.persist_dir,
            ServerInfo(
                pid=os.getpid(),
                ip=self.options.ip,
                port=self.port,
                url=self.url,
                started=datetime.now(UTC).isoformat(timespec="seconds"),
                api_token=self.options.api_token,
            ),
        )  # before "Ready": whoever waits for that line finds the server through the file
        _out(f"[durable:info] Ready on {self.url}")
        _out(f"Dashboard: {self.url}{DASHBOARD_PATH}")
        self._refill_spare()
        keys = hotkeys(
            loop,
            worker_url=self.url,
            dashboard_url=f"{self.url}{DASHBOARD_PATH}",
            stop=lambda: self.queue.put_nowait(_STOP),
        )
        try:
            with keys as active:
                if active:
                    _out(HINT)
                await self._loop()
        finally:
            await self._shutdown()
        return 0

    def _on_signal(self) -> None:
        self.signals += 1
        if self.signals == 1:
            _out("⎔ Shutting down local server... (press Ctrl-C again to exit at once)")
            self.queue.put_nowait(_STOP)
            return
        # Second Ctrl-C: no waiting. Completed steps are already durable; running ones re-run.
        for worker in WorkerProcess.launched:
            if worker.alive:
                worker.kill()
        remove_discovery(self.persist_dir, os.getpid())
        os._exit(130)

    async def _loop(self) -> None:
        while True:
            item = await self.queue.get()
            if item is _STOP:
                return
            kind, payload = item
            if kind == "changed":
                paths: set[Path] = set(payload)
                while not self.queue.empty():  # coalesce a burst of saves into one reload
                    more = self.queue.get_nowait()
                    if more is _STOP:
                        self.queue.put_nowait(_STOP)
                        break
                    if more[0] == "changed":
                        paths |= set(more[1])
                    elif more[0] == "died" and more[1] is self.current:
                        dead = cast(WorkerProcess, more[1])
                        _err(
                            "✘ [ERROR] The worker process exited unexpectedly "
                            f"({exit_reason(dead.proc.returncode)})."
                        )
                        self.current = None
                await self._reload(paths)
            elif kind == "died" and payload is self.current and payload is not None:
                await self._recover(payload)

    async def _shutdown(self) -> None:
        # First, so that a CLI run meanwhile records its writes instead of waiting on us.
        remove_discovery(self.persist_dir, os.getpid())
        for task in self.watchers:
            task.cancel()
        if self.current is not None:
            await self.current.stop()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self.current.wait()
        if self.spare is not None:
            spare = await self.spare
            await spare.discard()

    # -- bringing workers up --

    async def _take_spare(self) -> WorkerProcess:
        task, self.spare = self.spare, None
        worker = await task if task is not None else None
        if worker is None or not worker.alive:
            worker = await WorkerProcess.spawn(self.listener.fileno())
        return worker

    def _refill_spare(self) -> None:
        if self.spare is None:
            self.spare = asyncio.create_task(WorkerProcess.spawn(self.listener.fileno()))

    async def _bring_up(self, worker: WorkerProcess, *, announce: bool) -> bool:
        """Load and start `worker` with no other worker serving (first start, after a crash)."""
        await worker.send("load", options=self._load_options())
        event = await worker.next_event(LOAD_TIMEOUT)
        if event["event"] == "loaded":
            _load_warnings(event)
            await worker.send("start")
        elif event["event"] == "load_failed":
            _err(f"✘ [ERROR] {event['error']}")
            _err(
                "  The Worker answers 500 until the code loads. Triggers and other changes are "
                "accepted meanwhile: instances wait, queued, and run once a fix is saved."
            )
            await worker.send("start_degraded")
        else:
            _err(f"✘ [ERROR] The worker process failed to start ({event_reason(event)}).")
            worker.kill()
            return False
        return await self._await_serving(worker, announce=announce)

    async def _await_serving(self, worker: WorkerProcess, *, announce: bool) -> bool:
        event = await worker.next_event(START_TIMEOUT)
        if event["event"] != "serving":
            reason = event.get("error") or event_reason(event)
            _err(f"✘ [ERROR] The local server could not start: {reason}")
            worker.kill()
            return False
        self.current = worker
        worker.started = time.monotonic()
        asyncio.create_task(self._monitor(worker))
        resumed = int(event.get("resumed") or 0)
        if resumed and announce:  # on every save it would be noise: reloads always resume
            plural = "instance" if resumed == 1 else "instances"
            _out(f"⎔ Resuming {resumed} unfinished {plural}")
        for problem in event.get("problems") or []:
            _err(
                f"▲ [WARNING] A change recorded while no server ran could not be applied: {problem}"
            )
        return True

    async def _monitor(self, worker: WorkerProcess) -> None:
        await worker.wait()
        if not worker.stopping:
            self.queue.put_nowait(("died", worker))

    async def _recover(self, dead: WorkerProcess) -> None:
        uptime = time.monotonic() - dead.started
        self.current = None
        _err(
            f"✘ [ERROR] The worker process exited unexpectedly "
            f"({exit_reason(dead.proc.returncode)})."
        )
        self.recent_crashes = self.recent_crashes + 1 if uptime < 3 else 1
        if self.recent_crashes > 2:
            _err("  It keeps crashing: waiting for a file change before starting it again.")
            return
        _out("⎔ Restarting local server...")
        worker = await self._take_spare()
        if await self._bring_up(worker, announce=True):
            _out("⎔ Local server restarted and ready")
        self._refill_spare()

    async def _reload(self, paths: set[Path]) -> None:
        _out(f"⎔ Reloading local server... ({_changed(paths, self.config.root)})")
        try:
            config = load_config(
                self.options.config or self.config.path,
                cwd=self.options.cwd or Path.cwd(),
                env=self.options.env,
            )
        except DurableError as exc:
            _err(f"✘ [ERROR] {exc}")
            _err("  The last good version keeps serving; save a fix to reload.")
            return
        previous, self.config = self.config, config
        for warning in config.warnings:
            _err(f"▲ [WARNING] {warning}")
        if self.options.reload:
            await self._watch(watch_plan(config, self.persist_dir))
        worker = await self._take_spare()
        if self.current is None:  # nothing serving (crash loop, failed start): just start
            if await self._bring_up(worker, announce=False):
                self.recent_crashes = 0
                _out("⎔ Local server updated and ready")
            self._refill_spare()
            return
        await worker.send("load", options=self._load_options())
        event = await worker.next_event(LOAD_TIMEOUT)
        if event["event"] != "loaded":
            _err(f"✘ [ERROR] {event.get('error') or event_reason(event)}")
            _err("  The last good version keeps serving; save a fix to reload.")
            self.config = previous
            await worker.discard()
            self._refill_spare()
            return
        _load_warnings(event)
        old, self.current = self.current, None
        await old.stop()
        await worker.send("start")
        if await self._await_serving(worker, announce=False):
            self.recent_crashes = 0
            if bindings_table(config) != bindings_table(previous):
                for line in bindings_table(config):
                    _out(line)
            _out("⎔ Local server updated and ready")
        else:
            # The new worker could not open the store: put a server back up, degraded if need be.
            _out("⎔ Restarting local server...")
            await self._bring_up(await self._take_spare(), announce=False)
        self._refill_spare()

    # -- watching --

    async def _watch(self, plan: WatchPlan) -> None:
        if plan == self.plan:
            return
        for task in self.watchers:
            task.cancel()
        self.plan = plan
        self.watchers = []
        if plan.recursive:
            self.watchers.append(asyncio.create_task(self._watch_paths(plan, plan.recursive, True)))
        if plan.flat:
            self.watchers.append(asyncio.create_task(self._watch_paths(plan, plan.flat, False)))
        # Let the tasks run up to their first await: by then the OS watches are in place, and
        # changes from now on are queued by watchfiles even before it is first polled.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _watch_paths(self, plan: WatchPlan, paths: tuple[Path, ...], recursive: bool) -> None:
        from watchfiles import awatch

        existing = [p for p in paths if p.exists()]
        if not existing:
            return

        def keep(_change: Any, path: str) -> bool:
            return plan.relevant(Path(path))

        async for changes in awatch(
            *existing,
            watch_filter=keep,
            step=WATCH_STEP_MS,
            recursive=recursive,
            ignore_permission_denied=True,
        ):
            self.queue.put_nowait(("changed", {Path(p) for _, p in changes}))


def run_dev(options: DevOptions) -> int:
    """Run `durable dev` in the foreground until Ctrl-C / SIGTERM; returns the exit code.

    Raises ConfigError (bad or missing config), StoreError (a persist dir that cannot be
    created), DevServerRunningError (another `durable dev` on the same persist dir) or
    ListenError (port in use) before anything is served.
    """
    # The first worker starts before anything else: its imports (the server, the engine) then
    # overlap with ours and with reading the config, which halves the time to the first response.
    first = WorkerProcess.launch()
    try:
        cwd = options.cwd or Path.cwd()
        config = load_config(options.config, cwd=cwd, env=options.env)
        persist_to = cwd / options.persist_to if options.persist_to is not None else None
        persist_dir = persist_dir_for(config, persist_to)
        prepare_persist_dir(persist_dir)
        lock: FileLock = acquire_dev_lock(persist_dir)
    except BaseException:
        first.kill()
        first.close()
        raise
    try:
        # A previous `durable dev` on this store that was just killed may still be draining and
        # holding the port for a moment: wait for it rather than fail.
        stale = find_server(persist_dir) is None and (persist_dir / DISCOVERY_FILENAME).exists()
        try:
            listener = open_listener(options.ip, options.port, retry_for=3.0 if stale else 0.0)
        except BaseException:
            first.kill()
            first.close()
            raise
        try:
            first.hand_socket(listener.fileno())
            supervisor = Supervisor(options, config, persist_dir, listener, first)
            return asyncio.run(supervisor.run())
        finally:
            listener.close()
    finally:
        lock.release()
