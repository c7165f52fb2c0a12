"""The caller's saved cards: ``GET payment-methods/`` lists them, ``DELETE
payment-methods/<pm>/`` forgets one. Both read Stripe (the cards are never stored here) and
are throttled with ``THROTTLE_RATES["payment_methods"]``."""

from __future__ import annotations

from django.http import Http404
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ..services import customers
from .serializers import PaymentMethodSerializer
from .views import PaymentAPIView

#: The shape of a PaymentMethod id; anything else is no card of anyone's (404, no Stripe call).
_MAX_ID_LENGTH = 255


class PaymentMethodListView(PaymentAPIView):
    """GET: the caller's saved cards in the gateway's mode, newest first."""

    payments_throttle = "payment_methods"

    def get(self, request: Request) -> Response:
        cards = customers.saved_cards(request.user)
        return Response(PaymentMethodSerializer(cards, many=True).data)


class PaymentMethodDetailView(PaymentAPIView):
    """DELETE: forget (detach) one of the caller's saved cards; another's answers 404."""

    payments_throttle = "payment_methods"

    def delete(self, request: Request, payment_method: str) -> Response:
        valid = payment_method.startswith("pm_") and len(payment_method) <= _MAX_ID_LENGTH
        if not (valid and payment_method.isascii() and payment_method.replace("_", "").isalnum()):
            raise Http404
        if not customers.forget_card(request.user, payment_method):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)
