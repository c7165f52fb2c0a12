"""Per-user throttles of the endpoints that call Stripe (``THROTTLE_RATES``).

Each payment view names its rate (``create``, ``update_status``, ``cancel``); the rate is
read from ``app_settings`` when the request arrives, so ``override_settings`` works and a
rate set to ``None`` turns that throttle off. The counts live in Django's default cache, as
DRF's own throttles do: use a cache all server processes share (Redis, Memcached, the
database) for the limit to hold across processes. A throttled request answers 429 with
``Retry-After`` (DRF's ``Throttled``).
"""

from __future__ import annotations

from rest_framework.throttling import UserRateThrottle

from .conf import app_settings

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
