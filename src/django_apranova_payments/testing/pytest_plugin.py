"""pytest fixtures for host projects. Enable in your ``conftest.py``::

    pytest_plugins = ["django_apranova_payments.testing.pytest_plugin"]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .capture import CapturedSignals, capture_signals
from .events import build_event, post_event
from .stripe_mock import StripeMock


@pytest.fixture
def stripe_mock() -> Iterator[StripeMock]:
    """Stripe's PaymentIntent API, mocked for the duration of the test."""
    with StripeMock() as mock:
        yield mock


@pytest.fixture
def send_webhook(client: Any) -> Callable[..., Any]:
    """``send_webhook(payment, "payment_intent.succeeded")`` delivers a signed event for
    ``payment`` to the webhook endpoint and returns the response."""

    def send(payment_or_event: Any, event_type: str = "payment_intent.succeeded", **kwargs: Any) -> Any:
        event = payment_or_event if isinstance(payment_or_event, dict) else build_event(
            payment_or_event, event_type, **kwargs
        )
        return post_event(client, event)

    return send


@pytest.fixture
def captured_signals() -> Iterator[CapturedSignals]:
    """Every package signal sent during the test, in order (see ``capture_signals``)."""
    with capture_signals() as sent:
        yield sent
