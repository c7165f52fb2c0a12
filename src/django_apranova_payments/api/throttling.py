"""Per-user throttles of the endpoints that call Stripe (``THROTTLE_RATES``).

Each payment view names its rate (``create``, ``update_status``, ``cancel``); the rate is
read from ``app_settings`` when the request arrives, so ``override_settings`` works and a
rate set to ``None`` turns that throttle off. The counts live in Django's default cache, as
DRF's own throttles do: use a cache all server processes share (Redis, Memcached, the
database) for the limit to hold across processes; check W005 warns when the default cache
is kept per process. A throttled request answers 429 with ``Retry-After`` (DRF's
``Throttled``).

DRF's own throttle reads the user's history, appends and writes it back: two processes that
read at once both let a request through, so under parallel requests a shared cache still let
35 of 40 through a "20/min" limit. Here a request is let through only by taking one of the
rate's slots with ``cache.add``, which the shared caches do atomically (Redis ``SET NX``,
Memcached ``add``, the database cache's unique key): each slot holds one request's time for
the rate's period, so at most that many requests are let through in any period, however many
processes ask at once.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle

from ..conf import app_settings

#: Prefix of the cache keys, so a host's own throttle with a scope named ``create`` never
#: shares its counts with ours.
SCOPE_PREFIX = "apranova_payments_"


class PaymentRateThrottle(UserRateThrottle):
    """``THROTTLE_RATES[name]`` per user (per IP address for an anonymous caller, who is
    refused anyway)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scope = SCOPE_PREFIX + name
        super().__init__()

    def get_rate(self) -> str | None:
        rate: str | None = app_settings.THROTTLE_RATES[self.name]
        return rate

    def allow_request(self, request: Request, view: Any) -> bool:
        requests, period = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if requests is None or period is None or self.key is None:
            return True
        self.period = period
        self.now = self.timer()
        slots = [f"{self.key}:{number}" for number in range(requests)]
        taken = self.cache.get_many(slots)  # one round trip; a slot taken meanwhile fails its add
        if any(slot not in taken and self.cache.add(slot, self.now, period) for slot in slots):
            return True
        self.history = sorted(self.cache.get_many(slots).values(), reverse=True)
        return False

    def wait(self) -> float:
        """Seconds until the oldest slot frees up."""
        oldest: float = self.history[-1] if self.history else self.now
        return max(self.period - (self.now - oldest), 0.0)
