"""Refunds at the same moment on one payment, through gunicorn worker processes on
PostgreSQL: together they never exceed the payment, and exactly the refunds that fit reach
Stripe (a loopback stand-in that keeps Stripe's own limit and counts every call)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections

from django_apranova_payments.models import Payment, Refund
from tests.load.conftest import tallies
from tests.load.server import ServerUnderTest
from tests.load.stripe_stub import StripeRefundStub
from tests.load.tally.receivers import specific_key

pytestmark = pytest.mark.postgres

ALIAS = "refund_race"
PASSWORD = "correct horse battery staple"
REQUESTS = 12


@pytest.fixture(scope="module")
def stub() -> Iterator[StripeRefundStub]:
    with StripeRefundStub(delay=0.05).running() as running:
        yield running


@pytest.fixture(scope="module")
def server(stub: StripeRefundStub, django_db_blocker: Any) -> Iterator[ServerUnderTest]:
    os.environ["APRANOVA_LOAD_STRIPE_API_BASE"] = stub.url
    try:
        with ServerUnderTest(workers=3, threads=4) as running:
            connections.settings[ALIAS] = {**connections.settings["default"], "NAME": running.db_name,
                                           "CONN_MAX_AGE": 0}
            with django_db_blocker.unblock():
                try:
                    yield running
                finally:
                    connections[ALIAS].close()
                    del connections[ALIAS]
                    del connections.settings[ALIAS]
    finally:
        os.environ.pop("APRANOVA_LOAD_STRIPE_API_BASE", None)


def staff_auth() -> str:
    name = f"staff-{secrets.token_hex(4)}"
    staff = get_user_model()._default_manager.db_manager(ALIAS).create_user(
        username=name, email=f"{name}@example.com", password=PASSWORD, is_staff=True)
    staff.user_permissions.add(Permission.objects.db_manager(ALIAS).get(codename="refund_payment"))
    return "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()


def succeeded_payment(stub: StripeRefundStub, amount: str) -> Payment:
    user = get_user_model()._default_manager.db_manager(ALIAS).create_user(
        username=f"payer-{secrets.token_hex(4)}", email=f"payer-{secrets.token_hex(4)}@example.com")
    payment = Payment.objects.using(ALIAS).create(
        user=user, stripe_payment_intent=f"pi_{secrets.token_hex(12)}", amount=Decimal(amount), currency="usd",
        status=Payment.Status.SUCCEEDED, stripe_status="succeeded")
    stub.amounts[payment.stripe_payment_intent] = (payment.amount_minor, "usd")
    return payment


def refund_at_once(server: ServerUnderTest, payment: Payment, amounts: list[str | None]) -> list[tuple[int, Any]]:
    """POST one refund per entry of ``amounts`` (``None``: all that is left), all released
    together; each answer's status and JSON body."""
    auth = staff_auth()
    path = f"/billing/v1/{payment.stripe_payment_intent}/refund/"
    barrier = threading.Barrier(len(amounts))
    results: list[tuple[int, Any]] = [(0, None)] * len(amounts)

    def post(index: int, amount: str | None) -> None:
        body = json.dumps({} if amount is None else {"amount": amount})
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        barrier.wait()
        try:
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "Authorization": auth, "Connection": "close"})
            response = conn.getresponse()
            results[index] = (response.status, json.loads(response.read() or b"null"))
        finally:
            conn.close()

    threads = [threading.Thread(target=post, args=(i, amount)) for i, amount in enumerate(amounts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return results


@pytest.mark.parametrize("round_number", range(2))
def test_simultaneous_equal_refunds_stop_exactly_when_the_payment_is_used_up(server, stub, round_number):
    payment = succeeded_payment(stub, "50.00")

    results = refund_at_once(server, payment, ["10.00"] * REQUESTS)

    codes = Counter(status for status, _ in results)
    assert codes == {201: 5, 409: REQUESTS - 5}, (results, server.log_tail())
    made = [r for r in stub.refunds if r["payment_intent"] == payment.stripe_payment_intent]
    assert len(made) == stub.requests[payment.stripe_payment_intent] == 5  # only what fits reached Stripe
    payment.refresh_from_db(using=ALIAS)
    assert payment.amount_refunded == Decimal("50.00") and payment.is_fully_refunded
    stored = Refund.objects.using(ALIAS).filter(payment=payment)
    assert sorted(stored.values_list("stripe_refund", flat=True)) == sorted(r["id"] for r in made)
    assert tallies(ALIAS, payment.stripe_payment_intent) == {
        specific_key("payment_refunded", payment.stripe_payment_intent): 5}


def test_simultaneous_refunds_of_different_amounts_never_exceed_the_payment(server, stub):
    payment = succeeded_payment(stub, "50.00")
    amounts = ["20.00", "15.00", None, "7.50", "30.00", "0.01", None, "12.49", "25.00", "5.00"]

    results = refund_at_once(server, payment, amounts)

    assert {status for status, _ in results} <= {201, 400, 409}, (results, server.log_tail())
    accepted = [Decimal(body["amount"]) for status, body in results if status == 201]
    made = [r for r in stub.refunds if r["payment_intent"] == payment.stripe_payment_intent]
    assert len(made) == len(accepted) == stub.requests[payment.stripe_payment_intent]
    assert sum(r["amount"] for r in made) == sum(accepted) * 100 <= 5000
    payment.refresh_from_db(using=ALIAS)
    assert payment.amount_refunded == sum(accepted)
    refused = [body for status, body in results if status == 400]
    assert all(list(body) == ["amount"] and "left to refund" in body["amount"][0] for body in refused)
