"""`workers.types`: production's type aliases and TypedDicts (annotations only).

`Headers` is a type alias in production, not a class: `Headers({...})` fails there, so it does
here; pass a dict or a list of pairs where headers are expected.
"""

from http import HTTPMethod
from typing import Any, TypeAlias, TypedDict

JSBody: TypeAlias = "js.Blob | JsBuffer | js.FormData | js.ReadableStream | js.URLSearchParams"  # type: ignore[name-defined]  # noqa: F821 - production's strings, never evaluated
Body: TypeAlias = "str | FormData | JSBody"  # type: ignore[name-defined]  # noqa: F821 - production's strings, never evaluated
Headers: TypeAlias = "dict[str, str] | list[tuple[str, str]] | js.Headers"  # type: ignore[name-defined]  # noqa: F821 - production's strings, never evaluated


class RequestInitCfProperties(TypedDict, total=False):
    apps: bool | None
    cacheEverything: bool | None  # noqa: N815 - production's field names
    cacheKey: str | None  # noqa: N815
    cacheTags: list[str] | None  # noqa: N815
    cacheTtl: int  # noqa: N815
    cacheTtlByStatus: dict[str, int]  # noqa: N815
    image: Any | None
    mirage: bool | None
    polish: str | None
    resolveOverride: str | None  # noqa: N815
    scrapeShield: bool | None  # noqa: N815
    webp: bool | None


class FetchKwargs(TypedDict, total=False):
    headers: "Headers | None"
    body: "Body | None"
    method: HTTPMethod | None
    redirect: str | None
    cf: RequestInitCfProperties | None
