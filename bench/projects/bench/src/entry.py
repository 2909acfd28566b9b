"""Workflows measured by bench/run.py. Written like any Cloudflare Python Worker."""

import asyncio
import os
import time
from urllib.parse import parse_qs, urlparse

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class Noop0(WorkflowEntrypoint):
    """No steps: the fixed cost of an instance (create, start, finish)."""

    async def run(self, event, step):
        return None


class Noop3(WorkflowEntrypoint):
    """Three no-op steps: (T3 - T0) / 3N is the cost of a step."""

    async def run(self, event, step):
        @step.do("s1")
        async def s1():
            return None

        @step.do("s2")
        async def s2():
            return None

        @step.do("s3")
        async def s3():
            return None

        await s1()
        await s2()
        await s3()
        return None


class Sleeper(WorkflowEntrypoint):
    """Sleep, then record when the code after the sleep ran (epoch ms, float)."""

    async def run(self, event, step):
        ms = (event.payload or {}).get("ms", 1000)
        await step.sleep("nap", ms)

        @step.do("woke")
        async def woke():
            return time.time() * 1000

        return await woke()


class Parked(WorkflowEntrypoint):
    """Wait (parked, out of memory) for one event, then finish."""

    async def run(self, event, step):
        got = await step.wait_for_event("wait", "go", timeout="1 day")
        return got["payload"]


class Crashy(WorkflowEntrypoint):
    """Steps that take a while and log every execution, for the SIGKILL recovery benchmark.

    Each execution appends "pid instance step" to the file named by params.log, so a step that
    ran twice after being recorded complete shows up as two lines from two processes.
    """

    async def run(self, event, step):
        log = event.payload["log"]
        steps = event.payload.get("steps", 10)
        pause = event.payload.get("pause", 0.05)
        for i in range(steps):
            await step.do(f"step{i}")(_logged_work(log, event.instanceId, f"step{i}", pause))()
        return steps


def _logged_work(log, instance_id, name, pause):
    async def work():
        await asyncio.sleep(pause)
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {instance_id} {name}\n")
        return name

    return work


BINDINGS = {
    "noop0": "NOOP0",
    "noop3": "NOOP3",
    "sleeper": "SLEEPER",
    "parked": "PARKED",
    "crashy": "CRASHY",
}


class Default(WorkerEntrypoint):
    """GET /create?workflow=noop0&n=100: create_batch from a fetch handler; GET /ping."""

    async def fetch(self, request):
        url = urlparse(request.url)
        if url.path == "/ping":
            return Response("ok")
        if url.path == "/create":
            query = parse_qs(url.query)
            workflow = query.get("workflow", ["noop0"])[0]
            n = int(query.get("n", ["100"])[0])
            binding = getattr(self.env, BINDINGS[workflow])
            created = await binding.create_batch([{"params": {}} for _ in range(n)])
            return Response(str(len(created)))
        return Response("not found", status=404)
