"""Charge: the one place a charge is validated, its refusals word for word, and create_payment
without DRF, also when the row was stored by another path while Stripe answered (the intent's
own webhook rebuilt it, or a concurrent request with the same Idempotency-Key stored it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from django_apranova_payments import exceptions, services
from django_apranova_payments.charges import Charge, ChargeError
from django_apranova_payments.gateway import PaymentIntentData
from django_apranova_payments.metadata import HOST_MAX_KEYS
from django_apranova_payments.models import Payment
from tests.factories import PaymentFactory


@pytest.mark.parametrize(
    ("amount", "currency", "expected", "minor"),
    [
        ("19.99", "usd", Decimal("19.99"), 1999),
        (Decimal("19.9"), "USD", Decimal("19.90"), 1990),
        (1000, "jpy", Decimal("1000"), 1000),
        ("5.120", "kwd", Decimal("5.120"), 5120),
        (5, "isk", Decimal("5"), 500),
    ],
)
def test_a_charge_is_exact_in_major_and_minor_units(amount, currency, expected, minor):
    charge = Charge.of(amount, currency, {"course": 7})

    assert charge.amount == expected and str(charge.amount) == str(expected)
    assert charge.currency == currency.lower()
    assert charge.minor_units == minor
    assert dict(charge.metadata) == {"course": "7"}


@pytest.mark.parametrize(
    ("amount", "currency", "metadata", "field", "words"),
    [
        (19.99, "usd", None, "amount", "amount is float"),
        (True, "usd", None, "amount", "amount is bool"),
        (None, "usd", None, "amount", "amount is NoneType"),
        ("19.999", "usd", None, "amount", "decimal places"),
        ("0.10", "usd", None, "amount", "at least"),
        ("NaN", "usd", None, "amount", "finite"),
        ("10.00", "xyz", None, "currency", "xyz"),
        ("10.00", None, None, "currency", ""),
        ("10.00", "usd", ["a"], "metadata", "JSON object"),
        ("10.00", "usd", {"apranova_mark": "x"}, "metadata", "reserved"),
        ("10.00", "usd", {f"k{i}": "v" for i in range(HOST_MAX_KEYS + 1)}, "metadata", f"at most {HOST_MAX_KEYS}"),
        ("10.00", "usd", {"k": {"nested": 1}}, "metadata", "string or a number"),
        ("10.00", "usd", {"k": "x" * 501}, "metadata", "longer than 500"),
        ("10.00", "usd", {"a[b]": "x"}, "metadata", "square brackets"),
    ],
)
def test_an_unchargeable_charge_names_its_field(amount, currency, metadata, field, words):
    with pytest.raises(ChargeError) as caught:
        Charge.of(amount, currency, metadata)

    assert caught.value.field == field
    assert words in caught.value.message


def refusal(metadata: dict) -> ChargeError:
    with pytest.raises(ChargeError) as refused:
        Charge.of(Decimal("10.00"), "usd", metadata)
    return refused.value


@pytest.mark.parametrize("key", ["a\x00b", "\ud800"])
def test_a_metadata_key_with_nul_or_a_lone_surrogate_is_refused_in_words(key):
    error = refusal({key: "v"})
    assert (error.field, error.message) == (
        "metadata",
        "Metadata keys cannot contain NUL characters or invalid Unicode.",
    )


@pytest.mark.parametrize("value", ["a\x00b", "\udfff"])
def test_a_metadata_value_with_nul_or_a_lone_surrogate_is_refused_on_the_metadata_field(value):
    error = refusal({"course": value})
    assert (error.field, error.message) == (
        "metadata",
        "Metadata value for 'course' contains NUL characters or invalid Unicode.",
    )


@pytest.mark.parametrize("key", ["a[", "a]", "[", "]"])
def test_a_metadata_key_with_a_single_square_bracket_is_refused(key):
    error = refusal({key: "v"})
    assert (error.field, error.message) == ("metadata", "Metadata keys cannot contain square brackets.")


def test_a_charge_cannot_be_changed_after_validation():
    charge = Charge.of("10.00", "usd", {"k": "v"})

    with pytest.raises(AttributeError):
        charge.amount = Decimal("0.01")  # type: ignore[misc]
    with pytest.raises(TypeError):
        charge.metadata["k"] = "w"  # type: ignore[index]


@pytest.mark.django_db
def test_host_code_creates_a_payment_without_drf(user, stripe_mock):
    created = services.create_payment(user, Charge.of("49.00", "eur", {"course": "3"}))

    payment = Payment.objects.get()
    assert created.payment == payment and created.client_secret and not created.replayed
    assert (payment.user, payment.amount, payment.currency, payment.metadata) == (
        user, Decimal("49.00"), "eur", {"course": "3"}
    )
    assert stripe_mock.intents[payment.stripe_payment_intent]["amount"] == 4900


@pytest.mark.django_db
def test_host_code_retries_with_its_idempotency_key_and_a_different_charge_conflicts(user, stripe_mock):
    charge = Charge.of("49.00", "eur", {"course": "3"})

    first = services.create_payment(user, charge, idempotency_key="enroll-3")
    again = services.create_payment(user, charge, idempotency_key="enroll-3")

    assert again.replayed and again.payment == first.payment
    assert len(stripe_mock.intents) == 1
    with pytest.raises(exceptions.IdempotencyConflict):
        services.create_payment(user, Charge.of("59.00", "eur", {"course": "3"}), idempotency_key="enroll-3")


# -- a row stored by another path while Stripe answered ---------------------------------------

CHARGE = Charge.of(Decimal("12.50"), "usd", {"course": "7"})


def gateway_that(before_answering: Any, intent_id: str = "pi_meanwhile") -> type:
    """A gateway whose create_payment_intent runs ``before_answering`` (the other path storing
    the row) and then answers with the intent, as Stripe would."""

    class Gateway:
        livemode = False

        def create_payment_intent(self, **kwargs: Any) -> PaymentIntentData:
            before_answering()
            return PaymentIntentData(
                id=intent_id,
                status="requires_payment_method",
                amount=kwargs["amount"],
                currency=kwargs["currency"],
                client_secret="cs_meanwhile",
            )

    return Gateway


def test_a_row_the_webhook_stored_meanwhile_is_returned_as_created(user, monkeypatch):
    stored = []
    monkeypatch.setattr(
        services.payments,
        "get_gateway",
        gateway_that(
            lambda: stored.append(
                PaymentFactory(user=user, stripe_payment_intent="pi_meanwhile", amount=Decimal("12.50"), currency="usd")
            )
        ),
    )

    created = services.create_payment(user, CHARGE)

    assert created.payment == stored[0]
    assert (created.client_secret, created.replayed) == ("cs_meanwhile", False)
    assert Payment.objects.count() == 1


def test_a_row_stored_meanwhile_by_the_same_key_is_a_replay(user, other_user, monkeypatch):
    PaymentFactory(user=user, idempotency_key="k0")  # this user's other payment
    PaymentFactory(user=other_user, idempotency_key="k1")  # the same key, another user's
    fingerprint = services.request_fingerprint({"amount": "12.50", "currency": "usd", "metadata": {"course": "7"}})
    stored = []
    monkeypatch.setattr(
        services.payments,
        "get_gateway",
        gateway_that(
            lambda: stored.append(
                PaymentFactory(
                    user=user, stripe_payment_intent="pi_first", idempotency_key="k1", request_fingerprint=fingerprint
                )
            )
        ),
    )

    created = services.create_payment(user, CHARGE, idempotency_key="k1")

    assert created.payment == stored[0]
    assert (created.client_secret, created.replayed) == ("cs_meanwhile", True)
    assert Payment.objects.filter(user=user).count() == 2


def test_a_row_stored_meanwhile_by_the_same_key_for_another_body_is_a_conflict(user, monkeypatch):
    monkeypatch.setattr(
        services.payments,
        "get_gateway",
        gateway_that(
            lambda: PaymentFactory(
                user=user, stripe_payment_intent="pi_first", idempotency_key="k1", request_fingerprint="another body"
            )
        ),
    )

    with pytest.raises(exceptions.IdempotencyConflict):
        services.create_payment(user, CHARGE, idempotency_key="k1")
    assert list(Payment.objects.values_list("stripe_payment_intent", flat=True)) == ["pi_first"]


def test_a_payment_intent_id_stored_for_another_user_is_never_returned(user, other_user, monkeypatch):
    """If Stripe ever answered with the id of a PaymentIntent stored for someone else, the
    request fails; it never hands this user the other user's payment."""
    theirs = PaymentFactory(user=other_user)
    charge = Charge.of(theirs.amount, theirs.currency)
    gateway = gateway_that(lambda: None, intent_id=theirs.stripe_payment_intent)
    monkeypatch.setattr(services.payments, "get_gateway", gateway)

    with pytest.raises(exceptions.GatewayError):
        services.create_payment(user, charge)
    assert list(Payment.objects.filter(user=user)) == []


def test_a_free_charge_keeps_its_metadata_and_has_none_without_it():
    free = Charge.free("USD", {"course": "intro"})

    assert (free.currency, free.minor_units, dict(free.metadata)) == ("usd", 0, {"course": "intro"})
    assert dict(Charge.free("usd").metadata) == {}
