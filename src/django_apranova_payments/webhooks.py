"""The Stripe webhook: verify the raw body, store the event once, apply it once.

Deliveries are refused (400/413/405) before anything is parsed or stored unless the
``Stripe-Signature`` matches one of the configured secrets within ``WEBHOOK_TOLERANCE``.
A verified event is claimed with one ``INSERT … ON CONFLICT … RETURNING`` on its Stripe id:
that statement either creates the row or locks the existing one, so the same event arriving
on several servers at once is processed by exactly one of them, and the others see it
already processed. On PostgreSQL the same statement also locks a PaymentIntent event's
payment, after the claim (``WebhookEvent.objects.claim_locking``). Processing happens in the
same transaction as the claim; when it raises, the transaction rolls back, the failure is
written to the event row in a transaction of its own, and the endpoint answers 500 so Stripe
delivers again.

With ``WEBHOOK_PROCESSING = "task"`` the endpoint only stores the verified event
(``received``) and enqueues ``tasks.process_webhook_event`` after the commit; the task
applies it through ``apply_stored``, which claims the stored row the same way.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from . import exceptions, money, refunds, services, signals, signing
from .conf import app_settings
from .gateway import PaymentIntentData, get_gateway
from .metadata import Owner, host_metadata, verified_owner
from .models import REPLAY_ORDER, Claimed, Payment, WebhookEvent
from .parsers import is_storable
from .transitions import apply_intent

logger = logging.getLogger(__name__)

Outcome = WebhookEvent.Outcome
DUPLICATE = "duplicate"

# ---------------------------------------------------------------------------------------
# Parsing (the signature is checked first, by ``signing.verify``)

#: Deepest nesting of a verified event accepted; Stripe's objects nest a few levels.
MAX_EVENT_DEPTH = 64
#: Keys never stored or passed on: a PaymentIntent's client secret lets its holder pay it.
SCRUBBED_KEYS = frozenset({"client_secret"})


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_event(payload: bytes) -> dict[str, Any]:
    """The verified body as a Stripe event dict, or ``WebhookPayloadError``."""
    try:
        event = json.loads(
            payload.decode("utf-8"), parse_float=_finite_float, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise exceptions.WebhookPayloadError("Body is not JSON.") from None
    # Only a \u escape can smuggle NUL or a lone surrogate past the UTF-8 decode.
    if b"\\u" in payload and not is_storable(event):
        raise exceptions.WebhookPayloadError("Body contains NUL characters or invalid Unicode.")
    if not scrub(event, MAX_EVENT_DEPTH):
        raise exceptions.WebhookPayloadError(f"Body nests deeper than {MAX_EVENT_DEPTH} levels.")
    if not isinstance(event, dict) or event.get("object") != "event":
        raise exceptions.WebhookPayloadError("Body is not a Stripe event.")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 255):
        raise exceptions.WebhookPayloadError("Event has no valid id.")
    if not (isinstance(event_type, str) and 0 < len(event_type) <= 100):
        raise exceptions.WebhookPayloadError("Event has no valid type.")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise exceptions.WebhookPayloadError("Event has no data.object.")
    return event


def scrub(value: Any, max_depth: int) -> bool:
    """Remove ``SCRUBBED_KEYS`` from parsed JSON, in place, at any depth. ``False`` (and the
    walk stops) when objects and arrays nest deeper than ``max_depth``. One pass, without
    recursion: it runs on every delivery."""
    containers = (dict, list)
    stack = [(value, 1)] if type(value) in containers else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if type(item) is dict:
            for key in SCRUBBED_KEYS.intersection(item):
                del item[key]
            item = item.values()
        stack.extend((child, depth + 1) for child in item if type(child) in containers)
    return True


# ---------------------------------------------------------------------------------------
# Handlers: each returns (outcome, note) and runs inside the claiming transaction.

Handler = Callable[[Mapping[str, Any]], tuple[str, str]]


def handle_payment_intent(event: Mapping[str, Any], claimed: Claimed | None = None) -> tuple[str, str]:
    """``claimed``: the claim, which has locked the payment already when ``process_event``
    claimed the event and locked its payment in one statement; else it is locked here."""
    try:
        intent = PaymentIntentData.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable PaymentIntent: {exc}"
    if claimed is None or not claimed.locked:
        payment, why_not = _locked_payment(intent, event)
    elif claimed.payment is None:
        payment, why_not = _recreate_payment(intent, event)
    else:
        payment, why_not = claimed.payment, ""
    if payment is None:
        logger.info("Event %s: PaymentIntent %s ignored: %s", event["id"], intent.id, why_not)
        return Outcome.IGNORED, why_not
    if event["type"] == "payment_intent.created":
        return Outcome.PROCESSED, ""  # creation never moves a status; the row exists now
    result = apply_intent(payment, intent, event=event, locked=True)
    if not result.applied:
        return Outcome.IGNORED, f"not applied: {result.refused}"
    return Outcome.PROCESSED, ""


def _locked_payment(intent: PaymentIntentData, event: Mapping[str, Any]) -> tuple[Payment | None, str]:
    """The intent's payment, locked for this transaction (rebuilt first when it is ours but
    lost), or ``None`` and why."""
    try:
        return Payment.objects.select_for_update().get(stripe_payment_intent=intent.id), ""
    except Payment.DoesNotExist:
        return _recreate_payment(intent, event)


#: The note of an event for a PaymentIntent this installation did not create.
NOT_OURS = "PaymentIntent not created by this installation (no valid installation mark)"


def _recreate_payment(intent: PaymentIntentData, event: Mapping[str, Any]) -> tuple[Payment | None, str]:
    """Rebuild the row of a PaymentIntent this installation created but never stored (the
    process died between Stripe's answer and the INSERT). Only a PaymentIntent whose
    installation mark verifies is rebuilt; its metadata names the user."""
    owner = verified_owner(intent.metadata, intent.amount, intent.currency)
    if owner is None:
        return None, NOT_OURS
    try:
        user = get_user_model()._default_manager.filter(pk=owner.user_pk).first()
        money.to_minor_units(money.from_minor_units(intent.amount, intent.currency), intent.currency)
    except (ValueError, TypeError, DjangoValidationError):  # MoneyError is a ValueError
        logger.warning("PaymentIntent %s has an unusable user or amount; not recreated", intent.id)
        return None, "PaymentIntent has an unusable user or amount; not recreated"
    if user is None:
        logger.warning("PaymentIntent %s names user %s, who does not exist", intent.id, owner.user_pk)
        return None, "PaymentIntent names a user who does not exist; not recreated"
    payment = _store_recreated(intent, user, owner, event)
    if payment is None:  # a concurrent first event (or the creating request) stored it
        return Payment.objects.select_for_update().get(stripe_payment_intent=intent.id), ""
    logger.warning("Payment %s recreated from event %s for PaymentIntent %s", payment.pk, event["id"], intent.id)
    return payment, ""


def _store_recreated(intent: PaymentIntentData, user: Any, owner: Owner, event: Mapping[str, Any]) -> Payment | None:
    """The rebuilt row, or ``None`` when a row for this PaymentIntent exists by now. The
    Idempotency-Key is kept unless another payment of the user holds it already (then the
    money is still recorded, without the key)."""
    for idempotency_key in dict.fromkeys([owner.idempotency_key, None]):
        try:
            return services.store_payment(
                user=user, intent=intent, metadata=host_metadata(intent.metadata),
                idempotency_key=idempotency_key, fingerprint=owner.fingerprint, event=event,
            )
        except IntegrityError:
            if Payment.objects.filter(stripe_payment_intent=intent.id).exists():
                return None
            logger.warning(
                "PaymentIntent %s: user %s has another payment with its Idempotency-Key; "
                "recreated without the key", intent.id, owner.user_pk,
            )
    raise AssertionError("unreachable: a row without an Idempotency-Key only conflicts on its PaymentIntent")


#: The PaymentIntent events: their claim also locks the payment (``_claim``, ``apply_stored``).
PAYMENT_INTENT_TYPES = frozenset(
    f"payment_intent.{name}"
    for name in ("created", "processing", "requires_action", "succeeded", "payment_failed", "canceled")
)

#: Event types this package acts on; every other verified event is stored and ignored.
HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(PAYMENT_INTENT_TYPES, handle_payment_intent),
    **refunds.HANDLERS,
}


# ---------------------------------------------------------------------------------------
# Processing


def process_event(event: Mapping[str, Any], *, force: bool = False) -> str:
    """Store and apply a verified event exactly once; return its outcome (or ``"duplicate"``).

    ``force`` processes an event again even when it was already processed (replay from the
    admin or the management command); the status machine keeps that harmless.
    """
    try:
        with transaction.atomic():
            claimed = _claim(event)
            if claimed is None:
                if not force:
                    return DUPLICATE
                event_pk = WebhookEvent.objects.select_for_update().get(stripe_id=event["id"]).pk
            else:
                event_pk = claimed.pk
                signals.webhook_event_received.send(sender=Payment, event=event)
            outcome, note = _dispatch(event, claimed)
            if outcome != Outcome.PROCESSED or note or force:
                WebhookEvent.objects.finish(event_pk, outcome, note)
            return outcome
    except Exception as exc:
        logger.exception("Processing event %s (%s) failed", event.get("id"), event.get("type"))
        _record_failure(event, exc)
        raise


def _claim(event: Mapping[str, Any]) -> Claimed | None:
    """Claim ``event`` (``None``: a duplicate); a PaymentIntent event's payment is locked by
    the same statement, one round trip fewer than claiming, then locking."""
    intent_id = event["data"]["object"].get("id")
    if event["type"] in PAYMENT_INTENT_TYPES and isinstance(intent_id, str) and intent_id:
        return WebhookEvent.objects.claim_locking(event, intent_id)
    event_pk = WebhookEvent.objects.claim(event)
    return None if event_pk is None else Claimed(event_pk)


#: The answer of task mode for an event stored and enqueued, not yet applied.
QUEUED = "queued"


def queue_event(event: Mapping[str, Any]) -> str:
    """Task mode: store a verified event as ``received`` and enqueue its task after the
    commit; ``"queued"``, or ``"duplicate"`` when it was applied already. A redelivery of an
    event still ``received`` or ``failed`` enqueues it again (the task applies it once)."""
    from . import tasks  # the task framework is needed in task mode only

    event_pk = WebhookEvent.objects.receive(event)
    if event_pk is None:
        return DUPLICATE
    transaction.on_commit(partial(tasks.enqueue, event_pk))
    return QUEUED


def apply_stored(event_pk: int, *, skip_locked: bool = False) -> str:
    """Apply a stored event exactly once (the task, and ``apranova_process_events``): claim
    it under its row lock, announce it and dispatch it in one transaction; its outcome, or
    ``"duplicate"`` when it was done already (or, with ``skip_locked``, held by another
    transaction). A failure rolls that back, is recorded on the event and raised."""
    try:
        with transaction.atomic():
            claimed = WebhookEvent.objects.claim_stored(
                event_pk, skip_locked=skip_locked, lock_payment_of=PAYMENT_INTENT_TYPES)
            if claimed is None:
                return DUPLICATE
            event, claim = claimed
            signals.webhook_event_received.send(sender=Payment, event=event)
            outcome, note = _dispatch(event, claim)
            if outcome != Outcome.PROCESSED or note:
                WebhookEvent.objects.finish(event_pk, outcome, note)
            return outcome
    except Exception as exc:
        logger.exception("Processing stored event %s failed", event_pk)
        try:
            WebhookEvent.objects.fail(event_pk, f"{type(exc).__name__}: {exc}")
        except Exception:  # the database itself may be what failed
            logger.exception("Could not record the failure of stored event %s", event_pk)
        raise


@dataclass(frozen=True)
class Replayed:
    """One stored event processed again: its outcome, and the error when it failed again
    (the error is also recorded on the event row)."""

    event: WebhookEvent
    outcome: str
    error: Exception | None = None


def replay(events: QuerySet[WebhookEvent]) -> Iterator[Replayed]:
    """Process stored events again, oldest first (the admin action and
    ``apranova_replay_events``). Safe while webhooks arrive: each event is claimed under the
    same row lock as a live delivery, and the status machine never applies a transition
    twice. One event failing does not stop the others."""
    for stored in events.order_by(*REPLAY_ORDER).iterator():
        try:
            yield Replayed(stored, process_event(stored.payload, force=True))
        except Exception as exc:  # logged and recorded by process_event
            yield Replayed(stored, Outcome.FAILED, exc)


def _dispatch(event: Mapping[str, Any], claimed: Claimed | None) -> tuple[str, str]:
    """Run the event's handler; ``claimed`` is the claim, with the payment it locked when it
    locked one (``None`` on a forced replay of an event already done)."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return Outcome.IGNORED, "event type not handled"
    live = get_gateway().livemode
    object_live = event["data"]["object"].get("livemode", event.get("livemode"))
    if event.get("livemode") is not live or object_live is not live:
        logger.warning("Event %s livemode=%r (data.object %r) does not match the configured keys; ignored",
                       event["id"], event.get("livemode"), object_live)
        return Outcome.IGNORED, "livemode does not match the configured keys"
    if handler is handle_payment_intent:
        return handle_payment_intent(event, claimed)
    return handler(event)


def _record_failure(event: Mapping[str, Any], exc: BaseException) -> None:
    try:
        WebhookEvent.objects.record_failure(event, f"{type(exc).__name__}: {exc}")
    except Exception:  # the database itself may be what failed
        logger.exception("Could not record the failure of event %s", event.get("id"))


# ---------------------------------------------------------------------------------------
# The view


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
