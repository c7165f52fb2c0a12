"""Stripe's request parameters, checked the way Stripe checks them.

The schemas are not copied here: they are read at run time from the parameter types
stripe-python generates from Stripe's OpenAPI spec for the API version it pins
(``stripe.params.PaymentIntentCreateParams`` and its siblings, ``TypedDict`` classes). A
request is checked as Stripe receives it, form-encoded: every value is a string,
``metadata[course]=12`` is a nested object and ``expand[0]=latest_charge`` a list.

What is refused, with Stripe's answer (HTTP 400, ``invalid_request_error``):

* a parameter the type does not have, at any depth: ``parameter_unknown``,
  "Received unknown parameter: foo";
* a required parameter left out: ``parameter_missing``, "Missing required param: amount.";
* an empty value for a parameter that cannot be unset: ``parameter_invalid_empty``;
* an integer that is not one: ``parameter_invalid_integer``, "Invalid integer: 10.0";
* a boolean that is not ``true`` or ``false``: "Invalid boolean: True";
* a value outside an enum: "Invalid reason: must be one of duplicate, fraudulent, or
  requested_by_customer";
* a list, object or string where the type says otherwise.

stripe-python types most enums as ``Literal[...] | str`` so that an old SDK can still send a
value Stripe adds later; Stripe's server accepts only the values of its version, so the
``str`` beside a ``Literal`` is not taken as "any string" here.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, Required, Union

import stripe._request_options
from stripe._request_options import RequestOptions
from stripe._stripe_context import StripeContext
from stripe._stripe_object import UntypedStripeObject
from stripe.params import (
    ChargeRetrieveParams,
    CustomerCreateParams,
    CustomerDeleteParams,
    DisputeRetrieveParams,
    PaymentIntentCancelParams,
    PaymentIntentCreateParams,
    PaymentIntentRetrieveParams,
    PaymentMethodDetachParams,
    PaymentMethodListParams,
    PaymentMethodRetrieveParams,
    RefundCreateParams,
    RefundListParams,
    RefundRetrieveParams,
)
from stripe.params.checkout import SessionCreateParams, SessionExpireParams, SessionRetrieveParams
from stripe.params.tax import CalculationCreateParams

# stripe-python declares its params with typing_extensions.TypedDict, which typing's own
# is_typeddict need not recognise.
from typing_extensions import is_typeddict

__all__ = ["StripeRequestError", "check_params", "one_of"]

# ``RequestOptions`` (every params type's base) names ``Mapping`` and ``StripeContext`` in
# string annotations its own module only imports for type checkers.
_OPTIONS_NAMESPACE = {**vars(stripe._request_options), "StripeContext": StripeContext}
#: Keys of ``RequestOptions``: the SDK's own options (API key, idempotency key, …), never sent
#: as parameters.
_REQUEST_OPTIONS = frozenset(RequestOptions.__annotations__)
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_INDEX = re.compile(r"\d+")


@dataclass(frozen=True)
class StripeRequestError(Exception):
    """What Stripe answers a request it refuses: ``error.param``, ``error.code`` (``None``
    where Stripe sends none) and ``error.message``."""

    param: str
    code: str | None
    message: str

    def __str__(self) -> str:
        return self.message


def one_of(values: typing.Iterable[str]) -> str:
    """``a, b, or c``, as Stripe lists an enum's values."""
    items = list(values)
    if len(items) < 3:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def check_params(schema: type, params: Mapping[str, Any]) -> None:
    """Raise :class:`StripeRequestError` for the first thing in ``params`` (a form-encoded
    request, unflattened) that Stripe refuses by the generated ``schema``."""
    _check_object(schema, params, "", top=True)


@functools.cache
def _fields(schema: type, *, top: bool) -> tuple[dict[str, Any], frozenset[str]]:
    hints = typing.get_type_hints(schema, localns=_OPTIONS_NAMESPACE, include_extras=True)
    required = frozenset(getattr(schema, "__required_keys__", ()))
    if top:
        hints = {name: hint for name, hint in hints.items() if name not in _REQUEST_OPTIONS}
        required -= _REQUEST_OPTIONS
    return hints, required


def _name(path: str, key: str) -> str:
    return f"{path}[{key}]" if path else key


def _check_object(schema: type, value: Mapping[str, Any], path: str, *, top: bool = False) -> None:
    fields, required = _fields(schema, top=top)
    for key in value:
        if key not in fields:
            name = _name(path, key)
            raise StripeRequestError(name, "parameter_unknown", f"Received unknown parameter: {name}")
    for key, item in value.items():
        _check(fields[key], item, _name(path, key))
    for key in sorted(required - value.keys()):
        name = _name(path, key)
        raise StripeRequestError(name, "parameter_missing", f"Missing required param: {name}.")


def _arms(hint: Any) -> list[Any]:
    """The alternatives a value may take, with ``NotRequired``/``Required`` unwrapped and the
    SDK's forward-compatible ``str`` beside an enum left out."""
    origin = typing.get_origin(hint)
    if origin in (NotRequired, Required):
        return _arms(typing.get_args(hint)[0])
    if origin in (Union, types.UnionType):
        arms = [arm for arg in typing.get_args(hint) for arm in _arms(arg)]
        if any(typing.get_origin(arm) is Literal and set(typing.get_args(arm)) - {""} for arm in arms):
            arms = [arm for arm in arms if arm is not str]
        return arms
    return [hint]


def _accepts_empty(arm: Any) -> bool:
    return typing.get_origin(arm) is Literal and "" in typing.get_args(arm)


def _is_mapping_arm(arm: Any) -> bool:
    origin = typing.get_origin(arm)
    return is_typeddict(arm) or origin in (dict, list, UntypedStripeObject) or arm is UntypedStripeObject


def _check(hint: Any, value: Any, path: str) -> None:
    arms = _arms(hint)
    if value == "":
        if any(_accepts_empty(arm) for arm in arms):
            return
        raise StripeRequestError(
            path, "parameter_invalid_empty",
            f"You passed an empty string for '{path}'. We assume empty values are an attempt to unset "
            f"a parameter; however '{path}' cannot be unset. You should remove '{path}' from your "
            f"request or supply a non-empty value.",
        )
    # Try the alternatives of the value's kind (an object, or a plain string) and report the
    # first one's complaint when none fits.
    candidates = [arm for arm in arms if _is_mapping_arm(arm) == isinstance(value, Mapping)] or arms
    first: StripeRequestError | None = None
    for arm in candidates:
        try:
            _check_one(arm, value, path)
        except StripeRequestError as error:
            first = first or error
        else:
            return
    assert first is not None
    raise first


def _check_one(arm: Any, value: Any, path: str) -> None:
    origin, args = typing.get_origin(arm), typing.get_args(arm)
    if is_typeddict(arm):
        if not isinstance(value, Mapping):
            raise StripeRequestError(path, None, f"Invalid object: {path} must be an object")
        _check_object(arm, value, path)
    elif origin is Literal:
        allowed = [str(arg).lower() if isinstance(arg, bool) else str(arg) for arg in args if arg != ""]
        if value not in allowed:
            label = next(part for part in reversed(re.findall(r"[^\[\]]+", path)) if not _INDEX.fullmatch(part))
            raise StripeRequestError(path, None, f"Invalid {label}: must be one of {one_of(allowed)}")
    elif origin is list:
        if not isinstance(value, Mapping) or not all(_INDEX.fullmatch(key) for key in value):
            raise StripeRequestError(path, None, "Invalid array")
        for key, item in value.items():
            _check(args[0], item, f"{path}[{key}]")
    elif origin in (dict, UntypedStripeObject) or arm is UntypedStripeObject:
        if not isinstance(value, Mapping):
            raise StripeRequestError(path, None, f"Invalid object: {path} must be an object")
        for item in value.values():
            if not isinstance(item, str):
                raise StripeRequestError(
                    path, None, f"Invalid val: {item} must be a string under 500 characters"
                )
    else:
        _check_scalar(arm, value, path)


def _check_scalar(arm: Any, value: Any, path: str) -> None:
    if arm is Any:
        return
    if not isinstance(value, str):
        raise StripeRequestError(path, None, f"Invalid {path}: a single value is expected, not an object")
    if arm is int and not _INTEGER.fullmatch(value):
        raise StripeRequestError(path, "parameter_invalid_integer", f"Invalid integer: {value}")
    if arm is float and not _DECIMAL.fullmatch(value):
        raise StripeRequestError(path, None, f"Invalid decimal: {value}")
    if arm is bool and value not in ("true", "false"):
        raise StripeRequestError(path, None, f"Invalid boolean: {value}")


#: The parameter type of each request the mock serves, as stripe-python names them.
PARAMS: Mapping[str, type] = {
    "create": PaymentIntentCreateParams,
    "retrieve": PaymentIntentRetrieveParams,
    "cancel": PaymentIntentCancelParams,
    "refund": RefundCreateParams,
    "list_refunds": RefundListParams,
    "retrieve_refund": RefundRetrieveParams,
    "retrieve_dispute": DisputeRetrieveParams,
    "retrieve_charge": ChargeRetrieveParams,
    "create_checkout_session": SessionCreateParams,
    "retrieve_checkout_session": SessionRetrieveParams,
    "expire_checkout_session": SessionExpireParams,
    "create_customer": CustomerCreateParams,
    "delete_customer": CustomerDeleteParams,
    "retrieve_payment_method": PaymentMethodRetrieveParams,
    "list_payment_methods": PaymentMethodListParams,
    "detach_payment_method": PaymentMethodDetachParams,
    "create_tax_calculation": CalculationCreateParams,
}
