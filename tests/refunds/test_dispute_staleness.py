"""A late ``charge.dispute.updated`` never overwrites what a newer event said: not the status
(the stages only move forward) and not, at the same status, whether the charge can still be
refunded or when the evidence is due."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from django_apranova_payments.models import Dispute, WebhookEvent
from django_apranova_payments.testing import build_dispute, build_event, post_event
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

T0 = int(time.time()) - 1000
DUE_NEW, DUE_OLD = T0 + 9 * 86400, T0 + 3 * 86400


def test_an_older_update_at_the_same_status_leaves_refundable_and_deadline_as_the_newer_said(client):
    payment = PaymentFactory(status="succeeded", amount=Decimal("40.00"))
    dispute = build_dispute(payment, "needs_response", is_charge_refundable=False, due_by=DUE_OLD)
    newer = {**dispute, "is_charge_refundable": True, "evidence_details": {"due_by": DUE_NEW}}

    post_event(client, build_event(dispute, "charge.dispute.created", created=T0))
    post_event(client, build_event(newer, "charge.dispute.updated", created=T0 + 20))
    late = post_event(client, build_event(dispute, "charge.dispute.updated", created=T0 + 10))

    assert late.json()["outcome"] == "ignored"
    stored = Dispute.objects.get()
    assert stored.is_charge_refundable is True
    assert stored.evidence_due_by == datetime.fromtimestamp(DUE_NEW, tz=UTC)
    note = WebhookEvent.objects.filter(object_id=dispute["id"]).order_by("received_at").last().note
    assert note.startswith("not applied: stale")
    payment.refresh_from_db()
    assert not payment.is_disputed  # the newer event said the charge can still be refunded
