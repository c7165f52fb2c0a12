"""The package's own keys in a PaymentIntent's metadata, and the installation mark.

Every PaymentIntent this installation creates carries, beside the host's metadata:

* ``apranova_user``: the pk of the paying user;
* ``apranova_idempotency_key`` and ``apranova_fingerprint``: the client's Idempotency-Key and
  the digest of its request body, when the request had a key;
* ``apranova_mark``: an HMAC over all of the above, the host's own metadata, the amount and
  the currency, keyed from Django's ``SECRET_KEY`` (``salted_hmac``), verified against
  ``SECRET_KEY_FALLBACKS`` too (empty keys are never used).

Stripe sends every event of an account to every endpoint, so a PaymentIntent seen in an event
is this installation's only if its row exists or its mark verifies. Another site on the same
Stripe account (or staging beside production) cannot make a mark that verifies here, and
cannot change the user, amount, currency or metadata of a PaymentIntent whose mark it copies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

#: Stripe's metadata limits: 50 keys, keys up to 40 characters, values up to 500.
MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500

#: Every key the package writes starts with this; hosts may not use it.
RESERVED_PREFIX = "apranova_"
USER = f"{RESERVED_PREFIX}user"
IDEMPOTENCY_KEY = f"{RESERVED_PREFIX}idempotency_key"
FINGERPRINT = f"{RESERVED_PREFIX}fingerprint"
MARK = f"{RESERVED_PREFIX}mark"
#: How many metadata keys the package may use on one PaymentIntent, and what that leaves.
RESERVED_KEYS = 4
HOST_MAX_KEYS = MAX_KEYS - RESERVED_KEYS

_SALT = "django_apranova_payments.metadata.mark"


@dataclass(frozen=True)
class Owner:
    """What a verified mark proves: who pays, and with which Idempotency-Key."""

    user_pk: str
    idempotency_key: str | None
    fingerprint: str


def own_metadata(
    *,
    user_pk: object,
    amount_minor: int,
    currency: str,
    host: Mapping[str, str],
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> dict[str, str]:
    """The package's metadata for a new PaymentIntent whose own metadata is ``host``, mark
    included."""
    own = {USER: str(user_pk)}
    if idempotency_key is not None:
        own[IDEMPOTENCY_KEY] = idempotency_key
        own[FINGERPRINT] = fingerprint
    own[MARK] = _mark(own, host, amount_minor, currency, settings.SECRET_KEY)
    return own


def verified_owner(metadata: Mapping[str, str], amount_minor: int, currency: str) -> Owner | None:
    """The owner named by ``metadata`` when its mark was made here for this amount and
    currency; ``None`` for any other PaymentIntent."""
    mark = metadata.get(MARK)
    user_pk = metadata.get(USER)
    if not isinstance(mark, str) or not mark or not user_pk:
        return None
    own = {key: metadata[key] for key in (USER, IDEMPOTENCY_KEY, FINGERPRINT) if key in metadata}
    host = host_metadata(metadata)
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        if not secret:  # an empty fallback ("".split(",")) would let anyone make a mark
            continue
        if constant_time_compare(mark, _mark(own, host, amount_minor, currency, secret)):
            key = own.get(IDEMPOTENCY_KEY) or None
            return Owner(str(user_pk), key, own.get(FINGERPRINT, "") if key else "")
    return None


def host_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """``metadata`` without the package's own keys."""
    return {k: v for k, v in metadata.items() if not k.startswith(RESERVED_PREFIX)}


def _mark(
    own: Mapping[str, str], host: Mapping[str, str], amount_minor: int, currency: str, secret: str | bytes
) -> str:
    # Each part is length-prefixed, so no two different inputs share a message; the host's
    # metadata goes in as canonical JSON (sorted keys), so Stripe's ordering does not matter.
    parts = [
        own.get(USER, ""), own.get(IDEMPOTENCY_KEY, "\0"), own.get(FINGERPRINT, ""), str(amount_minor), currency,
        json.dumps(dict(host), sort_keys=True, separators=(",", ":")),
    ]
    message = "".join(f"{len(part)}:{part};" for part in parts)
    return salted_hmac(_SALT, message, secret=secret, algorithm="sha256").hexdigest()
