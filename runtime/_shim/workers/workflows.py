"""`workers.workflows`: only `NonRetryableError`, as on Cloudflare."""

from durable.runtime.entrypoints import NonRetryableError

__all__ = ["NonRetryableError"]
