"""A pytest plugin for the mutation runs only (``-p mutation.pytest_plugin``, set in pyproject.toml).

1. Stable node ids. mutmut collects the tests once, records which tests reach which function, then
   runs each mutant's tests by node id in later processes. A few parametrized tests build a
   Stripe-Signature header from ``int(time.time())``, so their ids change from one second to the
   next and the recorded ids would no longer match. Those parameters get an id without the clock
   in it (pytest numbers duplicates itself); the values the tests use are unchanged.

2. Tests per module. mutmut runs, for each mutant, every test that reached the mutated function.
   ``to_minor_units`` is reached by most of the suite, which makes a surviving money mutant cost
   ~13 s. While a mutant runs (``MUTANT_UNDER_TEST`` names it), only the tests its unit lists in
   ``mutation/scope.py`` (folders of tests/ by concern, or single files) are kept, still
   intersected with the tests that reach the function. A mutant of no unit keeps every test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mutation.scope import Unit, unit_of

_TIMESTAMP = re.compile(r"\b(t=)\d{9,11}\b")


def pytest_make_parametrize_id(config: Any, val: object, argname: str) -> str | None:
    if isinstance(val, str) and _TIMESTAMP.search(val):
        return _TIMESTAMP.sub(r"\1NOW", val)
    return None


def unit_under_test() -> Unit | None:
    """The unit of ``django_apranova_payments.money.x_to_minor_units__mutmut_3`` while mutmut runs it."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant:
        return None
    return unit_of(mutant)


def under_tests(path: Path) -> str:
    """``money/test_parsing.py`` for ``…/tests/money/test_parsing.py`` (mutmut runs a copy of tests/)."""
    parts = path.parts
    return "/".join(parts[len(parts) - parts[::-1].index("tests") :])


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    unit = unit_under_test()
    if unit is None:
        return
    kept, dropped = [], []
    for item in items:
        (kept if unit.keeps_test(under_tests(Path(str(item.path)))) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
