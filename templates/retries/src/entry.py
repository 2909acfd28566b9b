"""Retries in every shape Cloudflare offers, and what happens when a step gives up."""

from workers import WorkflowEntrypoint
from workers.workflows import NonRetryableError


class RetriesWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        # Fails twice, then succeeds: 2 s, then 2 s again before the third attempt (constant).
        @step.do("flaky call", config={"retries": {"limit": 3, "delay": "2 seconds", "backoff": "constant"}})
        async def flaky_call(ctx):
            if ctx["attempt"] < 3:
                raise ConnectionError(f"upstream unavailable (attempt {ctx['attempt']})")
            return {"attempts": ctx["attempt"]}

        # Linear back-off waits 1 s, 2 s, 3 s ...; exponential 1 s, 2 s, 4 s ...
        @step.do("linear", config={"retries": {"limit": 2, "delay": "1 second", "backoff": "linear"}})
        async def linear():
            return "ok"

        @step.do("exponential", config={"retries": {"limit": 2, "delay": 1000, "backoff": "exponential"}, "timeout": "30 seconds"})
        async def exponential():
            return "ok"

        # NonRetryableError fails the step at once, whatever the retry limit.
        @step.do("charge card", config={"retries": {"limit": 5, "delay": "10 seconds"}})
        async def charge_card():
            if event.payload.get("card") == "declined":
                raise NonRetryableError("card declined")
            return "charged"

        flaky = await flaky_call()
        await linear()
        await exponential()
        try:
            charge = await charge_card()
        except NonRetryableError as error:
            # A failed step can be caught like any exception: undo what was done, then carry on.
            @step.do("release reservation")
            async def release_reservation():
                return f"released after: {error}"

            charge = await release_reservation()
        return {"flaky": flaky, "charge": charge}
