"""``manage.py seed_demo``: the demo student, the course catalogue, three coupons to try at
the checkout and a few weeks of demo payments (for the admin's Analytics page), idempotently."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from courses.models import Course
from django_apranova_payments.models import Coupon, Dispute, Payment, Refund

#: (slug, title, price, currency, description). 19.99 is where the original flow's
#: float arithmetic charged 1998 cents; 1999 here.
DEMO_COURSES = [
    ("full-stack-web-development", "Full-Stack Web Development", "999.00", "usd",
     "Django, REST APIs and a modern front end, from the first model to deployment."),
    ("python-for-data-science", "Python for Data Science", "19.99", "usd",
     "NumPy, pandas and plotting: the toolkit of every data team."),
    ("devops-essentials", "DevOps Essentials", "49.00", "eur",
     "Containers, CI pipelines and infrastructure as code."),
    ("cloud-fundamentals", "Cloud Fundamentals", "4999.00", "inr",
     "Compute, storage and networking on the major clouds."),
    # Free (ALLOW_FREE): enrolling goes through the same payment_succeeded receiver.
    ("git-basics", "Git Basics", "0.00", "usd",
     "Commits, branches and pull requests: a free first course."),
]

#: (code, fields): the codes the course list offers for trying. A percentage off any course,
#: an amount off the courses priced in dollars (once per student), and a scholarship that
#: makes any course free (ALLOW_FREE) for the first ten students who use it.
DEMO_COUPONS = [
    ("SPRING25", {"description": "Demo: 25% off any course, as often as you like.",
                  "percent_off": Decimal(25), "max_redemptions_per_user": None}),
    ("WELCOME10", {"description": "Demo: 10 dollars off a course priced in dollars, once per student.",
                   "amount_off": Decimal("10.00"), "currency": "usd", "max_redemptions_per_user": 1}),
    ("SCHOLARSHIP", {"description": "Demo: a free course for the first ten students, once each.",
                     "percent_off": Decimal(100), "max_redemptions": 10, "max_redemptions_per_user": 1}),
]

#: Days of demo payments, ending yesterday (so a payment made now sorts above them); they are
#: dated again on every run.
DEMO_DAYS = 35
#: Stripe's decline codes the demo's failed payments carry, the most frequent first.
DECLINES = ["card_declined"] * 5 + ["insufficient_funds"] * 3 + ["expired_card"] * 2 + ["incorrect_cvc"]

DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "apranova-demo"  # noqa: S105 - the documented password of a local demo


class Command(BaseCommand):
    help = (
        "Create or update the demo user and courses. Safe to run again: nothing is duplicated, "
        "and the user's password is reset to the one given."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=DEFAULT_USERNAME)
        parser.add_argument("--password", default=DEFAULT_PASSWORD)
        parser.add_argument("--no-admin", action="store_true", help="Do not give the user admin access.")
        parser.add_argument("--no-payments", action="store_true",
                            help=f"Do not make the {DEMO_DAYS} days of demo payments (pi_demo_…).")

    @transaction.atomic
    def handle(self, *args: Any, username: str, password: str, no_admin: bool, no_payments: bool = False,
               **options: Any) -> None:
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(**{user_model.USERNAME_FIELD: username})
        user.set_password(password)
        if not getattr(user, user.get_email_field_name(), ""):  # the failure notice needs an address
            setattr(user, user.get_email_field_name(), f"{username}@example.com")
        user.is_staff = user.is_superuser = not no_admin
        user.save()
        for slug, title, price, currency, description in DEMO_COURSES:
            Course.objects.update_or_create(
                slug=slug,
                defaults={"title": title, "price": Decimal(price), "currency": currency, "description": description},
            )
        seed_coupons()
        made = 0 if no_payments else seed_payments(user, list(Course.objects.filter(
            slug__in=[slug for slug, *_ in DEMO_COURSES], price__gt=0).order_by("slug")))
        self.stdout.write(
            f"{'Created' if created else 'Updated'} user {username!r}; {len(DEMO_COURSES)} demo courses and "
            f"{len(DEMO_COUPONS)} coupons ready"
            + (f"; {made} demo payments over the last {DEMO_DAYS} days." if made else ".")
        )


def seed_coupons() -> None:
    """The ``DEMO_COUPONS``, active and without dates, as listed (what staff changed in the
    admin is set back); the redemptions their payments hold are kept."""
    for code, fields in DEMO_COUPONS:
        defaults = {"percent_off": None, "amount_off": None, "currency": "", "max_redemptions": None,
                    "valid_from": None, "valid_until": None, "active": True, **fields}
        Coupon.objects.update_or_create(code=code, defaults=defaults)


def seed_payments(user: Any, courses: list[Course]) -> int:
    """``DEMO_DAYS`` of payments by ``user`` ending yesterday (all before now: a real payment
    made after the seed is the newest in the admin's list), the same on every run but dated from
    today: most succeeded, some declined (with Stripe's codes) or canceled, a few pending;
    refunds in full and in part, one dispute. Made directly in the database (no Stripe, no
    signal, no enrollment): they are for the admin's Analytics page. Their metadata names the
    course as ``demoCourse``, so nothing takes them for a purchase, and its title as
    ``product_name``, the line their receipts print."""
    rng = random.Random(2026)  # noqa: S311 - the same demo every time
    today = timezone.localdate()
    number, disputed = 0, False
    for back in range(DEMO_DAYS - 1, -1, -1):
        day = today - timedelta(days=back + 1)
        for _ in range(rng.randint(1, 4) + (2 if day.weekday() < 5 else 0)):
            created = timezone.make_aware(datetime.combine(day, time(rng.randint(7, 22), rng.randrange(60))))
            payment = _demo_payment(f"pi_demo_{number:04d}", user, rng.choice(courses), created, rng)
            if back <= 9 and not disputed and payment.status == "succeeded" and not payment.amount_refunded:
                Dispute.objects.update_or_create(stripe_dispute="dp_demo_0001", defaults={
                    "payment": payment, "amount": payment.amount, "currency": payment.currency,
                    "reason": "fraudulent", "status": "needs_response",
                    "evidence_due_by": created + timedelta(days=21)})
                disputed = True
            number += 1
    return number


def _demo_payment(intent: str, user: Any, course: Course, created: datetime, rng: random.Random) -> Payment:
    roll = rng.random()
    status = "succeeded" if roll < 0.72 else "failed" if roll < 0.88 else "canceled" if roll < 0.96 else "pending"
    code = rng.choice(DECLINES) if status == "failed" else ""
    refund = rng.random()
    refunded = Decimal(0)
    if status == "succeeded" and refund < 0.16:
        refunded = course.price if refund < 0.06 else (course.price / 2).quantize(Decimal("0.01"))
    payment, _ = Payment.objects.update_or_create(stripe_payment_intent=intent, defaults={
        "user": user, "amount": course.price, "currency": course.currency, "status": status,
        "stripe_status": "requires_payment_method" if status in ("failed", "pending") else status,
        "failure_code": code, "failure_message": "Your card was declined." if code else "",
        "metadata": {"demo": "seed_demo", "demoCourse": course.slug, "product_name": course.title},
        "amount_refunded": refunded,
        "succeeded_at": created + timedelta(minutes=1) if status == "succeeded" else None,
    })
    Payment.objects.filter(pk=payment.pk).update(created_at=created, updated_at=created)
    refund_id = f"re_demo_{intent.removeprefix('pi_demo_')}"
    if refunded:
        Refund.objects.update_or_create(stripe_refund=refund_id, defaults={
            "payment": payment, "amount": refunded, "currency": course.currency, "status": "succeeded",
            "reason": "requested_by_customer"})
        # The analytics count a refund on the day it was made: a few days after the payment.
        refunded_at = min(created + timedelta(days=1 + int(refund * 100) % 5), timezone.now())
        Refund.objects.filter(stripe_refund=refund_id).update(created_at=refunded_at, updated_at=refunded_at)
    else:
        Refund.objects.filter(stripe_refund=refund_id).delete()
    return payment
