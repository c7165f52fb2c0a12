"""Stripe's PaymentIntent and Refund endpoints, mocked at the HTTP boundary with ``responses``.

The package's real gateway (stripe-python over ``requests``) talks to this mock exactly as
it talks to Stripe: form-encoded requests, ``Idempotency-Key`` and ``Stripe-Version``
headers, Stripe's JSON errors. Use it as a context manager::

    with StripeMock() as stripe_mock:
        response = client.post(create_url, {"amount": "19.99"}, content_type="application/json")
        intent = stripe_mock.intents[response.json()["paymentIntent"]]
        stripe_mock.set_status(intent["id"], "succeeded")

It is strict by default: every request is checked against the parameter types stripe-python
generates from Stripe's OpenAPI spec and against Stripe's rules (metadata limits, currencies,
minimum amounts), and refused with the 400 Stripe would answer. ``StripeMock(strict=False)``
(or ``stripe_mock.strict = False``) accepts what the types and rules refuse.

Objects are built from Stripe's published fixtures, so every field Stripe always returns is
there. Refunds follow Stripe's rules: only a succeeded PaymentIntent can be refunded, never for
more than is left, never while it is disputed (``stripe_mock.dispute(intent_id)``); they
succeed at once unless ``stripe_mock.refund_status`` says otherwise.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import responses
from django.core.exceptions import ImproperlyConfigured

from ..conf import app_settings
from ..gateway import BaseGateway
from . import stripe_objects, stripe_rules
from .stripe_params import PARAMS, StripeRequestError, check_params

DEFAULT_API_BASE = "https://api.stripe.com"
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


class StripeMock:
    """A stateful stand-in for Stripe's ``/v1/payment_intents`` and ``/v1/refunds`` API, and
    for retrieving the Disputes and Charges of its PaymentIntents.

    ``strict`` (default ``True``) refuses, as Stripe does, every request Stripe would refuse
    by the pinned API version's parameter types and Stripe's rules. A host whose tests send
    what stripe-python's types do not know (a preview feature, say) can turn it off for
    one mock, or for the ``stripe_mock`` fixture with the pytest ini option
    ``apranova_stripe_mock_strict = false``.
    """

    def __init__(self, api_base: str | None = None, *, strict: bool = True) -> None:
        self.api_base = (api_base or app_settings.STRIPE_API_BASE or DEFAULT_API_BASE).rstrip("/")
        self.strict = strict
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        #: The status a new refund gets (Stripe's card refunds: ``succeeded`` or ``pending``).
        self.refund_status = "succeeded"
        self.disputed: set[str] = set()
        self.disputes: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self._replies: dict[str, tuple[str, Reply]] = {}
        self._failures: list[_Failure] = []
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        base = re.escape(self.api_base)
        routes: list[tuple[str, str, Callable[[Any], Reply]]] = [
            ("POST", rf"{base}/v1/payment_intents$", self._create),
            ("GET", rf"{base}/v1/payment_intents/(?P<id>[^/?]+)(\?.*)?$", self._retrieve),
            ("POST", rf"{base}/v1/payment_intents/(?P<id>[^/?]+)/cancel$", self._cancel),
            ("POST", rf"{base}/v1/refunds$", self._refund),
            ("GET", rf"{base}/v1/refunds(\?.*)?$", self._list_refunds),
            ("GET", rf"{base}/v1/refunds/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_refund),
            ("GET", rf"{base}/v1/disputes/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_dispute),
            ("GET", rf"{base}/v1/charges/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_charge),
        ]
        for method, pattern, handler in routes:
            self._mock.add_callback(method, re.compile(pattern), callback=self._wrap(handler))

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> StripeMock:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Intercept Stripe's API. Refuses, saying why, when the configured gateway never
        calls it (the offline simulator): the mock would sit unused and a test would fail
        later with a ``KeyError`` on a ``pi_sim…`` id."""
        gateway = app_settings.GATEWAY
        if isinstance(gateway, type) and issubclass(gateway, BaseGateway) and gateway.is_simulator:
            raise ImproperlyConfigured(
                "stripe_mock / StripeMock mocks Stripe's HTTP API, but "
                "APRANOVA_PAYMENTS['GATEWAY'] is the offline simulator, which never calls it. "
                "Use the default Stripe gateway in the test settings (StripeMock answers for "
                "Stripe), or test against the simulator without StripeMock."
            )
        self._mock.start()

    def stop(self) -> None:
        self._mock.stop()
        self._mock.reset()

    # -- controls for tests ---------------------------------------------------------------

    def fail_next(
        self,
        action: str | None = None,
        *,
        status: int = 500,
        error_type: str = "api_error",
        code: str | None = None,
        message: str = "An error occurred with our connection to Stripe.",
        decline_code: str | None = None,
        exception: BaseException | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        lost_response: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``action`` (``"create"``, ``"retrieve"``,
        ``"cancel"``, ``"refund"``, ``"list_refunds"``, ``"retrieve_refund"``,
        ``"retrieve_dispute"``, ``"retrieve_charge"`` or any, for ``None``) fail with Stripe's error JSON, or raise
        ``exception`` (e.g. ``requests.ConnectionError``) as a network failure would.

        With ``lost_response=True`` Stripe does the work first and only the answer is lost
        (a timeout after the PaymentIntent was created): the case idempotency keys exist for.
        """
        extra = {"decline_code": decline_code} if decline_code else {}
        body = None if exception else _error_body(error_type, code, message, **extra)
        for _ in range(times):
            self._failures.append(_Failure(action, status, body, exception, headers or {}, lost_response))

    def set_status(
        self,
        intent_id: str,
        status: str,
        *,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> dict[str, Any]:
        """Move a mocked PaymentIntent, as a customer's confirmation would at Stripe: with
        ``latest_charge``, ``payment_method`` and ``amount_received`` as Stripe sets them."""
        error = (
            {"type": "card_error", "code": "card_declined", "decline_code": failure_code,
             "message": failure_message or "Your card was declined."}
            if failure_code else None
        )
        return stripe_objects.with_intent_status(self.intents[intent_id], status, last_payment_error=error)

    def dispute(
        self,
        intent_id: str,
        status: str = "needs_response",
        *,
        reason: str = "fraudulent",
        due_by: int | None = None,
        without_payment_intent: bool = False,
    ) -> dict[str, Any]:
        """Open a chargeback on the PaymentIntent's charge and return the Dispute: Stripe
        refuses the charge's refunds from now on (``charge_disputed``).

        ``status`` is any dispute status, those of the pinned version
        (``stripe_objects.DISPUTE_STATUSES``: ``prevented``, ``appeal_needs_response`` …) or
        one Stripe adds later; ``due_by=0`` is a dispute the bank allows no response to;
        ``without_payment_intent`` names only the charge (``payment_intent`` null), as
        Stripe does for a charge made without a PaymentIntent."""
        intent = self.intents[intent_id]
        self.disputed.add(intent_id)
        dispute = stripe_objects.dispute(
            amount=intent["amount"], currency=intent["currency"], status=status, reason=reason, due_by=due_by,
            payment_intent=None if without_payment_intent else intent_id,
            charge=stripe_objects.charge_of(intent_id), livemode=intent["livemode"],
        )
        self.disputes[dispute["id"]] = dispute
        return dispute

    def set_dispute_status(self, dispute_id: str, status: str, *, due_by: int | None = None) -> dict[str, Any]:
        """Move a mocked Dispute (an appeal: ``lost`` → ``appeal_needs_response`` …)."""
        dispute = self.disputes[dispute_id]
        dispute["status"] = status
        if due_by is not None:
            dispute["evidence_details"]["due_by"] = due_by
        return dispute

    def set_refund_status(self, refund_id: str, status: str, *, failure_reason: str | None = None) -> dict[str, Any]:
        """Move a mocked refund, as Stripe would (``failed`` with a ``failure_reason``)."""
        refund = self.refunds[refund_id]
        refund["status"] = status
        if status == "failed":
            refund["failure_reason"] = failure_reason or "unknown"
        else:
            refund.pop("failure_reason", None)
        return refund

    def refund_in_dashboard(
        self,
        intent_id: str,
        amount: int | None = None,
        *,
        reason: str | None = None,
        without_payment_intent: bool = False,
    ) -> dict[str, Any]:
        """A refund made outside the package (Stripe's Dashboard): no metadata of ours.
        ``without_payment_intent`` names only the charge (``payment_intent`` null)."""
        intent = self.intents[intent_id]
        return self._store_refund(
            intent, amount if amount is not None else self._left(intent), reason, {},
            payment_intent=None if without_payment_intent else intent_id,
        )

    def calls_to(self, action: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if call["action"] == action]

    # -- the API ------------------------------------------------------------------------------

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
        self.intents[intent["id"]] = intent
        created: Reply = (200, {"Request-Id": f"req_{secrets.token_hex(6)}"}, json.dumps(intent))
        if key:
            self._replies[key] = (fingerprint, created)
        return created

    def _retrieve(self, request: Any) -> Reply:
        intent_id = self._path_id(request, "payment_intents")
        intent = self.intents.get(intent_id)
        if intent is None:
            return _missing("payment_intent", intent_id, "intent")
        return 200, {}, json.dumps(intent)

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
        created: Reply = (200, {"Request-Id": f"req_{secrets.token_hex(6)}"}, json.dumps(refund))
        if key:
            self._replies[key] = (fingerprint, created)
        return created

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
    "setup_future_usage", "statement_descriptor", "statement_descriptor_suffix", "transfer_group",
)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "StripeMock"]
