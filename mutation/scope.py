"""What the mutation runs mutate, which tests pin each part, and what is left out and why.

One table for ``mutation/run.py`` (the full run), ``mutation/changed.py`` (the functions a branch
changed) and ``mutation/pytest_plugin.py`` (the tests kept for each mutant). Every module of the
package is either in a unit below or in ``OUT_OF_SCOPE`` with its reason:
``tests/tooling/test_mutation_scope.py`` fails when a new module is in neither, and when
``[tool.mutmut] only_mutate`` in pyproject.toml does not list exactly the units' files.

Standard library only: the tooling tests import it in every tox environment.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

PACKAGE = "django_apranova_payments"
SOURCE = f"src/{PACKAGE}/"


@dataclass(frozen=True)
class Unit:
    """One row of the report: the files mutated, the mutants counted, the tests that pin them.

    ``files`` are paths under src/django_apranova_payments/. ``only`` narrows the mutants counted
    to some functions (mutmut's names after the module: ``x_func`` for a function,
    ``xǁClassǁmethod`` for a method; globs allowed); empty means every function of the files.
    ``tests`` are paths under tests/: a folder (ending in ``/``, every file in it) or a file.
    """

    name: str
    files: tuple[str, ...]
    tests: tuple[str, ...]
    only: tuple[str, ...] = ()
    #: Functions of ``only`` left out (same form), each with its reason where the unit is defined.
    skip: tuple[str, ...] = ()

    @property
    def patterns(self) -> list[str]:
        """The mutant-name globs of this unit (what ``mutmut run`` is given)."""
        if not self.only:
            return [f"{PACKAGE}.{module_of(path)}.*" for path in self.files]
        return [f"{PACKAGE}.{function}__mutmut_*" for function in self.only]

    def counts(self, mutant: str) -> bool:
        """Whether ``mutant`` (a mutmut name) is one of this unit's."""
        if any(fnmatch.fnmatchcase(mutant, f"{PACKAGE}.{function}__mutmut_*") for function in self.skip):
            return False
        return any(fnmatch.fnmatchcase(mutant, pattern) for pattern in self.patterns)

    def keeps_test(self, path: str) -> bool:
        """Whether the test file ``path`` (under tests/) is run against this unit's mutants."""
        return any(path.startswith(entry) if entry.endswith("/") else path == entry for entry in self.tests)


def module_of(path: str) -> str:
    """``models.coupons`` for ``models/coupons.py``."""
    return path.removesuffix(".py").replace("/", ".")


# The order matters only where one unit's globs would also match another's mutants: the first
# unit that matches a mutant counts it.
UNITS: tuple[Unit, ...] = (
    Unit(
        "money",
        files=("money.py",),
        tests=(
            "money/test_conversion.py",
            "money/test_currencies.py",
            "money/test_formatting.py",
            "money/test_parsing.py",
            "money/test_messages.py",
            # refund_minor_units and minor_step: a refund's amount, a coupon's discount
            "refunds/test_refund_payment.py",
            "coupons/",
        ),
    ),
    Unit(
        "transitions",
        files=("transitions.py",),
        tests=(
            "payments/test_transitions.py",
            "webhooks/test_ordering.py",
            "api/test_update_status.py",
            "webhooks/test_dry_runs_and_replay.py",
            "webhooks/test_security.py",
            # the Checkout Session's statuses (decide_session, apply_session) and free payments
            "webhooks/test_checkout_events.py",
            "commands/test_checkout_payments.py",
            "api/test_checkout.py",
            "api/test_free_payments.py",
            "coupons/",
        ),
    ),
    Unit("signing", files=("signing.py",), tests=("webhooks/test_security.py", "webhooks/test_endpoint.py")),
    Unit(
        "metadata",
        files=("metadata.py",),
        tests=(
            "payments/test_charges.py",
            "api/test_create_payment.py",
            "webhooks/test_security.py",
            "webhooks/test_endpoint.py",
            "payments/test_stripe_as_it_is.py",
            "security/test_secrets_in_error_reports.py",
            "customers/",  # customer_binding: the mark on a saved card's Customer
        ),
    ),
    Unit(
        "charges",
        files=("charges.py",),
        # free payments (a price of zero, or a coupon taking it all) meet Charge.free and is_zero_amount
        tests=("payments/test_charges.py", "api/test_create_payment.py", "api/test_free_payments.py", "coupons/"),
    ),
    # The event store (claim, record_failure, finish and their upsert, the event columns) and the
    # per-user scope of payments; not the reporting querysets or __str__.
    Unit(
        "models",
        files=("models/event_store.py", "models/payments.py"),
        only=(
            "models.event_store.xǁWebhookEventQuerySetǁ*",
            "models.event_store.x_event_created_at",
            "models.event_store.x__event_columns",
            "models.payments.x_concrete_field",
            "models.payments.xǁPaymentQuerySetǁfor_user",
        ),
        # PostgreSQL only: the claim and the payment's row lock in one statement. SQLite (the
        # mutation runs) never executes it; the PostgreSQL tests of tests/webhooks/test_event_store.py
        # pin it (the payment locked, the row as the ORM loads it, a duplicate never waiting).
        skip=("models.event_store.xǁWebhookEventQuerySetǁ_claim_and_lock",),
        tests=(
            "models/test_payments.py",
            "webhooks/test_endpoint.py",
            "webhooks/test_security.py",
            "webhooks/test_dry_runs_and_replay.py",
            "api/test_fault_injection.py",
            "api/test_list_detail_cancel.py",
            "webhooks/test_event_store.py",
            "refunds/test_pending_refunds.py",
            "refunds/test_dispute_amounts.py",
            # task mode: the events waiting (apranova_process_events) and the queue's figures (the admin)
            "webhooks/test_task_mode.py",
            "admin/test_payments_and_events.py",
        ),
    ),
    Unit(
        "services",
        files=("services/payments.py", "services/refunds.py", "services/keys.py"),
        tests=(
            "api/test_create_payment.py",
            "api/test_update_status.py",
            "api/test_list_detail_cancel.py",
            "payments/test_charges.py",
            "api/test_fault_injection.py",
            "payments/test_stripe_as_it_is.py",
            # create_payment with a coupon, with TAX set, with a saved card
            "coupons/",
            "tax/",
            "customers/",
            # cancel_payment and refresh_payment of a Checkout payment (its Session expired, or asked)
            "api/test_checkout.py",
            "commands/test_checkout_payments.py",
            # refund_payment: a retry with the same Idempotency-Key replays, another body conflicts
            "refunds/test_refund_payment.py",
        ),
    ),
    # Coupons: the discount, each refusal, the redemptions held; the model's code normalisation.
    Unit(
        "coupons",
        files=("coupons.py", "models/coupons.py"),
        only=("coupons.*", "models.coupons.x_normalize_code", "models.coupons.x_holding_redemption"),
        tests=("coupons/",),
    ),
    Unit("tax", files=("tax.py",), tests=("tax/",)),
    Unit("redirects", files=("redirects.py",), tests=("api/test_checkout.py", "conf/")),
    # Saved cards: whose Customer and PaymentMethod is whose (the ownership check).
    Unit("customers", files=("customers.py", "services/customers.py"), tests=("customers/",)),
    Unit("permissions", files=("permissions.py",), tests=("security/",)),
    Unit("throttling", files=("api/throttling.py",), tests=("api/test_throttling.py",)),
)

# Out of the mutation scope, with the reason. Keys are globs of paths under
# src/django_apranova_payments/; "next:" marks what the scope is meant to take in next.
OUT_OF_SCOPE: dict[str, str] = {
    # next: decide money or state, left out while they are being changed or until triaged
    "receipts.py": "next: receipt numbering, being changed (tax and receipts work)",
    "receipt_mail.py": "next: the numbered receipt by e-mail, being changed (receipts work)",
    "receipt_pdf.py": "the receipt's PDF layout (fpdf2): display, no decision of money or access",
    "checkout_tax.py": "next: Stripe Tax in Checkout (a Session's tax), being changed (checkout work)",
    "services/checkout.py": "next: the Checkout Session service, being changed (checkout work)",
    "webhooks/handlers.py": "next: the Checkout handlers, being changed (checkout work)",
    "analytics.py": "next: the figures, being changed (analytics work)",
    "exports.py": "next: the CSV exports, being changed (analytics work)",
    "refunds.py": "next: the refund status machine, not yet triaged",
    "disputes.py": "next: the dispute status machine, not yet triaged",
    "tasks.py": "next: the webhook task and its retry delays, not yet triaged",
    "webhooks/processing.py": "next: the processing engine (claim, apply, replay), not yet triaged",
    "webhooks/parsing.py": "next: the webhook's body parsing, not yet triaged",
    "conf.py": "next: the settings' parsing (throttle rates, TAX, SELLER), not yet triaged",
    "management/commands/apranova_cancel_abandoned.py": "next: the selection of abandoned payments",
    "management/commands/apranova_process_events.py": "next: the selection of events to process",
    "management/commands/apranova_prune_events.py": "next: the selection of events to prune",
    # decide nothing of money, state or access on their own
    "__init__.py": "the package's version only",
    "*/__init__.py": "re-exports only",
    "apps.py": "the AppConfig: wiring, no decision",
    "urls.py": "URL patterns: wiring, covered by the API tests",
    "views.py": "the simulator's page hook: wiring",
    "signals.py": "signal definitions, no logic",
    "exceptions.py": "exception classes and their messages",
    "currencies.py": "the table of currencies (data); its use is mutated in money.py",
    "money_display.py": "the display of amounts in templates and the admin",
    "stripe_data.py": "typed views of Stripe objects (field access)",
    "gateway.py": "the HTTP boundary to Stripe: mocked in the tests, so mutants there test the mock",
    "checks.py": "system checks: messages at start-up, tested in tests/conf/",
    "parsers.py": "DRF's JSON parser with the body limit, tested by the API tests",
    "applied.py": "the result type of a status change (data)",
    "checkout_request.py": "next: the Checkout request's fields, being changed (checkout work)",
    "admin/*": "the admin's pages: display and actions calling the mutated services",
    "api/*": "next: the API views and serializers, being changed (checkout work); "
    "throttling.py and permissions.py are in the scope",
    "management/base.py": "the commands' output and option parsing",
    "management/progress.py": "the commands' progress line",
    "management/commands/apranova_reconcile.py": "asks Stripe and applies through the mutated transitions",
    "management/commands/apranova_replay_events.py": "replays through webhooks/processing.py",
    "management/commands/apranova_report.py": "prints analytics.py's figures",
    "models/choices.py": "the statuses (data)",
    "models/customers.py": "the Customer row (fields)",
    "models/disputes.py": "the Dispute row (fields)",
    "models/events.py": "the WebhookEvent row (fields)",
    "models/receipts.py": "next: the receipt sequence's row, being changed (receipts work)",
    "models/refunds.py": "the Refund row (fields)",
    "migrations/*": "schema history, checked by tests/models/test_migrations.py",
    "simulator/*": "the offline simulator: a stand-in for Stripe, not the package's decisions",
    "testing/*": "the test kit for hosts' tests (StripeMock and factories)",
}


def unit_named(name: str) -> Unit:
    for unit in UNITS:
        if unit.name == name:
            return unit
    raise KeyError(name)


def unit_of(mutant: str) -> Unit | None:
    """The unit that counts ``mutant`` (a mutmut name), or None when no unit counts it."""
    for unit in UNITS:
        if unit.counts(mutant):
            return unit
    return None


def unit_of_file(path: str) -> Unit | None:
    """The unit that mutates ``path`` (under src/django_apranova_payments/)."""
    for unit in UNITS:
        if path in unit.files:
            return unit
    return None


def only_mutate() -> list[str]:
    """What ``[tool.mutmut] only_mutate`` must list: every unit's files."""
    return [SOURCE + path for unit in UNITS for path in unit.files]


def reason_out_of_scope(path: str) -> str | None:
    """Why ``path`` is not mutated, or None when it is not listed as out of scope.

    A glob may also cover a file of a unit (``api/*`` and ``api/throttling.py``): the unit wins.
    """
    for pattern, reason in OUT_OF_SCOPE.items():
        if fnmatch.fnmatchcase(path, pattern):
            return reason
    return None
