"""The payment endpoints. The webhook lives in ``webhooks.py``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import generics, status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .conf import app_settings
from .models import Payment, PaymentStatus
from .parsers import DecimalJSONParser
from .serializers import (
    PaymentCreateSerializer,
    PaymentSerializer,
    UpdateStatusSerializer,
    validate_charge,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255


class PaymentPagination(CursorPagination):
    # The cursor's position is created_at; the id breaks ties, so payments created in the
    # same microsecond keep one order across pages (PostgreSQL's top-N sort is not stable).
    ordering = ("-created_at", "-pk")
    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = 100


class PaymentAPIView(APIView):
    """Base for the payment endpoints: JSON in and out, the permission classes from
    ``APRANOVA_PAYMENTS["PERMISSION_CLASSES"]`` (read per request, so tests can override)."""

    parser_classes = [DecimalJSONParser]

    def get_permissions(self) -> list[BasePermission]:
        return [permission() for permission in app_settings.PERMISSION_CLASSES]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Payments belong to users: even with permissive PERMISSION_CLASSES an anonymous
        # caller gets a clear 401/403, not a crash on the user foreign key.
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()

    def get_user_payments(self) -> QuerySet[Payment]:
        return Payment.objects.filter(user_id=self.request.user.pk)

    def get_user_payment(self, payment_intent: str) -> Payment:
        """The caller's payment, or 404 (also for another user's payment, and for an id no
        payment can have: too long, or with a NUL that PostgreSQL cannot even compare)."""
        if not 0 < len(payment_intent) <= 255 or "\x00" in payment_intent:
            raise Http404
        return get_object_or_404(self.get_user_payments(), stripe_payment_intent=payment_intent)

    def payment_response(self, payment: Payment, code: int = status.HTTP_200_OK) -> Response:
        return Response(PaymentSerializer(payment).data, status=code)


class CreatePaymentView(PaymentAPIView):
    """POST: create a PaymentIntent and return the payment with ``clientSecret`` and
    ``publishableKey`` for Stripe.js."""

    def post(self, request: Request) -> Response:
        key = self._idempotency_key(request)
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = self._resolve_price(request, dict(serializer.validated_data))
        amount, currency, metadata, minor = validate_charge(data)
        created = services.create_payment(
            user=request.user,
            amount=amount,
            currency=currency,
            minor_units=minor,
            metadata=metadata,
            idempotency_key=key,
            fingerprint=services.request_fingerprint(request.data) if key is not None else "",
        )
        body = {
            **PaymentSerializer(created.payment).data,
            "clientSecret": created.client_secret,
            "publishableKey": app_settings.STRIPE_PUBLISHABLE_KEY,
        }
        headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    @staticmethod
    def _idempotency_key(request: Request) -> str | None:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return None
        key = key.strip()
        if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
            raise ValidationError(
                {IDEMPOTENCY_HEADER: [f"Must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters."]}
            )
        return key

    @staticmethod
    def _resolve_price(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        resolver = app_settings.PRICE_RESOLVER
        if resolver is None:
            if data.get("amount") is None:
                raise ValidationError({"amount": ["This field is required."]}, code="required")
            return data
        return dict(resolver(request, data))


class UpdateStatusView(PaymentAPIView):
    """POST ``{"paymentIntent": "pi_…"}``: retrieve the PaymentIntent from Stripe and apply
    its status. What the client believes about the payment is never used."""

    def post(self, request: Request) -> Response:
        serializer = UpdateStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = self.get_user_payment(serializer.validated_data["paymentIntent"])
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
                    {"status": [f"Must be one of: {', '.join(PaymentStatus.values)}."]}
                )
            queryset = queryset.filter(status=wanted)
        return queryset


class PaymentDetailView(PaymentAPIView):
    """GET: one of the caller's payments."""

    def get(self, request: Request, payment_intent: str) -> Response:
        return self.payment_response(self.get_user_payment(payment_intent))


class PaymentCancelView(PaymentAPIView):
    """POST: cancel at Stripe when Stripe still allows it; 409 when it no longer does."""

    def post(self, request: Request, payment_intent: str) -> Response:
        payment = self.get_user_payment(payment_intent)
        result = services.cancel_payment(payment)
        return self.payment_response(result.payment)

