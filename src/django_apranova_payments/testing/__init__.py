"""Helpers for testing a host project against django-apranova-payments.

Install with the ``testing`` extra (``pip install django-apranova-payments[testing]``).

* ``StripeMock``: Stripe's PaymentIntent API (create, retrieve, cancel) and Refund API
  (create, list, retrieve) mocked at the HTTP boundary with ``responses``, with state,
  idempotency keys, disputes and injected failures. Strict by default: it refuses what Stripe
  refuses (``stripe_params``, ``stripe_rules``); ``StripeMock(strict=False)`` does not.
* ``build_payment_intent`` / ``build_refund`` / ``build_charge`` / ``build_dispute`` /
  ``build_event``: payloads of every event type the package handles, built from Stripe's
  published fixtures (``stripe_objects``).
* ``sign_payload`` and ``post_event``: a valid ``Stripe-Signature`` and a signed delivery
  through Django's test client, applied in either ``WEBHOOK_PROCESSING`` mode;
  ``process_queued``: apply what task mode left queued, as a worker would.
* ``capture_signals``: a context manager recording every package signal sent in its block.
* ``pytest_plugin``: the same as pytest fixtures (``pytest_plugins = [...]``).
"""

from typing import TYPE_CHECKING, Any

from .capture import CapturedSignals, SentSignal, capture_signals
from .events import (
    EVENT_INTENT_STATUS,
    build_charge,
    build_dispute,
    build_event,
    build_payment_intent,
    build_refund,
    post_event,
    process_queued,
    sign_payload,
)

if TYPE_CHECKING:
    from .stripe_mock import StripeMock


def __getattr__(name: str) -> Any:
    # StripeMock needs ``responses`` (the testing extra); the event helpers do not.
    if name == "StripeMock":
        from .stripe_mock import StripeMock

        return StripeMock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "EVENT_INTENT_STATUS",
    "CapturedSignals",
    "SentSignal",
    "StripeMock",
    "build_charge",
    "build_dispute",
    "build_event",
    "build_payment_intent",
    "build_refund",
    "capture_signals",
    "post_event",
    "process_queued",
    "sign_payload",
]
