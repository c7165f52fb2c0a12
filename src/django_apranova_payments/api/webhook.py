"""``POST webhook/``: Stripe's deliveries, verified, then applied inline or queued.

Deliveries are refused (400/413/405) before anything is parsed or stored unless the
``Stripe-Signature`` matches one of the configured secrets within ``WEBHOOK_TOLERANCE``.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from .. import exceptions, signing
from ..conf import app_settings
from ..webhooks.parsing import parse_event
from ..webhooks.processing import process_event

logger = logging.getLogger("django_apranova_payments.webhooks")  # the webhook's logger, as hosts configure it


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@method_decorator([csrf_exempt, login_not_required, transaction.non_atomic_requests], name="dispatch")
class StripeWebhookView(View):
    """``POST webhook/``: Stripe's deliveries. No authentication, no CSRF: the signature is
    the authentication.

    Not wrapped in the request's atomic block (``ATOMIC_REQUESTS``): the event row of a
    failed attempt must be committed even though the processing transaction rolls back, so
    this view runs its own transactions.
    """

    http_method_names = ["post"]

    @method_decorator(sensitive_variables())
    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            payload = self._read_body(request)
            signing.verify(
                payload,
                request.headers.get("Stripe-Signature", ""),
                signing.as_secrets(app_settings.webhook_secrets),
                int(app_settings.WEBHOOK_TOLERANCE),
            )
            event = parse_event(payload)
        except exceptions.WebhookError as exc:
            # WARNING: a refused delivery is what a developer looks for first (a wrong secret,
            # a clock off by minutes). The reason never carries the secret or the body.
            logger.warning("Webhook refused (%s): %s", exc.status_code, exc)
            return _error(str(exc), exc.status_code)
        if app_settings.WEBHOOK_PROCESSING == "task":
            from ..tasks import queue_event  # the task framework is needed in task mode only

            try:
                outcome = queue_event(event)
            except Exception:
                logger.exception("Queueing event %s (%s) failed", event["id"], event["type"])
                return _error("Queueing the event failed; it will be retried.", 500)
            return JsonResponse({"received": True, "outcome": outcome})
        try:
            outcome = process_event(event)
        except Exception:
            return _error("Processing the event failed; it will be retried.", 500)
        return JsonResponse({"received": True, "outcome": outcome})

    @staticmethod
    def _read_body(request: HttpRequest) -> bytes:
        limit = int(app_settings.WEBHOOK_MAX_BYTES)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise exceptions.WebhookPayloadError("Invalid Content-Length header.") from None
        if length > limit:
            raise exceptions.WebhookTooLarge(f"Body is larger than {limit} bytes.")
        body = request.read(limit + 1)
        if len(body) > limit:
            raise exceptions.WebhookTooLarge(f"Body is larger than {limit} bytes.")
        return body
