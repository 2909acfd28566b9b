from durable.testing import introspect_workflow_instance


async def test_approved_by_a_real_event(durable_env):
    workflows = durable_env.env.APPROVAL_WORKFLOW
    async with introspect_workflow_instance(workflows, "request-1") as instance:
        handle = await workflows.create({"id": "request-1", "params": {"item": "desk", "amount": 300}})
        await instance.wait_for_status("waiting")
        await handle.send_event({"type": "approval", "payload": {"approved": True, "by": "kim"}})
        await instance.wait_for_status("complete")
        assert await instance.get_output() == {
            "request": {"item": "desk", "amount": 300},
            "approved": True,
            "by": "kim",
        }


async def test_rejected_with_a_mocked_event(durable_env):
    workflows = durable_env.env.APPROVAL_WORKFLOW
    async with introspect_workflow_instance(workflows, "request-2") as instance:
        await instance.modify(lambda m: m.mock_event("approval", {"approved": False, "by": "lee"}))
        await workflows.create({"id": "request-2"})
        await instance.wait_for_status("complete")
        assert (await instance.get_output())["approved"] is False


async def test_nobody_answers_in_a_day(durable_env):
    workflows = durable_env.env.APPROVAL_WORKFLOW
    async with introspect_workflow_instance(workflows, "request-3") as instance:
        await workflows.create({"id": "request-3"})
        await instance.wait_for_status("waiting")
        await durable_env.advance("1 day")
        await instance.wait_for_status("complete")
        assert (await instance.get_output())["by"] == "timeout"
