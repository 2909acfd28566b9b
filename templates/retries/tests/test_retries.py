from durable.testing import introspect_workflow_instance


async def test_flaky_step_succeeds_on_its_third_attempt(durable_env):
    workflows = durable_env.env.RETRIES_WORKFLOW
    async with introspect_workflow_instance(workflows, "ok") as instance:
        await instance.modify(lambda m: m.disable_retry_delays())
        await workflows.create({"id": "ok"})
        await instance.wait_for_status("complete")
        assert await instance.get_output() == {"flaky": {"attempts": 3}, "charge": "charged"}
        assert instance.trace.attempts("flaky call") == 3


async def test_declined_card_is_not_retried_and_is_cleaned_up(durable_env):
    workflows = durable_env.env.RETRIES_WORKFLOW
    async with introspect_workflow_instance(workflows, "declined") as instance:
        await instance.modify(lambda m: m.disable_retry_delays())
        await workflows.create({"id": "declined", "params": {"card": "declined"}})
        await instance.wait_for_status("complete")
        output = await instance.get_output()
        assert output["charge"] == "released after: card declined"
        assert instance.trace.attempts("charge card") == 1


async def test_a_step_that_keeps_failing_errors_the_instance(durable_env):
    workflows = durable_env.env.RETRIES_WORKFLOW
    async with introspect_workflow_instance(workflows, "broken") as instance:
        await instance.modify(lambda m: m.disable_retry_delays())
        await instance.modify(lambda m: m.mock_step_error("linear", RuntimeError("still down")))
        await workflows.create({"id": "broken"})
        await instance.wait_for_status("errored")
        assert (await instance.get_error())["message"].endswith("still down")
