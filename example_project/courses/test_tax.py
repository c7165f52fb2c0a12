"""Tax and receipts in the example: the checkout asks for the buyer's country and postal code,
create-payment prices the course with Stripe Tax (the simulator's table: 19% in Germany, 18%
in India, 0% in the US), the page shows the price, the tax and the total before the card
(``checkout-tax``), the enrollment counts the tax, and "My courses" links each paid course to
its receipt."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from django_apranova_payments.models import Coupon, Payment

from . import countries
from .models import Course, Enrollment
from .tests import OFFLINE, PASSWORD, SUCCEEDS, CheckoutMixin

GERMANY = {"country": "DE", "postalCode": "10115"}
INDIA = {"country": "IN", "postalCode": "560001"}


def inclusive_tax() -> override_settings:
    return override_settings(APRANOVA_PAYMENTS={
        **settings.APRANOVA_PAYMENTS, "GATEWAY": settings.SIMULATOR_GATEWAY, "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "SIMULATOR_WEBHOOK_URL": None, "TAX": {"tax_code": "txcd_10000000", "behavior": "inclusive"},
    })


def without_tax() -> override_settings:
    return override_settings(APRANOVA_PAYMENTS={
        **{key: value for key, value in settings.APRANOVA_PAYMENTS.items() if key != "TAX"},
        "GATEWAY": settings.SIMULATOR_GATEWAY, "STRIPE_WEBHOOK_SECRET": "whsec_x", "SIMULATOR_WEBHOOK_URL": None,
    })


class SettingsTests(TestCase):
    def test_the_example_turns_on_tax_and_names_a_seller(self):
        payments = settings.APRANOVA_PAYMENTS
        self.assertEqual(payments["TAX"], {"tax_code": "txcd_10000000", "behavior": "exclusive"})
        self.assertEqual(payments["SELLER"]["name"], "ApraNova Academy Ltd")
        self.assertTrue(payments["SELLER"]["address"] and payments["SELLER"]["tax_id"] and payments["SELLER"]["email"])


@OFFLINE
class TaxedCheckoutTests(CheckoutMixin, TestCase):
    def summary(self, payment_intent: str, client: Client | None = None) -> object:
        return (client or self.client).get(reverse("checkout-tax", args=[payment_intent]))

    def test_germany_adds_19_percent_and_the_page_shows_price_tax_and_total(self):
        response = self.checkout.create(billingAddress=GERMANY)

        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual((response.json()["amount"], response.json()["amountTax"]), ("23.79", "3.80"))
        summary = self.summary(response.json()["paymentIntent"])
        self.assertEqual(summary.status_code, 200)
        self.assertEqual(summary.json(), {
            "price": "$19.99", "taxes": [{"label": "Tax (VAT 19%)", "amount": "$3.80"}], "inclusive": False,
            "total": "$23.79",
        })

    def test_a_us_address_is_taxed_nothing_and_the_summary_lists_no_tax(self):
        response = self.checkout.create(billingAddress={"country": "US", "postalCode": "94103"})

        self.assertEqual((response.json()["amount"], response.json()["amountTax"]), ("19.99", "0.00"))
        summary = self.summary(response.json()["paymentIntent"]).json()
        self.assertEqual((summary["price"], summary["taxes"], summary["total"]), ("$19.99", [], "$19.99"))

    def test_the_taxed_payment_enrolls_once_it_is_paid(self):
        self.checkout.create(billingAddress=GERMANY)
        self.checkout.pay(SUCCEEDS)

        self.assertEqual(self.checkout.update_status()["status"], "succeeded")
        self.assertEqual(self.enrollments(), 1)
        payment = self.checkout.payment()
        self.assertEqual((payment.amount, payment.amount_tax), (Decimal("23.79"), Decimal("3.80")))
        self.assertEqual(payment.billing_address, {"country": "DE", "postal_code": "10115"})

    def test_a_coupon_is_taken_off_before_the_tax_and_the_payment_still_enrolls(self):
        Coupon.objects.create(code="SPRING25", percent_off=Decimal("25"), max_redemptions_per_user=None)
        response = self.checkout.create(billingAddress=GERMANY, coupon="SPRING25")

        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        # 19.99 less 25% is 14.99 (5.00 off, rounded as the package rounds); 19% of it is 2.85.
        self.assertEqual((body["discount"], body["amountTax"], body["amount"]), ("5.00", "2.85", "17.84"))
        self.assertEqual(self.summary(body["paymentIntent"]).json()["price"], "$14.99")
        self.checkout.pay(SUCCEEDS)
        self.checkout.update_status()
        self.assertEqual(self.enrollments(), 1)

    def test_without_an_address_or_with_one_stripe_cannot_place_the_error_names_billing_address(self):
        for address, message in [
            (None, "Required: the buyer's country"),
            ({"country": "US"}, "A US address needs its ZIP code"),
            ({"country": "XX"}, 'country must be an ISO 3166 code such as "DE", not "XX".'),
        ]:
            with self.subTest(address=address):
                response = self.checkout.create(key=f"k-{address}", billingAddress=address)
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, response.json()["billingAddress"][0])
        self.assertFalse(Payment.objects.exists())

    def test_the_scholarship_needs_no_address(self):
        Coupon.objects.create(code="SCHOLARSHIP", percent_off=Decimal("100"), max_redemptions_per_user=1)
        response = self.checkout.post_json(
            reverse("apranova_payments:create-payment"), {"metadata": {"course": str(self.course.pk)},
                                                          "coupon": "SCHOLARSHIP"}, HTTP_IDEMPOTENCY_KEY="free-1")

        self.assertEqual(response.status_code, 201, response.content)
        self.assertIsNone(response.json()["clientSecret"])
        self.assertEqual(self.enrollments(), 1)

    def test_the_summary_is_the_owners_and_only_while_the_payment_can_still_be_paid(self):
        payment_intent = self.checkout.create(billingAddress=GERMANY).json()["paymentIntent"]
        other = Client()
        other.force_login(get_user_model().objects.create_user("other", password=PASSWORD))

        self.assertEqual(self.summary(payment_intent, other).status_code, 404)
        self.assertEqual(self.summary("pi_unknown").status_code, 404)
        self.assertEqual(self.client.post(reverse("checkout-tax", args=[payment_intent])).status_code, 405)
        self.checkout.pay(SUCCEEDS)
        self.checkout.update_status()
        self.assertEqual(self.summary(payment_intent).status_code, 404)
        anonymous = Client().get(reverse("checkout-tax", args=[payment_intent]))
        self.assertEqual(anonymous.status_code, 302)


@OFFLINE
class InclusiveTaxTests(CheckoutMixin, TestCase):
    def test_prices_that_include_tax_are_charged_as_they_are_and_enroll(self):
        with inclusive_tax():
            response = self.checkout.create(billingAddress=INDIA)
            self.assertEqual(response.status_code, 201, response.content)
            # 18% within 19.99: 19.99 * 18/118 = 3.05.
            self.assertEqual((response.json()["amount"], response.json()["amountTax"]), ("19.99", "3.05"))
            summary = self.client.get(reverse("checkout-tax", args=[response.json()["paymentIntent"]])).json()
            self.assertEqual(summary, {"price": "$19.99", "taxes": [
                {"label": "Includes tax (GST 18%)", "amount": "$3.05"}], "inclusive": True, "total": "$19.99"})
            self.checkout.pay(SUCCEEDS)
            self.checkout.update_status()
        self.assertEqual(self.enrollments(), 1)


@OFFLINE
class CheckoutPageTaxTests(TestCase):
    def setUp(self) -> None:
        self.user = get_user_model().objects.create_user("student", password=PASSWORD)
        self.client.force_login(self.user)
        self.course = Course.objects.create(title="Rust", slug="rust", price=Decimal("15.00"), currency="usd")
        Course.objects.create(title="Git Basics", slug="git-basics", price=Decimal("0.00"), currency="usd")

    def page(self, slug: str = "rust", **headers: str) -> str:
        return self.client.get(reverse("checkout", args=[slug]), **headers).content.decode()

    def config(self, html: str) -> dict[str, object]:
        found = re.search(r'<script id="checkout-config" type="application/json">(.*?)</script>', html, re.S)
        assert found is not None
        return json.loads(found.group(1))

    def selected(self, html: str) -> str:
        found = re.search(r'<option value="([A-Z]{2})" selected>', html)
        assert found is not None
        return found.group(1)

    def test_a_paid_course_asks_for_country_and_postal_code_and_says_where_the_total_comes_from(self):
        html = self.page(HTTP_ACCEPT_LANGUAGE="en")

        self.assertIn('id="tax-form"', html)
        self.assertIn('<select id="billing-country" name="country" autocomplete="country">', html)
        self.assertIn('id="billing-postal-code"', html)
        self.assertEqual(len(re.findall(r"<option value=", html)), len(countries.COUNTRIES))
        config = self.config(html)
        self.assertIs(config["tax"], True)
        self.assertEqual(config["taxUrl"], "/checkout/tax/PAYMENT_INTENT/")
        self.assertEqual(config["postalCodeCountries"], ["US", "CA"])

    def test_the_country_defaults_to_the_browsers_region_else_the_languages_country(self):
        self.assertEqual(self.selected(self.page(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")), "GB")
        self.assertEqual(self.selected(self.page(HTTP_ACCEPT_LANGUAGE="en-US")), "US")
        self.assertEqual(self.selected(self.page(HTTP_ACCEPT_LANGUAGE="en-ZZ")), "US")
        self.assertEqual(self.selected(self.page(HTTP_ACCEPT_LANGUAGE="hi")), "IN")

    def test_in_hindi_the_countries_are_named_in_hindi(self):
        html = self.page(HTTP_ACCEPT_LANGUAGE="hi")

        self.assertIn('<option value="IN" selected>भारत</option>', html)
        self.assertIn('<option value="DE">जर्मनी</option>', html)
        self.assertIn("आपका बिलिंग पता", html)

    def test_a_free_course_asks_for_no_address(self):
        html = self.page("git-basics")

        self.assertNotIn('id="tax-form"', html)
        self.assertNotIn("tax", self.config(html))

    def test_without_tax_the_page_asks_for_no_address(self):
        with without_tax():
            html = self.page()
        self.assertNotIn('id="tax-form"', html)
        self.assertNotIn("tax", self.config(html))


@OFFLINE
class ReceiptLinkTests(CheckoutMixin, TestCase):
    def test_my_courses_links_a_paid_course_to_its_receipt_and_pdf(self):
        self.checkout.create(billingAddress=GERMANY)
        self.checkout.pay(SUCCEEDS)
        self.checkout.update_status()
        payment_intent = self.checkout.payment().stripe_payment_intent

        html = self.client.get(reverse("my-courses")).content.decode()

        receipt = reverse("apranova_payments:payment-receipt", args=[payment_intent])
        self.assertIn(f'<a href="{receipt}" class="receipt">Receipt</a>', html)
        self.assertIn(f'<a href="{receipt}?format=pdf" class="receipt-pdf">PDF</a>', html)
        page = self.client.get(receipt)
        self.assertEqual(page.status_code, 200)
        text = page.content.decode()
        self.assertRegex(text, r"R-0+1\b")
        self.assertIn("ApraNova Academy Ltd", text)
        self.assertIn("$3.80", text)
        self.assertIn("$23.79", text)

    def test_a_free_enrollment_has_no_receipt_link(self):
        self.course.price = Decimal("0.00")
        self.course.save()
        self.checkout.post_json(reverse("apranova_payments:create-payment"),
                                {"metadata": {"course": str(self.course.pk)}}, HTTP_IDEMPOTENCY_KEY="free-2")
        self.assertEqual(Enrollment.objects.filter(user=self.user).count(), 1)

        html = self.client.get(reverse("my-courses")).content.decode()

        self.assertNotIn('class="receipt"', html)
