"""A diamond of steps: fetch_order feeds two branches, which meet in summarize.

    fetch_order ─┬─> price_items ──┬─> summarize
                 └─> check_stock ──┘

Each parameter names the step it depends on. `concurrent=True` resolves the two branches at the
same time; fetch_order runs once even though both branches need it.
"""

from workers import WorkflowEntrypoint


class DagWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        items = event.payload.get("items", [{"sku": "pen", "qty": 2, "price": 3}])

        @step.do()
        async def fetch_order():
            return {"items": items}

        @step.do()
        async def price_items(fetch_order):
            return sum(i["qty"] * i["price"] for i in fetch_order["items"])

        @step.do()
        async def check_stock(fetch_order):
            return all(i["qty"] <= 10 for i in fetch_order["items"])

        @step.do(concurrent=True)
        async def summarize(price_items, check_stock):
            return {"total": price_items, "in_stock": check_stock}

        return await summarize()
