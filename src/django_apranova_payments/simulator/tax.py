"""Stripe Tax, simulated: calculations from the test kit's rate table
(``testing.stripe_tax``), and what Stripe does for a PaymentIntent linked to one: a tax
transaction when it succeeds, a reversal of its share for each refund. Every one is stored
(``tax_models``) and listed in the simulator's admin."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import Sum

from .. import exceptions
from ..stripe_data import TaxCalculationData
from ..testing import stripe_tax
from .guard import refuse_without_debug
from .models import SimulatedPaymentIntent, SimulatedRefund
from .tax_models import SimulatedTaxCalculation, SimulatedTaxTransaction

logger = logging.getLogger(__name__)


class SimulatedTax:
    """``calculate_tax`` of the simulator gateway (a base of ``SimulatorGateway``)."""

    def calculate_tax(
        self, *, amount: int, currency: str, address: Mapping[str, str], tax_code: str, behavior: str,
        reference: str, idempotency_key: str,
    ) -> TaxCalculationData:
        refuse_without_debug()
        params = {"amount": amount, "currency": currency, "address": dict(address), "tax_code": tax_code,
                  "behavior": behavior}
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        existing = SimulatedTaxCalculation.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            try:
                calc = stripe_tax.calculation(amount=amount, currency=currency, address=address, tax_code=tax_code,
                                              behavior=behavior, reference=reference)
            except stripe_tax.TaxLocationInvalid as exc:
                logger.warning("Simulated tax calculation refused: %s", exc)
                raise exceptions.TaxLocationInvalid() from exc
            try:
                with transaction.atomic():
                    existing = SimulatedTaxCalculation.objects.create(
                        calculation_id=calc["id"].replace("taxcalc_", "taxcalc_sim", 1), currency=currency,
                        amount=amount, amount_total=calc["amount_total"],
                        tax_amount=calc["tax_amount_exclusive"] + calc["tax_amount_inclusive"], behavior=behavior,
                        tax_code=tax_code, address=dict(address), stripe_object=calc,
                        idempotency_key=idempotency_key, request_fingerprint=fingerprint,
                    )
            except IntegrityError:  # the same key, calculated concurrently
                existing = SimulatedTaxCalculation.objects.get(idempotency_key=idempotency_key)
            else:
                logger.info("Simulated tax calculation %s: %s %s tax on %s", existing.calculation_id,
                            existing.tax_amount, currency, amount)
        if existing.request_fingerprint != fingerprint:
            raise exceptions.IdempotencyConflict()
        return TaxCalculationData.from_dict({**existing.stripe_object, "id": existing.calculation_id})


def linked_calculation(calculation_id: str | None, currency: str) -> str:
    """The calculation a new PaymentIntent links (``""`` for none); Stripe's 404 for one it
    does not have, or one in another currency."""
    if not calculation_id:
        return ""
    if not SimulatedTaxCalculation.objects.filter(calculation_id=calculation_id, currency=currency).exists():
        raise exceptions.GatewayRejected(code="resource_missing")
    return calculation_id


def record_transaction(intent: SimulatedPaymentIntent) -> None:
    """The tax transaction of ``intent``, succeeded now (in its transaction): one per
    calculation, whichever PaymentIntent succeeds first, as Stripe's accounting does."""
    if not intent.tax_calculation:
        return
    calculation = SimulatedTaxCalculation.objects.get(calculation_id=intent.tax_calculation)
    if calculation.transactions.filter(kind=SimulatedTaxTransaction.Kind.TRANSACTION).exists():
        return
    SimulatedTaxTransaction.objects.create(
        kind=SimulatedTaxTransaction.Kind.TRANSACTION, calculation=calculation, intent=intent,
        amount=calculation.amount_total, amount_tax=calculation.tax_amount,
    )


def reverse_for(refund: SimulatedRefund) -> None:
    """The reversal of ``refund``'s share of its PaymentIntent's tax (shares of partial
    refunds add up to the whole tax)."""
    intent = refund.intent
    original = intent.tax_transactions.filter(kind=SimulatedTaxTransaction.Kind.TRANSACTION).first()
    if original is None:
        return
    before = -(intent.tax_transactions.filter(kind=SimulatedTaxTransaction.Kind.REVERSAL)
               .aggregate(total=Sum("amount"))["total"] or 0)
    share = stripe_tax.reversal_share(original.amount_tax, original.amount, before, refund.amount)
    SimulatedTaxTransaction.objects.create(
        kind=SimulatedTaxTransaction.Kind.REVERSAL, calculation=original.calculation, intent=intent, refund=refund,
        amount=-refund.amount, amount_tax=-share,
    )
