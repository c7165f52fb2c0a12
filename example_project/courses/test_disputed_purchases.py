"""A disputed purchase on the student's pages: "My courses" lists it as disputed (not as
refunded), and while its dispute is open neither page offers to enroll in the course again;
once the dispute is lost, the course may be bought again."""

from __future__ import annotations

from django.test import TestCase
from django.urls import reverse

from django_apranova_payments.simulator.gateway import SimulatorGateway
from django_apranova_payments.simulator.models import SimulatedDispute

from .tests import DISPUTED, OFFLINE, CheckoutMixin, event_of


@OFFLINE
class DisputedPurchaseTests(CheckoutMixin, TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.checkout.create()
        self.checkout.pay(DISPUTED)
        self.checkout.update_status()
        self.dispute = SimulatedDispute.objects.get()
        self.checkout.deliver(event_of(self.dispute, "charge.dispute.created"))

    def page(self, name: str) -> str:
        return self.client.get(reverse(name)).content.decode()

    def test_my_courses_lists_an_open_dispute_as_disputed_without_enroll(self):
        page = self.page("my-courses")

        self.assertNotIn("Refunded purchases", page)
        disputed = page.split("<h2>Disputed purchases</h2>")[1].split("<h2>")[0]
        self.assertIn("Python for Data Science", disputed)
        self.assertIn("Your bank is reviewing this payment.", disputed)
        self.assertNotIn("Enroll", disputed)
        self.assertNotIn(reverse("checkout", args=["python"]), page)

    def test_the_course_list_does_not_offer_enroll_while_the_dispute_is_open(self):
        page = self.page("course-list")

        self.assertIn("Disputed: see", page)
        self.assertNotIn("Enroll in Python for Data Science", page)
        self.assertNotIn(reverse("checkout", args=["python"]), page)

    def test_a_lost_dispute_stays_disputed_and_the_course_may_be_bought_again(self):
        closed = SimulatorGateway().close_dispute(self.dispute.dispute_id, won=False)
        self.checkout.deliver(event_of(closed, "charge.dispute.closed"))

        mine = self.page("my-courses")
        self.assertNotIn("Refunded purchases", mine)
        self.assertIn("The dispute is closed", mine.split("<h2>Disputed purchases</h2>")[1])
        self.assertIn(f'href="{reverse("checkout", args=["python"])}"', mine)
        self.assertIn("Enroll in Python for Data Science", self.page("course-list"))
