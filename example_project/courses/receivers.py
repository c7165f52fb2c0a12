"""Enrollment follows payment: ``payment_succeeded`` creates it, at most once.

The package sends the signal exactly once per payment, inside the transaction that marks
the payment succeeded (whichever of the webhook and update-status saw it first). The
receiver is idempotent all the same, and the unique constraint on (user, course) backs it:
a second payment for the same course never makes a second enrollment. It enrolls only when
the payment paid the course's price, in its currency.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from django_apranova_payments.models import Payment
from django_apranova_payments.signals import payment_succeeded

from .ids import parse_course_id
from .models import Course, Enrollment

logger = logging.getLogger(__name__)


@receiver(payment_succeeded, sender=Payment, dispatch_uid="courses.enroll_after_payment")
def enroll_after_payment(sender: Any, payment: Payment, event: Any = None, **kwargs: Any) -> None:
    raw_id = payment.metadata.get("course")
    if raw_id is None or raw_id == "":
        return  # not a course purchase
    course_id = parse_course_id(raw_id)
    course = Course.objects.filter(pk=course_id).first() if course_id is not None else None
    if course is None:
        # Raising would make Stripe retry forever; the payment stays visible in the admin.
        logger.error("Payment %s names course %r, which is not a course of this site",
                     payment.stripe_payment_intent, str(raw_id)[:40])
        return
    if (payment.amount, payment.currency) != (course.price, course.currency):
        # The resolver set this price; any other amount was not paid for this course.
        logger.error("Payment %s paid %s %s, not the price of course %s (%s %s): no enrollment",
                     payment.stripe_payment_intent, payment.amount, payment.currency,
                     course.pk, course.price, course.currency)
        return
    _enrollment, created = Enrollment.objects.get_or_create(
        user_id=payment.user_id, course=course, defaults={"payment": payment}
    )
    if created:
        logger.info("User %s enrolled in course %s by payment %s", payment.user_id, course.pk,
                    payment.stripe_payment_intent)
