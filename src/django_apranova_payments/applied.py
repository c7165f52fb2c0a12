"""What refunds and disputes share when Stripe's view of one is applied: the answer
(``Applied``), the payment's row lock, staleness, and saving only what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model

from . import money
from .models import Dispute, Payment, Refund


@dataclass(frozen=True)
class Applied:
    """What ``apply_refund`` or ``apply_dispute`` did. ``obj`` is the ``Refund`` or ``Dispute``
    (``None`` when nothing was stored); ``refused`` is empty when Stripe's view was applied
    (or already held), else why not, fit for a log line or an event's note."""

    obj: Any
    old_status: str
    new_status: str
    refused: str = ""
    created: bool = False

    @property
    def applied(self) -> bool:
        return not self.refused


def lock(payment: Payment, locked: bool) -> Payment:
    """``payment`` (already found), locked for the rest of the transaction unless the caller
    holds it; by its primary key, which every payment has."""
    return payment if locked else Payment.objects.select_for_update().get(pk=payment.pk)


def is_stale(row: Refund | Dispute, event_created: datetime | None) -> bool:
    last = row.last_event_created
    return event_created is not None and last is not None and event_created < last


def newer(row: Refund | Dispute, event_created: datetime | None) -> dict[str, Any]:
    if event_created is not None and (row.last_event_created is None or event_created > row.last_event_created):
        return {"last_event_created": event_created}
    return {}


def save_changed(row: Model, values: Mapping[str, Any]) -> None:
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    if changed:
        row.save(update_fields=[*changed, "updated_at"])


def stored_amount(minor: int, currency: str) -> Decimal | None:
    """Stripe's ``minor`` units as the ``Decimal`` the tables store, or ``None`` when no
    amount of ``currency`` can be that (a fraction of a three-decimal currency's step, or
    too large for the column)."""
    try:
        return money.quantize_for_storage(money.from_minor_units(minor, currency))
    except money.MoneyError:
        return None
