"""The diamond of the `dag` template, written in the legacy `depends=[...]` form.

    fetch order ─┬─> price items ──┬─> summarize
                 └─> check stock ──┘
"""

from workers import WorkflowEntrypoint


class DagWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        items = event.payload.get("items", [{"sku": "pen", "qty": 2, "price": 3}])

        @step.do("fetch order")
        async def fetch_order():
            return {"items": items}

        @step.do("price items", depends=[fetch_order])
        async def price_items(order):
            return sum(i["qty"] * i["price"] for i in order["items"])

        @step.do("check stock", depends=[fetch_order])
        async def check_stock(order):
            return all(i["qty"] <= 10 for i in order["items"])

        @step.do("summarize", depends=[price_items, check_stock], concurrent=True)
        async def summarize(total, in_stock):
            return {"total": total, "in_stock": in_stock}

        return await summarize()
