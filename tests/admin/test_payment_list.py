"""The payment list as a newcomer meets it: search by the start of an id or of the user's
e-mail, compact columns (live mode only when a live payment exists) in a constant number of
statements, and a payment's events: those of its PaymentIntent, refunds, disputes and charge."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_apranova_payments.models import Dispute, Payment, Refund, WebhookEvent
from tests.factories import PaymentFactory, UserFactory, WebhookEventFactory

CHANGELIST = "admin:apranova_payments_payment_changelist"
EVENT_CHANGELIST = "admin:apranova_payments_webhookevent_changelist"


def listed(response: Any) -> set[str]:
    assert response.status_code == 200, response.content[:500]
    return {p.stripe_payment_intent for p in response.context["cl"].result_list}


def test_search_finds_simulator_payments_by_the_start_of_their_id(admin_client, user):
    simulated = {PaymentFactory(user=user, stripe_payment_intent=f"pi_sim_{n}").stripe_payment_intent
                 for n in range(3)}
    PaymentFactory(user=user, stripe_payment_intent="pi_3Nreal")

    assert listed(admin_client.get(reverse(CHANGELIST), {"q": "pi_sim"})) == simulated
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": "PI_SIM_1"})) == {"pi_sim_1"}
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": "sim"})) == set()


def test_search_finds_a_users_payments_by_the_start_of_the_e_mail(admin_client):
    ann = UserFactory(username="ann", email="Ann.Lee@school.example")
    hers = PaymentFactory(user=ann).stripe_payment_intent
    PaymentFactory(user=UserFactory(username="bob", email="bob@ann.example"))

    assert listed(admin_client.get(reverse(CHANGELIST), {"q": "ann.lee@"})) == {hers}
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": "ann"})) == {hers}  # her username; not bob@ann…


def columns(response: Any) -> list[str]:
    return list(response.context["cl"].list_display)


def test_the_live_mode_column_and_filter_show_only_when_a_live_payment_exists(admin_client, user):
    PaymentFactory(user=user)
    test_only = admin_client.get(reverse(CHANGELIST))
    assert "livemode" not in columns(test_only)
    assert "livemode__exact" not in test_only.content.decode()

    PaymentFactory(user=user, livemode=True)
    with_live = admin_client.get(reverse(CHANGELIST))
    assert "livemode" in columns(with_live)
    assert "livemode__exact" in with_live.content.decode()


def test_the_list_is_compact_amount_and_currency_in_one_unbroken_column(admin_client, user):
    PaymentFactory(user=user, amount="1234.50", currency="usd")

    response = admin_client.get(reverse(CHANGELIST))
    text = response.content.decode()

    assert "apranova_payments/payments.css" in text
    assert columns(response) == [
        "action_checkbox", "display_intent", "display_user", "display_amount", "list_refunded", "display_coupon",
        "status", "display_created",
    ]
    assert '<td class="field-display_amount">$1,234.50</td>' in text


def statements(admin_client: Any, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("search", [{}, {"q": "pi_"}, {"q": "user"}])
def test_the_list_takes_as_many_statements_for_many_payments_as_for_one(admin_client, search):
    PaymentFactory(livemode=True)
    one = statements(admin_client, **search)
    for number in range(12):
        PaymentFactory(livemode=number % 2 == 0)

    assert statements(admin_client, **search) == one


# -- a payment's events: its PaymentIntent's, refunds', disputes' and charge's ------------------------


def stored(payment: Payment, event_type: str) -> WebhookEvent:
    event = WebhookEventFactory(payment=payment, event_type=event_type)
    data = event.payload["data"]["object"]
    event.object_id = data["id"]
    event.save(update_fields=["object_id"])
    if data["object"] == "refund":
        Refund.objects.get_or_create(stripe_refund=data["id"], defaults={
            "payment": payment, "amount": payment.amount, "currency": payment.currency, "status": "succeeded"})
    if data["object"] == "dispute":
        Dispute.objects.get_or_create(stripe_dispute=data["id"], defaults={
            "payment": payment, "amount": payment.amount, "currency": payment.currency, "status": "needs_response"})
    return event


def test_a_payments_events_are_those_of_its_intent_refunds_disputes_and_charge(admin_client, payment):
    types = ["payment_intent.succeeded", "refund.created", "refund.updated", "charge.refunded",
             "charge.dispute.created"]
    mine = {stored(payment, event_type) for event_type in types}
    assert {event.object_id[:3] for event in mine} == {"pi_", "re_", "ch_", "dp_"}
    other = PaymentFactory()
    for event_type in types:
        stored(other, event_type)

    page = admin_client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk]))
    url = f"{reverse(EVENT_CHANGELIST)}?payment={payment.pk}"
    assert f'<a href="{url}">5 events</a>' in page.content.decode()

    response = admin_client.get(reverse(EVENT_CHANGELIST), {"payment": payment.pk})
    assert response.status_code == 200 and "e" not in response.wsgi_request.GET
    assert {e.pk for e in response.context["cl"].result_list} == {e.pk for e in mine}


def test_a_payments_events_are_counted_in_one_statement_whatever_it_has(admin_client, payment):
    for event_type in ("payment_intent.succeeded", "refund.created", "charge.refunded", "charge.dispute.created"):
        stored(payment, event_type)

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk]))

    on_events = [q["sql"] for q in queries if "apranova_payments_webhookevent" in q["sql"]]
    assert len(on_events) == 1 and "COUNT(" in on_events[0].upper()


@pytest.mark.parametrize("value", ["abc", "1 OR 1=1", "99999999"])
def test_a_forged_payment_filter_shows_the_error_page_or_nothing(admin_client, payment, value):
    stored(payment, "payment_intent.succeeded")

    response = admin_client.get(reverse(EVENT_CHANGELIST), {"payment": value})

    if value.isdigit():
        assert response.status_code == 200 and list(response.context["cl"].result_list) == []
    else:
        assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_a_refund_dispute_or_charge_event_links_to_its_payment(admin_client, payment):
    link = reverse("admin:apranova_payments_payment_change", args=[payment.pk])
    PaymentFactory()  # another payment, never linked

    for event_type in ("refund.created", "charge.refunded", "charge.dispute.created"):
        event = stored(payment, event_type)
        text = admin_client.get(reverse("admin:apranova_payments_webhookevent_change", args=[event.pk])).content
        assert f'<a href="{link}">{payment.stripe_payment_intent} '.encode() in text, event_type


def test_a_checkout_payment_is_listed_by_its_session_and_found_by_its_start(admin_client, user):
    waiting = PaymentFactory(user=user, stripe_payment_intent=None, stripe_checkout_session="cs_test_a1b2c3")
    PaymentFactory(user=user)

    response = admin_client.get(reverse(CHANGELIST), {"q": "CS_TEST_A1"})

    assert [p.pk for p in response.context["cl"].result_list] == [waiting.pk]
    assert '<span class="apranova-cut" title="cs_test_a1b2c3">cs_test_a1b2c3</span>' in response.content.decode()


def test_a_checkout_payments_events_include_its_sessions_and_no_event_without_an_object(admin_client, user):
    payment = PaymentFactory(user=user, stripe_payment_intent=None, stripe_checkout_session="cs_test_d4e5")
    session_event = WebhookEventFactory(payment=PaymentFactory(), event_type="checkout.session.completed")
    WebhookEvent.objects.filter(pk=session_event.pk).update(object_id="cs_test_d4e5")
    WebhookEventFactory(payment=PaymentFactory(), object_id="")  # an event with no object: not this payment's

    response = admin_client.get(reverse(EVENT_CHANGELIST), {"payment": payment.pk})

    assert [e.pk for e in response.context["cl"].result_list] == [session_event.pk]
