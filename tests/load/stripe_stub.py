"""A loopback stand-in for Stripe's ``POST /v1/refunds``, for servers in other processes
(``StripeMock`` only intercepts requests made in the test's own process).

It keeps Stripe's rule, under its own lock: the refunds of a PaymentIntent never exceed its
amount. Each refund is answered after ``delay`` seconds, so concurrent requests overlap at
the server. ``refunds`` records every refund Stripe made, in order; ``requests`` counts the
refund requests of each PaymentIntent, refused ones included.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


class StripeRefundStub:
    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.amounts: dict[str, tuple[int, str]] = {}  # PaymentIntent id -> (minor units, currency)
        self.refunds: list[dict[str, Any]] = []
        self.requests: dict[str, int] = {}  # PaymentIntent id -> refund requests received
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[StripeRefundStub]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def refund(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent = params.get("payment_intent", "")
        with self._lock:
            self.requests[intent] = self.requests.get(intent, 0) + 1
            if intent not in self.amounts:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                       "message": "No such payment_intent."}}
            total, currency = self.amounts[intent]
            left = total - sum(r["amount"] for r in self.refunds if r["payment_intent"] == intent)
            amount = int(params.get("amount", left))
            if not 0 < amount <= left:
                return 400, {"error": {"type": "invalid_request_error", "param": "amount",
                                       "message": f"Refund amount ({amount}) is more than what is left ({left})"}}
            refund = {"id": f"re_{secrets.token_hex(12)}", "object": "refund", "amount": amount, "currency": currency,
                      "payment_intent": intent, "status": "succeeded", "reason": params.get("reason"),
                      "failure_reason": None, "metadata": {}, "created": int(time.time())}
            self.refunds.append(refund)
        time.sleep(self.delay)
        return 200, refund

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                params = {key: value for key, value in parse_qsl(body) if not re.match(r"metadata\[", key)}
                if self.path != "/v1/refunds":
                    status, answer = 404, {"error": {"type": "invalid_request_error", "message": "Unknown path"}}
                else:
                    status, answer = stub.refund(params)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
