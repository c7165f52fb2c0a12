"""Django's error reports, rendered for the tests that check no secret reaches them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.test import RequestFactory
from django.views.debug import ExceptionReporter

# Built at run time: a report shows source lines, and these must not be among them.
SECRET_KEY_VALUE = "sk_test_" + "51SeCrEtInErRoRrEpOrT"
WEBHOOK_SECRET_VALUE = "whsec_" + "SeCrEtInErRoRrEpOrT"


def error_report(call: Callable[[], Any]) -> str:
    """Django's technical 500 page and its text version (the admin e-mail's body) for the
    exception ``call`` raises, as a production site (DEBUG off) renders them."""
    try:
        call()
    except Exception:
        reporter = ExceptionReporter(RequestFactory().get("/pay/"), *sys.exc_info())
    else:
        raise AssertionError("expected an exception")
    return reporter.get_traceback_html() + reporter.get_traceback_text()
