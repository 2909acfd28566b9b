"""A Worker that starts a workflow per request and reports on it.

    GET /?name=Ada          starts an instance and returns its id
    GET /?instanceId=<id>   returns that instance's status and output
"""

from urllib.parse import parse_qs, urlparse

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint


class HelloWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        name = event.payload.get("name", "world")

        @step.do("compose greeting")
        async def compose_greeting():
            return f"Hello, {name}!"

        greeting = await compose_greeting()

        # A durable sleep: the instance leaves memory and wakes up on time, even across restarts.
        await step.sleep("let it sink in", "3 seconds")

        @step.do("make it loud")
        async def make_it_loud():
            return greeting.upper()

        return {"greeting": greeting, "loud": await make_it_loud()}


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        query = parse_qs(urlparse(request.url).query)
        if "instanceId" in query:
            instance = await self.env.HELLO_WORKFLOW.get(query["instanceId"][0])
            return Response.json({"id": instance.id, "details": await instance.status()})
        name = query.get("name", ["world"])[0]
        instance = await self.env.HELLO_WORKFLOW.create({"params": {"name": name}})
        return Response.json({"id": instance.id, "details": await instance.status()})
