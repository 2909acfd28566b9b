from workers import Response, WorkflowEntrypoint


class LegacyWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("greet")
        async def greet():
            return self.env.GREETING

        @step.do("shout", depends=[greet])
        async def shout(text):
            return text.upper()

        return await shout()


async def on_fetch(request, env):
    instance = await env.LEGACY.create(id=request.url.rsplit("/", 1)[-1])
    return Response(f"created {instance.id}", status=201)
