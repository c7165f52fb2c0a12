"""A pytest plugin for the mutation runs only (``-p mutation.pytest_plugin``, set in pyproject.toml).

1. Stable node ids. mutmut collects the tests once, records which tests reach which function, then
   runs each mutant's tests by node id in later processes. A few parametrized tests build a
   Stripe-Signature header from ``int(time.time())``, so their ids change from one second to the
   next and the recorded ids would no longer match. Those parameters get an id without the clock
   in it (pytest numbers duplicates itself); the values the tests use are unchanged.

2. Tests per module. mutmut runs, for each mutant, every test that reached the mutated function.
   ``to_minor_units`` is reached by most of the suite, which makes a surviving money mutant cost
   ~13 s. While a mutant runs (``MUTANT_UNDER_TEST`` names it), only the test files listed for
   its module below are kept, still intersected with the tests that reach the function. A module
   not listed keeps every test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

_TIMESTAMP = re.compile(r"\b(t=)\d{9,11}\b")

# The files whose tests pin each mutated module, as paths under tests/: its own unit tests and the
# tests written against its survivors (each kept its name when it joined the file of its concern).
TEST_FILES: dict[str, set[str]] = {
    "money": {
        "money/test_conversion.py",
        "money/test_currencies.py",
        "money/test_formatting.py",
        "money/test_parsing.py",
        "money/test_messages.py",
    },
    "transitions": {
        "payments/test_transitions.py",
        "webhooks/test_ordering.py",
        "api/test_update_status.py",
        "webhooks/test_dry_runs_and_replay.py",
        "webhooks/test_security.py",
    },
    "signing": {
        "webhooks/test_security.py",
        "webhooks/test_endpoint.py",
    },
    "metadata": {
        "payments/test_charges.py",
        "api/test_create_payment.py",
        "webhooks/test_security.py",
        "webhooks/test_endpoint.py",
        "payments/test_stripe_as_it_is.py",
        "security/test_secrets_in_error_reports.py",
    },
    "charges": {
        "payments/test_charges.py",
        "api/test_create_payment.py",
    },
    "services": {
        "api/test_create_payment.py",
        "api/test_update_status.py",
        "api/test_list_detail_cancel.py",
        "payments/test_charges.py",
        "api/test_fault_injection.py",
        "payments/test_stripe_as_it_is.py",
    },
    "models": {
        "models/test_payments.py",
        "webhooks/test_endpoint.py",
        "webhooks/test_security.py",
        "webhooks/test_dry_runs_and_replay.py",
        "api/test_fault_injection.py",
        "api/test_list_detail_cancel.py",
        "webhooks/test_event_store.py",
        "refunds/test_pending_refunds.py",
        "refunds/test_dispute_amounts.py",
    },
}


def pytest_make_parametrize_id(config: Any, val: object, argname: str) -> str | None:
    if isinstance(val, str) and _TIMESTAMP.search(val):
        return _TIMESTAMP.sub(r"\1NOW", val)
    return None


def module_under_test() -> str | None:
    """``money`` while mutmut runs ``django_apranova_payments.money.x_to_minor_units__mutmut_3``."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant:
        return None
    parts = mutant.split(".")
    return parts[1] if len(parts) > 2 else None


def under_tests(path: Path) -> str:
    """``money/test_parsing.py`` for ``…/tests/money/test_parsing.py`` (mutmut runs a copy of tests/)."""
    parts = path.parts
    return "/".join(parts[len(parts) - parts[::-1].index("tests") :])


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    allowed = TEST_FILES.get(module_under_test() or "")
    if allowed is None:
        return
    kept, dropped = [], []
    for item in items:
        (kept if under_tests(Path(str(item.path))) in allowed else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
