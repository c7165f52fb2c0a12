"""Stripe's PaymentIntent and Refund endpoints, mocked at the HTTP boundary with ``responses``.

The package's real gateway (stripe-python over ``requests``) talks to this mock exactly as
it talks to Stripe: form-encoded requests, ``Idempotency-Key`` and ``Stripe-Version``
headers, Stripe's JSON errors. Use it as a context manager::

    with StripeMock() as stripe_mock:
        response = client.post(create_url, {"amount": "19.99"}, content_type="application/json")
        intent = stripe_mock.intents[response.json()["paymentIntent"]]
        stripe_mock.set_status(intent["id"], "succeeded")

Refunds follow Stripe's rules: only a succeeded PaymentIntent can be refunded, never for more
than is left, never while it is disputed (``stripe_mock.dispute(intent_id)``); they succeed at
once unless ``stripe_mock.refund_status`` says otherwise.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import responses
from django.core.exceptions import ImproperlyConfigured

from ..conf import app_settings
from ..gateway import BaseGateway

DEFAULT_API_BASE = "https://api.stripe.com"

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


class StripeMock:
    """A stateful stand-in for Stripe's ``/v1/payment_intents`` and ``/v1/refunds`` API."""

    def __init__(self, api_base: str | None = None) -> None:
        self.api_base = (api_base or app_settings.STRIPE_API_BASE or DEFAULT_API_BASE).rstrip("/")
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
        """Move a mocked PaymentIntent, as a customer's confirmation would at Stripe."""
        intent = self.intents[intent_id]
        intent["status"] = status
        intent["last_payment_error"] = (
            {"type": "card_error", "code": "card_declined", "decline_code": failure_code,
             "message": failure_message or "Your card was declined."}
            if failure_code else None
        )
        return intent

    def dispute(self, intent_id: str, status: str = "needs_response", *, reason: str = "fraudulent") -> dict[str, Any]:
        """Open a chargeback on the PaymentIntent's charge and return the Dispute: Stripe
        refuses the charge's refunds from now on (``charge_disputed``)."""
        intent = self.intents[intent_id]
        self.disputed.add(intent_id)
        dispute = {
            "id": f"dp_{secrets.token_hex(12)}",
            "object": "dispute",
            "amount": intent["amount"],
            "currency": intent["currency"],
            "charge": f"ch_{intent_id.removeprefix('pi_')}",
            "payment_intent": intent_id,
            "reason": reason,
            "status": status,
            "is_charge_refundable": False,
            "evidence_details": {"due_by": int(time.time()) + 7 * 86400},
            "livemode": intent["livemode"],
            "created": int(time.time()),
        }
        self.disputes[dispute["id"]] = dispute
        return dispute

    def set_refund_status(self, refund_id: str, status: str, *, failure_reason: str | None = None) -> dict[str, Any]:
        """Move a mocked refund, as Stripe would (``failed`` with a ``failure_reason``)."""
        refund = self.refunds[refund_id]
        refund["status"] = status
        refund["failure_reason"] = failure_reason if status == "failed" else None
        return refund

    def refund_in_dashboard(
        self, intent_id: str, amount: int | None = None, *, reason: str | None = None
    ) -> dict[str, Any]:
        """A refund made outside the package (Stripe's Dashboard): no metadata of ours."""
        intent = self.intents[intent_id]
        return self._store_refund(intent, amount if amount is not None else self._left(intent), reason, {})

    def calls_to(self, action: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if call["action"] == action]

    # -- the API ------------------------------------------------------------------------------

    def _wrap(self, handler: Callable[[Any], Reply]) -> Callable[[Any], Reply]:
        action = handler.__name__.lstrip("_")

        def callback(request: Any) -> Reply:
            body = request.body or ""
            if isinstance(body, bytes):
                body = body.decode()
            params = _unflatten(parse_qsl(body, keep_blank_values=True))
            self.calls.append({
                "action": action, "url": request.url, "params": params,
                "headers": dict(request.headers),
                "timeout": getattr(request, "req_kwargs", {}).get("timeout"),
            })
            request.params_dict = params
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
        intent_id = f"pi_{secrets.token_hex(12)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "currency": params.get("currency", ""),
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "livemode": "_live_" in request.headers.get("Authorization", ""),
            "metadata": params.get("metadata", {}),
            "last_payment_error": None,
            "created": int(time.time()),
            "automatic_payment_methods": {"enabled": True},
        }
        self.intents[intent_id] = intent
        created: Reply = (200, {"Request-Id": f"req_{secrets.token_hex(6)}"}, json.dumps(intent))
        if key:
            self._replies[key] = (fingerprint, created)
        return created

    def _retrieve(self, request: Any) -> Reply:
        intent = self._find(request)
        if intent is None:
            return self._missing(request)
        return 200, {}, json.dumps(intent)

    def _cancel(self, request: Any) -> Reply:
        intent = self._find(request)
        if intent is None:
            return self._missing(request)
        if intent["status"] in ("processing", "succeeded", "canceled"):
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
            ))
        intent["status"] = "canceled"
        intent["cancellation_reason"] = request.params_dict.get("cancellation_reason")
        return 200, {}, json.dumps(intent)

    def _refund(self, request: Any) -> Reply:
        params = request.params_dict
        key, fingerprint = request.headers.get("Idempotency-Key"), json.dumps(params, sort_keys=True)
        replayed = self._replayed(key, fingerprint)
        if replayed is not None:
            return replayed
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None:
            return 404, {}, json.dumps(_error_body(
                "invalid_request_error", "resource_missing", "No such payment_intent.", param="payment_intent"
            ))
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
        if not 0 < amount <= left:
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", None,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})", param="amount",
            ))
        refund = self._store_refund(intent, amount, params.get("reason"), params.get("metadata", {}))
        created: Reply = (200, {"Request-Id": f"req_{secrets.token_hex(6)}"}, json.dumps(refund))
        if key:
            self._replies[key] = (fingerprint, created)
        return created

    def _list_refunds(self, request: Any) -> Reply:
        match = re.search(r"[?&]payment_intent=([^&]+)", request.url)
        wanted = match.group(1) if match else None
        data = [r for r in self.refunds.values() if wanted is None or r["payment_intent"] == wanted]
        return 200, {}, json.dumps({"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"})

    def _retrieve_refund(self, request: Any) -> Reply:
        return self._retrieve_object(request, "refunds", self.refunds)

    def _retrieve_dispute(self, request: Any) -> Reply:
        return self._retrieve_object(request, "disputes", self.disputes)

    def _retrieve_charge(self, request: Any) -> Reply:
        """The charge of a succeeded PaymentIntent (``ch_`` and the PaymentIntent's id)."""
        match = re.search(r"/v1/charges/ch_([^/?]+)", request.url)
        intent = self.intents.get(f"pi_{match.group(1)}") if match else None
        if intent is None or intent["status"] != "succeeded":
            return 404, {}, json.dumps(_error_body(
                "invalid_request_error", "resource_missing", "No such charge.", param="id"))
        refunded = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_intent"] == intent["id"] and r["status"] in ("pending", "succeeded"))
        return 200, {}, json.dumps({
            "id": f"ch_{match.group(1) if match else ''}", "object": "charge", "amount": intent["amount"],
            "amount_refunded": refunded, "currency": intent["currency"], "payment_intent": intent["id"],
            "status": "succeeded", "livemode": intent["livemode"],
        })

    @staticmethod
    def _retrieve_object(request: Any, kind: str, store: dict[str, dict[str, Any]]) -> Reply:
        match = re.search(rf"/v1/{kind}/([^/?]+)", request.url)
        found = store.get(match.group(1)) if match else None
        if found is None:
            return 404, {}, json.dumps(_error_body(
                "invalid_request_error", "resource_missing", f"No such {kind[:-1]}.", param="id"
            ))
        return 200, {}, json.dumps(found)

    def _left(self, intent: dict[str, Any]) -> int:
        taken: int = sum(
            refund["amount"] for refund in self.refunds.values()
            if refund["payment_intent"] == intent["id"]
            and refund["status"] in ("pending", "requires_action", "succeeded")
        )
        return int(intent["amount"]) - taken

    def _store_refund(
        self, intent: dict[str, Any], amount: int, reason: str | None, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        refund = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "charge": f"ch_{intent['id'].removeprefix('pi_')}",
            "payment_intent": intent["id"],
            "status": self.refund_status,
            "reason": reason or None,
            "failure_reason": None,
            "metadata": metadata,
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return refund

    def _find(self, request: Any) -> dict[str, Any] | None:
        match = re.search(r"/v1/payment_intents/([^/?]+)", request.url)
        return self.intents.get(match.group(1)) if match else None

    @staticmethod
    def _missing(request: Any) -> Reply:
        return 404, {}, json.dumps(_error_body(
            "invalid_request_error", "resource_missing", "No such payment_intent.", param="intent"
        ))

    @staticmethod
    def _invalid(param: str, message: str) -> Reply:
        return 400, {}, json.dumps(_error_body(
            "invalid_request_error", "parameter_missing", message, param=param
        ))


__all__ = ["StripeMock"]
