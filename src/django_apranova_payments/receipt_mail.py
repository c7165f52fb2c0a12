"""Our own numbered receipt by e-mail, when ``RECEIPT_EMAIL`` and ``SELLER`` are both set.

On ``payment_succeeded`` (once per payment: the signal fires once per real transition and
``succeeded`` is never left) the receipt is queued with ``transaction.on_commit``: it is sent
after the transaction that made the payment succeed commits, never inside it and never for a
transaction that rolled back. It goes by Django's e-mail (``EmailMultiAlternatives``: a text
body, the HTML receipt as its alternative, the PDF attached when the ``pdf`` extra is
installed) to the user's address, in the language that was active when the payment
succeeded. A failure is logged and changes nothing: the payment has already committed.

Stripe is then not asked for its own receipt (the PaymentIntent's ``receipt_email``: see
``receipts.sends_own_receipts``), so a student gets one receipt, ours.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from . import receipts
from .models import Payment

logger = logging.getLogger(__name__)


def queue_receipt(sender: Any, **kwargs: Any) -> None:
    """``payment_succeeded`` receiver: send the receipt once the transaction commits. A signal
    sent without a payment (host code, a test) is none of its business."""
    payment = kwargs.get("payment")
    if not isinstance(payment, Payment) or not receipts.sends_own_receipts():
        return
    pk, language = payment.pk, translation.get_language()
    transaction.on_commit(lambda: send_receipt(pk, language))


def send_receipt(payment_pk: int, language: str | None = None) -> bool:
    """E-mail the receipt of the succeeded payment ``payment_pk``; whether it was sent. Never
    raises: a failure is logged."""
    try:
        with translation.override(language or settings.LANGUAGE_CODE):
            return _send(payment_pk)
    except Exception:
        logger.exception("The receipt e-mail of payment %s failed; the payment is not affected.", payment_pk)
        return False


def _send(payment_pk: int) -> bool:
    from .receipt_pdf import PDF_INSTALL, PDFUnavailable, render_pdf
    from .services.customers import user_email

    sold_by = receipts.seller()
    if sold_by is None:
        return False
    payment = receipts.ensure_number(Payment.objects.select_related("user", "coupon").get(pk=payment_pk))
    payment = receipts.ensure_card(payment)
    if payment.receipt_number is None:
        return False
    address = user_email(payment.user)
    if address is None:
        logger.info("No receipt e-mailed for payment %s: its user has no e-mail address.", payment_pk)
        return False
    receipt = receipts.build(payment, sold_by)
    context = {"receipt": receipt}
    message = EmailMultiAlternatives(
        subject=_("Receipt %(number)s from %(seller)s") % {"number": receipt.number, "seller": sold_by.name},
        body=render_to_string("django_apranova_payments/receipt_email.txt", context),
        to=[address],
        reply_to=[sold_by.email] if sold_by.email else None,
    )
    message.attach_alternative(render_to_string("django_apranova_payments/receipt.html", context), "text/html")
    try:
        message.attach(receipt.filename, render_pdf(receipt), "application/pdf")
    except PDFUnavailable:
        logger.info("Receipt %s e-mailed without its PDF: the pdf extra is not installed (%s).",
                    receipt.number, PDF_INSTALL)
    message.send()
    logger.info("Receipt %s e-mailed for payment %s.", receipt.number, payment_pk)
    return True
