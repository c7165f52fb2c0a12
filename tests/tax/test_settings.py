"""``TAX`` and ``SELLER``: E011 for what receipts and Stripe Tax cannot use, and the values
the package reads."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

from django_apranova_payments.conf import Seller, Tax, app_settings
from tests.conf.test_checks import GOOD, check

TAX = {"tax_code": "txcd_10000000", "behavior": "exclusive"}
SELLER = {"name": "ApraNova Academy", "address": "1 Main St\nBerlin", "tax_id": "DE123456789",
          "email": "billing@example.com"}


def e011(config: dict[str, Any]) -> list[str]:
    return [str(message.msg) for message in check(config) if message.id == "apranova_payments.E011"]


def test_tax_with_a_seller_is_clean_and_read_as_values():
    assert e011({**GOOD, "TAX": TAX, "SELLER": SELLER}) == []
    with override_settings(APRANOVA_PAYMENTS={**GOOD, "TAX": TAX, "SELLER": SELLER}):
        assert app_settings.TAX == Tax("txcd_10000000", "exclusive")
        assert app_settings.SELLER == Seller("ApraNova Academy", ("1 Main St", "Berlin"), "DE123456789",
                                             "billing@example.com")


def test_a_seller_alone_is_clean_and_tax_defaults_to_exclusive():
    assert e011({**GOOD, "SELLER": {"name": "School"}}) == []
    with override_settings(APRANOVA_PAYMENTS={**GOOD, "TAX": {"tax_code": "txcd_10000000"}}):
        assert app_settings.TAX.behavior == "exclusive"


def test_tax_without_a_seller_is_e011():
    [message] = e011({**GOOD, "TAX": TAX})
    assert "SELLER" in message


@pytest.mark.parametrize(("config", "words"), [
    ({"TAX": {"tax_code": "txcd_1"}, "SELLER": SELLER}, "is not a Stripe tax code"),
    ({"TAX": {"tax_code": "10000000"}, "SELLER": SELLER}, "is not a Stripe tax code"),
    ({"TAX": {"tax_code": "txcd_10000000", "behavior": "inclusiv"}, "SELLER": SELLER}, "neither 'exclusive'"),
    ({"TAX": {"tax_code": "txcd_10000000", "behaviour": "inclusive"}, "SELLER": SELLER}, "unknown keys: 'behaviour'"),
    ({"TAX": "txcd_10000000", "SELLER": SELLER}, "must be a dict"),
    ({"TAX": TAX, "SELLER": {"address": "x"}}, "needs a 'name'"),
    ({"TAX": TAX, "SELLER": {"name": "  "}}, "needs a 'name'"),
    ({"SELLER": {"name": "School", "vat": "x"}}, "unknown keys: 'vat'"),
    ({"SELLER": {"name": "School", "address": 12}}, "a string or a list of lines"),
    ({"SELLER": {"name": "School", "tax_id": 12}}, "must be a string"),
    ({"SELLER": "School"}, "must be a dict"),
])
def test_a_malformed_tax_or_seller_is_e011_naming_the_problem(config, words):
    messages = e011({**GOOD, **config})
    assert len(messages) == 1 and words in messages[0], messages
    with override_settings(APRANOVA_PAYMENTS={**GOOD, **config}), pytest.raises(ImproperlyConfigured):
        app_settings.TAX  # noqa: B018 - the one that is wrong raises on access
        app_settings.SELLER  # noqa: B018
