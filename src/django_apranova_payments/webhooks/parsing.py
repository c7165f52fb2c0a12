"""A verified webhook body as a Stripe event: JSON that is finite, storable and not too deep,
with the client secret scrubbed before anything stores or passes it on. The signature is
checked first, by ``signing.verify``."""

from __future__ import annotations

import json
import math
from typing import Any

from .. import exceptions
from ..parsers import is_storable

#: Deepest nesting of a verified event accepted; Stripe's objects nest a few levels.
MAX_EVENT_DEPTH = 64
#: Keys never stored or passed on: a PaymentIntent's client secret lets its holder pay it.
SCRUBBED_KEYS = frozenset({"client_secret"})


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_event(payload: bytes) -> dict[str, Any]:
    """The verified body as a Stripe event dict, or ``WebhookPayloadError``."""
    try:
        event = json.loads(
            payload.decode("utf-8"), parse_float=_finite_float, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise exceptions.WebhookPayloadError("Body is not JSON.") from None
    # Only a \u escape can smuggle NUL or a lone surrogate past the UTF-8 decode.
    if b"\\u" in payload and not is_storable(event):
        raise exceptions.WebhookPayloadError("Body contains NUL characters or invalid Unicode.")
    if not scrub(event, MAX_EVENT_DEPTH):
        raise exceptions.WebhookPayloadError(f"Body nests deeper than {MAX_EVENT_DEPTH} levels.")
    if not isinstance(event, dict) or event.get("object") != "event":
        raise exceptions.WebhookPayloadError("Body is not a Stripe event.")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 255):
        raise exceptions.WebhookPayloadError("Event has no valid id.")
    if not (isinstance(event_type, str) and 0 < len(event_type) <= 100):
        raise exceptions.WebhookPayloadError("Event has no valid type.")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise exceptions.WebhookPayloadError("Event has no data.object.")
    return event


def scrub(value: Any, max_depth: int) -> bool:
    """Remove ``SCRUBBED_KEYS`` from parsed JSON, in place, at any depth. ``False`` (and the
    walk stops) when objects and arrays nest deeper than ``max_depth``. One pass, without
    recursion: it runs on every delivery."""
    containers = (dict, list)
    stack = [(value, 1)] if type(value) in containers else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if type(item) is dict:
            for key in SCRUBBED_KEYS.intersection(item):
                del item[key]
            item = item.values()
        stack.extend((child, depth + 1) for child in item if type(child) in containers)
    return True
