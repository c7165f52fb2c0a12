"""admin/payments.py and admin/events.py: read-only records, search, filters, links, and actions
that need change permission."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_apranova_payments.admin.events import without_secrets
from django_apranova_payments.admin.payments import PaymentAdmin
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory, UserFactory, WebhookEventFactory

CHANGELIST = "admin:apranova_payments_payment_changelist"
EVENT_CHANGELIST = "admin:apranova_payments_webhookevent_changelist"
SAVE_BUTTONS = ('name="_save"', 'name="_continue"', 'name="_addanother"', 'name="_saveasnew"')


def change_url(obj: Payment | WebhookEvent) -> str:
    return reverse(f"admin:apranova_payments_{obj._meta.model_name}_change", args=[obj.pk])


def delete_url(obj: Payment | WebhookEvent) -> str:
    return reverse(f"admin:apranova_payments_{obj._meta.model_name}_delete", args=[obj.pk])


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


def test_search_by_payment_intent_id_or_its_start(admin_client, user):
    wanted, _ = PaymentFactory(user=user), PaymentFactory(user=user)

    assert listed(admin_client.get(reverse(CHANGELIST), {"q": wanted.stripe_payment_intent})) == {
        wanted.stripe_payment_intent
    }
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": wanted.stripe_payment_intent[:12]})) == {
        wanted.stripe_payment_intent
    }
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": wanted.stripe_payment_intent[3:]})) == set()


@pytest.mark.parametrize("field", ["username", "email"])
def test_search_by_the_users_username_or_email(admin_client, field):
    alice = UserFactory(username="alice-learner", email="alice@school.example")
    bob = UserFactory(username="bob-learner", email="bob@school.example")
    hers, _ = PaymentFactory(user=alice), PaymentFactory(user=bob)
    term = {"username": "Alice-Lear", "email": "alice@school"}[field]

    assert listed(admin_client.get(reverse(CHANGELIST), {"q": term})) == {hers.stripe_payment_intent}
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": "learner"})) == set()  # by the start only


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


# -- who may run the actions -------------------------------------------------------------------


def offered_actions(response: Any) -> set[str]:
    assert response.status_code == 200, response.content[:500]
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def replay(client: Any, events: list[WebhookEvent]) -> Any:
    return client.post(
        reverse(EVENT_CHANGELIST),
        {"action": "process_again", "_selected_action": [e.pk for e in events]},
        follow=True,
    )


@pytest.fixture
def failed_event(payment: Payment) -> WebhookEvent:
    """A stored ``payment_intent.succeeded`` for the pending ``payment`` whose processing failed."""
    return WebhookEventFactory(payment=payment, outcome="failed", attempts=1, error="RuntimeError: down")


def test_view_only_staff_is_not_offered_the_refresh_action_and_posting_it_does_nothing(
    client, payment, stripe_mock, staff_with
):
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    client.force_login(staff_with("view_payment"))

    assert offered_actions(client.get(reverse(CHANGELIST))) == {"export_csv"}  # a view of the data
    response = refresh(client, [payment])

    assert response.status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert stripe_mock.calls_to("retrieve") == []


def test_staff_with_change_permission_can_refresh_payments(client, payment, stripe_mock, staff_with):
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    client.force_login(staff_with("view_payment", "change_payment"))

    # Refunding is refund_payment's (tests/security/test_permissions.py), not change_payment's.
    assert offered_actions(client.get(reverse(CHANGELIST))) == {"refresh_from_stripe", "export_csv"}
    response = refresh(client, [payment])

    assert messages_of(response) == ["Refreshed from Stripe: 1 changed, 0 unchanged."]
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


def test_view_only_staff_is_not_offered_the_replay_action_and_posting_it_does_nothing(
    client, payment, failed_event, staff_with
):
    client.force_login(staff_with("view_webhookevent", "view_payment", "change_payment"))

    assert offered_actions(client.get(reverse(EVENT_CHANGELIST))) == set()
    response = replay(client, [failed_event])

    assert response.status_code == 200
    failed_event.refresh_from_db()
    assert (failed_event.outcome, failed_event.attempts) == ("failed", 1)
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_staff_with_change_permission_can_replay_events(client, payment, failed_event, staff_with):
    client.force_login(staff_with("view_webhookevent", "change_webhookevent"))

    assert offered_actions(client.get(reverse(EVENT_CHANGELIST))) == {"process_again"}
    response = replay(client, [failed_event])

    assert messages_of(response) == ["Processed again: 1 processed."]
    failed_event.refresh_from_db()
    assert (failed_event.outcome, failed_event.attempts) == ("processed", 2)
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


def test_staff_without_payments_permissions_cannot_post_either_action(
    client, payment, failed_event, stripe_mock, staff_with
):
    client.force_login(staff_with())

    assert refresh(client, [payment]).status_code == 403
    assert replay(client, [failed_event]).status_code == 403
    assert stripe_mock.calls_to("retrieve") == []
    assert WebhookEvent.objects.get(pk=failed_event.pk).attempts == 1


# -- nothing is deleted ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["payment", "webhookevent"])
def test_nobody_can_delete_a_record_not_even_a_superuser(admin_client, db, model):
    record = PaymentFactory() if model == "payment" else WebhookEventFactory()

    assert admin_client.get(delete_url(record)).status_code == 403
    assert admin_client.post(delete_url(record), {"post": "yes"}).status_code == 403
    assert type(record).objects.filter(pk=record.pk).exists()
    assert 'class="deletelink"' not in admin_client.get(change_url(record)).content.decode()


@pytest.mark.parametrize(("changelist", "model"), [(CHANGELIST, "payment"), (EVENT_CHANGELIST, "webhookevent")])
def test_bulk_delete_is_not_offered_and_posting_it_deletes_nothing(admin_client, db, changelist, model):
    record = PaymentFactory() if model == "payment" else WebhookEventFactory()

    assert "delete_selected" not in offered_actions(admin_client.get(reverse(changelist)))
    admin_client.post(
        reverse(changelist), {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"}
    )

    assert type(record).objects.filter(pk=record.pk).exists()


# -- read-only pages: no Save button, POST refused ----------------------------------------------------


@pytest.mark.parametrize("codenames", [None, ("change_payment", "change_webhookevent")])
@pytest.mark.parametrize("model", ["payment", "webhookevent"])
def test_record_pages_have_no_save_buttons(client, db, model, codenames, staff_with):
    # A superuser, and staff holding the change permission only (which implies viewing).
    client.force_login(staff_with(*codenames) if codenames else UserFactory(is_staff=True, is_superuser=True))
    record = PaymentFactory() if model == "payment" else WebhookEventFactory()

    response = client.get(change_url(record))

    assert response.status_code == 200
    text = response.content.decode()
    assert not [button for button in SAVE_BUTTONS if button in text]
    form = text.split('id="content-main"')[1].split('class="submit-row"')[0]
    inputs = re.findall(r"<(?:input|textarea|select)\b[^>]*>", form)
    assert [tag for tag in inputs if 'name="csrfmiddlewaretoken"' not in tag] == []


def test_posting_a_payment_page_is_refused_and_changes_nothing(admin_client, payment):
    before = Payment.objects.values().get(pk=payment.pk)

    response = admin_client.post(change_url(payment), {
        "amount": "0.50", "status": "succeeded", "failure_message": "edited", "_save": "Save",
    })

    assert response.status_code == 403
    assert Payment.objects.values().get(pk=payment.pk) == before  # updated_at too: no save at all
    assert not LogEntry.objects.exists()


def test_posting_an_event_page_is_refused_and_changes_nothing(admin_client, db):
    event = WebhookEventFactory()
    before = WebhookEvent.objects.values().get(pk=event.pk)

    response = admin_client.post(change_url(event), {"outcome": "failed", "note": "edited", "_continue": "1"})

    assert response.status_code == 403
    assert WebhookEvent.objects.values().get(pk=event.pk) == before
    assert not LogEntry.objects.exists()


# -- each payment links to its events, each event to its payment ---------------------------------------


def test_payment_page_links_to_its_events_with_their_count(admin_client, payment):
    WebhookEventFactory(payment=payment), WebhookEventFactory(payment=payment), WebhookEventFactory()
    url = f"{reverse(EVENT_CHANGELIST)}?payment={payment.pk}"

    text = admin_client.get(change_url(payment)).content.decode()

    assert f'<a href="{url}">2 events</a>' in text


def test_payment_page_with_no_events_says_so(admin_client, payment):
    text = admin_client.get(change_url(payment)).content.decode()

    assert ">0 events</a>" in text


def test_events_changelist_filters_by_object_id(admin_client, payment):
    mine = {WebhookEventFactory(payment=payment).pk, WebhookEventFactory(payment=payment).pk}
    WebhookEventFactory()

    response = admin_client.get(reverse(EVENT_CHANGELIST), {"object_id": payment.stripe_payment_intent})

    assert response.status_code == 200 and "e" not in response.wsgi_request.GET
    assert {e.pk for e in response.context["cl"].result_list} == mine


def test_event_page_links_to_its_payment(admin_client, payment):
    event = WebhookEventFactory(payment=payment)
    link = reverse("admin:apranova_payments_payment_change", args=[payment.pk])

    text = admin_client.get(change_url(event)).content.decode()

    assert f'<a href="{link}">{payment.stripe_payment_intent} ' in text


def test_event_for_an_unknown_payment_intent_shows_a_dash(admin_client, db):
    event = WebhookEventFactory(object_id="pi_not_ours")
    event_without_object = WebhookEventFactory(object_id="")

    for record in (event, event_without_object):
        response = admin_client.get(change_url(record))
        assert response.status_code == 200
        assert not re.search(r'href="[^"]*/payment/\d+/change/"', response.content.decode())
        assert '<div class="readonly">—</div>' in response.content.decode()


def test_links_escape_ids_taken_from_stripe_payloads(admin_client, user):
    hostile = 'pi_"><script>alert(1)</script>\'x'
    payment = PaymentFactory(user=user, stripe_payment_intent=hostile)
    event = WebhookEventFactory(payment=payment)

    payment_page = admin_client.get(change_url(payment)).content.decode()
    event_page = admin_client.get(change_url(event)).content.decode()
    filtered = admin_client.get(reverse(EVENT_CHANGELIST), {"object_id": hostile})

    for text in (payment_page, event_page):
        assert "<script>alert(1)</script>" not in text
    assert f"?payment={payment.pk}" in payment_page
    assert "pi_&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;x " in event_page
    assert [e.pk for e in filtered.context["cl"].result_list] == [event.pk]


def test_links_are_shown_only_to_staff_who_may_follow_them(client, payment, staff_with):
    event = WebhookEventFactory(payment=payment)
    events_link = f"{reverse(EVENT_CHANGELIST)}?payment="
    payment_link = reverse("admin:apranova_payments_payment_change", args=[payment.pk])

    client.force_login(staff_with("view_payment"))
    assert events_link not in client.get(change_url(payment)).content.decode()
    client.force_login(staff_with("view_webhookevent"))
    assert payment_link not in client.get(change_url(event)).content.decode()
    client.force_login(staff_with("view_payment", "view_webhookevent"))
    assert events_link in client.get(change_url(payment)).content.decode()
    assert payment_link in client.get(change_url(event)).content.decode()


def test_payment_page_counts_events_in_one_query(admin_client, payment):
    for _ in range(3):
        WebhookEventFactory(payment=payment)

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(change_url(payment))

    on_events = [q["sql"] for q in queries if "apranova_payments_webhookevent" in q["sql"]]
    assert len(on_events) == 1 and "COUNT(" in on_events[0].upper()


# -- client_secret never shown -----------------------------------------------------------------------


def test_event_page_never_shows_a_client_secret(admin_client, db):
    event = WebhookEventFactory()
    event.payload["data"]["object"]["client_secret"] = "pi_x_secret_y"
    event.payload["data"]["previous_attributes"] = {"charges": [{"client_secret": "pi_x_secret_z"}]}
    event.save()

    text = admin_client.get(change_url(event)).content.decode()

    assert "pi_x_secret_y" not in text and "pi_x_secret_z" not in text
    assert "&quot;client_secret&quot;: &quot;[removed]&quot;" in text
    assert event.stripe_id in text


def test_without_secrets_walks_nested_dicts_and_lists_and_keeps_the_rest():
    payload = {"a": [{"client_secret": "s1", "b": 1}], "client_secret": "s2", "c": {"d": "client_secret"}}

    assert without_secrets(payload) == {
        "a": [{"client_secret": "[removed]", "b": 1}], "client_secret": "[removed]", "c": {"d": "client_secret"},
    }
    assert payload["client_secret"] == "s2"  # the stored payload is not touched


def test_the_price_filter_tells_free_payments_from_paid_ones(admin_client):
    free = PaymentFactory(stripe_payment_intent="free_0123456789abcdef", amount="0.00", status="succeeded")
    paid = PaymentFactory(status="succeeded")
    url = reverse("admin:apranova_payments_payment_changelist")

    only_free = admin_client.get(url, {"price": "free"}).content.decode()
    only_paid = admin_client.get(url, {"price": "paid"}).content.decode()

    assert free.stripe_payment_intent in only_free and paid.stripe_payment_intent not in only_free
    assert paid.stripe_payment_intent in only_paid and free.stripe_payment_intent not in only_paid
