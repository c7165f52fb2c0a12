"""The example's checkout through the package's real paths, offline: create-payment with the
price resolver, the simulator's confirm and 3-D Secure, update-status, and signed webhook
deliveries to the real endpoint. Run with ``python manage.py test courses``, without Stripe
keys in the environment: the simulator's app is installed only then."""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, TestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from example_site.simulator_secret import simulator_webhook_secret

from django_apranova_payments import services, signals, signing
from django_apranova_payments.models import Dispute, Payment, Refund, WebhookEvent
from django_apranova_payments.simulator import sender
from django_apranova_payments.simulator.gateway import SimulatorGateway
from django_apranova_payments.simulator.models import SimulatedDispute, SimulatedPaymentIntent, SimulatedRefund

from .ids import parse_course_id
from .management.commands.seed_demo import DEMO_COURSES
from .models import Course, Enrollment, RevokedEnrollment
from .receivers import enroll_after_payment, restore, revoke, unenroll_after_full_refund

SECRET = "whsec_example_tests"  # noqa: S105
PASSWORD = "pw"  # noqa: S105
OFFLINE = override_settings(
    PAYMENTS_MODE="simulator",
    APRANOVA_PAYMENTS={
        **settings.APRANOVA_PAYMENTS,
        "GATEWAY": settings.SIMULATOR_GATEWAY,
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "SIMULATOR_WEBHOOK_URL": None,  # the tests deliver the events themselves
    },
)
SUCCEEDS, DECLINED, AUTHENTICATE = "4242424242424242", "4000000000009995", "4000002500003155"
DISPUTED = "4000000000000259"
US_ADDRESS = {"country": "US", "postalCode": "10001"}


class Checkout:
    """A student's browser, as the checkout page drives it."""

    def __init__(self, client: Client, course: Course) -> None:
        self.client, self.course = client, course
        self.intent: dict[str, Any] = {}

    def post_json(self, url: str, body: Any, **headers: Any) -> Any:
        return self.client.post(url, data=json.dumps(body), content_type="application/json", **headers)

    def create(self, key: str = "checkout-1", course_id: str | None = None, **body: Any) -> Any:
        course_id = str(self.course.pk) if course_id is None else course_id
        if settings.APRANOVA_PAYMENTS.get("TAX") is not None:
            # The page sends the buyer's address with TAX on; a US one is taxed 0% offline.
            body.setdefault("billingAddress", US_ADDRESS)
        response = self.post_json(reverse("apranova_payments:create-payment"),
                                  {"metadata": {"course": course_id}, **body}, HTTP_IDEMPOTENCY_KEY=key)
        if response.status_code == 201:
            self.intent = response.json()
        return response

    def pay(self, number: str) -> Any:
        card = {"number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123"}
        return self.post_json(
            reverse("apranova_payments_simulator:confirm", args=[self.intent["paymentIntent"]]),
            {"client_secret": self.intent["clientSecret"], "payment_method_data": {"type": "card", "card": card}},
        )

    def authenticate(self, action: str) -> Any:
        return self.client.post(
            reverse("apranova_payments_simulator:authenticate", args=[self.intent["paymentIntent"]]),
            {"client_secret": self.intent["clientSecret"], "action": action},
        )

    def update_status(self) -> dict[str, Any]:
        response = self.post_json(reverse("apranova_payments:update-status"),
                                  {"paymentIntent": self.intent["paymentIntent"]})
        assert response.status_code == 200, response.content
        return response.json()

    def event(self, event_type: str = "payment_intent.succeeded") -> bytes:
        """The event the simulator sends for the intent's current state (a new event id)."""
        intent = SimulatedPaymentIntent.objects.get(intent_id=self.intent["paymentIntent"])
        return json.dumps(sender.build_event(intent, event_type)).encode()

    def payment(self) -> Payment:
        return Payment.objects.get(stripe_payment_intent=self.intent["paymentIntent"])

    def deliver(self, body: bytes) -> str:
        response = Client().post(reverse("apranova_payments:webhook"), data=body, content_type="application/json",
                                 HTTP_STRIPE_SIGNATURE=signing.signature_header(body, SECRET))
        assert response.status_code == 200, response.content
        return response.json()["outcome"]


class SignalCount:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> None:
        with self.lock:
            self.count += 1


class CheckoutMixin:
    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        cache.clear()  # the per-user throttles count in the cache, and user ids repeat between tests
        self.user = get_user_model().objects.create_user("student", password=PASSWORD)
        self.course = Course.objects.create(title="Python for Data Science", slug="python", price=Decimal("19.99"),
                                            currency="usd")
        self.client.force_login(self.user)  # type: ignore[attr-defined]
        self.checkout = Checkout(self.client, self.course)  # type: ignore[attr-defined]
        self.succeeded = SignalCount()
        signals.payment_succeeded.connect(self.succeeded, weak=False)

    def tearDown(self) -> None:
        signals.payment_succeeded.disconnect(self.succeeded)
        super().tearDown()  # type: ignore[misc]

    def enrollments(self) -> int:
        return Enrollment.objects.filter(user=self.user, course=self.course).count()


@OFFLINE
class PriceTests(CheckoutMixin, TestCase):
    def test_the_course_sets_the_price_whatever_the_browser_sends(self):
        response = self.checkout.create(amount="0.50", currency="eur")

        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual((response.json()["amount"], response.json()["currency"]), ("19.99", "usd"))
        self.assertEqual(SimulatedPaymentIntent.objects.get().amount, 1999)  # not 1998: no float

    def test_an_unknown_course_is_refused(self):
        self.course.pk = 999_999

        response = self.checkout.create()

        self.assertEqual(response.status_code, 400)
        self.assertIn("metadata", response.json())

    def test_an_enrolled_student_cannot_pay_again(self):
        Enrollment.objects.create(user=self.user, course=self.course)

        response = self.checkout.create()

        self.assertEqual(response.status_code, 400)
        self.assertIn("already enrolled", response.json()["course"][0])


#: Digits that ``str.isdigit()`` or ``int()`` accept but a course id does not.
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@OFFLINE
class CourseIdTests(CheckoutMixin, TestCase):
    def test_only_ascii_digits_of_bounded_length_are_course_ids(self):
        self.assertEqual(parse_course_id("2"), 2)
        self.assertEqual(parse_course_id("9" * 18), 10**18 - 1)
        refused = ["٢", "²", "2²", "", " 2", "2\n", "+2", "-2", "2.0", "1_0", "0x2", "9" * 19, "\x002", 2, None, ["2"]]
        for value in refused:
            with self.subTest(value=value):
                self.assertIsNone(parse_course_id(value))

    def test_the_resolver_refuses_a_course_id_in_other_digits_with_a_400_naming_the_field(self):
        for key, course_id in enumerate([str(self.course.pk).translate(ARABIC_INDIC), "²", "2²", "9" * 30, " 1"]):
            with self.subTest(course_id=course_id):
                response = self.checkout.create(key=f"k{key}", course_id=course_id)

                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn("course", response.json()["metadata"])
        self.assertFalse(SimulatedPaymentIntent.objects.exists())
        self.assertFalse(Payment.objects.exists())

    def test_the_receiver_ignores_a_course_id_in_other_digits(self):
        payment = Payment.objects.create(user=self.user, stripe_payment_intent="pi_digits", amount=Decimal("19.99"),
                                         currency="usd")
        for course_id in [str(self.course.pk).translate(ARABIC_INDIC), "²", "9" * 30]:
            with self.subTest(course_id=course_id):
                payment.metadata = {"course": course_id}

                enroll_after_payment(sender=Payment, payment=payment, event=None)

                self.assertFalse(Enrollment.objects.exists())

    def test_the_receiver_enrolls_only_for_the_courses_price_and_currency(self):
        unpaid = [(Decimal("0.50"), self.course.currency), (self.course.price, "eur")]
        for number, (amount, currency) in enumerate(unpaid):
            with self.subTest(amount=amount, currency=currency):
                payment = Payment.objects.create(
                    user=self.user, stripe_payment_intent=f"pi_cheap_{number}", amount=amount, currency=currency,
                    metadata={"course": str(self.course.pk)},
                )

                enroll_after_payment(sender=Payment, payment=payment, event=None)

                self.assertFalse(Enrollment.objects.exists())
        paid = Payment.objects.create(user=self.user, stripe_payment_intent="pi_paid", amount=self.course.price,
                                      currency=self.course.currency, metadata={"course": str(self.course.pk)})
        enroll_after_payment(sender=Payment, payment=paid, event=None)
        self.assertTrue(Enrollment.objects.filter(user=self.user, course=self.course).exists())


@OFFLINE
@override_settings(DEBUG=False)
class DebugOffTests(CheckoutMixin, TestCase):
    """``EXAMPLE_DEBUG=0`` without Stripe keys: the simulator takes no payment at all."""

    def test_create_payment_is_refused_with_a_generic_500_and_no_intent(self):
        response = self.checkout.create()

        self.assertEqual(response.status_code, 500)
        self.assertEqual(response.json(), {"detail": "Payments are misconfigured on the server."})
        self.assertFalse(SimulatedPaymentIntent.objects.exists())
        self.assertFalse(Payment.objects.exists())

    def test_the_simulator_endpoints_are_404_and_pay_nothing(self):
        with self.settings(DEBUG=True):
            self.checkout.create()

        self.assertEqual(self.checkout.pay(SUCCEEDS).status_code, 404)
        self.assertEqual(self.client.get(reverse("apranova_payments_simulator:js")).status_code, 404)
        self.assertEqual(SimulatedPaymentIntent.objects.get().status, "requires_payment_method")
        self.assertEqual(self.enrollments(), 0)


class SimulatorSecretTests(TestCase):
    def test_one_random_secret_per_database_kept_beside_it_for_its_owner_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            first, other = Path(tmp, "a.sqlite3.secret"), Path(tmp, "b.sqlite3.secret")

            secret = simulator_webhook_secret(first)

            self.assertTrue(secret.startswith("whsec_") and len(secret) > 40)
            self.assertEqual(simulator_webhook_secret(first), secret)
            self.assertNotEqual(simulator_webhook_secret(other), secret)
            self.assertEqual(stat.S_IMODE(os.stat(first).st_mode), 0o600)
            self.assertEqual(sorted(p.name for p in Path(tmp).iterdir()), ["a.sqlite3.secret", "b.sqlite3.secret"])

    def test_processes_starting_together_agree_on_the_secret(self):
        with tempfile.TemporaryDirectory() as tmp:
            path, results = Path(tmp, "db.sqlite3.secret"), []
            barrier = threading.Barrier(8)

            def make() -> None:
                barrier.wait(10)
                results.append(simulator_webhook_secret(path))

            threads = [threading.Thread(target=make) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)

            self.assertEqual(len(results), 8)
            self.assertEqual(len(set(results)), 1)

    def test_the_settings_use_no_public_default_secret(self):
        secret = settings.APRANOVA_PAYMENTS["STRIPE_WEBHOOK_SECRET"]

        self.assertNotEqual(secret, "whsec_offline_simulator_not_a_secret")
        if not os.environ.get("STRIPE_WEBHOOK_SECRET"):
            self.assertEqual(secret, settings.SIMULATOR_SECRET_FILE.read_text().strip())


@OFFLINE
class EnrollmentTests(CheckoutMixin, TestCase):
    def test_update_status_first_then_every_webhook_repeated_gives_one_enrollment(self):
        self.checkout.create()
        self.checkout.pay(SUCCEEDS)
        first_event, second_event = self.checkout.event(), self.checkout.event()  # Stripe may send two

        self.assertEqual(self.checkout.update_status()["status"], "succeeded")
        self.assertEqual(self.checkout.update_status()["status"], "succeeded")
        outcomes = [self.checkout.deliver(body) for body in (first_event, first_event, second_event, first_event)]
        self.checkout.update_status()

        self.assertEqual(self.enrollments(), 1)
        self.assertEqual(self.succeeded.count, 1)
        self.assertEqual(outcomes[1], "duplicate")
        self.assertEqual(Enrollment.objects.get().payment.stripe_payment_intent, self.checkout.intent["paymentIntent"])

    def test_webhook_first_then_update_status_repeated_gives_one_enrollment(self):
        self.checkout.create()
        self.checkout.pay(SUCCEEDS)
        event = self.checkout.event()

        self.assertEqual(self.checkout.deliver(event), "processed")
        for _ in range(3):
            self.checkout.update_status()
            self.checkout.deliver(self.checkout.event())
        self.checkout.deliver(event)

        self.assertEqual(self.enrollments(), 1)
        self.assertEqual(self.succeeded.count, 1)
        self.assertEqual(WebhookEvent.objects.count(), 4)

    def test_a_decline_enrolls_nobody_and_the_retry_on_the_same_payment_enrolls_once(self):
        self.checkout.create()

        self.assertEqual(self.checkout.pay(DECLINED).status_code, 402)
        self.checkout.deliver(self.checkout.event("payment_intent.payment_failed"))
        self.assertEqual(self.checkout.update_status()["failureCode"], "insufficient_funds")
        self.assertEqual(self.enrollments(), 0)

        self.assertEqual(self.checkout.pay(SUCCEEDS).status_code, 200)
        self.checkout.deliver(self.checkout.event())
        self.checkout.update_status()

        self.assertEqual(self.enrollments(), 1)
        self.assertEqual(Payment.objects.count(), 1)

    def test_a_retry_of_the_paying_request_after_enrollment_answers_the_same_payment(self):
        self.checkout.create(key="checkout-1")
        self.checkout.pay(SUCCEEDS)
        self.checkout.update_status()
        first = self.checkout.intent

        replay = self.checkout.create(key="checkout-1")  # its first answer was lost
        another = self.checkout.create(key="checkout-2")

        self.assertEqual(replay.status_code, 201, replay.content)
        self.assertEqual(replay.json()["paymentIntent"], first["paymentIntent"])
        self.assertEqual(replay.json()["status"], "succeeded")
        self.assertEqual(another.status_code, 400)
        self.assertEqual((Payment.objects.count(), self.enrollments()), (1, 1))

    def test_3d_secure_enrolls_after_authentication_only(self):
        self.checkout.create()

        self.assertEqual(self.checkout.pay(AUTHENTICATE).json()["status"], "requires_action")
        self.assertEqual(self.checkout.update_status()["status"], "pending")
        self.assertEqual(self.enrollments(), 0)
        self.checkout.authenticate("complete")

        self.assertEqual(self.checkout.update_status()["status"], "succeeded")
        self.assertEqual(self.enrollments(), 1)

    def test_two_payments_for_the_same_course_make_one_enrollment(self):
        other_tab = Checkout(self.client, self.course)
        self.checkout.create(key="tab-1")
        other_tab.create(key="tab-2")
        self.checkout.pay(SUCCEEDS)
        other_tab.pay(SUCCEEDS)

        self.checkout.update_status()
        other_tab.update_status()

        self.assertEqual(self.succeeded.count, 2)
        self.assertEqual(self.enrollments(), 1)

    def test_a_payment_without_a_course_enrolls_nobody(self):
        payment = Payment.objects.create(user=self.user, stripe_payment_intent="pi_other", amount=Decimal("5.00"),
                                         currency="usd", metadata={"invoice": "7"})

        enroll_after_payment(sender=Payment, payment=payment, event=None)
        payment.metadata = {"course": "999999"}
        enroll_after_payment(sender=Payment, payment=payment, event=None)

        self.assertFalse(Enrollment.objects.exists())


@OFFLINE
class ConcurrentDeliveryTests(CheckoutMixin, TransactionTestCase):
    """The webhook (twice, and a second event) and update-status (several tabs) at the same
    moment, each on its own database connection."""

    def test_simultaneous_webhooks_and_update_status_give_one_enrollment(self):
        self.checkout.create()
        self.checkout.pay(SUCCEEDS)
        event, other_event = self.checkout.event(), self.checkout.event()
        work = [lambda: self.checkout.deliver(event)] * 3 + [lambda: self.checkout.deliver(other_event)]
        for _ in range(4):
            tab = Checkout(Client(), self.course)
            tab.client.force_login(self.user)
            tab.intent = self.checkout.intent
            work.append(tab.update_status)
        barrier, errors = threading.Barrier(len(work)), []

        def run(job: Any) -> None:
            try:
                barrier.wait(10)
                job()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(job,)) for job in work]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        self.assertEqual(errors, [])
        self.assertEqual(self.enrollments(), 1)
        self.assertEqual(self.succeeded.count, 1)
        self.assertEqual(Payment.objects.get().status, "succeeded")
        self.assertEqual(WebhookEvent.objects.count(), 2)


@OFFLINE
class PageTests(TestCase):
    def setUp(self) -> None:
        self.user = get_user_model().objects.create_user("student", password=PASSWORD)
        self.course = Course.objects.create(title="DevOps Essentials", slug="devops", price=Decimal("49.00"),
                                            currency="eur")

    def test_checkout_needs_a_login(self):
        response = self.client.get(reverse("checkout", args=["devops"]))

        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_checkout_says_it_is_a_simulator_and_loads_the_simulator(self):
        self.client.force_login(self.user)

        response = self.client.get(reverse("checkout", args=["devops"]))

        self.assertContains(response, "no money moves")
        self.assertContains(response, reverse("apranova_payments_simulator:js"))
        self.assertNotContains(response, "js.stripe.com")
        config = json.loads(response.content.decode().split('id="checkout-config" type="application/json">')[1]
                            .split("</script>")[0])
        self.assertEqual((config["amountMinor"], config["currency"], config["mode"]), (4900, "eur", "simulator"))

    @override_settings(PAYMENTS_MODE="stripe", STRIPE_PUBLISHABLE_KEY="pk_test_example")
    def test_with_stripe_keys_the_checkout_uses_stripe_js(self):
        self.client.force_login(self.user)

        response = self.client.get(reverse("checkout", args=["devops"]))

        self.assertContains(response, "https://js.stripe.com/v3/")
        self.assertContains(response, "pk_test_example")
        self.assertNotContains(response, "no money moves")

    def test_an_enrolled_student_sees_the_enrollment(self):
        Enrollment.objects.create(user=self.user, course=self.course)
        self.client.force_login(self.user)

        self.assertContains(self.client.get(reverse("checkout", args=["devops"])), "You are enrolled")
        self.assertContains(self.client.get(reverse("my-courses")), "DevOps Essentials")
        self.assertContains(self.client.get(reverse("course-list")), "Enrolled")


class SeedDemoTests(TestCase):
    def test_seed_demo_is_idempotent(self):
        call_command("seed_demo", stdout=io.StringIO())
        call_command("seed_demo", "--password", "other", stdout=io.StringIO())

        self.assertEqual(get_user_model().objects.count(), 1)
        self.assertEqual(Course.objects.count(), len(DEMO_COURSES))
        self.assertTrue(self.client.login(username="demo", password="other"))  # noqa: S106
        self.assertEqual(Course.objects.get(slug="python-for-data-science").amount_minor, 1999)


def event_of(obj: Any, event_type: str) -> bytes:
    """The event the simulator sends for a simulated refund or dispute as it is now."""
    return json.dumps(sender.build_event(obj, event_type)).encode()


@OFFLINE
class RefundAndDisputeTests(CheckoutMixin, TestCase):
    """A full refund or a dispute takes the course away; a refund that fails after all, or a
    dispute won, gives it back; a partial refund keeps it. Through the simulator's refunds,
    its dispute card and signed deliveries of its events to the webhook endpoint."""

    def paid(self, number: str = SUCCEEDS, key: str = "checkout-1") -> Payment:
        self.checkout.create(key=key)
        self.assertEqual(self.checkout.pay(number).status_code, 200)
        self.assertEqual(self.checkout.update_status()["status"], "succeeded")
        return self.checkout.payment()

    def my_courses(self) -> str:
        return self.client.get(reverse("my-courses")).content.decode()

    def test_a_full_refund_takes_the_course_away_once_and_my_courses_lists_it_as_refunded(self):
        payment = self.paid()
        self.assertEqual(self.enrollments(), 1)

        services.refund_payment(payment, reason="requested_by_customer")
        refund = SimulatedRefund.objects.get()
        for body in (event_of(refund, "refund.created"), event_of(refund, "refund.created")):
            self.checkout.deliver(body)

        self.assertEqual(self.enrollments(), 0)
        revoked = RevokedEnrollment.objects.get()
        self.assertEqual((revoked.user, revoked.course, revoked.payment, revoked.reason),
                         (self.user, self.course, payment, "refunded"))
        page = self.my_courses()
        self.assertIn("Refunded purchases", page)
        self.assertIn("Python for Data Science", page.split("Refunded purchases")[1])
        self.assertIn("You are not enrolled in any course yet.", page)
        self.assertEqual(self.checkout.create(key="buy-again").status_code, 201)  # may buy it again

    def test_a_partial_refund_keeps_the_course(self):
        payment = self.paid()

        services.refund_payment(payment, Decimal("5.00"))
        services.refund_payment(payment, Decimal("5.00"))

        payment.refresh_from_db()
        self.assertEqual(payment.amount_refunded, Decimal("10.00"))
        self.assertEqual(self.enrollments(), 1)
        self.assertFalse(RevokedEnrollment.objects.exists())
        page = self.my_courses()
        self.assertIn("partly refunded ($10.00)", page)
        self.assertNotIn("Refunded purchases", page)

    def test_the_last_partial_refund_that_completes_it_takes_the_course_away(self):
        payment = self.paid()

        services.refund_payment(payment, Decimal("19.00"))
        self.assertEqual(self.enrollments(), 1)
        services.refund_payment(payment)

        self.assertEqual(self.enrollments(), 0)

    def test_a_refund_that_fails_after_it_succeeded_gives_the_course_back_once(self):
        payment = self.paid()
        services.refund_payment(payment)
        self.assertEqual(self.enrollments(), 0)

        failed = SimulatorGateway().fail_refund(SimulatedRefund.objects.get().refund_id)
        body = event_of(failed, "refund.failed")
        outcomes = [self.checkout.deliver(body), self.checkout.deliver(event_of(failed, "refund.updated")),
                    self.checkout.deliver(body)]

        self.assertEqual(outcomes, ["processed", "processed", "duplicate"])
        self.assertEqual(Refund.objects.get().status, "failed")
        self.assertEqual(self.enrollments(), 1)
        self.assertEqual(Enrollment.objects.get().payment, payment)
        self.assertFalse(RevokedEnrollment.objects.exists())
        self.assertNotIn("Refunded purchases", self.my_courses())

    def test_a_failed_partial_refund_changes_nothing(self):
        payment = self.paid()
        services.refund_payment(payment, Decimal("5.00"))

        failed = SimulatorGateway().fail_refund(SimulatedRefund.objects.get().refund_id)
        self.checkout.deliver(event_of(failed, "refund.failed"))

        self.assertEqual(self.enrollments(), 1)
        self.assertFalse(RevokedEnrollment.objects.exists())

    def test_a_dashboard_refund_seen_only_in_its_events_takes_the_course_away(self):
        payment = self.paid()

        SimulatorGateway().dashboard_refund(payment.stripe_payment_intent)
        refund = SimulatedRefund.objects.get()
        self.checkout.deliver(event_of(refund, "refund.created"))

        self.assertIsNone(Refund.objects.get().requested_by)
        self.assertEqual(self.enrollments(), 0)
        self.assertEqual(RevokedEnrollment.objects.get().reason, "refunded")

    def test_the_dispute_card_takes_the_course_away_and_a_won_dispute_gives_it_back(self):
        payment = self.paid(DISPUTED)
        self.assertEqual(self.enrollments(), 1)  # update-status saw the success first
        dispute = SimulatedDispute.objects.get()

        for _ in range(2):
            self.checkout.deliver(event_of(dispute, "charge.dispute.created"))

        self.assertEqual(self.enrollments(), 0)
        self.assertEqual(RevokedEnrollment.objects.get().reason, "disputed")
        self.assertIn("Python for Data Science", self.my_courses().split("Disputed purchases")[1])

        closed = SimulatorGateway().close_dispute(dispute.dispute_id, won=True)
        self.checkout.deliver(event_of(closed, "charge.dispute.closed"))

        self.assertEqual(Dispute.objects.get(payment=payment).status, "won")
        self.assertEqual(self.enrollments(), 1)
        self.assertFalse(RevokedEnrollment.objects.exists())

    def test_a_lost_dispute_keeps_the_course_away(self):
        self.paid(DISPUTED)
        dispute = SimulatedDispute.objects.get()
        self.checkout.deliver(event_of(dispute, "charge.dispute.created"))

        closed = SimulatorGateway().close_dispute(dispute.dispute_id, won=False)
        self.checkout.deliver(event_of(closed, "charge.dispute.closed"))

        self.assertEqual(self.enrollments(), 0)
        self.assertEqual(RevokedEnrollment.objects.get().reason, "disputed")

    def test_a_dispute_that_arrives_before_the_success_enrolls_nobody_until_it_is_won(self):
        self.checkout.create()
        self.checkout.pay(DISPUTED)
        dispute = SimulatedDispute.objects.get()

        self.checkout.deliver(event_of(dispute, "charge.dispute.created"))  # Stripe does not promise order
        self.checkout.deliver(self.checkout.event("payment_intent.succeeded"))

        self.assertEqual(self.succeeded.count, 1)
        self.assertEqual(self.enrollments(), 0)
        self.assertEqual(RevokedEnrollment.objects.get().reason, "disputed")

        closed = SimulatorGateway().close_dispute(dispute.dispute_id, won=True)
        self.checkout.deliver(event_of(closed, "charge.dispute.closed"))
        self.assertEqual(self.enrollments(), 1)

    def test_another_payment_for_the_course_keeps_the_enrollment(self):
        other_tab = Checkout(self.client, self.course)
        self.checkout.create(key="tab-1")
        other_tab.create(key="tab-2")  # two tabs, both paid before either enrolled
        for tab in (self.checkout, other_tab):
            tab.pay(SUCCEEDS)
            tab.update_status()
        first, second = self.checkout.payment(), other_tab.payment()
        self.assertEqual(Enrollment.objects.get().payment, first)

        services.refund_payment(first)

        self.assertEqual(Enrollment.objects.get().payment, second)
        self.assertFalse(RevokedEnrollment.objects.exists())
        services.refund_payment(second)
        self.assertEqual(self.enrollments(), 0)
        self.assertEqual(RevokedEnrollment.objects.get().payment, second)

    def test_the_receivers_are_idempotent(self):
        payment = self.paid()
        Payment.objects.filter(pk=payment.pk).update(amount_refunded=payment.amount)
        payment.refresh_from_db()

        for _ in range(2):
            unenroll_after_full_refund(sender=Payment, payment=payment, refund=None, event=None)
        self.assertEqual((self.enrollments(), RevokedEnrollment.objects.count()), (0, 1))

        Payment.objects.filter(pk=payment.pk).update(amount_refunded=0)
        payment.refresh_from_db()
        for _ in range(2):
            restore(payment)
        self.assertEqual((self.enrollments(), RevokedEnrollment.objects.count()), (1, 0))

    def test_an_enrollment_made_by_hand_is_not_a_refunds_to_take(self):
        payment = self.paid()
        Enrollment.objects.update(payment=None)
        Payment.objects.filter(pk=payment.pk).update(amount_refunded=payment.amount)
        payment.refresh_from_db()

        revoke(payment, RevokedEnrollment.Reason.REFUNDED)

        self.assertEqual(self.enrollments(), 1)


class MyCoursesQueriesTests(TestCase):
    """"My courses" reads its rows in a fixed number of queries, however many there are; the
    admin shows revoked enrollments without letting anyone change them."""

    def setUp(self) -> None:
        self.user = get_user_model().objects.create_user("student", password=PASSWORD, is_staff=True,
                                                         is_superuser=True)
        self.client.force_login(self.user)
        self.number = 0

    def add_rows(self, count: int) -> None:
        for _ in range(count):
            self.number += 1
            n = self.number
            course = Course.objects.create(title=f"Course {n}", slug=f"course-{n}", price=Decimal("10.00"))
            paid = Payment.objects.create(user=self.user, stripe_payment_intent=f"pi_{n}", amount=Decimal("10.00"),
                                          currency="usd", amount_refunded=Decimal("1.00"))
            Enrollment.objects.create(user=self.user, course=course, payment=paid)
            gone = Course.objects.create(title=f"Gone {n}", slug=f"gone-{n}", price=Decimal("10.00"))
            refunded = Payment.objects.create(user=self.user, stripe_payment_intent=f"pi_gone_{n}",
                                              amount=Decimal("10.00"), currency="usd")
            RevokedEnrollment.objects.create(user=self.user, course=gone, payment=refunded, reason="refunded",
                                             enrolled_at=refunded.created_at)

    def queries_for_my_courses(self) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = self.client.get(reverse("my-courses"))
        self.assertEqual(response.status_code, 200)
        return len(captured.captured_queries)

    def test_my_courses_costs_the_same_queries_for_one_row_or_five(self):
        self.add_rows(1)
        one = self.queries_for_my_courses()
        self.add_rows(4)

        page = self.client.get(reverse("my-courses")).content.decode()
        self.assertEqual(self.queries_for_my_courses(), one)
        self.assertEqual(page.count('class="enrollment revoked"'), 5)
        self.assertEqual(page.count("partly refunded ($1.00)"), 5)

    def test_the_admin_lists_revoked_enrollments_read_only(self):
        self.add_rows(1)
        revoked = RevokedEnrollment.objects.get()

        listing = self.client.get(reverse("admin:courses_revokedenrollment_changelist"))
        detail = self.client.get(reverse("admin:courses_revokedenrollment_change", args=[revoked.pk]))
        post = self.client.post(reverse("admin:courses_revokedenrollment_change", args=[revoked.pk]),
                                {"reason": "disputed"})

        self.assertContains(listing, "Gone 1")
        self.assertContains(detail, "Gone 1")
        self.assertNotContains(detail, 'name="_save"')
        self.assertEqual(post.status_code, 403)
        self.assertEqual(self.client.get(reverse("admin:courses_revokedenrollment_add")).status_code, 403)
        self.assertEqual(RevokedEnrollment.objects.get().reason, "refunded")
