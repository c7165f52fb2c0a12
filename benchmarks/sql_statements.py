"""SQL statements per new webhook event, per duplicate event, per refund and dispute event,
per create-payment (also one click with a saved card and with Stripe Tax, whose Stripe calls are
counted too) and
refund request (against StripeMock) and per list page, on PostgreSQL, counted with
``CaptureQueriesContext``.

"data" excludes transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE); "all"
includes it. Create-payment is counted without authentication (``force_authenticate``) and,
for information, with a session login.

    python benchmarks/sql_statements.py [--verbose]
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

from _common import django_on_fresh_database, report

CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)
TARGETS = {"new event": 4, "duplicate event": 2, "create-payment": 3, "new refund event": 4,
           "duplicate refund event": 1, "create-payment, one click (saved card)": 3,
           # a coupon costs at most 2 data statements more than create-payment's 1
           "create-payment with a limited coupon": 3, "create-payment with an unlimited coupon": 3,
           # Checkout: create-payment's statements plus at most one; its events no more than a
           # PaymentIntent's.
           "checkout": 4, "checkout with Idempotency-Key": 4, "checkout.session.completed": 4,
           "payment_intent.succeeded of a Checkout payment": 4,
           # Stripe Tax prices it at Stripe: no statement more than create-payment.
           "create-payment with tax (TAX)": 3,
           # The receipt number: the sequence's UPDATE … RETURNING.
           "new event, receipts on (SELLER: numbered)": 5}
#: Stripe calls of a one-click purchase: retrieve the PaymentMethod, create the PaymentIntent.
ONE_CLICK_STRIPE_CALLS = 2
#: Stripe calls of a taxed create-payment: the tax calculation, the PaymentIntent.
TAXED_STRIPE_CALLS = 2


TASKS_PACKAGE = "django.tasks" if find_spec("django.tasks") else "django_tasks"


class Applied:
    """The task's outcome, answered like a request so ``count`` can check it."""

    def __init__(self, outcome: str) -> None:
        self.status_code = 200 if outcome == "processed" else 500
        self.content = outcome.encode()


def count(action: Callable[[], Any], expect_status: int) -> tuple[int, int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = action()
    assert response.status_code == expect_status, (response.status_code, response.content[:300])
    sql = [q["sql"] for q in captured.captured_queries]
    data = [s for s in sql if not CONTROL.match(s)]
    return len(data), len(sql), sql


def one_click(rows: list[Any], measure: Callable[..., None], api: Any, url: str, body: dict[str, Any],
              user: Any) -> int:
    """Measure create-payment paying with a saved card (SAVE_PAYMENT_METHODS) beside the plain
    one; return the Stripe calls one such request makes."""
    from django.conf import settings
    from django.test import override_settings

    from django_apranova_payments.services.customers import customer_for
    from django_apranova_payments.testing import StripeMock

    saving = override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "SAVE_PAYMENT_METHODS": True})
    with StripeMock() as stripe_mock, saving:
        card = stripe_mock.save_card(customer_for(user).stripe_customer)["id"]
        measure("create-payment, one click (saved card)",
                lambda: api.post(url, {**body, "paymentMethod": card}, format="json"), 201)
        before = len(stripe_mock.calls)
        api.post(url, {**body, "paymentMethod": card}, format="json")
        return len(stripe_mock.calls) - before
def taxed(measure: Callable[..., None], api: Any, url: str, body: dict[str, Any]) -> int:
    """Measure create-payment with ``TAX`` (a German buyer, 19% VAT on top); return the Stripe
    calls one such request makes."""
    from django.conf import settings
    from django.test import override_settings

    from django_apranova_payments.testing import StripeMock

    tax = {"TAX": {"tax_code": "txcd_10000000", "behavior": "exclusive"}, "SELLER": {"name": "School"}}
    taxed_body = {**body, "billingAddress": {"country": "DE", "postalCode": "10115"}}
    with StripeMock() as stripe_mock, override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, **tax}):
        measure("create-payment with tax (TAX)", lambda: api.post(url, taxed_body, format="json"), 201)
        before = len(stripe_mock.calls)
        api.post(url, taxed_body, format="json")
        return len(stripe_mock.calls) - before


def checkout_rows(api: Any, client: Any, measure: Callable[..., None]) -> list[tuple[str, int, int, list[str]]]:
    """POST checkout/ (measured like create-payment), then the events that complete a Checkout
    payment: its Session's ``checkout.session.completed``, or its PaymentIntent's
    ``payment_intent.succeeded`` arriving first (found through the reference in its metadata)."""
    from django.conf import settings
    from django.test import override_settings
    from django.urls import reverse

    from django_apranova_payments.conf import STRIPE_API_VERSION
    from django_apranova_payments.testing import StripeMock, post_event, stripe_objects

    url = reverse("apranova_payments:checkout-session")
    body = {"amount": "19.99", "currency": "usd", "metadata": {"course": "12"},
            "successUrl": "https://shop.example/paid", "cancelUrl": "https://shop.example/cart"}
    rows: list[tuple[str, int, int, list[str]]] = []
    with StripeMock() as stripe_mock, override_settings(
        APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "CHECKOUT_REDIRECT_HOSTS": ["shop.example"]}
    ):
        measure("checkout", lambda: api.post(url, body, format="json"), 201)
        keyed = iter(range(10))
        measure("checkout with Idempotency-Key",
                lambda: api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"c{next(keyed)}"), 201)
        sessions = [api.post(url, body, format="json").json()["checkoutSession"] for _ in range(2)]
        session, _ = stripe_mock.pay_session(sessions[0])
        _, intent = stripe_mock.pay_session(sessions[1])
        completed = stripe_objects.event(session, "checkout.session.completed", api_version=STRIPE_API_VERSION)
        succeeded = stripe_objects.event(intent, "payment_intent.succeeded", api_version=STRIPE_API_VERSION)
        rows.append(("checkout.session.completed", *count(lambda: post_event(client, completed), 200)))
        rows.append(("payment_intent.succeeded of a Checkout payment", *count(lambda: post_event(client, succeeded),
                                                                               200)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every statement")
    args = parser.parse_args()

    with django_on_fresh_database("apranova_bench_sql"):
        from django.conf import settings
        from django.test import Client
        from django.urls import reverse
        from rest_framework.test import APIClient
        from tests.factories import PaymentFactory, UserFactory, staff_holding

        from django_apranova_payments.testing import StripeMock, build_event, post_event

        rows: list[tuple[str, int, int, list[str]]] = []

        def measure(name: str, action: Callable[[], Any], status: int = 200) -> None:
            action()  # warm caches (content types, prepared settings) outside the count
            rows.append((name, *count(action, status)))

        user = UserFactory()
        client = Client()
        events = iter(build_event(PaymentFactory(user=user), "payment_intent.succeeded") for _ in range(3))
        first = next(events)
        post_event(client, first)  # warm-up: the first request of the process
        new_event = [next(events)]
        rows.append(("new event", *count(lambda: post_event(client, new_event[0]), 200)))
        rows.append(("duplicate event", *count(lambda: post_event(client, new_event[0]), 200)))
        from django.test import override_settings

        with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "SELLER": {"name": "School"}}):
            post_event(client, build_event(PaymentFactory(user=user), "payment_intent.succeeded"))  # the first receipt
            numbered = build_event(PaymentFactory(user=user), "payment_intent.succeeded")
            rows.append(("new event, receipts on (SELLER: numbered)", *count(lambda: post_event(client, numbered),
                                                                              200)))
        unknown = build_event({"id": "pi_unknown", "object": "payment_intent", "amount": 100, "currency": "usd",
                               "status": "succeeded", "metadata": {}}, "payment_intent.succeeded")
        rows.append(("event for an unknown PaymentIntent", *count(lambda: post_event(client, unknown), 200)))

        # Task mode (WEBHOOK_PROCESSING = "task"): the request, whose enqueue DummyBackend keeps
        # in memory (a real backend adds its own: django-tasks-db one INSERT, Celery a publish),
        # then the task, applying the stored event.
        from django.test import override_settings

        from django_apranova_payments.models import WebhookEvent
        from django_apranova_payments.webhooks import apply_stored

        task_mode = override_settings(
            TASKS={"default": {"BACKEND": f"{TASKS_PACKAGE}.backends.dummy.DummyBackend"}},
            APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_PROCESSING": "task"},
        )
        with task_mode:
            queued = build_event(PaymentFactory(user=user), "payment_intent.succeeded")
            rows.append(("new event, task mode: the request",
                         *count(lambda: post_event(client, queued, apply=False), 200)))
            stored = WebhookEvent.objects.get(stripe_id=queued["id"]).pk
            rows.append(("new event, task mode: the task", *count(lambda: Applied(apply_stored(stored)), 200)))
            rows.append(("duplicate event, task mode: the request",
                         *count(lambda: post_event(client, queued), 200)))

        # Refund events of succeeded payments: a refund made in Stripe's Dashboard, as Stripe
        # sends it (refund.created, succeeded), the same event again; then a pending one and its
        # status change.
        from django_apranova_payments.models import Payment
        from django_apranova_payments.testing import build_dispute, build_refund

        def succeeded() -> Any:
            return PaymentFactory(user=user, status=Payment.Status.SUCCEEDED)

        post_event(client, build_event(build_refund(succeeded()), "refund.created"))  # warm-up
        refund_event = build_event(build_refund(succeeded(), 500), "refund.created")
        rows.append(("new refund event", *count(lambda: post_event(client, refund_event), 200)))
        rows.append(("duplicate refund event", *count(lambda: post_event(client, refund_event), 200)))
        refund = build_refund(succeeded(), 500, status="pending")
        pending = build_event(refund, "refund.created")
        rows.append(("new refund event, pending", *count(lambda: post_event(client, pending), 200)))
        moved = build_event({**refund, "status": "succeeded"}, "refund.updated")
        rows.append(("refund.updated, pending -> succeeded", *count(lambda: post_event(client, moved), 200)))
        dispute_event = build_event(build_dispute(succeeded()), "charge.dispute.created")
        rows.append(("new dispute event", *count(lambda: post_event(client, dispute_event), 200)))

        create_url = reverse("apranova_payments:create-payment")
        body = {"amount": "19.99", "currency": "usd", "metadata": {"course": "12"}}
        api = APIClient()
        api.force_authenticate(user)
        with StripeMock():
            measure("create-payment", lambda: api.post(create_url, body, format="json"), 201)
            keyed = iter(range(10))
            measure("create-payment with Idempotency-Key",
                    lambda: api.post(create_url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{next(keyed)}"), 201)
            from decimal import Decimal

            from django_apranova_payments.models import Coupon

            # One student buying again and again: no per-student limit, so each purchase redeems.
            Coupon.objects.create(code="LIMITED", percent_off=Decimal(25), max_redemptions=1000,
                                  max_redemptions_per_user=None)
            Coupon.objects.create(code="UNLIMITED", percent_off=Decimal(25), max_redemptions_per_user=None)
            for code in ("limited", "unlimited"):
                with_coupon = {**body, "coupon": code}
                measure(f"create-payment with {'an' if code == 'unlimited' else 'a'} {code} coupon",
                        lambda b=with_coupon: api.post(create_url, b, format="json"), 201)
            session = APIClient()
            session.force_login(user)
            measure("create-payment, session login (incl. auth)",
                    lambda: session.post(create_url, body, format="json"), 201)
        stripe_calls = one_click(rows, measure, api, create_url, body, user)
        taxed_calls = taxed(measure, api, create_url, body)

        rows.extend(checkout_rows(api, client, measure))

        staff = APIClient()
        staff.force_authenticate(staff_holding("refund_payment"))
        with StripeMock() as stripe_mock:
            from django_apranova_payments.testing import build_payment_intent

            def refundable() -> str:
                payment = succeeded()
                stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
                return reverse("apranova_payments:payment-refund", args=[payment.stripe_payment_intent])

            urls = iter([refundable(), refundable()])  # the payments exist before the count
            measure("refund request", lambda: staff.post(next(urls), {"amount": "5.00"}, format="json"), 201)

        list_url = reverse("apranova_payments:payment-list")
        for size in (5, 50, 500):
            owner = UserFactory()
            PaymentFactory.create_batch(size, user=owner)
            reader = APIClient()
            reader.force_authenticate(owner)
            measure(f"list page 1, user with {size} payments", lambda r=reader: r.get(list_url))
            next_url = json.loads(reader.get(list_url).content)["next"]
            if next_url:
                measure(f"list page 2, user with {size} payments", lambda r=reader, u=next_url: r.get(u))

    lines = [f"   {'what':<48} {'data':>5} {'all':>5}  target (data)"]
    for name, data, everything, sql in rows:
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target}: {'met' if data <= target else 'MISSED'}"
        lines.append(f"   {name:<48} {data:>5} {everything:>5}  {verdict}")
        if args.verbose:
            lines.extend(f"       {s[:160]}" for s in sql)
    lines.append("   floor webhook view (benchmarks/floor.py): 1 statement, an UPDATE in autocommit")
    verdict = "met" if stripe_calls <= ONE_CLICK_STRIPE_CALLS else "MISSED"
    lines.append(f"   Stripe calls of a one-click purchase: {stripe_calls}  <= {ONE_CLICK_STRIPE_CALLS}: {verdict}")
    verdict = "met" if taxed_calls == TAXED_STRIPE_CALLS else "MISSED"
    lines.append(f"   Stripe calls of a taxed create-payment: {taxed_calls}  == {TAXED_STRIPE_CALLS}: {verdict}")
    report("SQL statements per request (PostgreSQL)", lines)


if __name__ == "__main__":
    main()
