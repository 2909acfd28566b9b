from durable.testing import introspect_workflow_instance


async def test_diamond_sums_prices_and_runs_the_shared_step_once(durable_env):
    workflows = durable_env.env.DAG_WORKFLOW
    items = [{"sku": "pen", "qty": 3, "price": 2}, {"sku": "pad", "qty": 1, "price": 5}]
    async with introspect_workflow_instance(workflows, "order-1") as instance:
        await workflows.create({"id": "order-1", "params": {"items": items}})
        await instance.wait_for_status("complete")
        assert await instance.get_output() == {"total": 11, "in_stock": True}
        assert instance.trace.attempts("fetch order") == 1
