"""admin/refunds.py and admin/disputes.py: read-only inlines and lists with their filters, the amount
refunded, and the "Refund…" action and button, attacked from every side (permissions, GET,
CSRF, forged amounts, a tampered selection, a double submit)."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_apranova_payments import exceptions, signals
from django_apranova_payments.admin import refunds as admin_refunds
from django_apranova_payments.conf import app_settings
from django_apranova_payments.gateway import DisputeData, StripeGateway
from django_apranova_payments.models import Dispute, Payment, Refund
from django_apranova_payments.refunds import apply_dispute
from django_apranova_payments.testing import build_payment_intent, capture_signals
from tests.factories import PaymentFactory, UserFactory

CHANGELIST = "admin:apranova_payments_payment_changelist"
REFUNDS = "admin:apranova_payments_refund_changelist"
DISPUTES = "admin:apranova_payments_dispute_changelist"


# -- helpers ---------------------------------------------------------------------------------------


def paid(stripe_mock: Any, user: Any = None, amount: str = "100.00", currency: str = "usd", **kwargs: Any) -> Payment:
    """A succeeded payment that the mocked Stripe knows as succeeded."""
    payment = PaymentFactory(
        status="succeeded", stripe_status="succeeded", amount=Decimal(amount), currency=currency,
        **({"user": user} if user is not None else {}), **kwargs,
    )
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    return payment


def disputed(stripe_mock: Any, payment: Payment, status: str = "needs_response") -> Dispute:
    dispute = stripe_mock.dispute(payment.stripe_payment_intent, status)
    result = apply_dispute(payment, DisputeData.from_dict(dispute))
    assert result.created
    return result.obj


def change_url(obj: Any) -> str:
    return reverse(f"admin:apranova_payments_{obj._meta.model_name}_change", args=[obj.pk])


def refund_url(payment: Payment) -> str:
    return reverse("admin:apranova_payments_payment_refund", args=[payment.pk])


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def listed(response: Any) -> list[Any]:
    assert response.status_code == 200, response.content[:500]
    return list(response.context["cl"].result_list)


def start(client: Client, payments: list[Payment], url: str | None = None) -> Any:
    """The action's first POST: the confirmation page."""
    return client.post(url or reverse(CHANGELIST), {"action": "refund", "_selected_action": [p.pk for p in payments]})


def confirmation(response: Any) -> dict[str, Any]:
    """The form fields of a confirmation page, as a browser would post them back."""
    assert response.status_code == 200, response.content[:500]
    text = response.content.decode()
    assert "<form" in text
    form = response.context["form"]
    return {
        "token": form["token"].value(),
        "_selected_action": re.findall(r'name="_selected_action" value="(\d+)"', text),
        "action": "refund" if 'name="action" value="refund"' in text else None,
    }


def submit(client: Client, page: Any, url: str | None = None, follow: bool = True, **fields: Any) -> Any:
    data = {k: v for k, v in confirmation(page).items() if v}
    data.update({"reason": "requested_by_customer", "confirm": "on", "apply": "Refund at Stripe"})
    data.update({k: v for k, v in fields.items() if v is not None})
    for name, value in fields.items():
        if value is None:
            data.pop(name, None)
    return client.post(url or reverse(CHANGELIST), data, follow=follow)


def refund(client: Client, payments: list[Payment], **fields: Any) -> Any:
    return submit(client, start(client, payments), **fields)


# -- payment pages and lists: inlines, amount refunded, filters -----------------------------------------


def test_payment_page_shows_its_refunds_and_disputes_read_only(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)
    refund(admin_client, [payment], amount="10.00")
    dispute = disputed(stripe_mock, payment)
    made = Refund.objects.get()

    response = admin_client.get(change_url(payment))

    text = response.content.decode()
    assert response.status_code == 200
    assert made.stripe_refund in text and dispute.stripe_dispute in text
    assert "$10.00" in text and "Needs response" in text and "Requested by customer" in text
    assert "field-amount_refunded" not in text  # once, with its currency:
    assert re.search(r'field-display_refunded">.*?<div class="readonly">\$10.00</div>', text, re.S)
    assert f'href="{change_url(made)}"' in text and f'href="{change_url(dispute)}"' in text
    form = text.split('id="content-main"')[1].split('class="submit-row"')[0]
    inputs = re.findall(r"<(?:input|textarea|select)\b[^>]*>", form)
    assert [tag for tag in inputs if 'name="csrfmiddlewaretoken"' not in tag] == []
    assert "TOTAL_FORMS" not in text


def test_payment_page_without_refunds_says_so(admin_client, user):
    text = admin_client.get(change_url(PaymentFactory(user=user))).content.decode()

    assert "No refunds." in text and "No disputes." in text


def test_refund_inline_is_hidden_from_staff_who_may_not_view_refunds(client, stripe_mock, admin_client, staff_with):
    payment = paid(stripe_mock)
    refund(admin_client, [payment], amount="10.00")
    made = Refund.objects.get()

    client.force_login(staff_with("view_payment"))
    hidden = client.get(change_url(payment)).content.decode()
    client.force_login(staff_with("view_payment", "view_refund"))
    shown = client.get(change_url(payment)).content.decode()

    assert made.stripe_refund not in hidden and made.stripe_refund in shown


def test_changelist_shows_the_amount_refunded(admin_client, stripe_mock, user):
    partly, fully = paid(stripe_mock, user), paid(stripe_mock, user, amount="5.00")
    refund(admin_client, [partly], amount="10.00")
    refund(admin_client, [fully])

    text = admin_client.get(reverse(CHANGELIST)).content.decode()

    # The list's column is narrow: the amount, or "all".
    assert '<td class="field-list_refunded">$10.00</td>' in text
    assert '<td class="field-list_refunded">all</td>' in text


@pytest.mark.parametrize(("value", "expected"), [("none", {"none"}), ("partly", {"partly"}), ("fully", {"fully"}),
                                                 ("bogus", {"none", "partly", "fully"})])
def test_filter_refunded_none_partly_fully(admin_client, user, value, expected):
    names = {
        "none": PaymentFactory(user=user, status="succeeded"),
        "partly": PaymentFactory(user=user, status="succeeded", amount_refunded=Decimal("1.00")),
        "fully": PaymentFactory(user=user, status="succeeded", amount_refunded=Decimal("999.00")),
    }
    by_pk = {p.pk: name for name, p in names.items()}

    response = admin_client.get(reverse(CHANGELIST), {"refunded": value})

    assert {by_pk[p.pk] for p in listed(response)} == expected


def make_refund(payment: Payment, **kwargs: Any) -> Refund:
    values = {"stripe_refund": f"re_{timezone.now().timestamp()}_{Refund.objects.count()}", "amount": Decimal("1.00"),
              "currency": payment.currency, "status": "succeeded", **kwargs}
    return Refund.objects.create(payment=payment, **values)


@pytest.mark.parametrize(("params", "expected"), [
    ({"status__exact": "pending"}, {"pending"}),
    ({"reason__exact": "fraudulent"}, {"fraud"}),
    ({"currency__exact": "inr"}, {"inr"}),
    ({"made": "stripe"}, {"pending", "fraud", "inr"}),
    ({"made": "here"}, {"by-staff"}),
])
def test_refund_list_filters(admin_client, user, superuser, params, expected):
    usd, inr = PaymentFactory(user=user), PaymentFactory(user=user, currency="inr", amount=Decimal("500.00"))
    refunds = {
        "pending": make_refund(usd, status="pending"),
        "fraud": make_refund(usd, reason="fraudulent"),
        "inr": make_refund(inr),
        "by-staff": make_refund(usd, requested_by=superuser, reason="duplicate"),
    }
    by_pk = {r.pk: name for name, r in refunds.items()}

    response = admin_client.get(reverse(REFUNDS), params)

    assert {by_pk[r.pk] for r in listed(response)} == expected


def test_refund_list_says_who_asked_and_links_to_the_payment(admin_client, user, superuser):
    payment = PaymentFactory(user=user)
    make_refund(payment, requested_by=superuser), make_refund(payment)

    text = admin_client.get(reverse(REFUNDS)).content.decode()

    assert f'<a href="{change_url(payment)}">{payment.stripe_payment_intent}</a>' in text
    assert str(superuser) in text and "— (made in Stripe)" in text


def test_refund_and_dispute_lists_name_the_payment_without_a_link_for_staff_who_may_not_view_it(
    client, user, staff_with
):
    payment = PaymentFactory(user=user)
    made = make_refund(payment)
    client.force_login(staff_with("view_refund"))

    listing = client.get(reverse(REFUNDS)).content.decode()
    page = client.get(change_url(made)).content.decode()

    for text in (listing, page):
        assert payment.stripe_payment_intent in text and change_url(payment) not in text


@pytest.mark.parametrize(("params", "expected"), [
    ({"status__exact": "won"}, {"won"}),
    ({"evidence_due": "past"}, {"overdue"}),
    ({"evidence_due": "week"}, {"soon"}),
    ({"evidence_due": "later"}, {"later"}),
    ({"evidence_due": "none"}, {"won"}),
])
def test_dispute_list_filters_by_status_and_evidence_due(admin_client, user, params, expected):
    now = timezone.now()
    disputes = {
        name: Dispute.objects.create(
            payment=PaymentFactory(user=user, status="succeeded"), stripe_dispute=f"dp_{name}",
            amount=Decimal("999.00"), currency="usd", status=status, evidence_due_by=due,
        )
        for name, status, due in [
            ("overdue", "needs_response", now - timedelta(days=1)),
            ("soon", "needs_response", now + timedelta(days=3)),
            ("later", "warning_needs_response", now + timedelta(days=20)),
            ("won", "won", None),
        ]
    }
    by_pk = {d.pk: name for name, d in disputes.items()}

    response = admin_client.get(reverse(DISPUTES), params)

    assert {by_pk[d.pk] for d in listed(response)} == expected


@pytest.mark.parametrize("model", ["refund", "dispute"])
def test_refunds_and_disputes_are_read_only_records(admin_client, user, model):
    payment = PaymentFactory(user=user)
    record = make_refund(payment) if model == "refund" else Dispute.objects.create(
        payment=payment, stripe_dispute="dp_1", amount=Decimal("1.00"), currency="usd", status="needs_response")
    before = type(record).objects.values().get(pk=record.pk)

    page = admin_client.get(change_url(record))
    posted = admin_client.post(change_url(record), {"status": "won", "amount": "0.01", "_save": "Save"})
    add = admin_client.get(reverse(f"admin:apranova_payments_{model}_add"))
    delete = admin_client.post(reverse(f"admin:apranova_payments_{model}_delete", args=[record.pk]), {"post": "yes"})

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert (posted.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert type(record).objects.values().get(pk=record.pk) == before


# -- the "Refund…" action ------------------------------------------------------------------------------


def test_action_shows_a_confirmation_with_what_is_left_then_refunds(admin_client, stripe_mock, superuser, user):
    payment = paid(stripe_mock, user)
    refund(admin_client, [payment], amount="30.00")
    page = start(admin_client, [payment])

    assert page.status_code == 200 and stripe_mock.calls_to("refund")[1:] == []
    assert page.context["form"]["amount"].value() == "70.00"
    assert "USD" in page.content.decode()
    response = submit(admin_client, page, amount="20.00", reason="duplicate")

    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)
    made = Refund.objects.order_by("created_at", "pk").last()
    assert messages_of(response) == [f"Refunded {payment.stripe_payment_intent}: $20.00 ({made.stripe_refund}, "
                                     "succeeded)."]
    assert (made.amount, made.reason, made.requested_by, made.status) == (Decimal("20.00"), "duplicate", superuser,
                                                                         "succeeded")
    call = stripe_mock.calls_to("refund")[-1]
    assert call["params"]["amount"] == "2000" and call["params"]["reason"] == "duplicate"
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("50.00")
    assert LogEntry.objects.filter(object_id=str(payment.pk), change_message__startswith="Refunded 20.00 USD").exists()


def test_an_empty_amount_refunds_all_that_is_left_and_sends_the_signal_once(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)

    with capture_signals() as sent:
        response = refund(admin_client, [payment], amount="")

    payment.refresh_from_db()
    assert payment.is_fully_refunded
    assert [kw["refund"].amount for kw in sent.of("payment_refunded")] == [Decimal("100.00")]
    assert messages_of(response)[0].startswith(f"Refunded {payment.stripe_payment_intent}: $100.00")


def test_several_payments_are_each_refunded_in_full_with_a_message_each(admin_client, stripe_mock, user):
    first, second = paid(stripe_mock, user), paid(stripe_mock, user, amount="20.00", currency="eur")
    page = start(admin_client, [first, second])

    assert "amount" not in page.context["form"].fields
    assert 'name="amount"' not in page.content.decode()
    response = submit(admin_client, page, amount="1.00")  # a forged amount: ignored, the page said "in full"

    first.refresh_from_db(), second.refresh_from_db()
    assert first.is_fully_refunded and second.is_fully_refunded
    assert sorted(c["params"]["amount"] for c in stripe_mock.calls_to("refund")) == ["10000", "2000"]
    assert len(messages_of(response)) == 2


def test_a_double_submit_refunds_once(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)
    page = start(admin_client, [payment])

    first = submit(admin_client, page, amount="10.00")
    second = submit(admin_client, page, amount="10.00")

    assert Refund.objects.count() == 1 and len(stripe_mock.calls_to("refund")) == 1
    made = Refund.objects.get()
    assert messages_of(first) == [f"Refunded {payment.stripe_payment_intent}: $10.00 ({made.stripe_refund}, "
                                  "succeeded)."]
    assert messages_of(second) == [f"Already refunded {payment.stripe_payment_intent} from this page: $10.00 "
                                   f"({made.stripe_refund}, succeeded). Nothing was refunded twice."]
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("10.00")


def test_the_same_page_with_another_amount_is_refused_not_refunded_again(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)
    page = start(admin_client, [payment])
    submit(admin_client, page, amount="10.00")

    again = submit(admin_client, page, amount="20.00")

    assert Refund.objects.count() == 1
    assert messages_of(again) == [
        f"Not refunded {payment.stripe_payment_intent}: this page was already used for another refund of it. "
        "Start again."]


def test_a_new_page_makes_a_new_refund(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)

    refund(admin_client, [payment], amount="10.00")
    refund(admin_client, [payment], amount="10.00")

    assert Refund.objects.count() == 2


def test_each_payment_gets_its_result_and_a_second_submit_retries_only_what_failed(admin_client, stripe_mock, user):
    # Refunded in primary key order: Stripe is down for the first (every retry of the
    # gateway too); the pending and the disputed one never reach Stripe.
    flaky, good, pending, fought = (paid(stripe_mock, user) for _ in range(4))
    Payment.objects.filter(pk=pending.pk).update(status="pending")
    disputed(stripe_mock, fought)
    page = start(admin_client, [good, pending, flaky, fought])
    assert [row[3] for row in page.context["rows"]] == ["", "", "not refundable: pending", "not refundable: disputed"]
    stripe_mock.fail_next("refund", status=500, times=app_settings.STRIPE_MAX_NETWORK_RETRIES + 1)

    first = submit(admin_client, page, follow=False)

    assert first.status_code == 200  # the page again, not a redirect: something failed
    assert messages_of(first) == [
        f"Not refunded {flaky.stripe_payment_intent}: {exceptions.GatewayUnavailable.default_detail}",
        f"Refunded {good.stripe_payment_intent}: $100.00 ({Refund.objects.get().stripe_refund}, succeeded).",
        f"Not refunded {pending.stripe_payment_intent}: {exceptions.PaymentNotRefundable.default_detail}",
        f"Not refunded {fought.stripe_payment_intent}: {exceptions.ChargeDisputed.default_detail}",
    ]
    assert first.context["form"]["token"].value() == confirmation(page)["token"]

    second = submit(admin_client, first, follow=False)

    again = messages_of(second)
    assert any(m.startswith(f"Already refunded {good.stripe_payment_intent} from this page") for m in again)
    assert any(m.startswith(f"Refunded {flaky.stripe_payment_intent}: $100.00") for m in again)
    assert Refund.objects.filter(payment__in=[good, flaky]).count() == 2
    assert not Refund.objects.filter(payment__in=[pending, fought]).exists()


def test_nothing_left_is_a_409_message(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)
    refund(admin_client, [payment])
    page = start(admin_client, [payment])

    assert page.context["rows"][0][3] == "nothing left to refund"
    text = page.content.decode()
    assert "This payment has nothing to refund" in text and "<form" not in text.split('id="content-main"')[1]
    # Posted anyway (an old tab, a forged form): the refund is refused with Stripe's 409 message.
    response = admin_client.post(reverse(CHANGELIST), {
        "action": "refund", "_selected_action": [payment.pk], "token": page.context["form"]["token"].value(),
        "reason": "requested_by_customer", "confirm": "on", "apply": "Refund at Stripe"}, follow=True)

    nothing_left = exceptions.PaymentNotRefundable.nothing_left
    assert f"Not refunded {payment.stripe_payment_intent}: {nothing_left}" in messages_of(response)
    assert Refund.objects.count() == 1


def test_stripes_own_refusal_is_reported_without_its_words(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)
    stripe_mock.fail_next("refund", status=400, error_type="invalid_request_error",
                          message="Internal detail sk_test_do_not_show req_abc")

    response = refund(admin_client, [payment], amount="10.00")

    text = response.content.decode()
    rejected = exceptions.GatewayRejected.default_detail
    assert f"Not refunded {payment.stripe_payment_intent}: {rejected}" in messages_of(response)
    assert "sk_test_do_not_show" not in text and "Traceback" not in text
    assert not Refund.objects.exists()


def test_a_failing_receiver_is_reported_generically_and_logged(admin_client, stripe_mock, user, caplog):
    payment = paid(stripe_mock, user)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("enrollment database password=hunter2")

    signals.payment_refunded.connect(broken)
    try:
        response = refund(admin_client, [payment], amount="10.00", follow=False)
    finally:
        signals.payment_refunded.disconnect(broken)

    assert response.status_code == 200
    text = response.content.decode()
    assert "hunter2" not in text and "RuntimeError" not in text
    assert messages_of(response) == [
        f"Not refunded {payment.stripe_payment_intent}: the refund failed on the server (the error is in the "
        "server log). Check the payment's refunds before trying again."]
    assert "Refund of payment" in caplog.text and "hunter2" in caplog.text


# -- forged input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "currency", "message"), [
    ("-5.00", "usd", "Amount must be greater than zero."),
    ("0", "usd", "Amount must be greater than zero."),
    ("1.001", "usd", "USD amounts can have at most 2 decimal places."),
    ("10.5", "jpy", "JPY amounts cannot have a fractional part."),
    ("100.01", "usd", "At most 100.00 USD is left to refund."),
    ("101", "jpy", "At most 100 JPY is left to refund."),
    ("10 EUR", "usd", "Amount must be a number, such as 19.99."),
    ("€10", "usd", "Amount must be a number, such as 19.99."),
    ("NaN", "usd", "Amount must be a finite number."),
    ("1e400", "usd", "Amount is too large."),
])
def test_a_bad_amount_shows_the_form_again_with_the_field_message(admin_client, stripe_mock, user, amount, currency,
                                                                   message):
    payment = paid(stripe_mock, user, amount="100" if currency == "jpy" else "100.00", currency=currency)

    response = refund(admin_client, [payment], amount=amount, follow=False)

    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == [message]
    assert stripe_mock.calls_to("refund") == [] and not Refund.objects.exists()


def test_another_currency_in_the_post_is_ignored(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)

    refund(admin_client, [payment], amount="10.00", currency="eur")

    made = Refund.objects.get()
    assert (made.currency, stripe_mock.calls_to("refund")[0]["params"].get("currency")) == ("usd", None)


@pytest.mark.parametrize(("fields", "field"), [
    ({"confirm": None}, "confirm"),
    ({"reason": "because"}, "reason"),
])
def test_unconfirmed_or_unknown_reason_refunds_nothing(admin_client, stripe_mock, user, fields, field):
    payment = paid(stripe_mock, user)

    response = refund(admin_client, [payment], amount="10.00", follow=False, **fields)

    assert response.status_code == 200 and field in response.context["form"].errors
    assert stripe_mock.calls_to("refund") == []


def test_a_payment_added_to_the_confirmed_selection_is_refused(admin_client, stripe_mock, user):
    shown, smuggled = paid(stripe_mock, user), paid(stripe_mock, user)
    page = start(admin_client, [shown])
    data = {**confirmation(page), "_selected_action": [shown.pk, smuggled.pk]}

    response = admin_client.post(reverse(CHANGELIST), {**data, "confirm": "on", "apply": "1"})

    assert response.status_code == 200
    assert "The selection is not the one this page was shown for. Start again." in response.content.decode()
    assert stripe_mock.calls_to("refund") == []


def test_a_selection_swapped_for_another_payment_is_refused(admin_client, stripe_mock, user):
    shown, other = paid(stripe_mock, user), paid(stripe_mock, user)
    page = start(admin_client, [shown])
    data = {**confirmation(page), "_selected_action": [other.pk]}

    response = admin_client.post(reverse(CHANGELIST), {**data, "confirm": "on", "apply": "1"})

    assert "The selection is not the one this page was shown for." in response.content.decode()
    assert stripe_mock.calls_to("refund") == []


@pytest.mark.parametrize("token", ["", "forged", "eyJ1c2VyIjoxfQ:1tAbCd:xyz"])
def test_a_forged_token_is_refused(admin_client, stripe_mock, user, token):
    payment = paid(stripe_mock, user)
    page = start(admin_client, [payment])

    response = submit(admin_client, page, token=token, follow=False) if token else admin_client.post(
        reverse(CHANGELIST), {**confirmation(page), "token": "", "confirm": "on", "apply": "1"})

    assert response.status_code == 200 and "token" in response.context["form"].errors
    assert stripe_mock.calls_to("refund") == []


def test_another_users_page_is_refused(client, stripe_mock, user):
    payment = paid(stripe_mock, user)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = start(client, [payment])
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = submit(client, page, follow=False)

    assert "The selection is not the one this page was shown for." in response.content.decode()
    assert stripe_mock.calls_to("refund") == []


def test_an_expired_page_is_refused(admin_client, stripe_mock, user, monkeypatch):
    payment = paid(stripe_mock, user)
    page = start(admin_client, [payment])
    monkeypatch.setattr(admin_refunds, "CONFIRMATION_MAX_AGE", -1)

    response = submit(admin_client, page, follow=False)

    assert "This page has expired. Start again." in response.content.decode()
    assert stripe_mock.calls_to("refund") == []


NOT_VALID = "The selection is not valid. Nothing was done."
NOT_LISTED = "None of the selected payments is in the list. Nothing was refunded."


@pytest.mark.parametrize(("ids", "message"), [
    (["abc"], NOT_VALID), (["1 OR 1=1"], NOT_VALID), (["-1"], NOT_LISTED), (["99999999"], NOT_LISTED),
])
def test_a_forged_selection_refunds_nothing_and_is_never_a_500(admin_client, stripe_mock, user, ids, message):
    paid(stripe_mock, user)

    response = admin_client.post(reverse(CHANGELIST), {"action": "refund", "_selected_action": ids}, follow=True)

    assert response.status_code == 200 and "rows" not in response.context
    assert messages_of(response) == [message]
    assert stripe_mock.calls_to("refund") == []


def test_at_most_25_payments_at_once(admin_client, stripe_mock, user):
    payments = [paid(stripe_mock, user) for _ in range(26)]

    response = start(admin_client, payments)

    assert response.status_code == 302
    followed = admin_client.get(response.url)
    assert "Refund at most 25 payments at once. Nothing was refunded." in messages_of(followed)


def test_select_across_refunds_only_what_the_filtered_list_shows(admin_client, stripe_mock, user):
    wanted, other = paid(stripe_mock, user, currency="eur"), paid(stripe_mock, user)
    url = f"{reverse(CHANGELIST)}?currency__exact=eur"

    page = admin_client.post(url, {"action": "refund", "select_across": "1", "_selected_action": [wanted.pk]})

    assert [row[0].pk for row in page.context["rows"]] == [wanted.pk]
    submit(admin_client, page, url=url)
    assert [r.payment_id for r in Refund.objects.all()] == [wanted.pk]
    assert other.pk


# -- who may refund ----------------------------------------------------------------------------------


def test_view_only_staff_is_not_offered_refunds_and_posting_does_nothing(client, stripe_mock, user, staff_with):
    payment = paid(stripe_mock, user)
    client.force_login(staff_with("view_payment"))

    changelist = client.get(reverse(CHANGELIST))
    choices = {name for name, _ in changelist.context["action_form"].fields["action"].choices} \
        if changelist.context["action_form"] else set()
    posted = client.post(reverse(CHANGELIST), {
        "action": "refund", "_selected_action": [payment.pk], "token": "x", "confirm": "on", "apply": "1",
    }, follow=True)

    assert "refund" not in choices
    assert posted.status_code == 200 and posted.context.get("rows") is None
    assert client.get(refund_url(payment)).status_code == 403
    assert client.post(refund_url(payment), {"confirm": "on", "apply": "1"}).status_code == 403
    assert "Refund…" not in client.get(change_url(payment)).content.decode()
    assert stripe_mock.calls_to("refund") == []


def test_staff_with_the_refund_permission_may_refund(client, stripe_mock, user, staff_with):
    payment = paid(stripe_mock, user)
    staff = staff_with("view_payment", "refund_payment")
    client.force_login(staff)

    refund(client, [payment], amount="10.00")

    assert Refund.objects.get().requested_by == staff


@pytest.mark.parametrize("who", ["anonymous", "not staff", "staff without permissions"])
def test_nobody_else_reaches_the_refund_pages(client, stripe_mock, user, who, staff_with):
    payment = paid(stripe_mock, user)
    if who == "not staff":
        client.force_login(UserFactory(is_superuser=True))  # a superuser flag without is_staff
    elif who == "staff without permissions":
        client.force_login(staff_with())

    action = start(client, [payment])
    view_get, view_post = client.get(refund_url(payment)), client.post(refund_url(payment), {"apply": "1"})

    if who == "staff without permissions":
        assert (action.status_code, view_get.status_code, view_post.status_code) == (403, 403, 403)
    else:
        assert all(r.status_code == 302 and "/login/" in r.url for r in (action, view_get, view_post))
    assert stripe_mock.calls_to("refund") == []


def test_a_post_without_a_csrf_token_is_refused(stripe_mock, user, superuser):
    payment = paid(stripe_mock, user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    page = client.get(refund_url(payment))
    token = page.context["form"]["token"].value()

    for url, data in [
        (refund_url(payment), {"token": token, "confirm": "on", "apply": "1"}),
        (reverse(CHANGELIST), {"action": "refund", "_selected_action": [payment.pk], "token": token,
                               "confirm": "on", "apply": "1"}),
    ]:
        assert client.post(url, data).status_code == 403
    assert stripe_mock.calls_to("refund") == []


# -- the payment page's "Refund…" button -------------------------------------------------------------------


def test_the_payment_page_offers_refund_when_it_can_be_refunded(admin_client, stripe_mock, user):
    succeeded, pending = paid(stripe_mock, user), PaymentFactory(user=user)

    assert f'href="{refund_url(succeeded)}"' in admin_client.get(change_url(succeeded)).content.decode()
    assert refund_url(pending) not in admin_client.get(change_url(pending)).content.decode()


def test_the_refund_button_shows_the_form_on_get_and_refunds_only_on_post(admin_client, stripe_mock, user):
    payment = paid(stripe_mock, user)

    page = admin_client.get(refund_url(payment), {"amount": "10.00", "confirm": "on", "apply": "1"})

    assert page.status_code == 200 and page.context["form"]["amount"].value() == "100.00"
    assert not page.context["form"].is_bound and stripe_mock.calls_to("refund") == []
    assert 'name="action"' not in page.content.decode()
    response = submit(admin_client, page, url=refund_url(payment), amount="10.00")

    assert response.redirect_chain[-1][0] == change_url(payment)
    assert Refund.objects.get().amount == Decimal("10.00")
    assert "$10.00" in response.content.decode()  # the inline, on the page we came back to


def test_the_refund_button_of_an_unknown_payment_is_404(admin_client):
    assert admin_client.get(reverse("admin:apranova_payments_payment_refund", args=[424242])).status_code == 404
    assert admin_client.get("/admin/apranova_payments/payment/abc/refund/").status_code == 404


# -- strict CSP, offline ---------------------------------------------------------------------------------


def test_the_confirmation_page_needs_no_inline_script_or_style_and_nothing_from_another_host(
    admin_client, stripe_mock, user
):
    payment = paid(stripe_mock, user)

    for page in (admin_client.get(refund_url(payment)), start(admin_client, [payment])):
        text = page.content.decode()
        assert page.status_code == 200
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []  # every script is a file
        assert " style=" not in text and "<style" not in text
        assert re.findall(r'(?:src|href)="(?:https?:)?//', text) == []


# -- a double click on PostgreSQL, with real threads and row locks -----------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_page_submitted_three_times_at_once_refunds_once(stripe_mock, monkeypatch):
    staff = UserFactory(is_staff=True, is_superuser=True)
    payment = paid(stripe_mock, UserFactory())
    client = Client()
    client.force_login(staff)
    page = start(client, [payment])
    data = {**{k: v for k, v in confirmation(page).items() if v}, "amount": "10.00", "confirm": "on", "apply": "1"}
    create_refund = StripeGateway.create_refund

    def slow_create_refund(self: StripeGateway, **kwargs: Any) -> Any:
        time.sleep(0.3)  # the other submits reach the payment's row lock meanwhile
        return create_refund(self, **kwargs)

    monkeypatch.setattr(StripeGateway, "create_refund", slow_create_refund)
    start_together = threading.Barrier(3)
    answers: list[int] = []

    def submit_once() -> None:
        try:
            browser = Client()
            browser.force_login(staff)
            start_together.wait(10)
            answers.append(browser.post(reverse(CHANGELIST), data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert answers == [302, 302, 302]  # each one done: refunded once, replayed twice
    assert len(stripe_mock.calls_to("refund")) == 1
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("10.00")
