"""`workers.workflows`: only `NonRetryableError`, as on Cloudflare."""

from durable.runtime.worker.entrypoints import NonRetryableError

__all__ = ["NonRetryableError"]
