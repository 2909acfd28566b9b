// The JS twin of bench/projects/bench, run by `wrangler dev` for the peer comparison.
// bench/run.py copies this file and wrangler.toml into bench/.work/wrangler-project/ at run time.
import { WorkflowEntrypoint } from "cloudflare:workers";

export class Bench extends WorkflowEntrypoint {
  async run(event, step) {
    const n = (event.payload && event.payload.steps) || 0;
    for (let i = 0; i < n; i++) {
      await step.do("s" + (i + 1), async () => null);
    }
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitComplete(env, id) {
  const instance = await env.BENCH.get(id);
  for (;;) {
    const status = await instance.status();
    if (status.status === "complete") return;
    if (status.status === "errored" || status.status === "terminated") {
      throw new Error(`instance ${id} ${status.status}: ${JSON.stringify(status.error)}`);
    }
    await sleep(1);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const steps = Number(url.searchParams.get("steps") || "0");
    if (url.pathname === "/ping") return new Response("ok");
    if (url.pathname === "/create") {
      // createBatch from a fetch handler, as a client of the batch API would.
      const n = Number(url.searchParams.get("n") || "100");
      const batch = Array.from({ length: n }, () => ({ params: { steps } }));
      const created = await env.BENCH.createBatch(batch);
      return Response.json(created.map((instance) => instance.id));
    }
    if (url.pathname === "/wait") {
      // Poll each instance (1 ms apart) until every one is complete.
      const ids = await request.json();
      for (const id of ids) await waitComplete(env, id);
      return new Response("done");
    }
    if (url.pathname === "/one") {
      // peers.md §8.2: create one instance and poll it until complete.
      const instance = await env.BENCH.create({ params: { steps } });
      await waitComplete(env, instance.id);
      return new Response("done");
    }
    return new Response("not found", { status: 404 });
  },
};
