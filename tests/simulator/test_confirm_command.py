"""``apranova_simulate_confirm`` says why its webhooks did not change the payment: a refused
signature (the two processes disagree on ``STRIPE_WEBHOOK_SECRET``), nothing listening at
``SIMULATOR_WEBHOOK_URL``, or a webhook in task mode that only queued the events.

The hook is a stand-in server at the HTTP boundary that checks the signature with its own
secret, as the package's webhook view does, and answers as that view answers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from django.core.management import call_command

from django_apranova_payments import exceptions, signing
from django_apranova_payments.simulator import sender
from django_apranova_payments.simulator.gateway import SimulatorGateway
from django_apranova_payments.simulator.models import SimulatedPaymentIntent

from .conftest import SECRET

HOOK = "http://127.0.0.1:8765/api/payments/webhook/"
Server = Callable[..., None]


@pytest.fixture
def server(settings: Any, transactional_db: Any) -> Iterator[Server]:
    """``server(secret=…, outcome=…)``: the webhook the simulator posts to, verifying with
    ``secret`` and answering ``outcome`` (``None``: nothing listens)."""
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "SIMULATOR_WEBHOOK_URL": HOOK}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:

        def start(secret: str = SECRET, outcome: str | None = "processed") -> None:
            def answer(request: Any) -> tuple[int, dict[str, str], str]:
                if outcome is None:
                    raise requests.ConnectionError("Connection refused")
                try:
                    signing.verify(request.body, request.headers["Stripe-Signature"], [secret], 300)
                except exceptions.WebhookError as exc:
                    return exc.status_code, {}, json.dumps({"error": str(exc)})
                return 200, {}, json.dumps({"received": True, "outcome": outcome})

            mock.add_callback(responses.POST, HOOK, callback=answer, content_type="application/json")

        yield start


def confirm_new_intent() -> tuple[str, str, str]:
    intent = SimulatorGateway().create_payment_intent(amount=4999, currency="usd", metadata={},
                                                      idempotency_key=os.urandom(8).hex()).id
    assert sender.wait_for_deliveries(10)

    out, err = _Buffer(), _Buffer()
    call_command("apranova_simulate_confirm", intent, stdout=out, stderr=err)
    return intent, out.text, err.text


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_a_refused_signature_names_the_webhook_secret(server):
    server(secret="whsec_the_servers_other_secret")

    intent, out, err = confirm_new_intent()

    assert out.startswith(f"{intent}: succeeded")
    assert f"for {intent} delivered: HTTP 400" in err
    assert ("refused the signature (HTTP 400): STRIPE_WEBHOOK_SECRET must be the same in the process that "
            "runs this command and in the server") in err
    assert "listening" not in err
    assert "whsec_" not in out + err  # neither secret is shown


def test_nothing_listening_keeps_the_listening_hint(server):
    server(outcome=None)

    _, _, err = confirm_new_intent()

    assert f"(payment_intent.succeeded) to {HOOK} failed: ConnectionError" in err
    assert f"Is the server listening at SIMULATOR_WEBHOOK_URL ({HOOK})?" in err
    assert "signature" not in err


def test_task_mode_says_the_events_wait_for_a_worker(server):
    server(outcome="queued")

    intent, out, err = confirm_new_intent()

    assert f"(payment_intent.succeeded) for {intent} queued: HTTP 200" in out
    assert "delivered" not in out
    assert ("The webhook queued the events (WEBHOOK_PROCESSING = 'task'): the payment changes when a worker "
            "runs them: start your task worker, or run manage.py apranova_process_events --older-than 0.") in err
    assert SimulatedPaymentIntent.objects.get(intent_id=intent).status == "succeeded"


def test_a_processed_event_adds_no_hint(server):
    server()

    intent, out, err = confirm_new_intent()

    assert f"(payment_intent.succeeded) for {intent} delivered: HTTP 200" in out
    assert err == ""
