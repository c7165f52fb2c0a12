"""The failure notice (courses/notifications.py): one e-mail per failure, sent after the
commit that made it, through the package's real paths (the simulator, update-status and
signed deliveries to the webhook endpoint). ``TransactionTestCase``: every request commits
for real, so ``transaction.on_commit`` runs as it does in production (Django's test runner
puts the e-mails in ``mail.outbox``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client, TransactionTestCase, override_settings
from django.urls import reverse
from django.utils import translation

from django_apranova_payments import signals, signing
from django_apranova_payments.models import Payment

from .tests import AUTHENTICATE, DECLINED, OFFLINE, SECRET, SUCCEEDS, CheckoutMixin

NOTICE_SUBJECT = "Your payment for Python for Data Science did not go through"


class BrokenMailServer(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("the mail server is down")


def refuse(**kwargs: Any) -> None:
    raise RuntimeError("a receiver after ours failed")


@OFFLINE
@override_settings(SITE_URL="https://courses.apranova.example/")
class FailureNoticeTests(CheckoutMixin, TransactionTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user.email = "student@example.com"
        self.user.first_name = "Asha"
        self.user.save()

    def decline(self) -> bytes:
        """A declined card: the simulator's ``payment_intent.payment_failed`` event for it."""
        self.assertEqual(self.checkout.pay(DECLINED).status_code, 402)
        return self.checkout.event("payment_intent.payment_failed")

    def test_webhook_and_update_status_seeing_the_same_decline_send_one_notice(self):
        self.checkout.create()
        event = self.decline()

        self.assertEqual(self.checkout.deliver(event), "processed")
        self.assertEqual(self.checkout.update_status()["status"], "failed")
        self.assertEqual(self.checkout.deliver(event), "duplicate")
        self.checkout.deliver(self.checkout.event("payment_intent.payment_failed"))  # Stripe's second event
        self.checkout.update_status()

        self.assertEqual(len(mail.outbox), 1)
        notice = mail.outbox[0]
        self.assertEqual((notice.to, notice.subject), (["student@example.com"], NOTICE_SUBJECT))
        self.assertIn("Hello Asha,", notice.body)
        self.assertIn("your payment of $19.99 for Python for Data Science did not go through: "
                      "Your card has insufficient funds.", notice.body)
        self.assertIn("https://courses.apranova.example/courses/python/checkout/", notice.body)

    def test_update_status_first_then_the_webhook_send_one_notice(self):
        self.checkout.create()
        event = self.decline()

        self.checkout.update_status()
        self.assertEqual(len(mail.outbox), 1)  # sent on update-status' commit, not later
        self.checkout.deliver(event)
        self.checkout.update_status()

        self.assertEqual(len(mail.outbox), 1)

    def test_a_later_decline_on_the_same_payment_is_a_second_failure_and_a_second_notice(self):
        self.checkout.create()
        self.checkout.deliver(self.decline())
        self.checkout.update_status()
        self.assertEqual(len(mail.outbox), 1)

        # The retry on the same PaymentIntent needs 3-D Secure (failed -> pending) and the
        # student fails it (pending -> failed): a new failure, seen by both paths again.
        self.assertEqual(self.checkout.pay(AUTHENTICATE).json()["status"], "requires_action")
        self.assertEqual(self.checkout.update_status()["status"], "pending")
        self.checkout.authenticate("fail")
        self.checkout.deliver(self.checkout.event("payment_intent.payment_failed"))
        self.assertEqual(self.checkout.update_status()["status"], "failed")

        self.assertEqual(len(mail.outbox), 2)
        self.assertEqual(Payment.objects.count(), 1)
        self.assertNotIn("insufficient funds", mail.outbox[1].body)  # this attempt's reason, not the first one's

        self.checkout.pay(SUCCEEDS)  # the third try pays: enrolled, and no further notice
        self.checkout.deliver(self.checkout.event())
        self.checkout.update_status()
        self.assertEqual((len(mail.outbox), self.enrollments()), (2, 1))

    def test_two_declines_in_a_row_with_nothing_seen_between_them_are_one_failure(self):
        self.checkout.create()
        self.checkout.deliver(self.decline())
        self.checkout.update_status()

        self.checkout.deliver(self.decline())  # failed -> failed: no transition, no payment_failed
        self.checkout.update_status()

        self.assertEqual(len(mail.outbox), 1)

    def test_a_failure_rolled_back_sends_nothing_and_its_redelivery_sends_once(self):
        self.checkout.create()
        event = self.decline()
        signals.payment_failed.connect(refuse, sender=Payment, weak=False, dispatch_uid="test.refuse")
        try:
            with self.assertLogs("django.request", "ERROR"):
                response = Client().post(reverse("apranova_payments:webhook"), data=event,
                                         content_type="application/json",
                                         HTTP_STRIPE_SIGNATURE=signing.signature_header(event, SECRET))
        finally:
            signals.payment_failed.disconnect(sender=Payment, dispatch_uid="test.refuse")

        self.assertEqual(response.status_code, 500)
        self.assertEqual(self.checkout.payment().status, "pending")
        self.assertEqual(mail.outbox, [])  # sent from inside the transaction, it would be out already

        self.assertEqual(self.checkout.deliver(event), "processed")  # Stripe delivers again
        self.checkout.update_status()
        self.assertEqual(len(mail.outbox), 1)

    @override_settings(EMAIL_BACKEND="courses.test_notifications.BrokenMailServer")
    def test_a_mail_server_that_is_down_never_undoes_or_fails_the_failure(self):
        self.checkout.create()
        event = self.decline()

        with self.assertLogs("django.db.backends.base", "ERROR") as logged:
            self.assertEqual(self.checkout.deliver(event), "processed")  # a 200, so Stripe does not retry

        self.assertIn("the mail server is down", logged.output[0])

        self.assertEqual(self.checkout.payment().status, "failed")
        self.assertEqual(self.checkout.update_status()["failureCode"], "insufficient_funds")

    def test_a_student_without_an_address_and_a_payment_for_no_course_get_no_notice(self):
        self.user.email = ""
        self.user.save()
        self.checkout.create()
        self.checkout.deliver(self.decline())
        self.assertEqual(self.checkout.payment().status, "failed")

        other = Payment.objects.create(user=self.user, stripe_payment_intent="pi_invoice", amount=Decimal("5.00"),
                                       currency="usd", metadata={"invoice": "7"})
        signals.payment_failed.send(sender=Payment, payment=other, event=None)

        self.assertEqual(mail.outbox, [])

    @override_settings(LANGUAGE_CODE="hi")
    def test_the_notice_is_in_the_sites_language_whichever_path_saw_the_failure(self):
        self.checkout.create()
        event = self.decline()
        with translation.override("en"):  # the student's own request, in another language
            self.checkout.update_status()
        self.checkout.deliver(event)

        [notice] = mail.outbox
        self.assertEqual(notice.subject, "Python for Data Science के लिए आपका भुगतान पूरा नहीं हुआ")
        self.assertIn("नमस्ते Asha,", notice.body)
        self.assertIn("आपका $19.99 का भुगतान पूरा नहीं हुआ: Your card has insufficient funds.", notice.body)

    def test_no_notice_when_the_payment_succeeds(self):
        self.checkout.create()
        self.checkout.pay(SUCCEEDS)
        self.checkout.deliver(self.checkout.event())
        self.checkout.update_status()

        self.assertEqual((mail.outbox, self.enrollments()), ([], 1))

