"""mutation/scope.py: every module of the package is mutated or left out with a reason, and
pyproject.toml's ``[tool.mutmut]`` mutates exactly the scope's files."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from mutation.scope import OUT_OF_SCOPE, PACKAGE, UNITS, only_mutate, reason_out_of_scope, unit_of, unit_of_file

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "src" / PACKAGE


def modules() -> list[str]:
    return sorted(path.relative_to(PACKAGE_DIR).as_posix() for path in PACKAGE_DIR.rglob("*.py"))


def test_every_module_is_in_the_mutation_scope_or_out_of_it_with_a_reason():
    neither = [path for path in modules() if unit_of_file(path) is None and reason_out_of_scope(path) is None]
    assert neither == [], (
        f"{neither}: add each to a unit of mutation/scope.py (with its tests) or to OUT_OF_SCOPE with a reason"
    )


def test_no_mutated_module_is_named_out_of_scope():
    # A glob (api/*) may cover a mutated file (api/throttling.py); a name may not.
    both = [path for path in OUT_OF_SCOPE if unit_of_file(path) is not None]
    assert both == []


def test_every_out_of_scope_entry_names_an_existing_module():
    stale = [pattern for pattern in OUT_OF_SCOPE if not fnmatch.filter(modules(), pattern)]
    assert stale == []


def test_every_reason_says_something():
    assert all(len(reason.split()) >= 2 for reason in OUT_OF_SCOPE.values())


def test_pyproject_mutates_exactly_the_files_of_the_scope():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert sorted(config["only_mutate"]) == sorted(only_mutate())


def test_every_unit_names_existing_files_and_test_folders():
    for unit in UNITS:
        for path in unit.files:
            assert (PACKAGE_DIR / path).is_file(), (unit.name, path)
        for entry in unit.tests:
            target = ROOT / "tests" / entry
            assert target.is_dir() if entry.endswith("/") else target.is_file(), (unit.name, entry)


def test_unit_names_are_unique():
    names = [unit.name for unit in UNITS]
    assert len(names) == len(set(names))


def test_a_unit_keeps_the_files_of_its_test_folders_and_its_listed_files_only():
    coupons = next(unit for unit in UNITS if unit.name == "coupons")
    assert coupons.keeps_test("coupons/test_apply.py")
    assert not coupons.keeps_test("couponsx/test_apply.py")
    assert not coupons.keeps_test("api/test_create_payment.py")
    charges = next(unit for unit in UNITS if unit.name == "charges")
    assert charges.keeps_test("payments/test_charges.py")
    assert not charges.keeps_test("payments/test_gateway.py")


def test_a_mutant_is_counted_by_its_unit_and_only_the_functions_it_names():
    assert unit_of(f"{PACKAGE}.money.x_to_minor_units__mutmut_3").name == "money"
    assert unit_of(f"{PACKAGE}.models.payments.xǁPaymentQuerySetǁfor_user__mutmut_1").name == "models"
    assert unit_of(f"{PACKAGE}.models.payments.xǁPaymentQuerySetǁpaid__mutmut_1") is None
    assert unit_of(f"{PACKAGE}.models.event_store.xǁWebhookEventQuerySetǁfinish__mutmut_1").name == "models"
    assert unit_of(f"{PACKAGE}.models.event_store.xǁWebhookEventQuerySetǁ_claim_and_lock__mutmut_1") is None
    assert unit_of(f"{PACKAGE}.services.refunds.x_refund_payment__mutmut_1").name == "services"
    assert unit_of(f"{PACKAGE}.services.customers.x_owned_payment_method__mutmut_1").name == "customers"
    assert unit_of(f"{PACKAGE}.models.coupons.x_normalize_code__mutmut_2").name == "coupons"
    assert unit_of(f"{PACKAGE}.models.coupons.xǁCouponǁclean__mutmut_2") is None
    assert unit_of(f"{PACKAGE}.api.throttling.xǁPaymentRateThrottleǁwait__mutmut_1").name == "throttling"
