"""E-mails to students: a notice when a payment for a course fails.

The package sends ``payment_failed`` once per real move to ``failed``, whichever of the
webhook, update-status and reconciliation saw it first, inside the transaction that makes
the move. So the receiver needs no bookkeeping of its own to send once per failure: the
webhook and update-status reporting the same decline are one move, and a later decline on
the same PaymentIntent (a retry that needed authentication and failed it) is another.

What it must not do is send from inside that transaction: if anything after it raises (another
receiver, the database), the change is rolled back, the webhook answers 500, Stripe delivers
again and the failure is applied, and signalled, a second time. The message is built here and
handed to ``transaction.on_commit``, so it leaves only with the commit that made the failure
real. ``robust=True``: a mail server that is down is logged, and never turns a committed
webhook into a 500 that Stripe would retry for nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from django_apranova_payments.models import Payment
from django_apranova_payments.signals import payment_failed

from .models import Course
from .receivers import course_paid_by
from .templatetags.prices import price

logger = logging.getLogger(__name__)


@receiver(payment_failed, sender=Payment, dispatch_uid="courses.notify_payment_failed")
def notify_payment_failed(sender: Any, payment: Payment, event: Any = None, **kwargs: Any) -> None:
    course = course_paid_by(payment, log=False)
    if course is None:
        return  # not a course purchase: nothing of ours to say
    user = payment.user
    address = getattr(user, user.get_email_field_name(), "") or ""
    if not address:
        logger.info("Payment %s failed; user %s has no e-mail address to tell", payment.stripe_payment_intent,
                    payment.user_id)
        return
    message = failure_notice(payment, course, user, address)
    intent = payment.stripe_payment_intent
    transaction.on_commit(lambda: _send(message, intent), robust=True)


def failure_notice(payment: Payment, course: Course, user: Any, address: str) -> EmailMessage:
    """The notice, in the site's language (``LANGUAGE_CODE``), whichever path saw the
    failure: the webhook has no reader, and the student's own update-status request must not
    make the same failure's notice read differently."""
    with translation.override(settings.LANGUAGE_CODE):
        return _notice(payment, course, user, address)


def _notice(payment: Payment, course: Course, user: Any, address: str) -> EmailMessage:
    values = {
        "name": user.get_short_name() or user.get_username(),
        "amount": price(payment.amount, payment.currency),
        "course": course.title,
        "reason": payment.failure_message or _("The payment was declined."),
        "url": settings.SITE_URL.rstrip("/") + reverse("checkout", args=[course.slug]),
    }
    subject = _("Your payment for %(course)s did not go through") % values
    body = _(
        "Hello %(name)s,\n\n"
        "your payment of %(amount)s for %(course)s did not go through: %(reason)s\n\n"
        "You are not enrolled yet. You can try again, with the same card or another one, here:\n"
        "%(url)s\n\n"
        "ApraNova"
    ) % values
    return EmailMessage(subject=subject, body=body, to=[address])


def _send(message: EmailMessage, intent: str) -> None:
    message.send()
    logger.info("Payment %s failed: notice sent to the student", intent)
