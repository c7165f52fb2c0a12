"""The payment endpoints. The webhook lives in ``webhooks``."""

from __future__ import annotations

import logging
import reprlib
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import Resolver404, resolve
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from rest_framework import generics, status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from .. import exceptions, services
from ..charges import Charge, ChargeError, is_zero_amount
from ..conf import app_settings
from ..models import TERMINAL_STATUSES, Coupon, Payment, PaymentStatus
from ..models.payments import by_stripe_id
from ..parsers import DecimalJSONParser
from ..permissions import REFUND_PAYMENT
from .serializers import (
    AnalyticsQuerySerializer,
    CheckoutCreateSerializer,
    CreatedPaymentSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
    UpdateStatusSerializer,
)
from .throttling import PaymentRateThrottle

# The name the documentation gives hosts for a PRICE_RESOLVER bug, kept from before ``api/``.
logger = logging.getLogger("django_apranova_payments.views")

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255


@csrf_exempt  # it changes nothing; a 403 for a missing CSRF token would hide the real mistake
@login_not_required
def missing_slash(request: HttpRequest, path: str) -> JsonResponse:
    """A JSON 404 for one of the package's URLs written without its trailing slash, naming
    the URL meant (Django's ``APPEND_SLASH`` would redirect, losing a POST's body, or raise
    under ``DEBUG``)."""
    try:
        resolve(f"{request.path_info}/")
    except Resolver404:
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return JsonResponse(
        {"detail": _("Not found. The URL ends with a slash: %(url)s") % {"url": f"{request.path}/"}}, status=404
    )


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` header, or ``None``; 400 when it is unusable."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise ValidationError(
            {IDEMPOTENCY_HEADER: [
                _("Must be 1 to %(length)d printable characters.") % {"length": IDEMPOTENCY_KEY_MAX_LENGTH}
            ]}
        )
    return key


class PaymentPagination(CursorPagination):
    # The cursor's position is created_at; the id breaks ties, so payments created in the
    # same microsecond keep one order across pages (PostgreSQL's top-N sort is not stable).
    ordering = ("-created_at", "-pk")
    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = 100


class PaymentAPIView(APIView):
    """Base for the payment endpoints: JSON in and out, the permission classes from
    ``APRANOVA_PAYMENTS["PERMISSION_CLASSES"]`` (read per request, so tests can override).
    A view that calls Stripe names its ``THROTTLE_RATES`` key in ``payments_throttle``; the
    host's ``DEFAULT_THROTTLE_CLASSES`` apply as well."""

    parser_classes = [DecimalJSONParser]
    payments_throttle: str | None = None

    def get_permissions(self) -> list[BasePermission]:
        return [permission() for permission in app_settings.PERMISSION_CLASSES]

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = list(super().get_throttles())
        if self.payments_throttle is not None:
            throttles.append(PaymentRateThrottle(self.payments_throttle))
        return throttles

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Payments belong to users: even with permissive PERMISSION_CLASSES an anonymous
        # caller gets a clear 401/403, not a crash on the user foreign key.
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()

    def get_user_payments(self) -> QuerySet[Payment]:
        return Payment.objects.filter(user_id=self.request.user.pk).select_related("coupon")

    def get_user_payment(self, payment_intent: str) -> Payment:
        """The caller's payment, or 404 (also for another user's payment, and for an id no
        payment can have: too long, or with a NUL that PostgreSQL cannot even compare)."""
        if not 0 < len(payment_intent) <= 255 or "\x00" in payment_intent:
            raise Http404
        return get_object_or_404(self.get_user_payments(), by_stripe_id(payment_intent))

    def payment_response(self, payment: Payment, code: int = status.HTTP_200_OK) -> Response:
        return Response(PaymentSerializer(payment).data, status=code)


class CreatePaymentView(PaymentAPIView):
    """POST: create a PaymentIntent and return the payment with ``clientSecret`` and
    ``publishableKey`` for Stripe.js."""

    payments_throttle = "create"

    @method_decorator(sensitive_variables())  # created and body hold the client secret, as Response would
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        price = self._charge(request, serializer.validated_data)
        created = services.create_payment(
            request.user,
            price,
            coupon=serializer.validated_data["coupon"],
            coupon_check=_coupon_check(request, price),
            idempotency_key=key,
            fingerprint=services.request_fingerprint(request.data) if key is not None else "",
            save_payment_method=serializer.validated_data["savePaymentMethod"],
            payment_method=serializer.validated_data["paymentMethod"],
            billing_address=serializer.validated_data["billingAddress"],
        )
        body = CreatedPaymentSerializer(created.payment, context={"created": created}).data
        headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    @staticmethod
    def _charge(request: Request, data: Mapping[str, Any]) -> Charge:
        """What to charge: the client's validated charge, or what ``PRICE_RESOLVER`` decides.

        The resolver receives ``{"amount": Decimal | None, "currency", "metadata"}`` and may
        refuse with DRF's ``ValidationError`` (400). With ``ALLOW_FREE``, an amount of 0 makes
        a free charge. Anything unusable it returns (0 included, without ``ALLOW_FREE``) is
        the host's bug: logged naming ``PRICE_RESOLVER``, and a generic 500.
        """
        client: Charge | None = data["charge"]
        resolver = app_settings.PRICE_RESOLVER
        if resolver is None:
            if client is None:
                raise ValidationError({"amount": [_("This field is required.")]}, code="required")
            return client
        if not callable(resolver):
            raise _resolver_bug(resolver, "it is not callable")
        proposal = {
            "amount": client.amount if client else None,
            "currency": data["currency"],
            "metadata": dict(data["metadata"]),
        }
        answer = resolver(request, proposal)
        if not isinstance(answer, Mapping):
            raise _resolver_bug(resolver, f"it returned {type(answer).__name__}, not a mapping")
        try:
            if app_settings.ALLOW_FREE is True and is_zero_amount(answer.get("amount")):
                return Charge.free(answer.get("currency"), answer.get("metadata"))
            return Charge.of(answer.get("amount"), answer.get("currency"), answer.get("metadata"))
        except ChargeError as exc:
            raise _resolver_bug(resolver, f"{exc.field} {_short_repr(answer.get(exc.field))}: {exc.message}") from exc


class CheckoutView(PaymentAPIView):
    """POST: the create-payment body plus ``successUrl`` and ``cancelUrl``: a Stripe Checkout
    Session for the same purchase (same price, coupon, throttle and Idempotency-Key rules);
    201 ``{"checkoutSession", "url", "payment"}``."""

    payments_throttle = "create"

    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        serializer = CheckoutCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        price = CreatePaymentView._charge(request, data)
        created = services.create_checkout(
            request.user, price, success_url=data["successUrl"], cancel_url=data["cancelUrl"],
            coupon=data["coupon"], coupon_check=_coupon_check(request, price), idempotency_key=key,
            fingerprint=services.request_fingerprint(request.data) if key is not None else "",
        )
        body = {"checkoutSession": created.payment.stripe_checkout_session, "url": created.url,
                "payment": PaymentSerializer(created.payment).data}
        headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


def _coupon_check(request: Request, price: Charge) -> Callable[[Coupon], object] | None:
    """``COUPON_VALIDATOR`` bound to this request and price: ``validator(request, coupon,
    data)``, ``data`` being the price before the discount (``amount``, ``currency``,
    ``metadata``)."""
    validator = app_settings.COUPON_VALIDATOR
    if validator is None:
        return None
    data = {"amount": price.amount, "currency": price.currency, "metadata": dict(price.metadata)}
    return lambda coupon: validator(request, coupon, data)


def _short_repr(value: object) -> str:
    """A bounded ``repr`` for a log line; a 5,000-digit int cannot even be turned into text."""
    try:
        return reprlib.repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to show>"


def _resolver_bug(resolver: object, reason: str) -> exceptions.PriceResolverError:
    name = getattr(resolver, "__qualname__", None) or type(resolver).__name__
    module = getattr(resolver, "__module__", None)
    logger.error(
        "PRICE_RESOLVER %s returned an unusable charge, so the payment was refused: %s",
        f"{module}.{name}" if module else name, reason,
    )
    return exceptions.PriceResolverError()


class UpdateStatusView(PaymentAPIView):
    """POST ``{"paymentIntent": "pi_…"}``: retrieve the PaymentIntent from Stripe and apply
    its status. What the client believes about the payment is never used. A payment that is
    already succeeded or canceled is final at Stripe too: it is answered from the database."""

    payments_throttle = "update_status"

    def post(self, request: Request) -> Response:
        serializer = UpdateStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = self.get_user_payment(serializer.validated_data["paymentIntent"])
        if payment.status in TERMINAL_STATUSES:
            return self.payment_response(payment)
        result = services.refresh_payment(payment)
        return self.payment_response(result.payment)


class PaymentListView(PaymentAPIView, generics.ListAPIView):
    """GET: the caller's payments, newest first, cursor-paginated; ``?status=`` filters."""

    serializer_class = PaymentSerializer
    pagination_class = PaymentPagination

    def get_queryset(self) -> QuerySet[Payment]:
        queryset = self.get_user_payments()
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in PaymentStatus.values:
                raise ValidationError(
                    {"status": [_("Must be one of: %(values)s.") % {"values": ", ".join(PaymentStatus.values)}]}
                )
            queryset = queryset.filter(status=wanted)
        return queryset


class PaymentDetailView(PaymentAPIView):
    """GET: one of the caller's payments."""

    def get(self, request: Request, payment_intent: str) -> Response:
        return self.payment_response(self.get_user_payment(payment_intent))


class PaymentCancelView(PaymentAPIView):
    """POST: cancel at Stripe when Stripe still allows it; 409 when it no longer does."""

    payments_throttle = "cancel"

    def post(self, request: Request, payment_intent: str) -> Response:
        payment = self.get_user_payment(payment_intent)
        result = services.cancel_payment(payment)
        return self.payment_response(result.payment)



class PaymentRefundView(PaymentAPIView):
    """POST ``{"amount": "10.00", "reason": "requested_by_customer"}`` (both optional): refund
    a succeeded payment at Stripe; 201 with the refund. ``REFUND_PERMISSION_CLASSES`` decide
    who may call it (staff holding ``refund_payment``, by default); staff holding it may
    refund any payment, anyone else the classes let in only their own (a staff member without
    it too). ``Idempotency-Key`` works as on create-payment."""

    payments_throttle = "refund"

    def get_permissions(self) -> list[BasePermission]:
        return [permission() for permission in app_settings.REFUND_PERMISSION_CLASSES]

    def post(self, request: Request, payment_intent: str) -> Response:
        key = idempotency_key(request)
        if request.user.is_staff and request.user.has_perm(REFUND_PAYMENT):
            if not 0 < len(payment_intent) <= 255 or "\x00" in payment_intent:
                raise Http404
            payment = get_object_or_404(Payment, by_stripe_id(payment_intent))
        else:
            payment = self.get_user_payment(payment_intent)
        self.check_object_permissions(request, payment)  # REFUND_PERMISSION_CLASSES may judge the payment
        serializer = RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.refund_payment(
            payment,
            serializer.validated_data["amount"],
            serializer.validated_data["reason"],
            requested_by=request.user,
            idempotency_key=key,
            fingerprint=services.request_fingerprint([payment_intent, request.data]) if key is not None else None,
        )
        headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
        return Response(RefundSerializer(created.refund).data, status=status.HTTP_201_CREATED, headers=headers)


class AnalyticsView(PaymentAPIView):
    """GET ``?from=YYYY-MM-DD&to=YYYY-MM-DD&interval=day|month``: the figures of the range,
    every user's (the money on the day it moved, the counts of the payments created), per
    currency, per period and per failure code (see ``Payment.objects.analytics``).
    ``ANALYTICS_PERMISSION_CLASSES`` decide who may call it (staff holding ``view_payment``, by
    default)."""

    def get_permissions(self) -> list[BasePermission]:
        return [permission() for permission in app_settings.ANALYTICS_PERMISSION_CLASSES]

    def get(self, request: Request) -> Response:
        serializer = AnalyticsQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        found = serializer.validated_data["range"]
        report = Payment.objects.analytics(found.date_from, found.date_to, found.interval)
        return Response(report.as_dict())
