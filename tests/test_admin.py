"""admin.py: read-only payment records, search, filters and the refresh-from-Stripe action."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from django_apranova_payments.admin import PaymentAdmin
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory, UserFactory, WebhookEventFactory

CHANGELIST = "admin:apranova_payments_payment_changelist"


def change_url(obj: Payment | WebhookEvent) -> str:
    return reverse(f"admin:apranova_payments_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def superuser(db: Any) -> Any:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client: Any, superuser: Any) -> Any:
    client.force_login(superuser)
    return client


def listed(response: Any) -> set[str]:
    assert response.status_code == 200, response.content[:500]
    return {p.stripe_payment_intent for p in response.context["cl"].result_list}


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def refresh(admin_client: Any, payments: list[Payment]) -> Any:
    return admin_client.post(
        reverse(CHANGELIST),
        {"action": "refresh_from_stripe", "_selected_action": [p.pk for p in payments]},
        follow=True,
    )


# -- rendering ------------------------------------------------------------------------------


def test_payment_changelist_renders_with_formatted_amounts(admin_client, user):
    PaymentFactory(user=user, amount="19.99", currency="usd")
    PaymentFactory(user=user, amount="1000", currency="jpy")

    response = admin_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    text = response.content.decode()
    assert "19.99" in text and "1000" in text and "USD" in text.upper()


def test_payment_change_page_renders(admin_client, user):
    payment = PaymentFactory(user=user, metadata={"course": "12"}, failure_message="Declined <b>")

    response = admin_client.get(change_url(payment))

    assert response.status_code == 200
    text = response.content.decode()
    assert payment.stripe_payment_intent in text
    assert "Declined &lt;b&gt;" in text


def test_staff_without_permission_cannot_see_payments(client, db, payment):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(reverse(CHANGELIST)).status_code == 403


# -- search and filters --------------------------------------------------------------------------


def test_search_by_exact_payment_intent_id(admin_client, user):
    wanted, _ = PaymentFactory(user=user), PaymentFactory(user=user)

    assert listed(admin_client.get(reverse(CHANGELIST), {"q": wanted.stripe_payment_intent})) == {
        wanted.stripe_payment_intent
    }
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": wanted.stripe_payment_intent[:8]})) == set()


@pytest.mark.parametrize("field", ["username", "email"])
def test_search_by_the_users_username_or_email(admin_client, field):
    alice = UserFactory(username="alice-learner", email="alice@school.example")
    bob = UserFactory(username="bob-learner", email="bob@school.example")
    hers, _ = PaymentFactory(user=alice), PaymentFactory(user=bob)
    term = {"username": "alice-lear", "email": "alice@school"}[field]

    assert listed(admin_client.get(reverse(CHANGELIST), {"q": term})) == {hers.stripe_payment_intent}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "failed"}, {"failed-usd"}),
        ({"currency__exact": "inr"}, {"succeeded-inr"}),
        ({"livemode__exact": "1"}, {"live"}),
        ({"status__exact": "succeeded", "currency__exact": "inr"}, {"succeeded-inr"}),
    ],
)
def test_filters_by_status_currency_and_livemode(admin_client, user, params, expected):
    names = {
        "failed-usd": PaymentFactory(user=user, status="failed"),
        "succeeded-inr": PaymentFactory(user=user, status="succeeded", currency="inr", amount="500.00"),
        "live": PaymentFactory(user=user, livemode=True),
    }
    by_id = {p.stripe_payment_intent: name for name, p in names.items()}

    result = listed(admin_client.get(reverse(CHANGELIST), params))

    assert {by_id[i] for i in result} == expected


def test_filter_by_created_date(admin_client, user):
    old, new = PaymentFactory(user=user), PaymentFactory(user=user)
    Payment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"created_at__gte": str(midnight), "created_at__lt": str(midnight + timedelta(days=1))}

    assert listed(admin_client.get(reverse(CHANGELIST), params)) == {new.stripe_payment_intent}
    assert old.stripe_payment_intent in listed(admin_client.get(reverse(CHANGELIST)))


def test_date_hierarchy_drilldown(admin_client, user):
    payment = PaymentFactory(user=user)
    year = timezone.localdate().year

    assert listed(admin_client.get(reverse(CHANGELIST), {"created_at__year": year})) == {
        payment.stripe_payment_intent
    }


# -- read-only money, no add -------------------------------------------------------------------


def test_money_and_stripe_fields_are_read_only():
    model_admin = PaymentAdmin(Payment, admin.site)
    read_only = set(model_admin.get_readonly_fields(None))

    assert {"amount", "currency", "status", "stripe_payment_intent", "user", "livemode"} <= read_only


def test_change_form_has_no_input_for_amount(admin_client, payment):
    text = admin_client.get(change_url(payment)).content.decode()

    assert 'name="amount"' not in text and 'name="currency"' not in text and 'name="status"' not in text


def test_posting_the_change_form_cannot_change_the_amount(admin_client, payment):
    admin_client.post(change_url(payment), {
        "amount": "0.50", "currency": "inr", "status": "succeeded", "_save": "Save",
    })

    payment.refresh_from_db()
    assert (str(payment.amount), payment.currency, payment.status) == ("999.00", "usd", "pending")


def test_payments_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:apranova_payments_payment_add")).status_code == 403
    changelist = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert reverse("admin:apranova_payments_payment_add") not in changelist


# -- the refresh action --------------------------------------------------------------------------


def test_refresh_action_applies_statuses_from_stripe(admin_client, user, stripe_mock):
    succeeded, unchanged = PaymentFactory(user=user), PaymentFactory(user=user)
    stripe_mock.intents[succeeded.stripe_payment_intent] = build_payment_intent(succeeded, "succeeded")
    stripe_mock.intents[unchanged.stripe_payment_intent] = build_payment_intent(unchanged)

    response = refresh(admin_client, [succeeded, unchanged])

    assert response.status_code == 200
    assert Payment.objects.get(pk=succeeded.pk).status == "succeeded"
    assert Payment.objects.get(pk=unchanged.pk).status == "pending"
    assert messages_of(response) == ["Refreshed from Stripe: 1 changed, 1 unchanged."]
    assert len(stripe_mock.calls_to("retrieve")) == 2


def test_refresh_action_reports_errors_per_payment_and_carries_on(admin_client, user, stripe_mock):
    # The action walks the payments newest first: Stripe is down for the first, does not
    # know the second, and answers for the third.
    now = timezone.now()
    unavailable, missing, good = (PaymentFactory(user=user) for _ in range(3))
    for age, payment in enumerate((unavailable, missing, good)):
        Payment.objects.filter(pk=payment.pk).update(created_at=now - timedelta(minutes=age))
    for payment in (unavailable, good):
        stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    stripe_mock.fail_next("retrieve", status=500)

    response = refresh(admin_client, [unavailable, missing, good])

    assert response.status_code == 200
    assert messages_of(response) == [
        f"{unavailable.stripe_payment_intent}: The payment provider is unavailable. Try again shortly.",
        f"{missing.stripe_payment_intent}: The payment provider rejected the request.",
        "Refreshed from Stripe: 1 changed, 0 unchanged.",
    ]
    statuses = dict(Payment.objects.values_list("stripe_payment_intent", "status"))
    assert statuses == {
        unavailable.stripe_payment_intent: "pending",
        missing.stripe_payment_intent: "pending",
        good.stripe_payment_intent: "succeeded",
    }


def test_refresh_action_survives_a_response_that_is_not_a_payment_intent(admin_client, payment, stripe_mock):
    stripe_mock.fail_next("retrieve", status=200)  # a 200 whose body is an error object

    response = refresh(admin_client, [payment])

    assert response.status_code == 200
    assert messages_of(response)[0].startswith(f"{payment.stripe_payment_intent}: ")
    assert Payment.objects.get(pk=payment.pk).status == "pending"


# -- webhook events --------------------------------------------------------------------------------


def test_webhook_event_changelist_renders(admin_client, db):
    event = WebhookEventFactory()

    response = admin_client.get(reverse("admin:apranova_payments_webhookevent_changelist"))

    assert response.status_code == 200
    assert event.stripe_id in response.content.decode()


def test_webhook_event_search_by_payment_intent(admin_client, db):
    event, _ = WebhookEventFactory(), WebhookEventFactory()

    response = admin_client.get(
        reverse("admin:apranova_payments_webhookevent_changelist"), {"q": event.object_id}
    )

    assert [e.pk for e in response.context["cl"].result_list] == [event.pk]


def test_webhook_event_detail_shows_the_payload_pretty_and_escaped(admin_client, db):
    event = WebhookEventFactory()
    event.payload["data"]["object"]["metadata"]["note"] = "<script>alert(1)</script>"
    event.save()

    response = admin_client.get(change_url(event))

    assert response.status_code == 200
    text = response.content.decode()
    assert "<pre>{\n" in text
    assert f'  &quot;id&quot;: &quot;{event.stripe_id}&quot;' in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)</script>" not in text


def test_webhook_events_are_read_only(admin_client, db):
    event = WebhookEventFactory()

    text = admin_client.get(change_url(event)).content.decode()
    admin_client.post(change_url(event), {"outcome": "failed", "error": "x"})

    assert 'name="outcome"' not in text
    assert WebhookEvent.objects.get(pk=event.pk).outcome == "processed"
    assert admin_client.get(reverse("admin:apranova_payments_webhookevent_add")).status_code == 403
