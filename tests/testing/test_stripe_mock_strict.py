"""The test kit's StripeMock refuses what Stripe refuses, answers as Stripe answers, and renders
objects with every field Stripe always returns. Requests go through stripe-python 16.1 itself,
so each refusal is the ``InvalidRequestError`` a host's code would see from Stripe."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from django.urls import reverse

from django_apranova_payments.conf import app_settings
from django_apranova_payments.models import Payment
from django_apranova_payments.money import STRIPE_CURRENCIES
from django_apranova_payments.testing import StripeMock, build_event, post_event
from django_apranova_payments.testing.stripe_objects import DISPUTE_STATUSES, fixture
from django_apranova_payments.testing.stripe_params import PARAMS

pytest_plugins = ["pytester"]


@pytest.fixture
def strict() -> Iterator[StripeMock]:
    with StripeMock() as mock:
        yield mock


@pytest.fixture
def loose() -> Iterator[StripeMock]:
    with StripeMock(strict=False) as mock:
        yield mock


def client() -> stripe.StripeClient:
    base = app_settings.STRIPE_API_BASE
    return stripe.StripeClient(
        "sk_test_suite", stripe_version=app_settings.STRIPE_API_VERSION, max_network_retries=0,
        base_addresses={"api": base.rstrip("/")} if base else None, http_client=stripe.RequestsClient(),
    )


def create(**params: Any) -> stripe.PaymentIntent:
    return client().v1.payment_intents.create(params={"amount": 1999, "currency": "usd", **params})  # type: ignore[typeddict-item]


def refused(call: Any, *args: Any, **kwargs: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call(*args, **kwargs)
    assert caught.value.http_status in (400, 404)
    return caught.value


def error_of(exc: stripe.InvalidRequestError) -> tuple[str | None, str | None, str]:
    assert exc.error is not None
    return exc.error.code, exc.error.param, str(exc.error.message)


def paid(mock: StripeMock, amount: int = 1999) -> str:
    intent = create(amount=amount)
    mock.set_status(intent.id, "succeeded")
    return intent.id


def refund(**params: Any) -> stripe.Refund:
    return client().v1.refunds.create(params=params)  # type: ignore[arg-type]


# -- parameters, by the types stripe-python generates ---------------------------------------


def test_the_schemas_are_stripe_pythons_own_types() -> None:
    assert PARAMS["create"] is stripe.params.PaymentIntentCreateParams
    assert PARAMS["refund"] is stripe.params.RefundCreateParams
    assert {"amount", "currency"} <= stripe.params.PaymentIntentCreateParams.__required_keys__


def test_an_unknown_parameter_is_refused(strict: StripeMock) -> None:
    assert error_of(refused(create, foo="bar")) == ("parameter_unknown", "foo", "Received unknown parameter: foo")
    assert strict.intents == {}


def test_an_unknown_nested_parameter_is_refused(strict: StripeMock) -> None:
    exc = refused(create, automatic_payment_methods={"enabled": True, "bogus": "1"})
    assert error_of(exc) == (
        "parameter_unknown", "automatic_payment_methods[bogus]",
        "Received unknown parameter: automatic_payment_methods[bogus]",
    )


def test_a_parameter_the_pinned_version_no_longer_has_is_refused(strict: StripeMock) -> None:
    # 2026-10-28.endive creates with allowed_payment_method_types; payment_method_types is gone.
    exc = refused(create, payment_method_types=["card"])
    assert error_of(exc)[:2] == ("parameter_unknown", "payment_method_types")


def test_a_missing_required_parameter_is_refused(strict: StripeMock) -> None:
    exc = refused(client().v1.payment_intents.create, params={"currency": "usd"})
    assert error_of(exc) == ("parameter_missing", "amount", "Missing required param: amount.")


def test_a_non_integer_amount_is_refused(strict: StripeMock) -> None:
    exc = refused(create, amount="19.99")
    assert error_of(exc) == ("parameter_invalid_integer", "amount", "Invalid integer: 19.99")


def test_an_empty_value_for_a_parameter_that_cannot_be_unset_is_refused(strict: StripeMock) -> None:
    code, param, message = error_of(refused(create, currency=""))
    assert (code, param) == ("parameter_invalid_empty", "currency")
    assert message.startswith("You passed an empty string for 'currency'. We assume empty values are an attempt")


def test_a_boolean_that_is_not_true_or_false_is_refused(strict: StripeMock) -> None:
    exc = refused(create, automatic_payment_methods={"enabled": "True"})
    assert error_of(exc) == (None, "automatic_payment_methods[enabled]", "Invalid boolean: True")


def test_a_refund_reason_outside_the_enum_is_refused_and_nothing_is_refunded(strict: StripeMock) -> None:
    intent = paid(strict)
    exc = refused(refund, payment_intent=intent, reason="bogus_reason")
    assert error_of(exc) == (
        None, "reason", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer"
    )
    assert strict.refunds == {}


def test_a_cancellation_reason_outside_the_enum_is_refused(strict: StripeMock) -> None:
    intent = create()
    exc = refused(client().v1.payment_intents.cancel, intent.id, params={"cancellation_reason": "automatic"})
    assert error_of(exc) == (
        None, "cancellation_reason",
        "Invalid cancellation_reason: must be one of abandoned, duplicate, fraudulent, or requested_by_customer",
    )
    assert strict.intents[intent.id]["status"] == "requires_payment_method"


def test_a_cancellation_reason_is_stored_and_a_cancel_without_one_stores_none(strict: StripeMock) -> None:
    abandoned = client().v1.payment_intents.cancel(create().id, params={"cancellation_reason": "abandoned"})
    plain = client().v1.payment_intents.cancel(create().id)
    assert (abandoned.status, abandoned.cancellation_reason) == ("canceled", "abandoned")
    assert abandoned.canceled_at is not None
    assert plain.cancellation_reason is None


def test_query_parameters_of_a_list_are_checked(strict: StripeMock) -> None:
    exc = refused(client().v1.refunds.list, params={"payment_intent": "pi_1", "colour": "red"})
    assert error_of(exc)[:2] == ("parameter_unknown", "colour")


# -- metadata: Stripe's limits and empty values ---------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({f"k{i}": "v" for i in range(51)},
         "Metadata can have up to 50 keys, but you've set 51. Email us at support+metadata@stripe.com for "
         "more information."),
        ({"k" * 41: "v"}, f"Invalid key: {'k' * 41} must be a string under 40 characters"),
        ({"note": "v" * 501}, f"Invalid val: {'v' * 501} must be a string under 500 characters"),
    ],
    ids=["51 keys", "41-character key", "501-character value"],
)
def test_metadata_beyond_stripes_limits_is_refused(strict: StripeMock, metadata: dict[str, str], message: str) -> None:
    assert error_of(refused(create, metadata=metadata)) == (None, "metadata", message)
    intent = paid(strict)
    assert error_of(refused(refund, payment_intent=intent, metadata=metadata)) == (None, "metadata", message)
    assert strict.refunds == {}


def test_metadata_at_stripes_limits_is_accepted(strict: StripeMock) -> None:
    at_limits = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(50)}
    assert create(metadata=at_limits).metadata.to_dict() == at_limits


def test_an_empty_metadata_value_is_never_stored(strict: StripeMock) -> None:
    intent = create(metadata={"course": "12", "note": ""})
    assert intent.metadata.to_dict() == {"course": "12"}
    assert strict.intents[intent.id]["metadata"] == {"course": "12"}
    strict.set_status(intent.id, "succeeded")
    made = refund(payment_intent=intent.id, metadata={"apranova_user": "", "why": "late"})
    assert made.metadata.to_dict() == {"why": "late"}


def test_empty_values_do_not_count_towards_the_fifty_keys(strict: StripeMock) -> None:
    metadata = {f"k{i}": "v" for i in range(50)} | {"empty": ""}
    assert len(create(metadata=metadata).metadata.to_dict()) == 50


# -- currencies and amounts ---------------------------------------------------------------------


def test_a_currency_stripe_does_not_support_is_refused(strict: StripeMock) -> None:
    code, param, message = error_of(refused(create, currency="zzz"))
    assert (code, param) == (None, "currency")
    assert message.startswith("Invalid currency: zzz. Stripe currently supports these currencies: usd, aed, ")
    assert set(message.split(": ", 2)[2].split(", ")) == STRIPE_CURRENCIES


def test_a_zero_amount_is_refused(strict: StripeMock) -> None:
    assert error_of(refused(create, amount=0)) == (None, "amount", "This value must be greater than or equal to 1.")


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [(49, "usd", "Amount must be at least 0.50 USD"), (29, "gbp", "Amount must be at least 0.30 GBP"),
     (49, "jpy", "Amount must be at least 50 JPY")],
)
def test_an_amount_below_the_currencys_minimum_is_refused(
    strict: StripeMock, amount: int, currency: str, message: str
) -> None:
    assert error_of(refused(create, amount=amount, currency=currency)) == ("amount_too_small", "amount", message)
    assert create(amount=amount + 1, currency=currency).amount == amount + 1


def test_an_amount_beyond_eight_digits_is_refused(strict: StripeMock) -> None:
    code, param, _ = error_of(refused(create, amount=100_000_000))
    assert (code, param) == ("amount_too_large", "amount")
    assert create(amount=99_999_999).amount == 99_999_999


def test_a_zero_refund_is_refused(strict: StripeMock) -> None:
    intent = paid(strict)
    exc = refused(refund, payment_intent=intent, amount=0)
    assert error_of(exc) == (None, "amount", "This value must be greater than or equal to 1.")


# -- objects as Stripe renders them ------------------------------------------------------------


def test_a_payment_intent_has_every_field_of_stripes_fixture(strict: StripeMock) -> None:
    intent = create(receipt_email="student@example.com", metadata={"course": "12"})
    rendered = strict.intents[intent.id]
    assert set(rendered) == set(fixture("payment_intent"))
    assert len(rendered) == 42
    assert (rendered["amount_received"], rendered["latest_charge"], rendered["payment_method"]) == (0, None, None)
    assert (rendered["capture_method"], rendered["status"]) == ("automatic_async", "requires_payment_method")
    assert rendered["automatic_payment_methods"] == {"allow_redirects": "always", "enabled": True}
    assert rendered["receipt_email"] == "student@example.com"
    assert (rendered["canceled_at"], rendered["last_payment_error"], rendered["next_action"]) == (None, None, None)


def test_a_succeeded_payment_intent_carries_what_stripe_sets_with_it(strict: StripeMock) -> None:
    intent_id = paid(strict, 2500)
    fetched = client().v1.payment_intents.retrieve(intent_id)
    assert (fetched.status, fetched.amount_received) == ("succeeded", 2500)
    assert fetched.latest_charge == "ch_" + intent_id.removeprefix("pi_")
    assert isinstance(fetched.payment_method, str) and fetched.payment_method.startswith("pm_")


def test_receipt_email_is_stored_and_returned(strict: StripeMock) -> None:
    intent = create(receipt_email="student@example.com")
    assert client().v1.payment_intents.retrieve(intent.id).receipt_email == "student@example.com"


def test_a_refund_has_every_field_of_stripes_fixture(strict: StripeMock) -> None:
    made = refund(payment_intent=paid(strict), reason="duplicate")
    rendered = strict.refunds[made.id]
    assert set(rendered) == set(fixture("refund"))
    assert (rendered["reason"], rendered["status"]) == ("duplicate", "succeeded")
    failed = strict.set_refund_status(made.id, "failed", failure_reason="expired_or_canceled_card")
    assert failed["failure_reason"] == "expired_or_canceled_card"


# -- lists ---------------------------------------------------------------------------------------


def test_a_list_honours_limit_starting_after_and_has_more(strict: StripeMock) -> None:
    intent = paid(strict, 3000)
    made = [refund(payment_intent=intent, amount=100).id for _ in range(3)]
    first = client().v1.refunds.list(params={"payment_intent": intent, "limit": 2})
    assert [item.id for item in first.data] == [made[2], made[1]]
    assert first.has_more is True
    rest = client().v1.refunds.list(params={"payment_intent": intent, "limit": 2, "starting_after": made[1]})
    assert ([item.id for item in rest.data], rest.has_more) == ([made[0]], False)
    paged = client().v1.refunds.list(params={"payment_intent": intent, "limit": 1})
    assert [item.id for item in paged.auto_paging_iter()] == made[::-1]


def test_a_list_limit_beyond_100_and_an_unknown_cursor_are_refused(strict: StripeMock) -> None:
    exc = refused(client().v1.refunds.list, params={"limit": 101})
    assert error_of(exc) == (None, "limit", "This value must be less than or equal to 100.")
    exc = refused(client().v1.refunds.list, params={"starting_after": "re_nope"})
    assert error_of(exc) == ("resource_missing", "starting_after", "No such refund: 're_nope'")


# -- what Stripe sends that the package must read -------------------------------------------------


def test_the_dispute_statuses_are_those_of_the_pinned_version() -> None:
    assert set(DISPUTE_STATUSES) == {
        "warning_needs_response", "warning_under_review", "warning_closed", "needs_response", "under_review",
        "won", "lost", "prevented", "appeal_needs_response", "appeal_under_review",
    }


@pytest.mark.parametrize("status", DISPUTE_STATUSES)
def test_a_dispute_in_every_status_of_the_pinned_version(strict: StripeMock, status: str) -> None:
    dispute = strict.dispute(paid(strict), status)
    assert set(dispute) == set(fixture("dispute"))
    fetched = client().v1.disputes.retrieve(dispute["id"])
    assert fetched.status == status


def test_a_dispute_the_bank_allows_no_response_to_and_one_named_by_its_charge_alone(strict: StripeMock) -> None:
    intent_id = paid(strict)
    dispute = strict.dispute(intent_id, "lost", due_by=0, without_payment_intent=True)
    assert dispute["evidence_details"]["due_by"] == 0
    assert (dispute["payment_intent"], dispute["charge"]) == (None, "ch_" + intent_id.removeprefix("pi_"))
    appealed = strict.set_dispute_status(dispute["id"], "appeal_needs_response")
    assert client().v1.disputes.retrieve(appealed["id"]).status == "appeal_needs_response"


def test_a_refund_named_by_its_charge_alone_still_counts_against_the_charge(strict: StripeMock) -> None:
    intent_id = paid(strict, 1000)
    outside = strict.refund_in_dashboard(intent_id, 600, without_payment_intent=True)
    assert (outside["payment_intent"], outside["charge"]) == (None, "ch_" + intent_id.removeprefix("pi_"))
    exc = refused(refund, payment_intent=intent_id, amount=500)
    assert "greater than unrefunded amount on charge (400)" in error_of(exc)[2]


def test_a_charge_names_its_payment_intent_what_is_refunded_and_whether_it_is_disputed(strict: StripeMock) -> None:
    intent_id = paid(strict, 1000)
    refund(payment_intent=intent_id, amount=300)
    strict.dispute(intent_id)
    charge = client().v1.charges.retrieve("ch_" + intent_id.removeprefix("pi_"))
    assert set(charge.to_dict()) == set(fixture("charge")) - {"refunds"}
    assert (charge.payment_intent, charge.amount, charge.amount_refunded) == (intent_id, 1000, 300)
    assert (charge.status, charge.disputed, charge.refunded) == ("succeeded", True, False)
    exc = refused(client().v1.charges.retrieve, "ch_" + create().id.removeprefix("pi_"))
    assert error_of(exc)[:2] == ("resource_missing", "id")


# -- the switch for hosts ----------------------------------------------------------------------------


def test_a_loose_mock_accepts_what_the_strict_one_refuses(loose: StripeMock) -> None:
    intent = create(foo="bar", currency="zzz", amount=0, metadata={f"k{i}": "v" for i in range(51)} | {"e": ""})
    assert (intent.currency, intent.amount, len(intent.metadata.to_dict())) == ("zzz", 0, 51)
    loose.set_status(create().id, "succeeded")
    succeeded = next(i for i in loose.intents.values() if i["status"] == "succeeded")
    assert refund(payment_intent=succeeded["id"], reason="bogus_reason").reason == "bogus_reason"


def test_strictness_can_be_turned_off_for_one_test(strict: StripeMock) -> None:
    strict.strict = False
    assert create(foo="bar").amount == 1999


def test_the_pytest_option_turns_the_fixture_loose(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\napranova_stripe_mock_strict = false\n")
    pytester.makepyfile(textwrap.dedent("""
        def test_loose(stripe_mock):
            assert stripe_mock.strict is False
    """))
    pytester.makeconftest('pytest_plugins = ["django_apranova_payments.testing.pytest_plugin"]')
    assert pytester.runpytest_inprocess("-p", "no:django", "-p", "no:randomly", "-p", "no:cacheprovider").ret == 0
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(textwrap.dedent("""
        def test_strict(stripe_mock):
            assert stripe_mock.strict is True
    """))
    assert pytester.runpytest_inprocess("-p", "no:django", "-p", "no:randomly", "-p", "no:cacheprovider").ret == 0


# -- what the mock shows about the package ------------------------------------------------------


def test_a_payment_whose_metadata_had_an_empty_value_is_recreated_when_its_row_is_lost(
    api: Any, client: Any, stripe_mock: StripeMock
) -> None:
    response = api.post(
        reverse("apranova_payments:create-payment"),
        {"amount": "19.99", "currency": "usd", "metadata": {"course": "12", "note": ""}}, format="json",
    )
    assert response.status_code == 201
    intent_id = response.json()["paymentIntent"]
    assert stripe_mock.intents[intent_id]["metadata"].get("note") is None  # what Stripe stores
    intent = stripe_mock.set_status(intent_id, "succeeded")
    Payment.objects.filter(stripe_payment_intent=intent_id).delete()  # the row is lost

    post_event(client, build_event(intent, "payment_intent.succeeded"))

    assert Payment.objects.get(stripe_payment_intent=intent_id).status == "succeeded"
