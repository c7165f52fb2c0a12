"""Enrollment follows payment: ``payment_succeeded`` creates it, at most once; a full
refund or a chargeback takes it away; a refund that fails after all, or a dispute won, gives
it back. A partial refund keeps it.

The package sends each signal exactly once per change, inside the transaction that makes the
change, with the payment's row locked (whichever of the webhook, update-status and the
refund request saw it first). The receivers are idempotent all the same, and the unique
constraint on (user, course) backs them: a second payment for the same course never makes a
second enrollment. An enrollment is only ever granted for a payment of the course's price
(what was charged, less any tax added to it, plus a coupon's discount), in its currency, and
only taken away by the payment that granted it: when the student has another payment for the course that still
pays for it, the enrollment moves to that one.

What a refund or a dispute took away is kept as a ``RevokedEnrollment`` (one per payment):
"My courses" lists it as refunded, and it is what a failed refund or a won dispute restores.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from django_apranova_payments.conf import app_settings
from django_apranova_payments.models import Dispute, Payment, Refund
from django_apranova_payments.signals import (
    dispute_closed,
    payment_disputed,
    payment_refunded,
    payment_succeeded,
    refund_failed,
)

from .ids import parse_course_id
from .models import Course, Enrollment, RevokedEnrollment

logger = logging.getLogger(__name__)

#: Dispute statuses after which the charge stands: the student keeps what they paid for.
DISPUTE_SETTLED_FOR_US = ("won", "warning_closed")


def course_paid_by(payment: Payment, *, log: bool = True) -> Course | None:
    """The course ``payment`` paid for: the course its metadata names, when the payment is
    of that course's price and currency; ``None`` otherwise (not a course purchase, or not
    one this site would enroll for, logged when ``log``)."""
    raw_id = payment.metadata.get("course")
    if raw_id is None or raw_id == "":
        return None  # not a course purchase
    course_id = parse_course_id(raw_id)
    course = Course.objects.filter(pk=course_id).first() if course_id is not None else None
    if course is None:
        # Raising would make Stripe retry forever; the payment stays visible in the admin.
        if log:
            logger.error("Payment %s names course %r, which is not a course of this site",
                         payment.stripe_payment_intent, str(raw_id)[:40])
        return None
    if (payment.amount - tax_added(payment) + payment.discount, payment.currency) != (course.price, course.currency):
        # The resolver set this price, a coupon took its discount off it, and Stripe Tax may
        # have added tax on top; any other amount was not paid for this course.
        if log:
            logger.error("Payment %s paid %s %s (%s off, %s tax), not the price of course %s (%s %s): no enrollment",
                         payment.stripe_payment_intent, payment.amount, payment.currency, payment.discount,
                         payment.amount_tax, course.pk, course.price, course.currency)
        return None
    return course


def tax_added(payment: Payment) -> Decimal:
    """The tax charged on top of the price: all of ``amount_tax`` when prices exclude tax,
    nothing when Stripe Tax found it within the price (every row of the breakdown
    ``inclusive``; without a breakdown, as ``TAX`` says)."""
    if not payment.amount_tax:
        return Decimal(0)
    rows = [row for row in payment.tax_breakdown if isinstance(row, dict)] if isinstance(
        payment.tax_breakdown, list) else []
    if rows:
        inclusive = all(row.get("inclusive") is True for row in rows)
    else:
        inclusive = app_settings.TAX is not None and app_settings.TAX.behavior == "inclusive"
    return Decimal(0) if inclusive else payment.amount_tax


def taken_back(payment: Payment) -> str | None:
    """Why ``payment`` no longer pays for anything: refunded in full, or disputed (a dispute
    that is open or lost); ``None`` while it still does."""
    if payment.is_fully_refunded:
        return RevokedEnrollment.Reason.REFUNDED
    if payment.disputes.exclude(status__in=DISPUTE_SETTLED_FOR_US).exists():
        return RevokedEnrollment.Reason.DISPUTED
    return None


@receiver(payment_succeeded, sender=Payment, dispatch_uid="courses.enroll_after_payment")
def enroll_after_payment(sender: Any, payment: Payment, event: Any = None, **kwargs: Any) -> None:
    course = course_paid_by(payment)
    if course is None:
        return
    reason = taken_back(payment)
    if reason is not None:
        # Stripe does not promise the order of events: the refund or the dispute came first.
        _record_revoked(payment, course, reason, enrolled_at=timezone.now())
        logger.info("Payment %s succeeded but is %s: user %s not enrolled in course %s",
                    payment.stripe_payment_intent, reason, payment.user_id, course.pk)
        return
    _enrollment, created = Enrollment.objects.get_or_create(
        user_id=payment.user_id, course=course, defaults={"payment": payment}
    )
    if created:
        logger.info("User %s enrolled in course %s by payment %s", payment.user_id, course.pk,
                    payment.stripe_payment_intent)


@receiver(payment_refunded, sender=Payment, dispatch_uid="courses.unenroll_after_full_refund")
def unenroll_after_full_refund(sender: Any, payment: Payment, refund: Refund, event: Any = None,
                               **kwargs: Any) -> None:
    """A full refund takes the course away (``amount_refunded`` already counts this refund);
    a partial one keeps it."""
    if payment.is_fully_refunded:
        revoke(payment, RevokedEnrollment.Reason.REFUNDED)


@receiver(payment_disputed, sender=Payment, dispatch_uid="courses.unenroll_after_dispute")
def unenroll_after_dispute(sender: Any, payment: Payment, dispute: Dispute, event: Any = None,
                           **kwargs: Any) -> None:
    """A chargeback (or an inquiry that may become one) takes the course away at once."""
    if dispute.status not in DISPUTE_SETTLED_FOR_US:
        revoke(payment, RevokedEnrollment.Reason.DISPUTED)


@receiver(refund_failed, sender=Payment, dispatch_uid="courses.reenroll_after_failed_refund")
def reenroll_after_failed_refund(sender: Any, payment: Payment, refund: Refund, event: Any = None,
                                 **kwargs: Any) -> None:
    """A refund that fails, even after it succeeded, gives the course back (when nothing
    else, such as another refund or a dispute, still takes it away)."""
    restore(payment)


@receiver(dispute_closed, sender=Payment, dispatch_uid="courses.reenroll_after_dispute_won")
def reenroll_after_dispute_won(sender: Any, payment: Payment, dispute: Dispute, event: Any = None,
                               **kwargs: Any) -> None:
    """A dispute won (or an inquiry closed) gives the course back; a lost one does not."""
    if dispute.status in DISPUTE_SETTLED_FOR_US:
        restore(payment)


def revoke(payment: Payment, reason: str) -> None:
    """Take away the enrollment ``payment`` granted, once; keep it when another payment of
    the student's still pays for the course (the enrollment moves to it)."""
    course = course_paid_by(payment, log=False)
    if course is None:
        return
    enrollment = Enrollment.objects.select_for_update().filter(user_id=payment.user_id, course=course).first()
    if enrollment is None or enrollment.payment_id != payment.pk:
        return  # already taken away, or granted by another payment or by hand: not this payment's to take
    other = _another_payment_for(payment, course)
    if other is not None:
        enrollment.payment = other
        enrollment.save(update_fields=["payment"])
        logger.info("Payment %s is %s; user %s keeps course %s by payment %s", payment.stripe_payment_intent,
                    reason, payment.user_id, course.pk, other.stripe_payment_intent)
        return
    _record_revoked(payment, course, reason, enrolled_at=enrollment.created_at)
    enrollment.delete()
    logger.info("Payment %s is %s: user %s no longer enrolled in course %s", payment.stripe_payment_intent,
                reason, payment.user_id, course.pk)


def restore(payment: Payment) -> None:
    """Give back the enrollment a refund or a dispute of ``payment`` took away, once, when
    the payment pays for the course again."""
    revoked = RevokedEnrollment.objects.select_for_update().filter(payment=payment).select_related("course").first()
    if revoked is None or payment.status != Payment.Status.SUCCEEDED or taken_back(payment) is not None:
        return
    if course_paid_by(payment, log=False) != revoked.course:
        return
    _enrollment, created = Enrollment.objects.get_or_create(
        user_id=payment.user_id, course=revoked.course, defaults={"payment": payment}
    )
    revoked.delete()
    if created:
        logger.info("User %s enrolled in course %s again: payment %s pays for it again", payment.user_id,
                    revoked.course_id, payment.stripe_payment_intent)


def _record_revoked(payment: Payment, course: Course, reason: str, *, enrolled_at: Any) -> None:
    RevokedEnrollment.objects.update_or_create(
        payment=payment,
        defaults={"user_id": payment.user_id, "course": course, "reason": reason, "enrolled_at": enrolled_at},
    )


def _another_payment_for(payment: Payment, course: Course) -> Payment | None:
    """Another succeeded payment of the student's that still pays for ``course``."""
    others = Payment.objects.filter(user_id=payment.user_id, status=Payment.Status.SUCCEEDED).exclude(pk=payment.pk)
    for other in others:
        if course_paid_by(other, log=False) == course and taken_back(other) is None:
            return other
    return None
