"""``GET <payment_intent>/receipt/``: a succeeded payment's numbered receipt, as an HTML page
(with a print stylesheet) or, with ``?format=pdf``, as a PDF.

The payment's owner may read it, and staff holding ``apranova_payments.view_payment`` any
payment's; anyone else gets the 404 an unknown payment gets, so the answer never tells that a
payment exists. Receipts are off until ``SELLER`` is set: every receipt answers 404 then, with a
log line saying why."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .. import receipts
from ..models import Payment, PaymentStatus
from ..models.payments import by_stripe_id
from ..permissions import VIEW_PAYMENT
from ..receipt_pdf import PDF_INSTALL, PDFUnavailable, pdf_installed, render_pdf
from .views import PaymentAPIView

logger = logging.getLogger(__name__)

FORMATS = ("html", "pdf")


class PaymentReceiptView(PaymentAPIView):
    """GET: the receipt, ``?format=html`` (the default) or ``?format=pdf``."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # ``format`` is this view's own parameter (html or pdf), never a DRF renderer's name:
        # errors answer in JSON whatever it says.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request, payment_intent: str) -> HttpResponse | Response:
        wanted = request.query_params.get("format", "html")
        if wanted not in FORMATS:
            raise ValidationError({"format": [_("Must be “html” or “pdf”.")]})
        sold_by = receipts.seller()
        if sold_by is None:
            logger.warning("Receipt of %.40s asked for: receipts are off (SELLER is not set), 404.", payment_intent)
            raise Http404
        payment = self.get_receipt_payment(payment_intent)
        payment = receipts.ensure_card(receipts.ensure_number(payment))
        if payment.receipt_number is None:  # SELLER became unreadable in between
            raise Http404
        receipt = receipts.build(payment, sold_by)
        if wanted == "pdf":
            try:
                body = render_pdf(receipt)
            except PDFUnavailable:
                logger.warning("PDF receipt asked for without the pdf extra: %s", PDF_INSTALL)
                return Response(
                    {"detail": _("PDF receipts need the pdf extra: %(command)s") % {"command": PDF_INSTALL}},
                    status=status.HTTP_501_NOT_IMPLEMENTED,
                )
            response = HttpResponse(body, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="{receipt.filename}"'
        else:
            response = HttpResponse(render_to_string(
                "django_apranova_payments/receipt.html",
                {"receipt": receipt, "pdf_url": "?format=pdf" if pdf_installed() else ""},
                request=request,
            ))
        # A receipt names a person and their address: never kept by a shared cache.
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
        return response

    def get_receipt_payment(self, payment_intent: str) -> Payment:
        """The succeeded payment, the caller's own or, for staff holding ``view_payment``,
        anyone's; 404 otherwise."""
        if not 0 < len(payment_intent) <= 255 or "\x00" in payment_intent:
            raise Http404
        user: Any = self.request.user
        payments = Payment.objects.select_related("coupon", "user")
        if not (user.is_active and user.is_staff and user.has_perm(VIEW_PAYMENT)):
            payments = payments.filter(user_id=user.pk)
        return get_object_or_404(payments, by_stripe_id(payment_intent), status=PaymentStatus.SUCCEEDED)
