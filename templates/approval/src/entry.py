"""Human in the loop: prepare a request, wait up to a day for a decision, then act on it."""

from workers import WorkflowEntrypoint


class ApprovalWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        @step.do("prepare request")
        async def prepare_request():
            return {"item": event.payload.get("item", "laptop"), "amount": event.payload.get("amount", 0)}

        request = await prepare_request()

        try:
            decision = await step.wait_for_event("wait for approval", "approval", timeout="1 day")
            approved = bool(decision["payload"].get("approved"))
            reviewer = decision["payload"].get("by", "someone")
        except Exception:
            # Nobody answered in time: the timeout is raised here, inside run(), and is catchable.
            approved, reviewer = False, "timeout"

        @step.do("record decision")
        async def record_decision():
            return {"request": request, "approved": approved, "by": reviewer}

        return await record_decision()
