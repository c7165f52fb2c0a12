"""Idempotency for the services: a digest that tells a retry from another request, and the
idempotency key sent to Stripe."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any


def request_fingerprint(data: Any) -> str:
    """A stable digest of a request body, to tell a retry from a different request."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def stripe_key(prefix: str, idempotency_key: str | None, *scope: object) -> str:
    """Stripe's idempotency key: derived from ``scope`` (whose request it is) and the
    client's key, so a retry after a crash gets the same PaymentIntent or refund (and a
    different body gets Stripe's idempotency error), or random for a request without one."""
    if idempotency_key is None:
        return f"{prefix}{uuid.uuid4()}"
    digest = hashlib.sha256("\0".join([*map(str, scope), idempotency_key]).encode()).hexdigest()
    return f"{prefix}{digest}"
