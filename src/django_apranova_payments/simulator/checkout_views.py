"""Stripe Checkout's hosted page, simulated: ``checkout/<cs_…>/`` shows the Session's line and
a card form (the same test cards as the Payment Element), ``POST`` pays, and a card that asks
for 3-D Secure shows the bank's choice on the same page. A paid Session redirects to its
success URL with ``session_id`` filled in; "Back" goes to its cancel URL.

Like the simulator's other views these answer 404 unless the simulator is the configured
gateway and ``DEBUG`` is on, and are CSRF-exempt: the page stands for Stripe's own domain,
where anyone holding the Session's URL may pay it, as at Stripe.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import Context
from django.utils.translation import gettext

from .. import exceptions
from ..money import format_amount, from_minor_units
from ..testing.stripe_tax import TaxLocationInvalid
from .cards import TEST_CARDS, InvalidCard, parse_card
from .checkout import UnexpectedSessionState, success_redirect
from .checkout_models import SimulatedCheckoutSession
from .gateway import UnexpectedState
from .models import SimulatedStatus
from .views import ENGINE, MAX_CARD_FIELD, SimulatorView

CARD_FIELDS = ("number", "exp_month", "exp_year", "cvc")
#: The billing address a Session with tax asks for (Stripe's keys).
ADDRESS_FIELDS = ("country", "postal_code")
MAX_ADDRESS_FIELD = 40


class CheckoutPageView(SimulatorView):
    """GET: the hosted page; POST ``number``, ``exp_month``, ``exp_year``, ``cvc``: pay."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, session_id: str) -> HttpResponse:
        session = self._session(session_id)
        if session.status == "complete":
            return HttpResponseRedirect(success_redirect(session))
        return render(session)

    def post(self, request: HttpRequest, session_id: str) -> HttpResponse:
        session = self._session(session_id)
        number, exp_month, exp_year, cvc = (request.POST.get(name, "")[:MAX_CARD_FIELD] for name in CARD_FIELDS)
        address = {name: request.POST.get(name, "")[:MAX_ADDRESS_FIELD] for name in ADDRESS_FIELDS}
        try:
            card = parse_card(number, exp_month, exp_year, cvc)
            session = self.gateway.pay_checkout_session(session.session_id, card, address)
        except InvalidCard as exc:
            return render(session, error=exc.message, status=402)
        except TaxLocationInvalid:
            error = gettext("Enter a billing address we can calculate the tax for: its country and postal code.")
            return render(session, error=error, status=400)
        except (UnexpectedSessionState, UnexpectedState):
            session = self._session(session_id)  # paid or expired meanwhile: show what it is
        return _answer(session)

    def _session(self, session_id: str) -> SimulatedCheckoutSession:
        try:
            return self.gateway.checkout_session(session_id)
        except exceptions.GatewayRejected:
            raise Http404("No such Checkout Session.") from None


class CheckoutAuthenticateView(CheckoutPageView):
    """POST ``action=complete|fail``: the bank's 3-D Secure decision for the Session's card."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, session_id: str) -> HttpResponse:
        session = self._session(session_id)
        action = request.POST.get("action")
        if action not in ("complete", "fail"):
            return render(session, error="Choose to complete or to fail the authentication.", status=400)
        try:
            session = self.gateway.authenticate_checkout_session(session.session_id, success=action == "complete")
        except (UnexpectedSessionState, UnexpectedState):
            session = self._session(session_id)
        return _answer(session)


def _answer(session: SimulatedCheckoutSession) -> HttpResponse:
    """Paid: off to the success URL; declined: the page again, with the bank's message."""
    if session.status == "complete":
        return HttpResponseRedirect(success_redirect(session))
    intent = session.intent
    if session.status != "open" or intent is None:
        return render(session)
    error = (intent.last_payment_error or {}).get("message")
    return render(session, error=error, status=402 if error else 200)


def render(session: SimulatedCheckoutSession, *, error: str | None = None, status: int = 200) -> HttpResponse:
    intent = session.intent

    def shown(minor: int) -> str:
        return format_amount(from_minor_units(minor, session.currency), session.currency)

    context: dict[str, Any] = {
        "session": session, "error": error, "amount": shown(session.amount_total),
        "subtotal": shown(session.amount), "tax": shown(session.amount_tax),
        "inclusive": session.tax_behavior == "inclusive", "address": session.billing_address,
        "authenticate": intent is not None and intent.status == SimulatedStatus.REQUIRES_ACTION,
        "cards": [(card.display_number, card.description) for card in TEST_CARDS.values()],
    }
    return HttpResponse(ENGINE.get_template("checkout.html").render(Context(context)), status=status)
