"""Stripe's webhook signature: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The signed text is ``"{t}.{raw body}"``; the key is the endpoint's ``whsec_…`` secret. Any
shape of header that is not exactly that (non-ASCII digits, huge numbers, a repeated ``t``,
no ``v1``) is refused with ``WebhookSignatureError``, never with another exception.

Secrets are held in ``SigningSecret`` objects whose ``repr`` is a mask, and the functions that
see them are ``sensitive_variables``: a secret never appears on Django's debug page, in the
admin error e-mail, or in an error tracker that records local variables.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Sequence
from typing import TypeGuard

from django.views.decorators.debug import sensitive_variables

from . import exceptions

logger = logging.getLogger(__name__)

#: Longest header accepted; Stripe's carries a few signatures (one per active secret).
MAX_HEADER_LENGTH = 2048
#: At most this many ``v1`` signatures are compared.
MAX_SIGNATURES = 8
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SigningSecret:
    """A webhook signing secret. Its value is never shown: not by ``repr``, ``str`` or a
    debugger's view of local variables."""

    __slots__ = ("_key",)

    @sensitive_variables()
    def __init__(self, value: str) -> None:
        self._key = value.encode()

    def __repr__(self) -> str:
        return "SigningSecret('********')"

    __str__ = __repr__

    def sign(self, timestamp: int, payload: bytes) -> str:
        """The hex ``v1`` signature of ``payload`` at ``timestamp``."""
        return hmac.new(self._key, b"%d." % timestamp + payload, hashlib.sha256).hexdigest()


def _usable(value: object) -> TypeGuard[str | SigningSecret]:
    return isinstance(value, SigningSecret) or (isinstance(value, str) and bool(value))


@sensitive_variables()
def as_secrets(values: Sequence[object]) -> list[SigningSecret]:
    """``values`` as ``SigningSecret`` objects. Nothing here can raise while the raw values
    are in scope (Django's debug page shows local variables when ``DEBUG`` is on): anything
    that is not a non-empty string is skipped and logged, never shown."""
    keys = [v if isinstance(v, SigningSecret) else SigningSecret(v) for v in values if _usable(v)]
    if any(not isinstance(v, str | SigningSecret) for v in values):
        logger.error("STRIPE_WEBHOOK_SECRET holds a value that is not a string; it is ignored.")
    return keys


@sensitive_variables()
def signature_header(payload: bytes, secret: str | SigningSecret, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` value Stripe would send for ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    (key,) = as_secrets([secret])
    return f"t={timestamp},v1={key.sign(timestamp, payload)}"


@sensitive_variables()
def verify(
    payload: bytes,
    header: str,
    secrets: Sequence[str | SigningSecret],
    tolerance: int,
    now: float | None = None,
) -> None:
    """Raise ``WebhookSignatureError`` unless one ``v1`` signature in ``header`` is the
    HMAC-SHA256 of ``"{t}.{payload}"`` under one of ``secrets`` and ``t`` is within
    ``tolerance`` seconds of now, in either direction."""
    keys = as_secrets(secrets)
    if not keys:
        raise exceptions.WebhookSignatureError("No webhook secret is configured.")
    timestamp, signatures = parse_header(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise exceptions.WebhookSignatureError("Signature timestamp is outside the tolerance.")
    for key in keys:
        expected = key.sign(timestamp, payload)
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return
    raise exceptions.WebhookSignatureError("No signature matches the payload.")


def parse_header(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])`` from a ``Stripe-Signature`` value.

    ``t`` must appear once, as 1 to 12 ASCII digits; ``v1`` values that are not 64 lowercase
    hex digits are skipped (they can never match); other schemes (``v0``) are ignored.
    """
    if not isinstance(header, str) or not header or len(header) > MAX_HEADER_LENGTH:
        raise exceptions.WebhookSignatureError("Missing or malformed Stripe-Signature header.")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1" and _SIGNATURE.fullmatch(value) and len(signatures) < MAX_SIGNATURES:
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not signatures:
        raise exceptions.WebhookSignatureError("Malformed Stripe-Signature header.")
    return int(timestamps[0]), signatures
