"""The Stripe webhook: verify the raw body, store the event once, apply it once.

Deliveries are refused (400/413/405) before anything is parsed or stored unless the
``Stripe-Signature`` matches one of the configured secrets within ``WEBHOOK_TOLERANCE``.
A verified event is claimed with one ``INSERT … ON CONFLICT … RETURNING`` on its Stripe id:
that statement either creates the row or locks the existing one, so the same event arriving
on several servers at once is processed by exactly one of them, and the others see it
already processed. Processing happens in the same transaction as the claim; when it raises,
the transaction rolls back, the failure is written to the event row in a transaction of its
own, and the endpoint answers 500 so Stripe delivers again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from . import exceptions, money, signals
from .conf import app_settings
from .gateway import PaymentIntentData, get_gateway
from .models import Payment, WebhookEvent
from .parsers import is_storable
from .serializers import RESERVED_METADATA_PREFIX
from .services import META_FINGERPRINT, META_IDEMPOTENCY_KEY, META_USER
from .transitions import apply_intent, event_created_at, status_for_intent

logger = logging.getLogger(__name__)

Outcome = WebhookEvent.Outcome
DONE = (Outcome.PROCESSED, Outcome.IGNORED)
DUPLICATE = "duplicate"
#: DONE as an SQL list, for the conflict clauses of the claim and of the failure record.
_DONE_SQL = ", ".join(f"'{outcome}'" for outcome in DONE)

# ---------------------------------------------------------------------------------------
# Verification


def verify_signature(
    payload: bytes, header: str, secrets: list[str], tolerance: int, now: float | None = None
) -> None:
    """Raise ``WebhookSignatureError`` unless one ``v1`` signature in ``header`` is the
    HMAC-SHA256 of ``"{t}.{payload}"`` under one of ``secrets`` and ``t`` is within
    ``tolerance`` seconds of now, in either direction."""
    if not secrets:
        raise exceptions.WebhookSignatureError("No webhook secret is configured.")
    timestamp, signatures = _parse_signature_header(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise exceptions.WebhookSignatureError("Signature timestamp is outside the tolerance.")
    signed = str(timestamp).encode() + b"." + payload
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return
    raise exceptions.WebhookSignatureError("No signature matches the payload.")


def _parse_signature_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) < 16:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise exceptions.WebhookSignatureError("Malformed Stripe-Signature header.")
    return timestamp, signatures


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


# ---------------------------------------------------------------------------------------
# Handlers: each returns (outcome, note) and runs inside the claiming transaction.

Handler = Callable[[Mapping[str, Any]], tuple[str, str]]


def handle_payment_intent(event: Mapping[str, Any]) -> tuple[str, str]:
    try:
        intent = PaymentIntentData.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable PaymentIntent: {exc}"
    payment = _locked_payment(intent, event)
    if payment is None:
        logger.info("Event %s: PaymentIntent %s is not ours; ignored", event["id"], intent.id)
        return Outcome.IGNORED, "PaymentIntent not created by this application"
    if event["type"] == "payment_intent.created":
        return Outcome.PROCESSED, ""  # creation never moves a status; the row exists now
    result = apply_intent(payment, intent, event=event, locked=True)
    wanted = status_for_intent(intent)
    if result.new_status != wanted:
        return Outcome.IGNORED, f"not applied: payment is {result.new_status}, event says {wanted}"
    return Outcome.PROCESSED, ""


def _locked_payment(intent: PaymentIntentData, event: Mapping[str, Any]) -> Payment | None:
    """The intent's payment, locked for this transaction; rebuilt first if it is ours but lost."""
    try:
        return Payment.objects.select_for_update().get(stripe_payment_intent=intent.id)
    except Payment.DoesNotExist:
        return _recreate_payment(intent, event)


def _recreate_payment(intent: PaymentIntentData, event: Mapping[str, Any]) -> Payment | None:
    """Rebuild the row of a PaymentIntent this app created but never stored (the process
    died between Stripe's answer and the INSERT). Its metadata names the user."""
    user_pk = intent.metadata.get(META_USER)
    if not user_pk:
        return None
    try:
        user = get_user_model()._default_manager.filter(pk=user_pk).first()
        amount = money.from_minor_units(intent.amount, intent.currency)
        money.to_minor_units(amount, intent.currency)  # a charge we could have made
    except (ValueError, TypeError, DjangoValidationError):  # MoneyError is a ValueError
        logger.warning("PaymentIntent %s has unusable metadata or amount; not recreated", intent.id)
        return None
    if user is None:
        logger.warning("PaymentIntent %s names user %s, who does not exist", intent.id, user_pk)
        return None
    idempotency_key = intent.metadata.get(META_IDEMPOTENCY_KEY) or None
    try:
        with transaction.atomic():
            payment = _insert_recreated(intent, user, amount, idempotency_key)
    except IntegrityError:  # a concurrent first event (or the creating request) stored it
        return Payment.objects.select_for_update().get(stripe_payment_intent=intent.id)
    logger.warning("Payment %s recreated from event %s for PaymentIntent %s", payment.pk, event["id"], intent.id)
    signals.payment_created.send(sender=Payment, payment=payment, event=event)
    return payment


def _insert_recreated(intent: PaymentIntentData, user: Any, amount: Decimal, idempotency_key: str | None) -> Payment:
    return Payment.objects.create(
        user=user,
        stripe_payment_intent=intent.id,
        amount=money.quantize_for_storage(amount),
        currency=intent.currency,
        stripe_status="requires_payment_method",
        livemode=intent.livemode,
        metadata={k: v for k, v in intent.metadata.items() if not k.startswith(RESERVED_METADATA_PREFIX)},
        idempotency_key=idempotency_key,
        request_fingerprint=intent.metadata.get(META_FINGERPRINT, "") if idempotency_key else "",
    )


#: Event types this package acts on; every other verified event is stored and ignored.
HANDLERS: dict[str, Handler] = {
    f"payment_intent.{name}": handle_payment_intent
    for name in ("created", "processing", "requires_action", "succeeded", "payment_failed", "canceled")
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
            event_pk = _claim(event)
            if event_pk is None:
                if not force:
                    return DUPLICATE
                event_pk = WebhookEvent.objects.select_for_update().get(stripe_id=event["id"]).pk
            else:
                signals.webhook_event_received.send(sender=Payment, event=event)
            outcome, note = _dispatch(event)
            if outcome != Outcome.PROCESSED or note or force:
                _finish(event_pk, outcome, note)
            return outcome
    except Exception as exc:
        logger.exception("Processing event %s (%s) failed", event.get("id"), event.get("type"))
        _record_failure(event, exc)
        raise


def _dispatch(event: Mapping[str, Any]) -> tuple[str, str]:
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return Outcome.IGNORED, "event type not handled"
    if bool(event.get("livemode")) != get_gateway().livemode:
        logger.warning("Event %s livemode=%s does not match the configured keys; ignored",
                       event["id"], event.get("livemode"))
        return Outcome.IGNORED, "livemode does not match the configured keys"
    return handler(event)


def _columns(event: Mapping[str, Any]) -> dict[str, Any]:
    api_version = event.get("api_version")
    data_object = event["data"]["object"]
    object_id = data_object.get("id")
    return {
        "stripe_id": event["id"],
        "type": event["type"],
        "api_version": api_version[:64] if isinstance(api_version, str) else "",
        "livemode": bool(event.get("livemode")),
        "object_id": object_id[:255] if isinstance(object_id, str) else "",
        "payload": dict(event),
        "stripe_created": event_created_at(event),
        "received_at": timezone.now(),
    }


def _upsert(event: Mapping[str, Any], extra: Mapping[str, Any], on_conflict: str) -> int | None:
    """``INSERT … ON CONFLICT (stripe_id) DO UPDATE … WHERE … RETURNING id`` (PostgreSQL and
    SQLite): the id of the row inserted, or updated because the ``WHERE`` of
    ``on_conflict`` held; ``None`` when an existing row was left alone."""
    values = {**_columns(event), **extra}
    meta = WebhookEvent._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    params = [_field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    # Only quoted identifiers and fixed SQL are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(name) for name in values)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(values))}) "
        f"ON CONFLICT ({quote('stripe_id')}) DO UPDATE SET {on_conflict} "
        f"RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _field(name: str) -> Field[Any, Any]:
    field = WebhookEvent._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _claim(event: Mapping[str, Any]) -> int | None:
    """Store the event as processed, in the transaction that processes it: the row is only
    seen, as processed, once that transaction commits. A concurrent delivery of the same
    event waits on the row, then finds it done (``None``); a new, failed or interrupted
    event is (re)claimed and returns its id. One statement either way."""
    q = connection.ops.quote_name
    table = q(WebhookEvent._meta.db_table)
    return _upsert(
        event,
        {"outcome": Outcome.PROCESSED, "processed_at": timezone.now(), "error": "", "note": "", "attempts": 1},
        f"{q('outcome')} = excluded.{q('outcome')}, {q('processed_at')} = excluded.{q('processed_at')}, "
        f"{q('error')} = '', {q('attempts')} = {table}.{q('attempts')} + 1 "
        f"WHERE {table}.{q('outcome')} NOT IN ({_DONE_SQL})",
    )


def _finish(event_pk: int, outcome: str, note: str) -> None:
    WebhookEvent.objects.filter(pk=event_pk).update(
        outcome=outcome, note=note[:255], error="", processed_at=timezone.now()
    )


def _record_failure(event: Mapping[str, Any], exc: BaseException) -> None:
    """Keep the audit row of a failed attempt (the processing transaction rolled back),
    without overwriting a concurrent successful attempt."""
    error = f"{type(exc).__name__}: {exc}"[:10_000]
    q = connection.ops.quote_name
    table = q(WebhookEvent._meta.db_table)
    try:
        with transaction.atomic():
            _upsert(
                event,
                {"outcome": Outcome.FAILED, "error": error, "note": "", "attempts": 1},
                f"{q('outcome')} = excluded.{q('outcome')}, {q('error')} = excluded.{q('error')}, "
                f"{q('attempts')} = {table}.{q('attempts')} + 1 "
                f"WHERE {table}.{q('outcome')} NOT IN ({_DONE_SQL})",
            )
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

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            payload = self._read_body(request)
            verify_signature(
                payload,
                request.headers.get("Stripe-Signature", ""),
                app_settings.webhook_secrets,
                int(app_settings.WEBHOOK_TOLERANCE),
            )
            event = parse_event(payload)
        except exceptions.WebhookError as exc:
            logger.info("Webhook refused: %s", exc)
            return _error(str(exc), exc.status_code)
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
