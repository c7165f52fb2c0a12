"""Charge.of's metadata refusals: which field, which words, and a lone bracket or surrogate
(survivors of the mutation run, docs/explanation/testing.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_apranova_payments.charges import Charge, ChargeError


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
