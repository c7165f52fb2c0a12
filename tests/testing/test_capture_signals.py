"""testing.capture_signals: what a host's test hears, in order, and nothing left connected."""

from __future__ import annotations

import copy
import gc

import pytest
from django.dispatch import Signal

from django_apranova_payments import signals
from django_apranova_payments.models import Payment
from django_apranova_payments.testing import CapturedSignals, build_event, capture_signals, post_event

DEFINED = [name for name in dir(signals) if isinstance(getattr(signals, name), Signal)]


def connected() -> dict[str, int]:
    return {name: len(getattr(signals, name).receivers) for name in DEFINED}


def test_a_webhook_is_heard_in_order_with_its_kwargs(client, payment):
    event = build_event(payment, "payment_intent.succeeded")

    with capture_signals() as sent:
        post_event(client, event)

    assert sent.names() == ["webhook_event_received", "payment_status_changed", "payment_succeeded"]
    assert all(each.sender is Payment for each in sent)
    heard = copy.deepcopy(event)
    del heard["data"]["object"]["client_secret"]  # Stripe sends it; the package never passes it on
    assert sent.of("webhook_event_received") == [{"sender": Payment, "event": heard}]
    (changed,) = sent.of("payment_status_changed")
    assert (changed["payment"].pk, changed["old_status"], changed["new_status"]) == (payment.pk, "pending", "succeeded")
    assert changed["event"]["id"] == event["id"] and "signal" not in changed
    assert sent.count("payment_succeeded") == 1 and sent.count("payment_failed") == 0
    assert sent[2].name == "payment_succeeded" and len(sent) == 3


def test_every_signal_the_module_defines_is_captured():
    assert len(DEFINED) >= 7

    with capture_signals() as sent:
        for name in DEFINED:
            getattr(signals, name).send(sender=Payment, marker=name)

    assert sent.names() == DEFINED
    assert [kwargs["marker"] for name in DEFINED for kwargs in sent.of(name)] == DEFINED


def test_a_signal_added_to_the_module_later_is_captured_without_a_change(monkeypatch):
    added = Signal()
    monkeypatch.setattr(signals, "payment_refunded", added, raising=False)

    with capture_signals() as sent:
        added.send(sender=Payment, payment=None, event=None)

    assert sent.names() == ["payment_refunded"]
    assert not added.receivers


def test_signals_outside_the_block_are_not_recorded_and_nothing_stays_connected():
    before = connected()
    with capture_signals() as sent:
        assert all(connected()[name] == before[name] + 1 for name in DEFINED)
    signals.payment_succeeded.send(sender=Payment, payment=None, event=None)

    assert sent.names() == []
    assert connected() == before


def test_receivers_are_disconnected_when_the_block_raises():
    before = connected()

    with pytest.raises(RuntimeError, match="boom"), capture_signals() as sent:
        signals.payment_failed.send(sender=Payment, payment=None, event=None)
        raise RuntimeError("boom")
    signals.payment_failed.send(sender=Payment, payment=None, event=None)

    assert sent.names() == ["payment_failed"]
    assert connected() == before


def test_receivers_survive_garbage_collection():
    with capture_signals() as sent:
        gc.collect()
        signals.payment_canceled.send(sender=Payment, payment=None, event=None)

    assert sent.names() == ["payment_canceled"]


def test_nested_captures_each_hear_their_own_block():
    before = connected()
    with capture_signals() as outer:
        signals.payment_processing.send(sender=Payment, payment=None, event=None)
        with capture_signals() as inner:
            signals.payment_succeeded.send(sender=Payment, payment=None, event=None)
        signals.payment_canceled.send(sender=Payment, payment=None, event=None)

    assert outer.names() == ["payment_processing", "payment_succeeded", "payment_canceled"]
    assert inner.names() == ["payment_succeeded"]
    assert connected() == before


def test_a_name_that_is_not_a_package_signal_is_refused():
    with capture_signals() as sent:
        pass

    with pytest.raises(ValueError, match="payment_succeded"):
        sent.count("payment_succeded")
    with pytest.raises(ValueError, match="request_started"):
        sent.of("request_started")


def test_clear_forgets_what_was_captured_and_goes_on():
    with capture_signals() as sent:
        signals.payment_processing.send(sender=Payment, payment=None, event=None)
        sent.clear()
        signals.payment_succeeded.send(sender=Payment, payment=None, event=None)

    assert sent.names() == ["payment_succeeded"]


def test_the_fixture_captures_for_the_whole_test(captured_signals, client, payment):
    assert isinstance(captured_signals, CapturedSignals)

    post_event(client, build_event(payment, "payment_intent.payment_failed"))

    assert captured_signals.names() == ["webhook_event_received", "payment_status_changed", "payment_failed"]
    assert captured_signals.of("payment_failed")[0]["payment"].failure_code == "insufficient_funds"
