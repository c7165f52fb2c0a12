"""Fixtures of the load tests: one gunicorn server on a fresh, migrated PostgreSQL database
for the whole package, and a ``load`` database alias through which the tests seed rows
and read results (the server commits; nothing here is wrapped in a test transaction)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Q

from django_apranova_payments.models import Payment
from django_apranova_payments.testing import sign_payload
from tests.load.server import ServerUnderTest
from tests.testapp.models import SignalTally

ALIAS = "load"
WEBHOOK_PATH = "/billing/v1/webhook/"  # tests/urls.py includes the package under billing/v1/
SERVER_WORKERS = 3  # processes
SERVER_THREADS = 4  # threads in each


@pytest.fixture(scope="package")
def load_server() -> Iterator[ServerUnderTest]:
    with ServerUnderTest(workers=SERVER_WORKERS, threads=SERVER_THREADS) as server:
        yield server


@pytest.fixture(scope="package")
def load_db(load_server: ServerUnderTest, django_db_blocker: Any) -> Iterator[str]:
    """The alias of the server's database in this process."""
    connections.settings[ALIAS] = {**connections.settings["default"], "NAME": load_server.db_name,
                                   "CONN_MAX_AGE": 0}
    with django_db_blocker.unblock():
        try:
            yield ALIAS
        finally:
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]


@pytest.fixture
def webhook_url(load_server: ServerUnderTest) -> str:
    return load_server.url + WEBHOOK_PATH


def sign(body: bytes) -> str:
    return sign_payload(body)


def make_payments(alias: str, count: int, *, per_user: int = 10, metadata: dict[str, str] | None = None
                  ) -> list[Payment]:
    """``count`` pending payments of new users, stored in the server's database."""
    user_model = get_user_model()
    users = user_model._default_manager.db_manager(alias).bulk_create([
        user_model(username=f"load-{token}", email=f"load-{token}@example.com")
        for token in (secrets.token_hex(6) for _ in range(max(1, count // per_user)))
    ])
    currencies = [("usd", Decimal("19.99")), ("eur", Decimal("49.00")), ("inr", Decimal("999.00")),
                  ("gbp", Decimal("0.30"))]
    payments = []
    for i in range(count):
        currency, amount = currencies[i % len(currencies)]
        payments.append(Payment(
            user=users[i % len(users)], stripe_payment_intent=f"pi_{secrets.token_hex(12)}",
            amount=amount, currency=currency, stripe_status="requires_payment_method",
            metadata=dict(metadata or {}),
        ))
    return Payment.objects.using(alias).bulk_create(payments)


def tallies(alias: str, *subjects: str) -> dict[str, int]:
    """Signal counts (see ``tally/receivers.py``) whose name mentions one of ``subjects``
    (PaymentIntent or event ids); all of them without subjects."""
    rows = SignalTally.objects.using(alias).all()
    if subjects:
        wanted = Q()
        for subject in subjects:
            wanted |= Q(name__endswith=f":{subject}") | Q(name__contains=f":{subject}:")
        rows = rows.filter(wanted)
    return dict(rows.values_list("name", "count"))
