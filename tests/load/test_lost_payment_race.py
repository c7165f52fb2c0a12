"""Several first events at once for a PaymentIntent whose row was never stored (the process
died between Stripe's answer and the INSERT): the webhook rebuilds the payment once and
answers every delivery without a 5xx."""

from __future__ import annotations

import json
import secrets
from collections import Counter

import pytest
from django.contrib.auth import get_user_model

from django_apranova_payments.metadata import own_metadata
from django_apranova_payments.models import Payment
from django_apranova_payments.testing import build_event
from tests.load.conftest import sign, tallies
from tests.load.loadgen import deliver
from tests.load.tally.receivers import created_key, specific_key

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("round_number", range(3))
def test_simultaneous_first_events_for_a_lost_payment_rebuild_it_once_without_5xx(load_db, webhook_url, round_number):
    user = get_user_model()._default_manager.db_manager(load_db).create(
        username=f"lost-{secrets.token_hex(4)}", email=f"lost-{secrets.token_hex(4)}@example.com")
    pi = f"pi_{secrets.token_hex(12)}"
    intent = {"id": pi, "object": "payment_intent", "amount": 1999, "currency": "usd", "livemode": False,
              "metadata": own_metadata(user_pk=user.pk, amount_minor=1999, currency="usd", host={}),
              "last_payment_error": None, "created": 1}
    history = [("created", "requires_payment_method"), ("requires_action", "requires_action"),
               ("processing", "processing"), ("succeeded", "succeeded")]
    events = [build_event({**intent, "status": status}, f"payment_intent.{kind}", created=100 + i)
              for i, (kind, status) in enumerate(history)]
    bodies = [json.dumps(event).encode() for event in events] * 3  # Stripe retries each, too

    results = deliver(webhook_url, bodies, sign=sign, concurrency=len(bodies), start_together=True)

    assert Counter(r.status for r in results) == {200: len(bodies)}
    assert Payment.objects.using(load_db).get(stripe_payment_intent=pi).status == Payment.Status.SUCCEEDED
    counted = tallies(load_db, pi)
    assert counted[created_key(pi)] == 1
    assert counted[specific_key("payment_succeeded", pi)] == 1
    assert all(n == 1 for name, n in counted.items() if name.startswith("changed:")), counted
