"""checks.py: misconfiguration is reported with stable ids."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.checks import Error, Warning, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test.utils import override_settings

from django_apranova_payments.checks import check_settings
from django_apranova_payments.gateway import BaseGateway

GOOD = {
    "STRIPE_SECRET_KEY": "sk_test_abc",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
}
LIVE = {
    "STRIPE_SECRET_KEY": "sk_live_abc",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
}


def check(config: dict[str, Any], *, debug: bool = False, **top_level: Any) -> list[Any]:
    with override_settings(APRANOVA_PAYMENTS=config, DEBUG=debug, **top_level):
        return check_settings()


def ids(config: dict[str, Any], **kwargs: Any) -> list[str]:
    return sorted(message.id for message in check(config, **kwargs))


def without(name: str, config: dict[str, Any] = GOOD) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key != name}


def test_correct_test_configuration_yields_no_messages():
    assert check(GOOD) == []


def test_correct_live_configuration_with_debug_off_yields_no_messages():
    assert check(LIVE, debug=False) == []


def test_the_suites_own_settings_are_clean():
    assert check_settings() == []


def test_restricted_secret_key_is_accepted():
    assert check({**GOOD, "STRIPE_SECRET_KEY": "rk_test_abc"}) == []


def test_top_level_names_satisfy_the_checks():
    assert check({}, STRIPE_SECRET_KEY="sk_test_a", STRIPE_PUBLISHABLE_KEY="pk_test_a",
                 STRIPE_WEBHOOK_SECRET="whsec_a") == []


# -- E001 / E002 ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "pk_test_abc", "whsec_abc", "sk_abc", 12345])
def test_missing_or_wrong_secret_key_is_e001(secret):
    config = without("STRIPE_SECRET_KEY") if secret is None else {**GOOD, "STRIPE_SECRET_KEY": secret}

    messages = check(config)

    assert [m.id for m in messages] == ["apranova_payments.E001"]
    assert isinstance(messages[0], Error)
    assert "STRIPE_SECRET_KEY" in messages[0].hint


def test_e001_hint_never_repeats_the_configured_value():
    (message,) = check({**GOOD, "STRIPE_SECRET_KEY": "pk_test_mistaken_value"})

    assert "pk_test_mistaken_value" not in f"{message.msg} {message.hint}"


@pytest.mark.parametrize("publishable", [None, "", "sk_test_abc", "rk_test_abc", "pk_abc"])
def test_missing_or_wrong_publishable_key_is_e002(publishable):
    config = (without("STRIPE_PUBLISHABLE_KEY") if publishable is None
              else {**GOOD, "STRIPE_PUBLISHABLE_KEY": publishable})

    assert ids(config) == ["apranova_payments.E002"]


def test_secret_key_in_the_publishable_slot_is_e002_and_its_value_is_not_echoed():
    (message,) = check({**GOOD, "STRIPE_PUBLISHABLE_KEY": "sk_test_abc"})

    assert message.id == "apranova_payments.E002"
    assert "never put a secret key there" in message.hint
    assert "sk_test_abc" not in f"{message.msg} {message.hint}"


def test_no_keys_at_all_is_e001_and_e002():
    assert ids({"STRIPE_WEBHOOK_SECRET": "whsec_abc"}) == ["apranova_payments.E001", "apranova_payments.E002"]


# -- E003 / W002 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "publishable"),
    [("sk_test_a", "pk_live_a"), ("sk_live_a", "pk_test_a"), ("rk_live_a", "pk_test_a")],
)
def test_test_and_live_keys_mixed_is_e003(secret, publishable):
    config = {**GOOD, "STRIPE_SECRET_KEY": secret, "STRIPE_PUBLISHABLE_KEY": publishable}

    assert ids(config) == ["apranova_payments.E003"]
    assert ids(config, debug=True) == ["apranova_payments.E003"]


def test_live_keys_with_debug_on_is_w002():
    messages = check(LIVE, debug=True)

    assert [m.id for m in messages] == ["apranova_payments.W002"]
    assert isinstance(messages[0], Warning)


def test_test_keys_with_debug_on_is_fine():
    assert check(GOOD, debug=True) == []


# -- E004 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("currencies", [["usd", "xyz"], ["usd", "us"], ["usd", 840], ["usd", "btc"]])
def test_currency_stripe_does_not_support_is_e004(currencies):
    messages = check({**GOOD, "CURRENCIES": currencies})

    assert [m.id for m in messages] == ["apranova_payments.E004"]
    assert repr(currencies[1]) in messages[0].msg


def test_unknown_default_currency_is_e004():
    messages = check({**GOOD, "DEFAULT_CURRENCY": "abc"})

    assert [m.id for m in messages] == ["apranova_payments.E004"]
    assert "'abc'" in messages[0].msg


def test_currencies_in_any_case_are_accepted():
    assert check({**GOOD, "CURRENCIES": ["USD", "Jpy", "kwd"], "DEFAULT_CURRENCY": "USD"}) == []


# -- E006 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("GATEWAY", "django_apranova_payments.gateway.NoSuchGateway"),
        ("GATEWAY", "no_such_package.Gateway"),
        ("PRICE_RESOLVER", "no_such_package.resolve"),
        ("PRICE_RESOLVER", "tests.test_checks.no_such_function"),
    ],
)
def test_unimportable_gateway_or_price_resolver_is_e006(name, path):
    messages = check({**GOOD, name: path})

    assert [m.id for m in messages] == ["apranova_payments.E006"]
    assert name in messages[0].msg and path in messages[0].msg


def test_each_unimportable_path_is_its_own_e006():
    messages = check({**GOOD, "GATEWAY": "nope.Gateway", "PRICE_RESOLVER": "nope.resolve"})

    assert [m.id for m in messages] == ["apranova_payments.E006"] * 2
    assert "'GATEWAY'" in messages[1].msg and "'PRICE_RESOLVER'" in messages[0].msg


class KeylessGateway(BaseGateway):
    """A gateway that needs no Stripe keys (as the offline simulator does)."""

    uses_stripe_keys = False


def test_bad_price_resolver_does_not_hide_the_gateway_class():
    config = {"GATEWAY": f"{__name__}.KeylessGateway", "PRICE_RESOLVER": "nope.resolve",
              "STRIPE_WEBHOOK_SECRET": "whsec_a"}

    assert ids(config) == ["apranova_payments.E006"]  # no E001/E002: this gateway needs no keys


def test_e006_does_not_hide_key_problems():
    assert ids({"GATEWAY": "nope.Nope", "STRIPE_WEBHOOK_SECRET": "whsec_a"}) == [
        "apranova_payments.E001", "apranova_payments.E002", "apranova_payments.E006",
    ]


# -- W001 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [None, "", "sk_test_abc", "whsec", ["whsec_ok", "not_whsec"], [], ["whsec_ok", 5]],
)
def test_missing_or_malformed_webhook_secret_is_w001(secret):
    config = without("STRIPE_WEBHOOK_SECRET") if secret is None else {**GOOD, "STRIPE_WEBHOOK_SECRET": secret}

    messages = check(config)

    assert [m.id for m in messages] == ["apranova_payments.W001"]
    assert isinstance(messages[0], Warning)


def test_a_list_of_webhook_secrets_is_accepted():
    assert check({**GOOD, "STRIPE_WEBHOOK_SECRET": ["whsec_old", "whsec_new"]}) == []


# -- registered with Django ----------------------------------------------------------------------


def test_the_check_runs_with_manage_py_check(db):  # model checks may ask the database about JSON support
    with override_settings(APRANOVA_PAYMENTS=without("STRIPE_SECRET_KEY")):
        found = {message.id for message in run_checks()}
        with pytest.raises(SystemCheckError, match=r"apranova_payments\.E001"):
            call_command("check")

    assert "apranova_payments.E001" in found


def test_the_check_does_not_need_the_database():
    assert settings.DATABASES  # no db fixture: a query here would raise
    assert check(GOOD) == []


def test_default_currency_outside_currencies_is_e007():
    messages = check({**GOOD, "CURRENCIES": ["inr"]})

    assert [m.id for m in messages] == ["apranova_payments.E007"]
    assert "'usd'" in messages[0].msg
