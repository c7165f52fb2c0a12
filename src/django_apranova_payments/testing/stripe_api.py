"""The endpoints ``StripeMock`` serves, as Stripe answers them: each request checked (when
strict) against stripe-python's parameter types and Stripe's rules, then applied to the
mock's state and answered with Stripe-shaped objects and errors."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import stripe_objects, stripe_rules
from .stripe_params import PARAMS, StripeRequestError, check_params

#: Stripe's default and largest page size of a list.
DEFAULT_LIMIT = 10
MAX_LIMIT = 100

Reply = tuple[int, dict[str, str], str]


@dataclass
class _Failure:
    action: str | None
    status: int
    body: dict[str, Any] | None
    exception: BaseException | None
    headers: dict[str, str]
    lost_response: bool


def _error_body(error_type: str, code: str | None, message: str, **extra: Any) -> dict[str, Any]:
    error = {"type": error_type, "message": message, **extra}
    if code:
        error["code"] = code
    return {"error": error}


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``metadata[course]=12`` → ``{"metadata": {"course": "12"}}``."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


def _refused(error: StripeRequestError) -> Reply:
    return 400, {}, json.dumps(_error_body("invalid_request_error", error.code, error.message, param=error.param))


def _missing(kind: str, object_id: str, param: str) -> Reply:
    return 404, {}, json.dumps(_error_body(
        "invalid_request_error", "resource_missing", f"No such {kind}: '{object_id}'", param=param
    ))


class StripeAPI:
    """The request handlers of ``StripeMock`` (its base): they read and change the state
    ``StripeMock`` keeps."""

    strict: bool
    intents: dict[str, dict[str, Any]]
    refunds: dict[str, dict[str, Any]]
    refund_status: str
    disputed: set[str]
    disputes: dict[str, dict[str, Any]]
    calls: list[dict[str, Any]]
    _replies: dict[str, tuple[str, Reply]]
    _failures: list[_Failure]

    def _wrap(self, handler: Callable[[Any], Reply]) -> Callable[[Any], Reply]:
        action = handler.__name__.lstrip("_")

        def callback(request: Any) -> Reply:
            body = request.body or ""
            if isinstance(body, bytes):
                body = body.decode()
            if request.method == "GET":
                body = urlsplit(request.url).query
            params = _unflatten(parse_qsl(body, keep_blank_values=True))
            self.calls.append({
                "action": action, "url": request.url, "params": params,
                "headers": dict(request.headers),
                "timeout": getattr(request, "req_kwargs", {}).get("timeout"),
            })
            request.params_dict = params
            if self.strict:
                try:
                    check_params(PARAMS[action], params)
                except StripeRequestError as error:
                    return _refused(error)
            failure = self._take_failure(action)
            if failure is None:
                return handler(request)
            if failure.lost_response:
                handler(request)
            if failure.exception is not None:
                raise failure.exception
            return failure.status, failure.headers, json.dumps(failure.body)

        return callback

    def _take_failure(self, action: str) -> _Failure | None:
        for index, failure in enumerate(self._failures):
            if failure.action in (None, action):
                return self._failures.pop(index)
        return None

    def _remembered(self, obj: Mapping[str, Any], key: str | None, fingerprint: str) -> Reply:
        """Stripe's answer to a create: the new object, remembered under the request's
        Idempotency-Key (when it has one) so a retry gets the same answer (``_replayed``)."""
        created: Reply = (200, {"Request-Id": f"req_{secrets.token_hex(6)}"}, json.dumps(obj))
        if key:
            self._replies[key] = (fingerprint, created)
        return created

    def _replayed(self, key: str | None, fingerprint: str) -> Reply | None:
        """Stripe's answer to a request repeating an Idempotency-Key: the first answer again,
        or an idempotency error for other parameters; ``None`` for a new key."""
        if not key or key not in self._replies:
            return None
        seen_fingerprint, reply = self._replies[key]
        if seen_fingerprint != fingerprint:
            return 400, {}, json.dumps(_error_body(
                "idempotency_error", None,
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with.",
            ))
        return reply

    def _create(self, request: Any) -> Reply:
        params = request.params_dict
        key, fingerprint = request.headers.get("Idempotency-Key"), json.dumps(params, sort_keys=True)
        replayed = self._replayed(key, fingerprint)
        if replayed is not None:
            return replayed
        try:
            amount = int(params["amount"])
        except (KeyError, ValueError):
            return self._invalid("amount", "Missing required param: amount.")
        currency = str(params.get("currency", ""))
        try:
            if self.strict:
                currency = stripe_rules.check_currency(currency)
                stripe_rules.check_charge_amount(amount, currency)
                stripe_rules.check_metadata({}, params.get("metadata"))
        except StripeRequestError as error:
            return _refused(error)
        calculation, refused = self._linked_calculation(params)
        if refused is not None:
            return refused
        automatic = params.get("automatic_payment_methods", {"enabled": "true"})
        automatic = automatic if isinstance(automatic, dict) else {}
        intent = stripe_objects.payment_intent(
            amount=amount, currency=currency,
            livemode="_live_" in request.headers.get("Authorization", ""),
            metadata=stripe_rules.stored_metadata({}, params.get("metadata")),
            automatic_payment_methods={
                "allow_redirects": automatic.get("allow_redirects", "always"),
                "enabled": automatic.get("enabled") == "true",
            },
            **{name: params[name] for name in _ECHOED_ON_CREATE if name in params},
        )
        if calculation is not None:
            intent["hooks"] = {"inputs": {"tax": {"calculation": calculation}}}
        self.intents[intent["id"]] = intent
        return self._remembered(intent, key, fingerprint)

    def _retrieve(self, request: Any) -> Reply:
        intent_id = self._path_id(request, "payment_intents")
        intent = self.intents.get(intent_id)
        if intent is None:
            return _missing("payment_intent", intent_id, "intent")
        if "payment_method" in request.params_dict.get("expand", {}).values() and intent.get("payment_method"):
            return 200, {}, json.dumps({**intent, "payment_method": self._paid_with(intent)})
        return 200, {}, json.dumps(intent)

    def _paid_with(self, intent: dict[str, Any]) -> dict[str, Any]:
        """The PaymentMethod ``intent`` was paid with: a saved card as it is, else a Visa ending
        4242 (StripeCustomersAPI keeps the saved ones)."""
        return stripe_objects.payment_method(intent["payment_method"], livemode=bool(intent.get("livemode")))

    def _cancel(self, request: Any) -> Reply:
        intent_id = self._path_id(request, "payment_intents")
        intent = self.intents.get(intent_id)
        if intent is None:
            return _missing("payment_intent", intent_id, "intent")
        if intent["status"] in ("processing", "succeeded", "canceled"):
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
            ))
        stripe_objects.with_intent_status(
            intent, "canceled", cancellation_reason=request.params_dict.get("cancellation_reason")
        )
        return 200, {}, json.dumps(intent)

    def _refund(self, request: Any) -> Reply:
        params = request.params_dict
        key, fingerprint = request.headers.get("Idempotency-Key"), json.dumps(params, sort_keys=True)
        replayed = self._replayed(key, fingerprint)
        if replayed is not None:
            return replayed
        if "payment_intent" in params:
            intent = self.intents.get(params["payment_intent"])
            if intent is None:
                return _missing("payment_intent", params["payment_intent"], "payment_intent")
        else:
            intent = self._intent_of_charge(params.get("charge", ""))
            if intent is None:
                return _missing("charge", params.get("charge", ""), "charge")
        if intent["status"] != "succeeded":
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", "payment_intent_unexpected_state",
                "This PaymentIntent does not have a successful charge to refund.",
            ))
        if intent["id"] in self.disputed:
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", "charge_disputed", "Charge has been charged back; cannot issue a refund.",
            ))
        left = self._left(intent)
        if left <= 0:
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", "charge_already_refunded", "Charge has already been refunded.",
            ))
        try:
            amount = int(params.get("amount", left))
        except ValueError:
            return self._invalid("amount", "Invalid integer: amount.")
        try:
            if self.strict:
                stripe_rules.check_refund_amount(amount)
                stripe_rules.check_metadata({}, params.get("metadata"))
        except StripeRequestError as error:
            return _refused(error)
        if not 0 < amount <= left:
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", None,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})", param="amount",
            ))
        refund = self._store_refund(
            intent, amount, params.get("reason"), stripe_rules.stored_metadata({}, params.get("metadata")),
            payment_intent=intent["id"],
        )
        return self._remembered(refund, key, fingerprint)

    def _list_refunds(self, request: Any) -> Reply:
        """Stripe's list: newest first, ``limit`` (10 by default, at most 100) per page,
        ``starting_after`` / ``ending_before`` an id of the list, ``has_more``."""
        params = request.params_dict
        wanted_intent, wanted_charge = params.get("payment_intent"), params.get("charge")
        refunds = [
            refund for refund in reversed(self.refunds.values())
            if (wanted_intent is None or refund["payment_intent"] == wanted_intent)
            and (wanted_charge is None or refund["charge"] == wanted_charge)
        ]
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return self._invalid("limit", f"Invalid integer: {params['limit']}")
        if self.strict and not 1 <= limit <= MAX_LIMIT:
            bound = "greater than or equal to 1" if limit < 1 else f"less than or equal to {MAX_LIMIT}"
            return _refused(StripeRequestError("limit", None, f"This value must be {bound}."))
        ids = [refund["id"] for refund in refunds]
        start, end = 0, len(refunds)
        for cursor in ("starting_after", "ending_before"):
            if cursor in params:
                if params[cursor] not in ids:
                    return _missing("refund", params[cursor], cursor)
                if cursor == "starting_after":
                    start = ids.index(params[cursor]) + 1
                else:
                    end = ids.index(params[cursor])
        window = refunds[start:end]
        page = window[-limit:] if "ending_before" in params and "starting_after" not in params else window[:limit]
        body = stripe_objects.list_object(page, "/v1/refunds", has_more=len(window) > len(page))
        return 200, {}, json.dumps(body)

    def _retrieve_refund(self, request: Any) -> Reply:
        return self._retrieve_object(request, "refunds", self.refunds)

    def _retrieve_dispute(self, request: Any) -> Reply:
        return self._retrieve_object(request, "disputes", self.disputes)

    def _retrieve_charge(self, request: Any) -> Reply:
        """The Charge a PaymentIntent's payment made (``ch_X`` of ``pi_X``), with what is
        refunded of it and whether it is disputed: how Stripe names a refund's or a dispute's
        payment when their ``payment_intent`` is null."""
        charge_id = self._path_id(request, "charges")
        intent = self._intent_of_charge(charge_id)
        if intent is None or not (intent.get("latest_charge") or intent["status"] == "succeeded"):
            return _missing("charge", charge_id, "id")
        charge = stripe_objects.charge(
            charge_id, amount=intent["amount"], currency=intent["currency"], payment_intent=intent["id"],
            amount_refunded=int(intent["amount"]) - self._left(intent), disputed=intent["id"] in self.disputed,
            livemode=bool(intent.get("livemode")), status=stripe_objects.charge_status(intent),
            created=intent.get("created"),
        )
        return 200, {}, json.dumps(charge)

    def _retrieve_object(self, request: Any, kind: str, store: dict[str, dict[str, Any]]) -> Reply:
        object_id = self._path_id(request, kind)
        found = store.get(object_id)
        if found is None:
            return _missing(kind[:-1], object_id, "id")
        return 200, {}, json.dumps(found)

    def _intent_of_charge(self, charge: str) -> dict[str, Any] | None:
        return next(
            (intent for intent in self.intents.values() if stripe_objects.charge_of(intent["id"]) == charge), None
        )

    def _left(self, intent: dict[str, Any]) -> int:
        charge = stripe_objects.charge_of(intent["id"])
        taken: int = sum(
            refund["amount"] for refund in self.refunds.values()
            if refund["charge"] == charge and refund["status"] in ("pending", "requires_action", "succeeded")
        )
        return int(intent["amount"]) - taken

    def _linked_calculation(self, params: dict[str, Any]) -> tuple[str | None, Reply | None]:
        return None, None  # StripeTaxAPI: the calculation a PaymentIntent is linked to

    def _reverse_tax(self, intent: dict[str, Any], refund: dict[str, Any]) -> None:
        """StripeTaxAPI: the reversal Stripe records for a refund of a taxed PaymentIntent."""

    def _store_refund(
        self,
        intent: dict[str, Any],
        amount: int,
        reason: str | None,
        metadata: dict[str, str],
        *,
        payment_intent: str | None,
    ) -> dict[str, Any]:
        refund = stripe_objects.refund(
            amount=amount, currency=intent["currency"], payment_intent=payment_intent,
            charge=stripe_objects.charge_of(intent["id"]), status=self.refund_status, reason=reason or None,
            metadata=metadata,
        )
        self.refunds[refund["id"]] = refund
        self._reverse_tax(intent, refund)
        return refund

    @staticmethod
    def _path_id(request: Any, kind: str) -> str:
        match = re.search(rf"/v1/{kind}/([^/?]+)", request.url)
        return match.group(1) if match else ""

    @staticmethod
    def _invalid(param: str, message: str) -> Reply:
        return 400, {}, json.dumps(_error_body(
            "invalid_request_error", "parameter_missing", message, param=param
        ))


#: Create parameters a PaymentIntent shows as sent.
_ECHOED_ON_CREATE = (
    "receipt_email", "capture_method", "confirmation_method", "description", "customer",
    "setup_future_usage", "payment_method", "statement_descriptor", "statement_descriptor_suffix", "transfer_group",
)
