"""checks.py: misconfiguration is reported with stable ids."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.checks import Error, Warning, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test.utils import override_settings

from django_apranova_payments import checks
from django_apranova_payments.checks import check_settings
from django_apranova_payments.gateway import BaseGateway
from tests.conf.reports import SECRET_KEY_VALUE, WEBHOOK_SECRET_VALUE, error_report


def resolve_price(request: Any, data: Any) -> Any:
    return data


RESOLVER = f"{__name__}.resolve_price"
GOOD = {
    "STRIPE_SECRET_KEY": "sk_test_abc",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "PRICE_RESOLVER": RESOLVER,
}
LIVE = {
    "STRIPE_SECRET_KEY": "sk_live_abc",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "PRICE_RESOLVER": RESOLVER,
}


#: A cache every server process shares (W005 is about the others); never connected to here.
SHARED_CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache"}}


def check(config: dict[str, Any], *, debug: bool = False, **top_level: Any) -> list[Any]:
    top_level.setdefault("CACHES", SHARED_CACHE)
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


def test_the_suites_own_settings_are_clean_once_w004_and_w005_are_silenced_as_documented():
    assert [m.id for m in check_settings()] == ["apranova_payments.W004", "apranova_payments.W005"]
    assert settings.SILENCED_SYSTEM_CHECKS == ["apranova_payments.W004", "apranova_payments.W005"]


def test_restricted_secret_key_is_accepted():
    assert check({**GOOD, "STRIPE_SECRET_KEY": "rk_test_abc"}) == []


def test_top_level_names_satisfy_the_checks():
    assert check({"PRICE_RESOLVER": RESOLVER}, STRIPE_SECRET_KEY="sk_test_a", STRIPE_PUBLISHABLE_KEY="pk_test_a",
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
    no_keys = without("STRIPE_SECRET_KEY", without("STRIPE_PUBLISHABLE_KEY"))

    assert ids(no_keys) == ["apranova_payments.E001", "apranova_payments.E002"]


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
        ("PRICE_RESOLVER", "tests.conf.test_checks.no_such_function"),
        ("COUPON_VALIDATOR", "no_such_package.validate"),
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
              "STRIPE_WEBHOOK_SECRET": "whsec_a"}  # no W004 either: a resolver is set, if broken

    assert ids(config) == ["apranova_payments.E006"]  # no E001/E002: this gateway needs no keys


def test_e006_does_not_hide_key_problems():
    assert ids({"GATEWAY": "nope.Nope", "STRIPE_WEBHOOK_SECRET": "whsec_a", "PRICE_RESOLVER": RESOLVER}) == [
        "apranova_payments.E001", "apranova_payments.E002", "apranova_payments.E006",
    ]


# -- W001 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [None, "", "sk_test_abc", "whsec", ["whsec_ok", "not_whsec"], []],
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


# -- E008 ---------------------------------------------------------------------------------------

NOT_CALLABLE = 42


class NotAGateway:
    """Callable (a class), but not a gateway."""


@pytest.mark.parametrize(
    ("name", "path", "words"),
    [
        ("PRICE_RESOLVER", f"{__name__}.NOT_CALLABLE", "not callable (it is a int)"),
        ("PRICE_RESOLVER", "tests.conf.test_checks", "not callable (it is a module)"),
        ("COUPON_VALIDATOR", f"{__name__}.NOT_CALLABLE", "not callable (it is a int)"),
        ("GATEWAY", f"{__name__}.NotAGateway", "not a gateway class (it is a type)"),
        ("GATEWAY", f"{__name__}.resolve_price", "not a gateway class (it is a function)"),
        ("GATEWAY", f"{__name__}.NOT_CALLABLE", "not a gateway class (it is a int)"),
    ],
)
def test_dotted_path_that_imports_something_unusable_is_e008(name, path, words):
    messages = check({**GOOD, name: path})

    assert [m.id for m in messages] == ["apranova_payments.E008"]
    assert isinstance(messages[0], Error)
    assert f"APRANOVA_PAYMENTS['{name}']" in messages[0].msg and words in messages[0].msg


def test_price_resolver_and_gateway_given_as_objects_are_checked_too():
    assert ids({**GOOD, "PRICE_RESOLVER": resolve_price, "GATEWAY": KeylessGateway}) == []
    assert ids({**GOOD, "PRICE_RESOLVER": "not a path at all", "GATEWAY": NotAGateway}) == [
        "apranova_payments.E006", "apranova_payments.E008",
    ]


def test_gateway_that_is_not_a_gateway_still_gets_the_key_checks():
    config = {**without("STRIPE_SECRET_KEY"), "GATEWAY": f"{__name__}.NotAGateway"}

    assert ids(config) == ["apranova_payments.E001", "apranova_payments.E008"]


# -- W004 -----------------------------------------------------------------------------------------


def test_no_price_resolver_is_w004_with_the_way_to_silence_it():
    messages = check(without("PRICE_RESOLVER"))

    assert [m.id for m in messages] == ["apranova_payments.W004"]
    assert isinstance(messages[0], Warning)
    assert "client chooses the amount" in messages[0].msg and "PRICE_RESOLVER" in messages[0].hint
    assert "SILENCED_SYSTEM_CHECKS" in messages[0].hint and "apranova_payments.W004" in messages[0].hint


def test_w004_is_silenced_through_silenced_system_checks(db):
    def reported() -> set[str]:  # what manage.py check shows
        return {m.id for m in run_checks() if not m.is_silenced()}

    with override_settings(APRANOVA_PAYMENTS=without("PRICE_RESOLVER"), SILENCED_SYSTEM_CHECKS=[]):
        assert "apranova_payments.W004" in reported()
        with pytest.raises(SystemCheckError, match=r"apranova_payments\.W004"):
            call_command("check", fail_level="WARNING")
    with override_settings(APRANOVA_PAYMENTS=without("PRICE_RESOLVER"),
                           SILENCED_SYSTEM_CHECKS=["apranova_payments.W004"], CACHES=SHARED_CACHE):
        assert "apranova_payments.W004" not in reported()
        call_command("check", fail_level="WARNING")


def test_a_broken_price_resolver_is_e006_not_w004():
    assert ids({**GOOD, "PRICE_RESOLVER": "nope.resolve"}) == ["apranova_payments.E006"]


# -- W003 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("PRICE_RESOLVERS", "PRICE_RESOLVER"),
        ("price_resolver", None),
        ("STRIPE_SECRET", "STRIPE_SECRET_KEY"),
        ("CURRENCY", "CURRENCIES"),
        ("THROTTLE_RATE", "THROTTLE_RATES"),
        ("PERMISSIONS_CLASSES", "PERMISSION_CLASSES"),
        ("SOMETHING_ELSE_ENTIRELY", None),
    ],
)
def test_unknown_key_is_w003_naming_the_closest_real_key(key, suggestion):
    messages = check({**GOOD, key: "x"})

    assert [m.id for m in messages] == ["apranova_payments.W003"]
    assert isinstance(messages[0], Warning)
    assert f"APRANOVA_PAYMENTS[{key!r}]" in messages[0].msg and "ignored" in messages[0].msg
    if suggestion:
        assert messages[0].hint == f"Did you mean {suggestion!r}?"
    else:
        assert "PRICE_RESOLVER" in messages[0].hint  # the known keys are listed instead


def test_a_typo_of_price_resolver_is_w003_and_w004():
    """The review's case: the resolver is 'set', but under a name nothing reads."""
    config = {**without("PRICE_RESOLVER"), "PRICE_RESOLVERS": RESOLVER}

    messages = check(config)

    assert sorted(m.id for m in messages) == ["apranova_payments.W003", "apranova_payments.W004"]
    assert next(m for m in messages if m.id.endswith("W003")).hint == "Did you mean 'PRICE_RESOLVER'?"


def test_unknown_throttle_rate_key_is_w003():
    messages = check({**GOOD, "THROTTLE_RATES": {"udpate_status": "5/min", "create": "5/min", 7: "1/s"}})

    assert [m.id for m in messages] == ["apranova_payments.W003"] * 2
    assert "APRANOVA_PAYMENTS['THROTTLE_RATES']['udpate_status']" in messages[0].msg
    assert messages[0].hint == "Did you mean 'update_status'?"
    assert messages[1].hint == "Known keys: cancel, create, payment_methods, refund, update_status."


def test_every_key_the_package_reads_is_known():
    from django_apranova_payments.conf import DEFAULTS

    assert check({**GOOD, **{key: value for key, value in DEFAULTS.items() if value is not None}}) == []


def test_w003_never_repeats_a_value():
    messages = check({**GOOD, "STRIPE_SECRET_KY": "sk_test_do_not_echo"})

    assert [m.id for m in messages] == ["apranova_payments.W003"]
    assert "sk_test_do_not_echo" not in f"{messages[0].msg} {messages[0].hint}"


class FakeSimulator(BaseGateway):
    is_simulator = True
    uses_stripe_keys = False


class PlainGateway(BaseGateway):
    """Declares neither flag: it inherits BaseGateway's (a real gateway with Stripe keys)."""


def test_a_gateway_that_declares_no_flags_is_checked_as_a_stripe_gateway():
    config = {"GATEWAY": f"{__name__}.PlainGateway", "STRIPE_WEBHOOK_SECRET": "whsec_a"}

    assert ids(config, debug=False) == [
        "apranova_payments.E001", "apranova_payments.E002", "apranova_payments.W004",
    ]


def test_the_simulator_is_not_warned_about_prices_it_never_charges():
    config = {"GATEWAY": f"{__name__}.FakeSimulator", "STRIPE_WEBHOOK_SECRET": "whsec_a"}

    assert ids(config, debug=True) == []
    assert ids(config, debug=False) == ["apranova_payments.E005"]


# -- secrets never reach an error report ------------------------------------------------------------

SECRETS = {
    "STRIPE_SECRET_KEY": SECRET_KEY_VALUE,
    "STRIPE_WEBHOOK_SECRET": [WEBHOOK_SECRET_VALUE],
    "PRICE_RESOLVER": RESOLVER,
}


class ExplodingStr(str):
    """A webhook secret entry whose check raises half way through the list."""

    def startswith(self, *args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("boom")


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom")


def test_check_keys_keeps_the_secret_key_out_of_error_reports(monkeypatch):
    monkeypatch.setattr(checks, "_setting", _raise)  # raised while building E002's hint

    with override_settings(APRANOVA_PAYMENTS=SECRETS, DEBUG=False):
        report = error_report(checks.check_keys)

    assert "check_keys" in report and "RuntimeError" in report
    assert SECRET_KEY_VALUE not in report


def test_check_webhook_secret_keeps_the_secrets_out_of_error_reports():
    config = {**SECRETS, "STRIPE_WEBHOOK_SECRET": [WEBHOOK_SECRET_VALUE, ExplodingStr("whsec_x")]}

    with override_settings(APRANOVA_PAYMENTS=config, DEBUG=False):
        report = error_report(checks.check_webhook_secret)

    assert "check_webhook_secret" in report and "RuntimeError" in report
    assert WEBHOOK_SECRET_VALUE not in report


def test_check_unknown_keys_keeps_the_settings_dict_out_of_error_reports(monkeypatch):
    monkeypatch.setattr(checks, "_unknown_key", _raise)

    with override_settings(APRANOVA_PAYMENTS={**SECRETS, "PRICE_RESOLVERS": RESOLVER}, DEBUG=False):
        report = error_report(checks.check_unknown_keys)

    assert "check_unknown_keys" in report and "RuntimeError" in report
    assert SECRET_KEY_VALUE not in report and WEBHOOK_SECRET_VALUE not in report


# -- E010 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mistake", "words"),
    [
        ({"THROTTLE_RATES": {"create": "20 / min"}}, "THROTTLE_RATES"),
        ({"THROTTLE_RATES": None}, "THROTTLE_RATES"),
        ({"THROTTLE_RATES": {"create": "1/5min"}}, "THROTTLE_RATES"),
        ({"PERMISSION_CLASSES": "rest_framework.permissions.IsAuthenticated"}, "not a string"),
        ({"PERMISSION_CLASSES": ["rest_framework.permissions.NoSuch"]}, "could not be imported"),
        ({"WEBHOOK_TOLERANCE": "300s"}, "WEBHOOK_TOLERANCE"),
        ({"WEBHOOK_TOLERANCE": None}, "WEBHOOK_TOLERANCE"),
        ({"WEBHOOK_TOLERANCE": float("inf")}, "WEBHOOK_TOLERANCE"),
        ({"WEBHOOK_TOLERANCE": -1}, "WEBHOOK_TOLERANCE"),
        ({"WEBHOOK_MAX_BYTES": "1MB"}, "WEBHOOK_MAX_BYTES"),
        ({"WEBHOOK_MAX_BYTES": 0}, "WEBHOOK_MAX_BYTES"),
        ({"STRIPE_TIMEOUT": True}, "STRIPE_TIMEOUT"),
        ({"STRIPE_MAX_NETWORK_RETRIES": 1.5}, "STRIPE_MAX_NETWORK_RETRIES"),
        ({"STRIPE_WEBHOOK_SECRET": ["whsec_ok", 5]}, "list of strings"),
        ({"STRIPE_WEBHOOK_SECRET": b"whsec_bytes"}, "list of strings"),
    ],
)
def test_a_value_every_request_would_fail_on_is_e010(mistake, words):
    messages = [m for m in check({**GOOD, **mistake}) if m.id == "apranova_payments.E010"]

    assert len(messages) == 1, messages
    assert isinstance(messages[0], Error)
    assert words in messages[0].msg


@pytest.mark.parametrize(
    "fine",
    [{"STRIPE_TIMEOUT": 2.5}, {"WEBHOOK_TOLERANCE": 0}, {"THROTTLE_RATES": {"create": None}},
     {"STRIPE_WEBHOOK_SECRET": ("whsec_a", "whsec_b")}],
)
def test_usable_values_are_not_e010(fine):
    assert "apranova_payments.E010" not in [m.id for m in check({**GOOD, **fine})]
