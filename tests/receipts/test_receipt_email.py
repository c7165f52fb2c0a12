"""RECEIPT_EMAIL with SELLER: our own numbered receipt, by Django e-mail, after the commit."""

from __future__ import annotations

import logging
import sys
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import translation

from django_apranova_payments import receipts, signals, transitions
from django_apranova_payments.models import Payment
from django_apranova_payments.stripe_data import PaymentIntentData
from tests.factories import PaymentFactory

from .conftest import SELLER, with_settings

pytestmark = pytest.mark.django_db


def succeed(payment: Payment) -> None:
    """The real path: Stripe says the PaymentIntent succeeded, in a transaction of its own."""
    intent = PaymentIntentData(id=payment.stripe_payment_intent, status="succeeded", amount=payment.amount_minor,
                               currency=payment.currency)
    with transaction.atomic():
        transitions.apply_intent(payment, intent)


@pytest.fixture(autouse=True)
def english():
    """The mail takes the language active when the payment succeeds: an earlier test's request
    (LocaleMiddleware, Accept-Language: hi) may have left another one active in this thread."""
    with translation.override("en-us"):
        yield


@pytest.fixture
def own_receipts():
    with with_settings(SELLER=SELLER, RECEIPT_EMAIL=True):
        yield


@pytest.fixture
def pending(user):
    return PaymentFactory(user=user, amount=Decimal("49.00"), currency="eur",
                          metadata={"product_name": "Python Basics"})


def test_the_receipt_is_mailed_once_after_the_commit_with_text_html_and_pdf(
        own_receipts, pending, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        succeed(pending)
    assert mail.outbox == []  # nothing inside the transaction
    assert len(callbacks) == 1
    callbacks[0]()
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.to == [user.email]
    assert message.reply_to == [SELLER["email"]]
    assert message.subject == "Receipt R-000001 from ApraNova Academy GmbH"
    assert "R-000001" in message.body and "Total paid: €49.00" in message.body
    [(html, kind)] = message.alternatives
    assert kind == "text/html" and "R-000001" in html and "€49.00" in html
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == ("receipt-R-000001.pdf", "application/pdf")
    assert content.startswith(b"%PDF-")


def test_a_second_success_report_sends_nothing_more(own_receipts, pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        succeed(pending)
        succeed(pending)  # a duplicate webhook, update-status after the webhook…
    assert len(mail.outbox) == 1


def test_a_rolled_back_success_mails_nothing(own_receipts, pending, django_capture_on_commit_callbacks):
    def refuse(**kwargs):
        raise RuntimeError("enrollment failed")

    signals.payment_succeeded.connect(refuse, dispatch_uid="refuse")
    try:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
            succeed(pending)
    finally:
        signals.payment_succeeded.disconnect(dispatch_uid="refuse")
    assert mail.outbox == []
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.receipt_number is None


def test_without_the_pdf_extra_the_mail_goes_without_attachment_and_says_so(
        own_receipts, pending, monkeypatch, caplog, django_capture_on_commit_callbacks):
    monkeypatch.setitem(sys.modules, "fpdf", None)
    with caplog.at_level(logging.INFO, logger="django_apranova_payments"), \
            django_capture_on_commit_callbacks(execute=True):
        succeed(pending)
    [message] = mail.outbox
    assert message.attachments == []
    assert 'without its PDF: the pdf extra is not installed (pip install "django-apranova-payments[pdf]")' \
        in caplog.text


def test_a_mail_failure_is_logged_and_the_payment_stays_succeeded(
        own_receipts, pending, monkeypatch, caplog, django_capture_on_commit_callbacks):
    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", broken)
    with caplog.at_level(logging.ERROR, logger="django_apranova_payments"), \
            django_capture_on_commit_callbacks(execute=True):
        succeed(pending)
    pending.refresh_from_db()
    assert pending.status == "succeeded" and pending.receipt_number == 1
    assert f"The receipt e-mail of payment {pending.pk} failed" in caplog.text


def test_the_mail_is_in_the_language_active_when_the_payment_succeeded(
        own_receipts, pending, django_capture_on_commit_callbacks):
    with translation.override("hi"), django_capture_on_commit_callbacks(execute=True):
        succeed(pending)
    [message] = mail.outbox
    assert message.subject == "ApraNova Academy GmbH की रसीद R-000001"
    assert "कुल भुगतान" in message.body


@pytest.mark.parametrize("extra", [{"RECEIPT_EMAIL": True}, {"SELLER": SELLER}, {}])
def test_only_receipt_email_with_seller_mails_our_receipt(pending, extra, django_capture_on_commit_callbacks):
    with with_settings(**extra), django_capture_on_commit_callbacks(execute=True):
        succeed(pending)
        assert receipts.sends_own_receipts() is False
    assert mail.outbox == []


def test_sends_own_receipts_when_both_are_set(own_receipts):
    assert receipts.sends_own_receipts() is True


def test_a_user_without_an_address_gets_no_mail(own_receipts, django_capture_on_commit_callbacks, caplog):
    payment = PaymentFactory(amount=Decimal("49.00"), currency="eur")
    type(payment.user).objects.filter(pk=payment.user.pk).update(email="")
    with caplog.at_level(logging.INFO, logger="django_apranova_payments"), \
            django_capture_on_commit_callbacks(execute=True):
        succeed(payment)
    assert mail.outbox == []
    assert "has no e-mail address" in caplog.text
