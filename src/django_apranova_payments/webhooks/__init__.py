"""The Stripe webhook: verify the raw body, store the event once, apply it once.

* the endpoint, ``api.webhook.StripeWebhookView``, sits with the API's other views: it checks
  the signature and the body's size, then applies the event here inline or, with
  ``WEBHOOK_PROCESSING = "task"``, stores and queues it (``tasks.queue_event``);
* ``parsing``: the verified body as a Stripe event (``parse_event``);
* ``handlers``: what each event type does, one contract ``handler(event, claimed)`` and one
  registry (``HANDLERS``);
* ``processing``: the one engine that claims, announces, dispatches and records an event
  exactly once (``process_event``, ``apply_stored``, ``replay``).

A verified event is claimed with one ``INSERT … ON CONFLICT … RETURNING`` on its Stripe id:
that statement either creates the row or locks the existing one, so the same event arriving
on several servers at once is processed by exactly one of them, and the others see it
already processed. On PostgreSQL the same statement also locks a PaymentIntent event's
payment, after the claim (``WebhookEvent.objects.claim_locking``). Processing happens in the
same transaction as the claim; when it raises, the transaction rolls back, the failure is
written to the event row in a transaction of its own, and the endpoint answers 500 so Stripe
delivers again.
"""

from .handlers import HANDLERS, NOT_OURS, PAYMENT_INTENT_TYPES, Handler, handle_payment_intent
from .parsing import MAX_EVENT_DEPTH, SCRUBBED_KEYS, parse_event, scrub
from .processing import DUPLICATE, Replayed, apply_stored, process_event, replay

__all__ = [
    "DUPLICATE", "HANDLERS", "MAX_EVENT_DEPTH", "NOT_OURS", "PAYMENT_INTENT_TYPES", "SCRUBBED_KEYS", "Handler",
    "Replayed", "apply_stored", "handle_payment_intent", "parse_event", "process_event",
    "replay", "scrub",
]
