"""A `durable dev` worker process as the supervisor sees it: start, talk, stop, kill.

The protocol itself is described in worker.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["STOP_TIMEOUT", "WorkerProcess", "event_reason", "exit_reason"]

STOP_TIMEOUT = 10.0  # after this a worker that will not stop is killed


@dataclass(eq=False)
class WorkerProcess:
    """A worker process and the supervisor's end of its control socket."""

    proc: subprocess.Popen[bytes]
    sock: socket.socket
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    started: float = field(default_factory=time.monotonic)
    stopping: bool = False
    launched: ClassVar[list[WorkerProcess]] = []  # for the second Ctrl-C, which kills them all

    @classmethod
    def launch(cls) -> WorkerProcess:
        """Start a worker; synchronous, so `run_dev` can start one before it has a loop.

        The worker imports the server and the runtime while the supervisor is still loading the
        config and binding the port; it then waits for the listening socket (`hand_socket`).
        """
        parent, child = socket.socketpair()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # user prints show up live
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "durable.runtime.dev.server_process",
                    "--ctrl-fd",
                    str(child.fileno()),
                ],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        worker = cls(proc, parent)
        cls.launched.append(worker)
        return worker

    def hand_socket(self, listen_fd: int) -> None:
        """Pass the listening socket over the control socket (one byte with SCM_RIGHTS)."""
        with contextlib.suppress(OSError):
            socket.send_fds(self.sock, [b"L"], [listen_fd])

    @classmethod
    async def spawn(cls, listen_fd: int) -> WorkerProcess:
        worker = cls.launch()
        worker.hand_socket(listen_fd)
        await worker.attach()
        return worker

    async def attach(self) -> None:
        if self.reader is None:
            self.reader, self.writer = await asyncio.open_unix_connection(sock=self.sock)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    async def wait(self) -> int:
        return await asyncio.to_thread(self.proc.wait)

    async def send(self, cmd: str, **fields: Any) -> None:
        await self.attach()
        assert self.writer is not None
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())
            await self.writer.drain()

    async def next_event(self, timeout: float | None = None) -> dict[str, Any]:
        """The next event other than "idle"; `exited` if the process went away."""
        await self.attach()
        assert self.reader is not None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = await self.reader.readline()
                    if not line:
                        return {"event": "exited", "returncode": await self.wait()}
                    message: dict[str, Any] = json.loads(line)
                    if message.get("event") != "idle":
                        return message
        except TimeoutError:
            return {"event": "timeout"}
        except (OSError, ValueError) as exc:
            return {"event": "exited", "error": str(exc)}

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask for a graceful stop; returns once the store is released (or the process gone)."""
        self.stopping = True
        if not self.alive:
            return
        await self.send("stop")
        event = await self.next_event(timeout)
        if event["event"] == "timeout":
            self.kill()
        self.close()

    async def discard(self) -> None:
        """Get rid of a worker that never served."""
        self.stopping = True
        await self.send("exit")
        self.close()
        try:
            async with asyncio.timeout(2):
                await self.wait()
        except TimeoutError:
            self.kill()

    def kill(self) -> None:
        self.stopping = True
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            if self.writer is not None:
                self.writer.close()
            else:
                self.sock.close()


def exit_reason(code: int | None) -> str:
    if code is None:
        return "unknown reason"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def event_reason(event: dict[str, Any]) -> str:
    if event["event"] == "exited":
        return f"it exited: {exit_reason(event.get('returncode'))}"
    if event["event"] == "timeout":
        return "it did not answer in time"
    return str(event.get("error") or event)
