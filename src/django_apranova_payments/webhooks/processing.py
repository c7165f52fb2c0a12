"""The one engine that applies a verified event exactly once, whichever way it comes in.

Three ways in, one engine (``_apply``): ``process_event`` (the inline endpoint, and
``replay``, which forces an event again), and ``apply_stored`` (task mode's task and
``apranova_process_events``, for an event already stored as ``received``). Each claims the
event under its row lock (``WebhookEvent.objects``: one statement, which also locks the
payment of a handler registered with ``locks_payment``), announces it, runs its handler and
records the outcome, in one transaction. A failure rolls that back, is recorded on the event
in a transaction of its own, and is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from .. import signals
from ..gateway import get_gateway
from ..metadata import checkout_reference
from ..models import REPLAY_ORDER, Claimed, Payment, WebhookEvent
from .handlers import HANDLERS, PAYMENT_INTENT_TYPES

logger = logging.getLogger(__package__)  # "django_apranova_payments.webhooks", as hosts configure it

Outcome = WebhookEvent.Outcome
#: The answer for an event applied already (or, in a sweep, held by another transaction).
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class _Taken:
    """An event taken for applying: ``claimed`` is its claim (``None`` on a forced replay of
    an event already done: nothing claimed, nothing locked); ``announce``: a new claim, so
    ``webhook_event_received`` is sent; ``record``: write the outcome even when it is a plain
    ``processed`` (a forced replay)."""

    event: Mapping[str, Any]
    pk: int
    claimed: Claimed | None
    announce: bool = True
    record: bool = False


def _apply(take: Callable[[], _Taken | None], record_failure: Callable[[Exception], object], what: str) -> str:
    """Take the event (``None``: it is done already), announce it, run its handler and record
    the outcome, in one transaction; its outcome, or ``DUPLICATE``."""
    try:
        with transaction.atomic():
            taken = take()
            if taken is None:
                return DUPLICATE
            if taken.announce:
                signals.webhook_event_received.send(sender=Payment, event=taken.event)
            outcome, note = _dispatch(taken.event, taken.claimed)
            if outcome != Outcome.PROCESSED or note or taken.record:
                WebhookEvent.objects.finish(taken.pk, outcome, note)
            return outcome
    except Exception as exc:
        logger.exception("Processing %s failed", what)
        try:
            record_failure(exc)
        except Exception:  # the database itself may be what failed
            logger.exception("Could not record the failure of %s", what)
        raise


def _dispatch(event: Mapping[str, Any], claimed: Claimed | None) -> tuple[str, str]:
    """Run the event's handler, when the event is of the configured mode (test or live)."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return Outcome.IGNORED, "event type not handled"
    live = get_gateway().livemode
    object_live = event["data"]["object"].get("livemode", event.get("livemode"))
    if event.get("livemode") is not live or object_live is not live:
        logger.warning("Event %s livemode=%r (data.object %r) does not match the configured keys; ignored",
                       event["id"], event.get("livemode"), object_live)
        return Outcome.IGNORED, "livemode does not match the configured keys"
    return handler.handle(event, claimed)


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------
# A delivery, or a replay


def process_event(event: Mapping[str, Any], *, force: bool = False) -> str:
    """Store and apply a verified event exactly once; return its outcome (or ``"duplicate"``).

    ``force`` processes an event again even when it was already processed (replay from the
    admin or the management command); the status machine keeps that harmless.
    """
    return _apply(partial(_take_delivered, event, force),
                  lambda exc: WebhookEvent.objects.record_failure(event, _error(exc)),
                  f"event {event.get('id')} ({event.get('type')})")


def _take_delivered(event: Mapping[str, Any], force: bool) -> _Taken | None:
    claimed = _claim(event)
    if claimed is not None:
        return _Taken(event, claimed.pk, claimed, record=force)
    if not force:
        return None
    pk = WebhookEvent.objects.select_for_update().get(stripe_id=event["id"]).pk
    return _Taken(event, pk, None, announce=False, record=True)


def _claim(event: Mapping[str, Any]) -> Claimed | None:
    """Claim ``event`` (``None``: a duplicate); the payment of a handler that
    ``locks_payment`` is locked by the same statement, one round trip fewer than claiming,
    then locking."""
    intent_id = event["data"]["object"].get("id")
    if event["type"] in PAYMENT_INTENT_TYPES and isinstance(intent_id, str) and intent_id:
        metadata = event["data"]["object"].get("metadata")
        reference = checkout_reference(metadata) if isinstance(metadata, Mapping) else None
        return WebhookEvent.objects.claim_locking(event, intent_id, reference)
    event_pk = WebhookEvent.objects.claim(event)
    return None if event_pk is None else Claimed(event_pk)


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


# ---------------------------------------------------------------------------------------
# An event stored as received (task mode)


def apply_stored(event_pk: int, *, skip_locked: bool = False) -> str:
    """Apply a stored event exactly once (the task, and ``apranova_process_events``): claim
    it under its row lock, announce it and dispatch it in one transaction; its outcome, or
    ``"duplicate"`` when it was done already (or, with ``skip_locked``, held by another
    transaction). A failure rolls that back, is recorded on the event and raised."""
    return _apply(partial(_take_stored, event_pk, skip_locked),
                  lambda exc: WebhookEvent.objects.fail(event_pk, _error(exc)),
                  f"stored event {event_pk}")


def _take_stored(event_pk: int, skip_locked: bool) -> _Taken | None:
    found = WebhookEvent.objects.claim_stored(event_pk, skip_locked=skip_locked, lock_payment_of=PAYMENT_INTENT_TYPES)
    if found is None:
        return None
    event, claimed = found
    return _Taken(event, event_pk, claimed)
