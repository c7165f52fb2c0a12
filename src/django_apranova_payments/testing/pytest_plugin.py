"""pytest fixtures for host projects. Enable in your ``conftest.py``::

    pytest_plugins = ["django_apranova_payments.testing.pytest_plugin"]

The ``stripe_mock`` fixture is strict: it refuses, as Stripe does, every request Stripe would
refuse. A project that needs looser checks sets, in its pytest configuration::

    [pytest]
    apranova_stripe_mock_strict = false

or turns them off in one test with ``stripe_mock.strict = False``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .capture import CapturedSignals, capture_signals
from .events import build_event, post_event
from .stripe_mock import StripeMock


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "apranova_stripe_mock_strict",
        "whether the stripe_mock fixture refuses what Stripe refuses (default: true)",
        type="bool",
        default=True,
    )


@pytest.fixture
def stripe_mock(request: pytest.FixtureRequest) -> Iterator[StripeMock]:
    """Stripe's PaymentIntent and Refund API, mocked for the duration of the test, strict
    unless the ini option ``apranova_stripe_mock_strict`` is false."""
    with StripeMock(strict=bool(request.config.getini("apranova_stripe_mock_strict"))) as mock:
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
