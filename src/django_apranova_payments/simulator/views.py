"""What Stripe's servers do for a browser, simulated: the PaymentIntent API that Stripe.js
calls with a client secret (retrieve, confirm with card details), the 3-D Secure page, and
``simulator.js``.

These views answer 404 unless the simulator is the configured gateway and ``DEBUG`` is on
(read on every request: with ``DEBUG`` off they behave as if they did not exist and touch
nothing). Like Stripe's API
they authenticate a request by the PaymentIntent's client secret, not by the session, so
they are CSRF-exempt; a wrong secret answers the same 404 as an unknown PaymentIntent.
Answers follow Stripe's JSON shapes (``{"error": {"type", "code", "message", …}}``).
"""

from __future__ import annotations

import hmac
import json
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template import Context, Engine
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from .. import exceptions
from ..gateway import get_gateway
from ..money import format_amount, from_minor_units
from .cards import TEST_CARDS, InvalidCard, parse_card
from .customers import saved_card
from .gateway import SimulatorGateway, UnexpectedState
from .models import SimulatedPaymentIntent

HERE = Path(__file__).resolve().parent
#: A template engine of the simulator's own: its pages need nothing from the host (but speak
#: the request's language, through Django's i18n tags).
ENGINE = Engine(
    dirs=[str(HERE / "templates")], autoescape=True, libraries={"i18n": "django.templatetags.i18n"}
)
NAMESPACE = "apranova_payments_simulator"
#: Client secrets as ``SimulatedPaymentIntent`` makes them (``pi_…_secret_…``).
CLIENT_SECRET = re.compile(r"[A-Za-z0-9_]{1,128}")
#: The longest card field accepted at all (a card number is at most 19 digits, with spaces 23).
MAX_CARD_FIELD = 32


def simulator() -> SimulatorGateway:
    """The configured simulator gateway, or ``Http404`` as if the simulator were not there."""
    if not settings.DEBUG:
        raise Http404("The payment simulator runs only with DEBUG on.")
    gateway = get_gateway()
    if not isinstance(gateway, SimulatorGateway):
        raise Http404("The payment simulator is not the configured gateway.")
    return gateway


def stripe_error(status: int, error_type: str, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": {"type": error_type, "code": code, "message": message, **extra}}, status=status)


def missing() -> JsonResponse:
    return stripe_error(404, "invalid_request_error", "resource_missing", "No such payment_intent.")


def authenticate_url(intent: SimulatedPaymentIntent) -> str | None:
    try:
        path = reverse(f"{NAMESPACE}:authenticate", args=[intent.intent_id])
    except NoReverseMatch:
        return None
    return f"{path}?{urlencode({'client_secret': intent.client_secret})}"


def intent_json(intent: SimulatedPaymentIntent) -> dict[str, Any]:
    """The PaymentIntent as Stripe.js receives it: with the client secret and next action."""
    return intent.to_stripe(include_secret=True, next_action_url=authenticate_url(intent))


class InvalidParameter(Exception):
    """Malformed input: answered as Stripe's 400 ``parameter_invalid`` naming ``param``."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param, self.message = param, message


@sensitive_variables("value")
def client_secret_param(value: object) -> str | None:
    """The client secret as sent, ``None`` when absent; anything that cannot be one of ours
    (another type, another alphabet, a NUL, a surrogate, too long) is ``InvalidParameter``."""
    if value is None:
        return None
    if not isinstance(value, str) or not CLIENT_SECRET.fullmatch(value):
        raise InvalidParameter("client_secret", "Invalid client_secret: it must be the PaymentIntent's client secret.")
    return value


@sensitive_variables("client_secret", "secret")
def find_intent(intent_id: str, client_secret: object) -> SimulatedPaymentIntent | None:
    secret = client_secret_param(client_secret)
    intent = SimulatedPaymentIntent.objects.filter(intent_id=intent_id).first()
    if intent is None or secret is None:
        return None
    if not hmac.compare_digest(intent.client_secret.encode(), secret.encode()):
        return None
    return intent


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # invalid JSON or UTF-8; nested too deep
        raise InvalidParameter("body", "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise InvalidParameter("body", "The body must be an object.")
    return body


def object_param(container: dict[str, Any], key: str, param: str) -> dict[str, Any]:
    """``container[key]``: an object, or ``{}`` when absent."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameter(param, f"Invalid {param}: it must be an object.")
    return value


def card_details(body: dict[str, Any]) -> tuple[object, object, object, object]:
    """``payment_method_data[card]``'s number, exp_month, exp_year and cvc, each a string or an
    integer of bounded length (their content is ``parse_card``'s to judge)."""
    method = object_param(body, "payment_method_data", "payment_method_data")
    if method.get("type", "card") != "card":
        raise InvalidParameter("payment_method_data[type]", "The simulator takes cards only: type must be card.")
    card = object_param(method, "card", "payment_method_data[card]")
    values = []
    for name in ("number", "exp_month", "exp_year", "cvc"):
        value = card.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)
                                  or len(str(value)) > MAX_CARD_FIELD):
            raise InvalidParameter(f"payment_method_data[card][{name}]",
                                   f"Invalid {name}: it must be a short string or an integer.")
        values.append(value)
    return values[0], values[1], values[2], values[3]


@method_decorator([csrf_exempt, login_not_required, never_cache], name="dispatch")
class SimulatorView(View):
    """Base: 404 unless the simulator is the configured gateway and ``DEBUG`` is on."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.gateway = simulator()
        try:
            return super().dispatch(request, *args, **kwargs)
        except InvalidParameter as exc:
            return stripe_error(400, "invalid_request_error", "parameter_invalid", exc.message, param=exc.param)
        except RequestDataTooBig:
            return stripe_error(413, "invalid_request_error", "parameter_invalid", "The request is too large.")
        except (SuspiciousOperation, MultiPartParserError):  # too many fields, a broken form
            return stripe_error(400, "invalid_request_error", "parameter_invalid", "The request is malformed.")


class PaymentIntentView(SimulatorView):
    """``GET v1/payment_intents/<id>?client_secret=…``: Stripe.js' ``retrievePaymentIntent``."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, intent_id: str) -> HttpResponse:
        intent = find_intent(intent_id, request.GET.get("client_secret"))
        return JsonResponse(intent_json(intent)) if intent else missing()


class ConfirmView(SimulatorView):
    """``POST v1/payment_intents/<id>/confirm``: Stripe.js' ``confirmPayment`` with a card.

    Body: ``{"client_secret": "…", "payment_method_data": {"type": "card", "card":
    {"number", "exp_month", "exp_year", "cvc"}}}``, or only the client secret for a
    PaymentIntent created with a saved card (``confirmCardPayment(clientSecret)``: one click).
    A decline answers 402 with the error and the PaymentIntent, as Stripe does.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, intent_id: str) -> HttpResponse:
        body = json_object(request)
        intent = find_intent(intent_id, body.get("client_secret"))
        if intent is None:
            return missing()
        details = card_details(body)
        one_click = saved_card(intent) if "payment_method_data" not in body else None
        try:
            card = one_click or parse_card(*details)
            intent = self.gateway.confirm_payment_intent(intent.intent_id, card)
        except InvalidCard as exc:
            return stripe_error(402, "card_error", exc.code, exc.message, param=exc.param)
        except UnexpectedState as exc:
            return stripe_error(400, "invalid_request_error", "payment_intent_unexpected_state", str(exc.detail),
                                payment_intent=intent_json(intent))
        except exceptions.GatewayRejected:
            return missing()
        if intent.last_payment_error:
            return JsonResponse({"error": {**intent.last_payment_error, "payment_intent": intent_json(intent)}},
                                status=402)
        return JsonResponse(intent_json(intent))


@method_decorator(xframe_options_sameorigin, name="dispatch")
class AuthenticateView(SimulatorView):
    """``v1/payment_intents/<id>/authenticate``: the 3-D Secure test page. GET shows it;
    POST ``action=complete|fail`` decides, then tells the page that framed it."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, intent_id: str) -> HttpResponse:
        intent = find_intent(intent_id, request.GET.get("client_secret"))
        if intent is None:
            raise Http404("No such payment_intent.")
        return self.render("authenticate.html", intent=intent, formatted=_format(intent))

    def post(self, request: HttpRequest, intent_id: str) -> HttpResponse:
        intent = find_intent(intent_id, request.POST.get("client_secret"))
        if intent is None:
            raise Http404("No such payment_intent.")
        action = request.POST.get("action")
        if action not in ("complete", "fail"):
            raise InvalidParameter("action", "Invalid action: choose complete or fail.")
        try:
            intent = self.gateway.authenticate_payment_intent(intent.intent_id, success=action == "complete")
        except UnexpectedState:
            pass  # already decided (a second click, another tab): report the current state
        return self.render("authenticated.html", intent=intent)

    @staticmethod
    def render(template: str, **context: Any) -> HttpResponse:
        return HttpResponse(ENGINE.get_template(template).render(Context(context)))


class ScriptView(SimulatorView):
    """``simulator.js``: ``ApranovaSimulator()``, the simulator's Stripe.js."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        cards = [{"number": c.display_number, "description": c.description} for c in TEST_CARDS.values()]
        source = (HERE / "static" / "simulator.js").read_text(encoding="utf-8")
        source = source.replace("/*TEST_CARDS*/[]", json.dumps(cards))
        return HttpResponse(source, content_type="text/javascript; charset=utf-8")


def _format(intent: SimulatedPaymentIntent) -> str:
    return format_amount(from_minor_units(intent.amount, intent.currency), intent.currency)
