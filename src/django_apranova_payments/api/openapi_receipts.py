# mypy: disable-error-code="no-untyped-call"
# (drf-spectacular's extension base classes have an untyped __init_subclass__.)
"""OpenAPI description of ``GET <payment_intent>/receipt/`` (a drf-spectacular view
extension): an HTML page or a PDF, not JSON. Imported by ``AppConfig.ready()`` only when
``drf_spectacular`` is installed."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from .openapi import AUTH, FIELD_ERRORS, error_response
from .openapi_views import _replace


class PaymentReceiptViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.receipts.PaymentReceiptView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "get",
            operation_id="payments_receipt",
            summary="A payment's receipt (HTML or PDF)",
            description=(
                "The numbered receipt of a succeeded payment: seller (`SELLER`), buyer, line, discount, "
                "each tax with its rate and jurisdiction, total and refunds, in the payment's currency and "
                "the request's language. An HTML page with a print stylesheet, or with `format=pdf` a PDF "
                "(the `pdf` extra). The payment's owner, or staff holding `apranova_payments.view_payment`; "
                "anyone else gets the 404 of an unknown payment."
            ),
            parameters=[
                OpenApiParameter(
                    "format", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=["html", "pdf"], default="html",
                    description="`html` (the default): a page to read or print; `pdf`: the same receipt as a PDF.",
                ),
            ],
            responses={
                (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The receipt as an HTML page."),
                (200, "application/pdf"): OpenApiResponse(
                    OpenApiTypes.BINARY,
                    description='The receipt as a PDF, `Content-Disposition: inline; filename="receipt-R-000042.pdf"`.',
                ),
                400: OpenApiResponse(
                    FIELD_ERRORS, description="A `format` other than `html` or `pdf`.",
                    examples=[OpenApiExample("bad format", value={"format": ["Must be “html” or “pdf”."]})],
                ),
                **AUTH,
                404: error_response(
                    "No such payment, another user's, a payment that has not succeeded, or receipts are off "
                    "(`SELLER` is not set).",
                    "No Payment matches the given query.",
                ),
                501: error_response(
                    "`format=pdf` without the `pdf` extra installed.",
                    'PDF receipts need the pdf extra: pip install "django-apranova-payments[pdf]"',
                ),
            },
        )
