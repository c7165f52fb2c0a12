"""The floor of the webhook benchmark: the least a Django webhook view can do and still be
safe to expose. It checks the ``Stripe-Signature`` (the same HMAC-SHA256 over
``"{t}.{body}"`` and the same tolerance) and updates one row, the seed's
``filter(...).update(status=...)``: no event store, no deduplication, no row lock, no
status machine, no signals."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from django_apranova_payments.models import Payment

STATUS = {"payment_intent.succeeded": "succeeded", "payment_intent.payment_failed": "failed",
          "payment_intent.processing": "processing", "payment_intent.canceled": "canceled"}


def signature_ok(body: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
    items = [item.partition("=") for item in header.split(",")]
    timestamps = [value for key, _, value in items if key == "t" and value.isdigit()]
    signatures = [value for key, _, value in items if key == "v1"]
    if not timestamps or abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


@csrf_exempt
@require_POST
def floor_webhook(request: HttpRequest) -> HttpResponse:
    body = request.body
    secret = settings.APRANOVA_PAYMENTS["STRIPE_WEBHOOK_SECRET"]
    if not signature_ok(body, request.headers.get("Stripe-Signature", ""), secret):
        return JsonResponse({"error": "bad signature"}, status=400)
    event = json.loads(body)
    status = STATUS.get(event["type"])
    if status is not None:
        Payment.objects.filter(stripe_payment_intent=event["data"]["object"]["id"]).update(status=status)
    return JsonResponse({"received": True})
