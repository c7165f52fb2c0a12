"""A free course (price 0, ``ALLOW_FREE`` in the settings): the resolver answers 0, the
package stores a succeeded ``free_…`` payment with ``clientSecret: null``, and the same
``payment_succeeded`` receiver enrolls; the checkout page has one button and no card form."""

from __future__ import annotations

import json
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from django_apranova_payments.models import Payment
from django_apranova_payments.simulator.models import SimulatedPaymentIntent

from .models import Course, Enrollment
from .tests import OFFLINE, Checkout, CheckoutMixin


@OFFLINE
class FreeCourseTests(CheckoutMixin, TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.free = Course.objects.create(title="Git Basics", slug="git-basics", price=Decimal("0.00"),
                                          currency="usd")
        self.checkout = Checkout(self.client, self.free)

    def test_enrolling_in_a_free_course_is_one_request_and_one_enrollment(self):
        response = self.checkout.create(key="free-1")

        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertIsNone(body["clientSecret"])
        self.assertEqual((body["status"], body["amount"], body["currency"]), ("succeeded", "0.00", "usd"))
        self.assertTrue(body["paymentIntent"].startswith("free_"))
        enrollment = Enrollment.objects.get(user=self.user, course=self.free)
        self.assertEqual(enrollment.payment.stripe_payment_intent, body["paymentIntent"])
        self.assertEqual(self.succeeded.count, 1)
        self.assertFalse(SimulatedPaymentIntent.objects.exists())  # no one was called

    def test_a_retry_with_the_same_key_answers_the_same_enrollment_and_another_request_is_refused(self):
        first = self.checkout.create(key="free-1").json()

        replay = self.checkout.create(key="free-1")  # the first answer was lost
        again = self.checkout.create(key="free-2")

        self.assertEqual(replay.status_code, 201, replay.content)
        body = replay.json()
        self.assertEqual((body["paymentIntent"], body["clientSecret"]), (first["paymentIntent"], None))
        self.assertEqual(replay["Idempotent-Replayed"], "true")
        self.assertEqual(again.status_code, 400)
        self.assertIn("You are already enrolled in Git Basics.", again.json()["course"])
        self.assertEqual((Payment.objects.count(), Enrollment.objects.count(), self.succeeded.count), (1, 1, 1))

    def test_without_allow_free_a_free_course_is_refused_and_nobody_is_enrolled(self):
        with self.settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "ALLOW_FREE": False}), \
                self.assertLogs("django_apranova_payments.views", "ERROR") as logged, \
                self.assertLogs("django.request", "ERROR"):
            response = self.checkout.create()

        self.assertEqual(response.status_code, 500)  # the resolver's 0 is unusable: the host's bug
        self.assertIn("PRICE_RESOLVER", logged.output[0])
        self.assertFalse(Payment.objects.exists())
        self.assertFalse(Enrollment.objects.exists())

    def test_the_checkout_page_has_one_enroll_button_and_no_card_form(self):
        page = self.client.get(reverse("checkout", args=["git-basics"]))

        self.assertContains(page, '<button id="pay-button" type="submit">Enroll for free</button>', html=True)
        self.assertContains(page, '<p class="price">Free</p>', html=True)
        self.assertNotContains(page, "payment-element")
        self.assertNotContains(page, reverse("apranova_payments_simulator:js"))
        self.assertNotContains(page, "test card")
        config = json.loads(page.content.decode().split('id="checkout-config" type="application/json">')[1]
                            .split("</script>")[0])
        self.assertEqual((config["free"], config["amountMinor"]), (True, 0))
        self.assertContains(self.client.get(reverse("course-list")), '<p class="price">Free</p>', html=True)

    def test_after_enrolling_the_page_and_my_courses_show_the_course(self):
        self.checkout.create()

        self.assertContains(self.client.get(reverse("checkout", args=["git-basics"])), "You are enrolled in Git Basics")
        self.assertContains(self.client.get(reverse("my-courses")), "Git Basics")

    def test_a_paid_course_keeps_its_card_form(self):
        page = self.client.get(reverse("checkout", args=[self.course.slug]))

        self.assertContains(page, "payment-element")
        self.assertNotContains(page, "Enroll for free")


class FreeCoursePriceTests(TestCase):
    def test_a_course_may_cost_nothing_or_at_least_the_minimum_charge(self):
        Course(title="Free", slug="free", price=Decimal("0"), currency="USD").clean()
        Course(title="Paid", slug="paid", price=Decimal("0.50"), currency="usd").clean()
        for price, currency, field in [("0.10", "usd", "price"), ("-1.00", "usd", "price"), ("0", "xxx", "currency")]:
            with self.subTest(price=price, currency=currency), self.assertRaises(ValidationError) as raised:
                Course(title="Bad", slug="bad", price=Decimal(price), currency=currency).clean()
            self.assertIn(field, raised.exception.message_dict)

