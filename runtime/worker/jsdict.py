"""`JsDict`: how a JavaScript object looks to Python code on Cloudflare.

The production SDK converts JS objects it hands to Python (step results, event payloads, binding
results) into dicts that also allow attribute access. User code written against that (`event.payload.id`)
must work here unchanged, so everything durable gives user code as an object is a `JsDict`.
"""

from __future__ import annotations

from typing import Any


class JsDict(dict[str, Any]):
    """A dict whose keys are also attributes, like the SDK's conversion of JS objects."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None
