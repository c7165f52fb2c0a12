"""Secrets never reach an error report. Django's HTML report (the ``DEBUG`` page, or the
admins' e-mail with ``include_html``) shows every local variable of every frame unless the
function is ``sensitive_variables``. Every function of the package that holds ``SECRET_KEY``,
a fallback, a webhook secret, the Stripe key or a client secret is, found by the names of its
locals, and a forced error in the installation mark's HMAC shows no key."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter

import django_apranova_payments
from django_apranova_payments import metadata
from django_apranova_payments.api.serializers import CreatedPaymentSerializer
from django_apranova_payments.services import CreatedPayment

PACKAGE = Path(django_apranova_payments.__file__).resolve().parent

#: A local holds a secret when one of the words of its name is one of these (``webhook_secrets``,
#: ``secret_key``, ``client_secret``, ``fallbacks``) or it names an API key; unless its first
#: word says it is a flag about one (``include_secret``).
SECRET_WORDS = {"secret", "secrets", "fallback", "fallbacks", "whsec"}
API_KEY = re.compile(r"api_?key", re.IGNORECASE)
FLAG_WORDS = {"is", "has", "include", "with", "use"}
#: Settings that are secrets: a function reading one holds it, whatever it calls its locals.
SECRET_SETTINGS = {"SECRET_KEY", "SECRET_KEY_FALLBACKS", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
                   "webhook_secrets"}

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def is_secret_name(name: str) -> bool:
    words = name.lower().strip("_").split("_")
    if words[0] in FLAG_WORDS:
        return False
    return bool(SECRET_WORDS.intersection(words)) or bool(API_KEY.search(name))


def local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Its parameters and every name it binds, comprehensions included (they run in its frame
    since Python 3.12), nested functions left out (they have frames of their own)."""
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    for node in own_nodes(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(function):
        if isinstance(child, (*FUNCTIONS, ast.ClassDef, ast.Lambda)):
            continue
        yield child
        yield from own_nodes(child)


def reads_a_secret_setting(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in own_nodes(function):
        if isinstance(node, ast.Attribute) and node.attr in SECRET_SETTINGS:
            return True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and any(isinstance(a, ast.Constant) and a.value in SECRET_SETTINGS for a in node.args)):
            return True
    return False


def hidden_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
    """The names its ``sensitive_variables`` hides (``{"*"}``: all of them); ``None`` when it
    is not decorated. ``method_decorator(sensitive_variables(...))`` counts."""
    for decorator in function.decorator_list:
        call = decorator
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "method_decorator"
                and call.args and isinstance(call.args[0], ast.Call)):
            call = call.args[0]
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "sensitive_variables":
            return {a.value for a in call.args if isinstance(a, ast.Constant)} or {"*"}
    return None


def secret_holders() -> dict[str, tuple[set[str], bool, set[str] | None]]:
    """Every function of the package holding a secret: its secret locals, whether it reads a
    secret setting, and what its decorator hides."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, FUNCTIONS):
                continue
            secrets = {name for name in local_names(node) if is_secret_name(name)}
            reads = reads_a_secret_setting(node)
            if secrets or reads:
                found[f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = (secrets, reads, hidden_names(node))
    return found


def test_the_finder_knows_a_secret_when_it_sees_one():
    assert [n for n in ("secret", "webhook_secrets", "secret_key", "client_secret", "fallbacks", "api_key",
                        "stripe_apiKey") if not is_secret_name(n)] == []
    assert [n for n in ("include_secret", "has_secret", "key", "keys", "idempotency_key", "secretary")
            if is_secret_name(n)] == []
    holders = {name.split(" ")[1] for name in secret_holders()}
    # The functions this test exists for: it must find them, or it proves nothing.
    assert {"_mark", "verified_owner", "own_metadata", "get_clientSecret", "verify", "signature_header",
            "check_keys", "check_webhook_secret", "webhook_secrets", "__init__", "sign_payload",
            "deliver"} <= holders


def test_every_function_holding_a_secret_hides_it_from_error_reports():
    exposed = []
    for where, (secrets, _reads, hidden) in secret_holders().items():
        held = ", ".join(sorted(secrets)) or "reads a secret setting"
        if hidden is None:
            exposed.append(f"{where}: not sensitive_variables ({held})")
        elif "*" not in hidden and not secrets <= hidden:
            exposed.append(f"{where}: sensitive_variables misses {', '.join(sorted(secrets - hidden))}")

    assert not exposed, "\n".join(exposed)


# -- the reports themselves ---------------------------------------------------------------------------

SECRET_KEY = "django-insecure-" + "SeCrEtKeYiNeRrOrRePoRt"
FALLBACK = "django-insecure-" + "FaLlBaCkInErRoRrEpOrT"
CLIENT_SECRET = "pi_3Qx" + "_secret_" + "ClIeNtSeCrEtInErRoRrEpOrT"


def html_report(call: Any) -> str:
    """The HTML error report of a production site (DEBUG off) for the error ``call`` raises,
    with a request, as the admins' e-mail with ``include_html`` carries it; and its text."""
    try:
        call()
    except Exception:
        reporter = ExceptionReporter(RequestFactory().post("/api/payments/create-payment/"), *sys.exc_info())
    else:
        raise AssertionError("expected an exception")
    return reporter.get_traceback_html() + reporter.get_traceback_text()


def failing_hmac(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the HMAC failed")


def test_an_error_inside_mark_shows_no_secret_key(monkeypatch):
    monkeypatch.setattr(metadata, "salted_hmac", failing_hmac)

    with override_settings(SECRET_KEY=SECRET_KEY, DEBUG=False):
        report = html_report(lambda: metadata.own_metadata(user_pk=7, amount_minor=1000, currency="usd",
                                                           host={"course": "x"}))

    assert "_mark" in report and "own_metadata" in report and "the HMAC failed" in report
    assert SECRET_KEY not in report


def test_an_error_while_verifying_against_a_fallback_shows_neither_key(monkeypatch):
    real = metadata.salted_hmac

    def fails_on_the_fallback(salt: str, value: str, secret: Any = None, **kwargs: Any) -> Any:
        if secret == FALLBACK:
            raise RuntimeError("the HMAC failed")
        return real(salt, value, secret=secret, **kwargs)

    monkeypatch.setattr(metadata, "salted_hmac", fails_on_the_fallback)
    forged = {metadata.USER: "7", metadata.MARK: "0" * 64}

    with override_settings(SECRET_KEY=SECRET_KEY, SECRET_KEY_FALLBACKS=[FALLBACK], DEBUG=False):
        report = html_report(lambda: metadata.verified_owner(forged, 1000, "usd"))

    assert "verified_owner" in report and "the HMAC failed" in report
    assert SECRET_KEY not in report and FALLBACK not in report


class UnprintableSecret(str):
    """A client secret whose conversion to text fails, inside ``get_clientSecret``."""

    def __str__(self) -> str:
        raise RuntimeError("cannot show it")


@pytest.mark.django_db
def test_an_error_in_get_client_secret_shows_no_client_secret(payment):
    created = CreatedPayment(payment, UnprintableSecret(CLIENT_SECRET), replayed=False)
    serializer = CreatedPaymentSerializer(payment, context={"created": created})

    with override_settings(DEBUG=False):
        report = html_report(lambda: serializer.data)

    assert "get_clientSecret" in report and "cannot show it" in report
    assert CLIENT_SECRET not in report


@pytest.mark.django_db
def test_a_created_payment_never_shows_its_client_secret(payment):
    assert CLIENT_SECRET not in repr(CreatedPayment(payment, CLIENT_SECRET, replayed=False))


@pytest.mark.django_db
def test_an_error_after_create_payment_has_its_client_secret_shows_none(api, stripe_mock, monkeypatch):
    from django.urls import reverse

    from django_apranova_payments.api import views

    def failing_response(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the response failed")

    monkeypatch.setattr(views, "Response", failing_response)

    with override_settings(DEBUG=False):
        report = html_report(lambda: api.post(reverse("apranova_payments:create-payment"), {"amount": "10.00"},
                                              format="json"))

    [intent] = stripe_mock.intents.values()
    client_secret = intent["client_secret"]
    assert "the response failed" in report and "CreatePaymentView" in report
    assert client_secret not in report
