"""One page of a list call, and its `result_info`: what the service returns and clients read.

Kept free of any HTTP import: the CLI imports it at start-up (through the client), and the
service layer runs without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Page", "page_info"]


@dataclass
class Page:
    """One page of a list call: the `result` items and the `result_info` of the envelope."""

    items: list[dict[str, Any]]
    info: dict[str, Any]


def page_info(page: int, per_page: int, count: int, total: int) -> dict[str, Any]:
    """Cloudflare's numbered-page `result_info`; a listing with nothing in it still has a page."""
    return {
        "page": page,
        "per_page": per_page,
        "count": count,
        "total_count": total,
        "total_pages": max(1, -(-total // per_page)),
    }
