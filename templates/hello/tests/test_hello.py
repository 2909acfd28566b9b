from durable.testing import introspect_workflow_instance


async def test_fetch_starts_a_workflow_that_greets(durable_env):
    response = await durable_env.fetch("http://localhost/?name=Ada")
    instance_id = (await response.json())["id"]

    async with introspect_workflow_instance(durable_env.env.HELLO_WORKFLOW, instance_id) as instance:
        await instance.wait_for_step_result("compose greeting")
        await durable_env.advance("3 seconds")  # past the durable sleep, without waiting for it
        await instance.wait_for_status("complete")
        assert await instance.get_output() == {"greeting": "Hello, Ada!", "loud": "HELLO, ADA!"}

    response = await durable_env.fetch(f"http://localhost/?instanceId={instance_id}")
    assert (await response.json())["details"]["status"] == "complete"
