"""What host projects hear.

Every signal is sent with ``sender=Payment`` (the class), exactly once per real status
transition, whichever path saw it first (a webhook, ``update-status``, the admin or the
reconciliation command). Receivers run *inside* the database transaction that changes the
status: if a receiver raises, nothing is committed, the webhook answers 500 and Stripe
delivers the event again, so an enrollment granted in a receiver is never lost and never
doubled. Keep receivers quick; hand slow work to ``transaction.on_commit``.

``event`` is the verified Stripe event (a ``dict``) when a webhook caused the change, and
``None`` otherwise.
"""

from django.dispatch import Signal

#: A new payment was stored after Stripe created its PaymentIntent.
#: Kwargs: ``payment`` (the new ``Payment``), ``event`` (``None``, or the webhook event that
#: rebuilt the row of a PaymentIntent whose creating request died before storing it).
payment_created = Signal()

#: Any status transition. Sent before the specific signal below.
#: Kwargs: ``payment``, ``old_status`` (str), ``new_status`` (str), ``event`` (dict or None).
payment_status_changed = Signal()

#: The payment moved to ``processing`` (delayed payment methods such as bank debits).
#: Kwargs: ``payment``, ``event``.
payment_processing = Signal()

#: The payment succeeded: grant what was paid for here. Kwargs: ``payment``, ``event``.
payment_succeeded = Signal()

#: A payment attempt failed; the same payment may still be retried and succeed.
#: Kwargs: ``payment`` (``failure_code`` and ``failure_message`` are set), ``event``.
payment_failed = Signal()

#: The payment was canceled; this is final. Kwargs: ``payment``, ``event``.
payment_canceled = Signal()

#: A new verified webhook event was stored, whatever its type: once per event id, as far as
#: committed work goes (a delivery whose processing failed rolled back, so its redelivery
#: sends it again). Kwargs: ``event`` (the verified Stripe event as a dict).
webhook_event_received = Signal()

#: A refund succeeded: take back what was paid for here. Once per refund. Kwargs:
#: ``payment`` (``amount_refunded`` already includes this refund, so ``is_fully_refunded``
#: tells a full refund from a partial one), ``refund`` (the ``Refund``), ``event``.
payment_refunded = Signal()

#: A refund ended ``failed`` or ``canceled``; once per refund. When it had succeeded before
#: (a card closed meanwhile: ``old_status == "succeeded"``), ``payment.amount_refunded`` no
#: longer includes it: give back what ``payment_refunded`` took. Kwargs: ``payment``,
#: ``refund``, ``event``, ``old_status`` (the refund's status before, ``""`` when it was
#: first seen failed).
refund_failed = Signal()

#: A dispute (a chargeback, or an inquiry) was opened on the payment; once per dispute.
#: Kwargs: ``payment``, ``dispute`` (the ``Dispute``), ``event``.
payment_disputed = Signal()

#: A dispute ended: ``dispute.status`` is ``won``, ``lost`` or ``warning_closed``. Once per
#: dispute. Kwargs: ``payment``, ``dispute``, ``event``.
dispute_closed = Signal()
