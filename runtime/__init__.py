"""durable: a local runtime for Cloudflare Python Workflows (the library; the CLI is `durable.cli`)."""

__version__ = "0.1.0"
