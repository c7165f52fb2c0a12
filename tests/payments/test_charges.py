"""Charge: the one place a charge is validated, and create_payment without DRF."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_apranova_payments import exceptions, services
from django_apranova_payments.charges import Charge, ChargeError
from django_apranova_payments.metadata import HOST_MAX_KEYS
from django_apranova_payments.models import Payment


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
