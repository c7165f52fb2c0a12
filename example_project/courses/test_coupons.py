"""Coupons at the example's checkout: the codes ``seed_demo`` makes and the course list
offers, the price a coupon gives, the enrollment it pays for (a discounted payment, or a free
one from the scholarship), and the checkout page's way of changing the coupon: cancel the
pending payment, which gives its redemption back, then create the new one."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse

from django_apranova_payments.models import Coupon, Payment
from django_apranova_payments.simulator.models import SimulatedPaymentIntent

from .management.commands.seed_demo import DEMO_COUPONS
from .models import Course, Enrollment
from .tests import OFFLINE, SUCCEEDS, CheckoutMixin


def seed_coupons() -> None:
    call_command("seed_demo", "--no-payments", stdout=io.StringIO())


@OFFLINE
class DemoCouponTests(CheckoutMixin, TestCase):
    def setUp(self) -> None:
        super().setUp()
        seed_coupons()

    def test_seed_demo_makes_a_percent_an_amount_and_a_scholarship_code_once(self):
        seed_coupons()

        coupons = {coupon.code: coupon for coupon in Coupon.objects.all()}
        self.assertEqual(sorted(coupons), sorted(code for code, _fields in DEMO_COUPONS))
        self.assertEqual(coupons["SPRING25"].percent_off, Decimal(25))
        self.assertEqual((coupons["WELCOME10"].amount_off, coupons["WELCOME10"].currency), (Decimal(10), "usd"))
        self.assertTrue(coupons["SCHOLARSHIP"].is_full_discount)

    def test_the_course_list_offers_each_active_code(self):
        Coupon.objects.filter(code="WELCOME10").update(active=False)

        response = self.client.get(reverse("course-list"))

        self.assertContains(response, '<li class="coupon" data-code="SPRING25"><code>SPRING25</code> 25% off')
        self.assertContains(response, '<li class="coupon" data-code="SCHOLARSHIP"><code>SCHOLARSHIP</code> 100% off')
        self.assertNotContains(response, "WELCOME10")

    def test_a_percent_code_in_any_case_lowers_the_price_and_the_payment_enrolls(self):
        response = self.checkout.create(coupon="spring25")

        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        # 25% of 19.99 is 4.9975: rounded half up to the cent, 5.00 off.
        self.assertEqual((body["amount"], body["discount"], body["coupon"]), ("14.99", "5.00", "SPRING25"))
        self.assertEqual(SimulatedPaymentIntent.objects.get().amount, 1499)
        self.checkout.pay(SUCCEEDS)
        self.assertEqual(self.checkout.update_status()["status"], "succeeded")
        self.assertEqual(Enrollment.objects.get(user=self.user, course=self.course).payment, self.checkout.payment())

    def test_the_scholarship_enrolls_at_once_without_a_payment_intent(self):
        response = self.checkout.create(coupon="SCHOLARSHIP")

        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertIsNone(body["clientSecret"])
        self.assertEqual((body["status"], body["amount"], body["discount"]), ("succeeded", "0.00", "19.99"))
        self.assertEqual(self.enrollments(), 1)
        self.assertFalse(SimulatedPaymentIntent.objects.exists())

    def test_an_amount_code_in_another_currency_is_refused_on_the_coupon_field(self):
        self.course.currency = "eur"
        self.course.save()

        response = self.checkout.create(coupon="WELCOME10")

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json(), {"coupon": ["This coupon applies to prices in USD only."]})
        self.assertFalse(Payment.objects.exists())

    def test_applying_again_after_canceling_the_pending_payment_gets_the_redemption_back(self):
        first = self.checkout.create(key="page-1", coupon="WELCOME10").json()
        again = self.checkout.create(key="page-2", coupon="WELCOME10")
        self.assertEqual(again.json(), {"coupon": ["You have already used this coupon."]})

        canceled = self.checkout.post_json(reverse("apranova_payments:payment-cancel", args=[first["paymentIntent"]]),
                                           {})
        again = self.checkout.create(key="page-3", coupon="WELCOME10")

        self.assertEqual(canceled.json()["status"], "canceled")
        self.assertEqual(again.status_code, 201, again.content)
        self.assertEqual((again.json()["amount"], again.json()["discount"]), ("9.99", "10.00"))

    def test_a_payment_whose_discount_does_not_make_up_the_price_enrolls_nobody(self):
        self.checkout.create(coupon="SPRING25")
        Payment.objects.update(discount=Decimal("4.00"))  # 14.99 + 4.00 is not the course's 19.99
        self.checkout.pay(SUCCEEDS)

        self.assertEqual(self.checkout.update_status()["status"], "succeeded")
        self.assertEqual(self.enrollments(), 0)


class CheckoutPageTests(TestCase):
    def setUp(self) -> None:
        self.user = get_user_model().objects.create_user("student", password="pw")  # noqa: S106
        self.client.force_login(self.user)

    def config(self, slug: str) -> dict[str, object]:
        page = self.client.get(reverse("checkout", args=[slug])).content.decode()
        return dict(json.loads(page.split('id="checkout-config" type="application/json">')[1].split("</script>")[0]))

    def test_a_paid_course_has_a_coupon_field_and_the_urls_to_change_its_payment(self):
        Course.objects.create(title="DevOps Essentials", slug="devops", price=Decimal("49.00"), currency="eur")

        response = self.client.get(reverse("checkout", args=["devops"]))

        self.assertContains(response, '<label for="coupon-code">Coupon code</label>')
        self.assertContains(response, '<button id="coupon-apply" type="submit">Apply</button>')
        config = self.config("devops")
        self.assertEqual((config["paymentsUrl"], config["price"]), (reverse("apranova_payments:payment-list"), "49.00"))

    def test_a_free_course_has_no_coupon_field(self):
        Course.objects.create(title="Git Basics", slug="git-basics", price=Decimal("0.00"), currency="usd")

        self.assertNotContains(self.client.get(reverse("checkout", args=["git-basics"])), "coupon-code")
