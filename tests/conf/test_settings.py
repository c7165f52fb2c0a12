"""conf.py: the APRANOVA_PAYMENTS dict, read lazily, with the top-level STRIPE_* fallback
(the names of the ApraNova LMS's original flow); the gateway instance cached by get_gateway()."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings
from django.urls import reverse
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated

from django_apranova_payments.checks import check_settings
from django_apranova_payments.conf import DEFAULTS, STRIPE_API_VERSION, app_settings
from django_apranova_payments.gateway import BaseGateway, StripeGateway, get_gateway
from tests.conf.reports import SECRET_KEY_VALUE, WEBHOOK_SECRET_VALUE, error_report

LIST_URL = reverse("apranova_payments:payment-list")
CREATE_URL = reverse("apranova_payments:create-payment")


def base(**changes: Any) -> dict[str, Any]:
    return {**settings.APRANOVA_PAYMENTS, **changes}


class RefuseEveryone(BasePermission):
    message = "Payments are closed today."

    def has_permission(self, request: Any, view: Any) -> bool:
        return False


def resolve_nothing(request: Any, data: Any) -> Any:
    return data


# -- defaults and the dict -------------------------------------------------------------------


@override_settings(APRANOVA_PAYMENTS={})
def test_defaults_apply_when_nothing_is_set():
    assert app_settings.STRIPE_SECRET_KEY is None
    assert app_settings.STRIPE_PUBLISHABLE_KEY is None
    assert app_settings.STRIPE_WEBHOOK_SECRET is None
    assert app_settings.STRIPE_API_VERSION == STRIPE_API_VERSION
    assert app_settings.STRIPE_API_BASE is None
    assert app_settings.CURRENCIES == ["usd", "inr", "eur", "gbp"]
    assert app_settings.DEFAULT_CURRENCY == "usd"
    assert app_settings.STRIPE_TIMEOUT == 20
    assert app_settings.STRIPE_MAX_NETWORK_RETRIES == 2
    assert app_settings.WEBHOOK_TOLERANCE == 300
    assert app_settings.WEBHOOK_MAX_BYTES == 1_048_576
    assert app_settings.PRICE_RESOLVER is None
    assert app_settings.PERMISSION_CLASSES == [IsAuthenticated]
    assert app_settings.GATEWAY is StripeGateway
    assert app_settings.webhook_secrets == []
    assert app_settings.THROTTLE_RATES == {
        "create": "20/min", "update_status": "60/min", "cancel": "20/min", "refund": "20/min",
        "payment_methods": "30/min",
    }


def test_every_setting_in_the_design_has_a_default():
    assert set(DEFAULTS) >= {
        "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_VERSION",
        "STRIPE_API_BASE", "CURRENCIES", "DEFAULT_CURRENCY", "STRIPE_TIMEOUT",
        "STRIPE_MAX_NETWORK_RETRIES", "WEBHOOK_TOLERANCE", "WEBHOOK_MAX_BYTES", "PRICE_RESOLVER",
        "PERMISSION_CLASSES", "GATEWAY", "THROTTLE_RATES",
    }


def test_settings_dict_is_read_and_override_settings_takes_effect_and_ends():
    assert app_settings.STRIPE_TIMEOUT == 20
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_TIMEOUT=5, CURRENCIES=["jpy"])):
        assert app_settings.STRIPE_TIMEOUT == 5
        assert app_settings.CURRENCIES == ["jpy"]
    assert app_settings.STRIPE_TIMEOUT == 20
    assert app_settings.STRIPE_SECRET_KEY == "sk_test_suite"


def test_unknown_setting_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="STRIPE_SECRETKEY"):
        app_settings.STRIPE_SECRETKEY  # noqa: B018


@override_settings(APRANOVA_PAYMENTS=[("STRIPE_SECRET_KEY", "sk_test_x")])
def test_settings_that_are_not_a_dict_are_improperly_configured():
    with pytest.raises(ImproperlyConfigured, match="APRANOVA_PAYMENTS must be a dict"):
        app_settings.STRIPE_SECRET_KEY  # noqa: B018


def test_nothing_is_written_into_the_hosts_settings():
    before = dict(settings.APRANOVA_PAYMENTS)

    app_settings.CURRENCIES  # noqa: B018
    app_settings.PERMISSION_CLASSES  # noqa: B018

    assert settings.APRANOVA_PAYMENTS == before
    assert not hasattr(settings, "STRIPE_SECRET_KEY")


# -- the top-level STRIPE_* names -------------------------------------------------------------


@override_settings(
    APRANOVA_PAYMENTS={},
    STRIPE_SECRET_KEY="sk_test_top",
    STRIPE_PUBLISHABLE_KEY="pk_test_top",
    STRIPE_WEBHOOK_SECRET="whsec_top",
)
def test_top_level_stripe_settings_are_the_fallback():
    assert app_settings.STRIPE_SECRET_KEY == "sk_test_top"
    assert app_settings.STRIPE_PUBLISHABLE_KEY == "pk_test_top"
    assert app_settings.webhook_secrets == ["whsec_top"]


@override_settings(STRIPE_SECRET_KEY="sk_test_top", STRIPE_PUBLISHABLE_KEY="pk_test_top")
def test_the_dict_wins_over_top_level_names():
    assert app_settings.STRIPE_SECRET_KEY == "sk_test_suite"
    assert app_settings.STRIPE_PUBLISHABLE_KEY == "pk_test_suite"


def test_changing_only_a_top_level_name_is_seen():
    with override_settings(APRANOVA_PAYMENTS={}, STRIPE_SECRET_KEY="sk_test_one"):
        assert app_settings.STRIPE_SECRET_KEY == "sk_test_one"
        with override_settings(STRIPE_SECRET_KEY="sk_test_two"):
            assert app_settings.STRIPE_SECRET_KEY == "sk_test_two"
        assert app_settings.STRIPE_SECRET_KEY == "sk_test_one"


@override_settings(APRANOVA_PAYMENTS={}, STRIPE_PUBLISHABLE_KEY="pk_test_top", STRIPE_SECRET_KEY="sk_test_top")
def test_create_payment_returns_the_top_level_publishable_key(api, stripe_mock):
    response = api.post(CREATE_URL, data={"amount": "10.00"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["publishableKey"] == "pk_test_top"
    assert stripe_mock.calls[0]["headers"]["Authorization"] == "Bearer sk_test_top"


def test_gateway_is_rebuilt_when_settings_change():
    assert get_gateway().livemode is False
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_SECRET_KEY="sk_live_x", STRIPE_PUBLISHABLE_KEY="pk_live_x")):
        assert get_gateway().livemode is True
    assert get_gateway().livemode is False


def test_get_gateway_builds_one_instance_and_keeps_it_across_unrelated_settings():
    gateway = get_gateway()

    assert get_gateway() is gateway
    with override_settings(USE_I18N=False, STRIPE_TEST_WEBHOOK_SECRET="whsec_other"):
        assert get_gateway() is gateway
    assert get_gateway() is gateway


@pytest.mark.parametrize("name", ["APRANOVA_PAYMENTS", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY",
                                  "STRIPE_WEBHOOK_SECRET"])
def test_get_gateway_is_rebuilt_when_a_setting_it_reads_changes(name):
    gateway = get_gateway()
    value = base() if name == "APRANOVA_PAYMENTS" else "x"

    with override_settings(**{name: value}):
        inside = get_gateway()
        assert inside is not gateway and get_gateway() is inside
    assert get_gateway() is not inside


def test_a_top_level_key_reaches_the_cached_gateway():
    with override_settings(APRANOVA_PAYMENTS={}, STRIPE_SECRET_KEY="sk_test_one"):
        assert get_gateway().livemode is False
        with override_settings(STRIPE_SECRET_KEY="sk_live_two"):
            assert get_gateway().livemode is True
        assert get_gateway().livemode is False


def test_app_settings_hold_values_only():
    get_gateway()

    assert not hasattr(app_settings, "gateway")
    assert not [value for value in vars(app_settings)["_cache"].values() if isinstance(value, BaseGateway)]


def test_configured_is_the_hosts_dict_as_given():
    assert app_settings.configured() is settings.APRANOVA_PAYMENTS
    with override_settings(APRANOVA_PAYMENTS=None):
        assert app_settings.configured() == {}
    with override_settings(APRANOVA_PAYMENTS=[("STRIPE_SECRET_KEY", "sk_test_x")]), \
            pytest.raises(ImproperlyConfigured, match="must be a dict"):
        app_settings.configured()


# -- webhook secrets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("whsec_one", ["whsec_one"]),
        (["whsec_old", "whsec_new"], ["whsec_old", "whsec_new"]),
        (("whsec_old", "", None, "whsec_new"), ["whsec_old", "whsec_new"]),
        ([], []),
        ("", []),
        (None, []),
    ],
)
def test_webhook_secret_may_be_a_string_or_a_list(value, expected):
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_WEBHOOK_SECRET=value)):
        assert app_settings.webhook_secrets == expected


# -- dotted paths ------------------------------------------------------------------------------


def test_permission_classes_are_dotted_paths(api, payment):
    with override_settings(APRANOVA_PAYMENTS=base(PERMISSION_CLASSES=[f"{__name__}.RefuseEveryone"])):
        assert app_settings.PERMISSION_CLASSES == [RefuseEveryone]
        response = api.get(LIST_URL)

    assert response.status_code == 403
    assert response.json() == {"detail": "Payments are closed today."}


def test_custom_permission_refuses_every_payment_endpoint(api, payment, stripe_mock):
    intent = payment.stripe_payment_intent
    with override_settings(APRANOVA_PAYMENTS=base(PERMISSION_CLASSES=[f"{__name__}.RefuseEveryone"])):
        statuses = [
            api.post(CREATE_URL, data={"amount": "10.00"}, format="json").status_code,
            api.post(reverse("apranova_payments:update-status"), data={"paymentIntent": intent},
                     format="json").status_code,
            api.get(reverse("apranova_payments:payment-detail", args=[intent])).status_code,
            api.post(reverse("apranova_payments:payment-cancel", args=[intent])).status_code,
        ]

    assert statuses == [403, 403, 403, 403]
    assert stripe_mock.calls == []


def test_permission_classes_refuse_the_webhook_never(client, db):
    with override_settings(APRANOVA_PAYMENTS=base(PERMISSION_CLASSES=[f"{__name__}.RefuseEveryone"])):
        response = client.post(reverse("apranova_payments:webhook"), data=b"{}", content_type="application/json")

    assert response.status_code == 400  # refused for its missing signature, not by the permission


def test_permission_classes_may_be_classes(api, payment):
    with override_settings(APRANOVA_PAYMENTS=base(PERMISSION_CLASSES=[AllowAny])):
        assert api.get(LIST_URL).status_code == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PERMISSION_CLASSES", ["rest_framework.permissions.NoSuchPermission"]),
        ("PERMISSION_CLASSES", ["no_such_module.Permission"]),
        ("GATEWAY", "django_apranova_payments.gateway.NoSuchGateway"),
        ("GATEWAY", "StripeGateway"),
        ("PRICE_RESOLVER", "tests.conf.test_settings.no_such_resolver"),
    ],
)
def test_bad_dotted_path_is_improperly_configured_naming_setting_and_path(name, value):
    with override_settings(APRANOVA_PAYMENTS=base(**{name: value})):
        with pytest.raises(ImproperlyConfigured) as info:
            getattr(app_settings, name)

    message = str(info.value)
    assert f"APRANOVA_PAYMENTS['{name}']" in message
    shown = value[0] if isinstance(value, list) else value
    assert repr(shown) in message and "could not be imported" in message


def test_permission_classes_given_as_one_string_is_a_clear_error():
    with override_settings(APRANOVA_PAYMENTS=base(PERMISSION_CLASSES="rest_framework.permissions.AllowAny")):
        with pytest.raises(ImproperlyConfigured, match=r"PERMISSION_CLASSES.*list"):
            app_settings.PERMISSION_CLASSES  # noqa: B018


def test_bad_permission_path_surfaces_on_the_endpoint(api, payment):
    with override_settings(APRANOVA_PAYMENTS=base(PERMISSION_CLASSES=["nope.Nope"])):
        with pytest.raises(ImproperlyConfigured):
            api.get(LIST_URL)


def test_price_resolver_is_imported_from_its_dotted_path():
    with override_settings(APRANOVA_PAYMENTS=base(PRICE_RESOLVER=f"{__name__}.resolve_nothing")):
        assert app_settings.PRICE_RESOLVER is resolve_nothing


# -- currencies --------------------------------------------------------------------------------


def test_default_currency_is_used_when_the_request_names_none(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS=base(CURRENCIES=["usd", "eur"], DEFAULT_CURRENCY="EUR")):
        response = api.post(CREATE_URL, data=json.dumps({"amount": "10.00"}), content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "eur"
    assert stripe_mock.calls_to("create")[0]["params"]["currency"] == "eur"


def test_currencies_limit_what_a_client_may_ask_for(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS=base(CURRENCIES=["INR", "usd"])):
        accepted = api.post(CREATE_URL, data={"amount": "10.00", "currency": "inr"}, format="json")
        refused = api.post(CREATE_URL, data={"amount": "10.00", "currency": "eur"}, format="json")

    assert accepted.status_code == 201
    assert refused.status_code == 400 and "currency" in refused.json()


def test_a_named_currency_works_when_the_default_currency_is_not_accepted(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS=base(CURRENCIES=["inr"])):  # DEFAULT_CURRENCY stays usd
        response = api.post(CREATE_URL, data={"amount": "10.00", "currency": "inr"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "inr"


# -- require() ---------------------------------------------------------------------------------


@override_settings(APRANOVA_PAYMENTS={})
def test_require_says_exactly_what_to_set():
    with pytest.raises(ImproperlyConfigured) as info:
        app_settings.require("STRIPE_SECRET_KEY")

    assert str(info.value) == (
        "django-apranova-payments needs APRANOVA_PAYMENTS['STRIPE_SECRET_KEY'] "
        "(or settings.STRIPE_SECRET_KEY) to be set."
    )


def test_require_returns_the_value_when_set():
    assert app_settings.require("STRIPE_SECRET_KEY") == "sk_test_suite"


@override_settings(APRANOVA_PAYMENTS={})
def test_gateway_without_a_secret_key_is_improperly_configured():
    with pytest.raises(ImproperlyConfigured, match="STRIPE_SECRET_KEY"):
        get_gateway()



# -- THROTTLE_RATES ----------------------------------------------------------------------------


def test_a_partial_throttle_rates_dict_keeps_the_other_defaults():
    with override_settings(APRANOVA_PAYMENTS=base(THROTTLE_RATES={"create": "5/hour", "cancel": None})):
        assert app_settings.THROTTLE_RATES == {
            "create": "5/hour", "update_status": "60/min", "cancel": None, "refund": "20/min",
            "payment_methods": "30/min",
        }
    assert DEFAULTS["THROTTLE_RATES"]["create"] == "20/min"  # the defaults are not touched


def test_unknown_throttle_rate_keys_are_left_out_for_the_check_to_report():
    with override_settings(APRANOVA_PAYMENTS=base(THROTTLE_RATES={"udpate_status": "bad"})):
        assert "udpate_status" not in app_settings.THROTTLE_RATES


@pytest.mark.parametrize(
    "rate",
    ["20", "20/", "/min", "twenty/min", "20/fortnight", "0/min", "-1/min", "20/min/2", "٢/min",
     "²/min", " 20/min", 20, ("20/min",), ""],
)
def test_a_rate_that_is_not_a_rate_is_improperly_configured_naming_the_key(rate):
    with override_settings(APRANOVA_PAYMENTS=base(THROTTLE_RATES={"update_status": rate})):
        with pytest.raises(ImproperlyConfigured) as info:
            app_settings.THROTTLE_RATES  # noqa: B018

    message = str(info.value)
    assert "APRANOVA_PAYMENTS['THROTTLE_RATES']['update_status']" in message
    assert "'20/min'" in message and "None" in message


@pytest.mark.parametrize("rate", ["1/s", "20/sec", "20/min", "5/minute", "100/h", "1000/hour", "5000/day"])
def test_drf_rate_strings_are_accepted(rate):
    with override_settings(APRANOVA_PAYMENTS=base(THROTTLE_RATES={"create": rate})):
        assert app_settings.THROTTLE_RATES["create"] == rate


def test_throttle_rates_that_are_not_a_dict_are_improperly_configured():
    with override_settings(APRANOVA_PAYMENTS=base(THROTTLE_RATES="20/min")):
        with pytest.raises(ImproperlyConfigured, match=r"THROTTLE_RATES'\] must be a dict"):
            app_settings.THROTTLE_RATES  # noqa: B018


# -- secrets never reach an error report ----------------------------------------------------------



class Exploding:
    def __bool__(self) -> bool:
        raise RuntimeError("boom")


class ExplodingGateway(BaseGateway):
    """Reads the key into a local, as StripeGateway does, then fails."""

    def __init__(self) -> None:
        key = app_settings.STRIPE_SECRET_KEY
        raise RuntimeError(f"cannot build a client ({len(key)} characters)")


SECRET_SETTINGS = {
    "STRIPE_SECRET_KEY": SECRET_KEY_VALUE,
    "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
    "STRIPE_WEBHOOK_SECRET": [WEBHOOK_SECRET_VALUE],
}


@pytest.mark.parametrize(
    ("changes", "call", "where"),
    [
        ({"PERMISSION_CLASSES": ["nope.Nope"]}, lambda: app_settings.PERMISSION_CLASSES, "_load"),
        ({"THROTTLE_RATES": {"create": "x"}}, lambda: app_settings.THROTTLE_RATES, "_throttle_rates"),
        ({"STRIPE_WEBHOOK_SECRET": [WEBHOOK_SECRET_VALUE, Exploding()]},
         lambda: app_settings.webhook_secrets, "webhook_secrets"),
        ({"GATEWAY": f"{__name__}.ExplodingGateway"}, get_gateway, "ExplodingGateway"),
    ],
    ids=["_load", "THROTTLE_RATES", "webhook_secrets", "gateway"],
)
def test_conf_keeps_the_secrets_out_of_error_reports(changes, call, where):
    with override_settings(APRANOVA_PAYMENTS={**SECRET_SETTINGS, **changes}, DEBUG=False):
        report = error_report(call)

    assert where in report  # the frame is in the report, its secrets are not
    assert SECRET_KEY_VALUE not in report
    assert WEBHOOK_SECRET_VALUE not in report


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mistake", "url"),
    [
        ({"PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedd"]}, "apranova_payments:payment-list"),
        ({"THROTTLE_RATES": {"create": "20 / min"}}, "apranova_payments:create-payment"),
        ({"PRICE_RESOLVER": "no.such.module.resolve"}, "apranova_payments:create-payment"),
    ],
)
@override_settings(DEBUG=True)
def test_a_settings_mistake_shows_no_secret_on_the_debug_page(api, mistake, url):
    config = {**settings.APRANOVA_PAYMENTS, "STRIPE_SECRET_KEY": SECRET_KEY_VALUE, **mistake}
    api.raise_request_exception = False

    with override_settings(APRANOVA_PAYMENTS=config):
        response = api.post(reverse(url), data={}, format="json") if "create" in url else api.get(reverse(url))

    page = response.content.decode()
    assert response.status_code == 500 and "ImproperlyConfigured" in page  # Django's technical 500 page
    assert SECRET_KEY_VALUE not in page and settings.STRIPE_TEST_WEBHOOK_SECRET not in page


@pytest.mark.parametrize("name", ["REFUND_PERMISSION_CLASSES", "ANALYTICS_PERMISSION_CLASSES"])
def test_the_refund_and_analytics_permission_classes_are_checked_like_the_others(name):
    as_a_string = {**settings.APRANOVA_PAYMENTS, name: "rest_framework.permissions.IsAdminUser"}
    with override_settings(APRANOVA_PAYMENTS=as_a_string):
        errors = [m for m in check_settings() if m.id == "apranova_payments.E010"]

    assert len(errors) == 1 and name in errors[0].msg


@pytest.mark.parametrize("name", ["ALLOW_FREE", "RECEIPT_EMAIL", "SAVE_PAYMENT_METHODS"])
@pytest.mark.parametrize("value", ["False", "yes", 1, None])
def test_a_switch_that_is_not_a_bool_is_e010_and_stays_off(name, value):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, name: value}):
        errors = [m for m in check_settings() if m.id == "apranova_payments.E010"]
        on = getattr(app_settings, name) is True

    assert len(errors) == 1 and name in errors[0].msg and "counts as False" in errors[0].msg
    assert not on
