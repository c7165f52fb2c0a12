"""Signed webhook events, delivered to the package's own webhook endpoint as Stripe would.

Each change of a simulated PaymentIntent, Refund or Dispute builds its event
(``payment_intent.*``, ``refund.*``, ``charge.refunded``, ``charge.dispute.*``) inside the
transaction that made the change (the snapshot Stripe would send) and queues it when that
transaction commits. One background thread per process posts the queued events in order,
each signed at send time with the first ``STRIPE_WEBHOOK_SECRET``, exactly as Stripe signs
(``t=…,v1=HMAC-SHA256(secret, "{t}.{body}")``), so the verified path of the real endpoint
runs offline too.

The target is ``APRANOVA_PAYMENTS["SIMULATOR_WEBHOOK_URL"]`` (unset: nothing is sent), read
through ``app_settings`` as every other setting is, and only a loopback address is
accepted. A delivery is tried once with a short timeout (``SIMULATOR_WEBHOOK_TIMEOUT``); a
lost one is logged, and ``update-status`` still brings the payment up to date, as with Stripe.

With ``DEBUG`` off nothing is queued or posted (read at queue time and again at send time):
the simulator never runs in production.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import queue
import secrets
import threading
import time
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from .. import signing
from ..conf import STRIPE_API_VERSION, app_settings

logger = logging.getLogger(__name__)


def is_loopback_url(url: str) -> bool:
    """``http(s)://`` to localhost, 127.0.0.0/8 or ::1, and nothing else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class StripeObject(Protocol):
    """A simulated PaymentIntent, Refund, Dispute or Charge: anything Stripe renders."""

    def to_stripe(self) -> dict[str, Any]: ...


def build_event(obj: StripeObject, event_type: str) -> dict[str, Any]:
    """The Stripe event of ``event_type`` for ``obj`` as it is now."""
    return {
        "id": f"evt_sim{secrets.token_hex(12)}",
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj.to_stripe()},
    }


def send_event(obj: StripeObject, event_type: str) -> None:
    """Queue the event for delivery once the current transaction commits."""
    if not settings.DEBUG:
        logger.error("DEBUG is False: simulator event %s for %s not sent", event_type, _id(obj))
        return
    url = app_settings.SIMULATOR_WEBHOOK_URL
    if not url:
        logger.debug("No SIMULATOR_WEBHOOK_URL: event %s for %s not sent", event_type, _id(obj))
        return
    body = json.dumps(build_event(obj, event_type)).encode()
    transaction.on_commit(lambda: _dispatcher.submit(str(url), body))


def _id(obj: StripeObject) -> str:
    for name in ("refund_id", "dispute_id", "session_id", "intent_id", "charge_id"):  # a refund has an intent_id too
        if hasattr(obj, name):
            return str(getattr(obj, name))
    return type(obj).__name__


@sensitive_variables("keys")  # the webhook secrets
def deliver(url: str, body: bytes) -> int | None:
    """POST one event now; the HTTP status, or ``None`` when it was not delivered."""
    event = json.loads(body)
    if not settings.DEBUG:
        logger.error("DEBUG is False: simulator event %s not sent", event["id"])
        return None
    if not is_loopback_url(url):
        logger.error("SIMULATOR_WEBHOOK_URL %r is not a loopback address; event %s not sent", url, event["id"])
        return None
    keys = signing.as_secrets(app_settings.webhook_secrets)
    if not keys:
        logger.warning("No STRIPE_WEBHOOK_SECRET: event %s not sent", event["id"])
        return None
    headers = {"Content-Type": "application/json; charset=utf-8",
               "Stripe-Signature": signing.signature_header(body, keys[0]),
               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks; django-apranova-payments simulator)"}
    timeout = float(app_settings.SIMULATOR_WEBHOOK_TIMEOUT)
    try:
        with requests.Session() as session:
            session.trust_env = False  # loopback: never through a proxy from the environment
            response = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        logger.warning("Event %s (%s) to %s failed: %s", event["id"], event["type"], url, type(exc).__name__,
                       extra={"simulator_delivery": Delivery(None, None)})
        return None
    delivery = Delivery(response.status_code, _outcome(response))
    log = logger.info if response.status_code < 300 else logger.warning
    log("Event %s (%s) for %s %s: HTTP %s", event["id"], event["type"], event["data"]["object"]["id"],
        "queued" if delivery.outcome == QUEUED else "delivered", response.status_code,
        extra={"simulator_delivery": delivery})
    return response.status_code


QUEUED = "queued"  # the webhook's outcome in task mode (WEBHOOK_PROCESSING = "task")


class Delivery(NamedTuple):
    """How one post went, on its log record (``record.simulator_delivery``): the HTTP status
    (``None``: no answer, e.g. nothing listening) and the webhook's ``outcome``, if it said one."""

    status: int | None
    outcome: str | None


def _outcome(response: requests.Response) -> str | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    outcome = answer.get("outcome") if isinstance(answer, dict) else None
    return outcome if isinstance(outcome, str) else None


def wait_for_deliveries(timeout: float = 10.0) -> bool:
    """Block until every queued event was attempted; ``False`` on timeout (for tests)."""
    return _dispatcher.wait(timeout)


class _Dispatcher:
    """One daemon thread per process delivering queued events in order."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._queue: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, url: str, body: bytes) -> None:
        with self._lock:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._queue = queue.SimpleQueue()  # a forked child starts afresh
                self._pending = 1
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="apranova-simulator-webhooks", daemon=True)
                self._thread.start()
            self._queue.put((url, body))

    def _run(self) -> None:
        while True:
            url, body = self._queue.get()
            try:
                deliver(url, body)
            except Exception:  # never let one event stop the thread
                logger.exception("Delivering a simulator event failed")
            finally:
                with self._lock:
                    self._pending -= 1
                    self._lock.notify_all()

    def wait(self, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._pending <= 0, timeout)


_dispatcher = _Dispatcher()
