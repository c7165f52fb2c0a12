"""Helpers for testing a host project against django-apranova-payments.

Install with the ``testing`` extra (``pip install django-apranova-payments[testing]``).

* ``StripeMock``: Stripe's PaymentIntent API (create, retrieve, cancel) mocked at the HTTP
  boundary with ``responses``, with state, idempotency keys and injected failures.
* ``build_payment_intent`` / ``build_event``: realistic ``payment_intent.*`` payloads.
* ``sign_payload`` and ``post_event``: a valid ``Stripe-Signature`` and a signed delivery
  through Django's test client.
* ``pytest_plugin``: the same as pytest fixtures (``pytest_plugins = [...]``).
"""

from .events import EVENT_INTENT_STATUS, build_event, build_payment_intent, post_event, sign_payload
from .stripe_mock import StripeMock

__all__ = [
    "EVENT_INTENT_STATUS",
    "StripeMock",
    "build_event",
    "build_payment_intent",
    "post_event",
    "sign_payload",
]
