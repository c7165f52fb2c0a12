"""The simulator as a host runs it in development, for every test here: the simulator gateway,
DEBUG on, its own URLconf; and ``outbox``, the events it posts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.core.cache import cache

from django_apranova_payments.simulator import sender

SIMULATOR = "django_apranova_payments.simulator.gateway.SimulatorGateway"
SECRET = "whsec_simulator_suite"


@pytest.fixture(autouse=True)
def simulator_settings(settings: Any) -> Any:
    settings.ROOT_URLCONF = "tests.simulator.urls"
    settings.DEBUG = True  # the simulator runs only with DEBUG on (pytest-django turns it off)
    cache.clear()  # per-user throttles count in the cache: each test starts afresh
    settings.APRANOVA_PAYMENTS = {"GATEWAY": SIMULATOR, "STRIPE_WEBHOOK_SECRET": SECRET, "SIMULATOR_WEBHOOK_URL": None}
    return settings


@pytest.fixture
def hook_url(settings: Any) -> str:
    """The URL the simulator posts its events to (``SIMULATOR_WEBHOOK_URL``), set for the test."""
    url = "http://127.0.0.1:8765/api/payments/webhook/"
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "SIMULATOR_WEBHOOK_URL": url}
    return url


@pytest.fixture
def outbox(hook_url: str, django_capture_on_commit_callbacks: Any) -> Iterator[Any]:
    """The events the simulator posts, captured at the HTTP boundary: ``outbox()`` commits
    (runs the on-commit callbacks that queue them), waits for the sender and returns the
    requests posted since the last call."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, hook_url, json={"received": True})
        capture = django_capture_on_commit_callbacks(execute=True)
        capture.__enter__()
        seen = 0

        def sent() -> list[Any]:
            nonlocal capture, seen
            capture.__exit__(None, None, None)
            capture = django_capture_on_commit_callbacks(execute=True)
            capture.__enter__()
            assert sender.wait_for_deliveries(10)
            requests_ = [call.request for call in mock.calls][seen:]
            seen += len(requests_)
            return requests_

        yield sent
        capture.__exit__(None, None, None)
