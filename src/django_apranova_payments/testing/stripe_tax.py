"""Stripe Tax as the test kit and the offline simulator answer it: a deterministic table of
rates, and calculations, transactions and reversals shaped like Stripe's own objects.

==========  ======  ===========  ==========================
country     rate    tax type     jurisdiction
==========  ======  ===========  ==========================
DE          19 %    ``vat``      Germany
FR          20 %    ``vat``      France
GB          20 %    ``vat``      United Kingdom
IN          18 %    ``gst``      India
JP          10 %    ``jct``      Japan
US          0 %     sales tax    (not registered: not collecting)
==========  ======  ===========  ==========================

Any other country is taxed at 0 % (``not_collecting``). As Stripe does, an address it cannot
place answers ``customer_tax_location_invalid``: a US address without a ZIP code of the right
shape, a Canadian one with neither a postal code nor a province. The tax on a line is rounded
half up to the currency's minor unit: exclusive behaviour adds ``rate`` of the amount,
inclusive takes ``rate / (100 + rate)`` of it out.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .stripe_objects import fixture


@dataclass(frozen=True)
class Rate:
    percentage: Decimal
    tax_type: str
    jurisdiction: str


TAX_RATES: Mapping[str, Rate] = {
    "DE": Rate(Decimal("19"), "vat", "Germany"),
    "FR": Rate(Decimal("20"), "vat", "France"),
    "GB": Rate(Decimal("20"), "vat", "United Kingdom"),
    "IN": Rate(Decimal("18"), "gst", "India"),
    "JP": Rate(Decimal("10"), "jct", "Japan"),
    "US": Rate(Decimal("0"), "sales_tax", "United States"),
}
_NOT_COLLECTING = Rate(Decimal("0"), "vat", "")

_US_ZIP = re.compile(r"[0-9]{5}(-[0-9]{4})?")
_CA_POSTAL = re.compile(r"[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]")


class TaxLocationInvalid(ValueError):
    """Stripe's ``customer_tax_location_invalid``: the address cannot be placed for tax."""

    code = "customer_tax_location_invalid"
    param = "customer_details[address]"


def check_location(address: Mapping[str, Any]) -> None:
    """``TaxLocationInvalid`` where Stripe needs more than the country (US, CA)."""
    country = str(address.get("country") or "").upper()
    postal = str(address.get("postal_code") or "").strip()
    if country == "US" and not _US_ZIP.fullmatch(postal):
        raise TaxLocationInvalid("We could not determine the customer's tax location: a US address needs its ZIP code.")
    if country == "CA" and not (_CA_POSTAL.fullmatch(postal) or address.get("state")):
        raise TaxLocationInvalid(
            "We could not determine the customer's tax location: a Canadian address needs its postal code or province."
        )


def rate_for(country: str) -> Rate:
    return TAX_RATES.get(country.upper(), _NOT_COLLECTING)


def line_tax(amount: int, rate: Rate, behavior: str) -> int:
    """The tax, in minor units, on a line of ``amount`` minor units, rounded half up."""
    if behavior == "inclusive":
        share = Decimal(amount) * rate.percentage / (100 + rate.percentage)
    else:
        share = Decimal(amount) * rate.percentage / 100
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def calculation(
    *, amount: int, currency: str, address: Mapping[str, Any], tax_code: str, behavior: str,
    livemode: bool = False, reference: str = "",
) -> dict[str, Any]:
    """A ``tax.calculation`` for one line, as Stripe answers ``POST /v1/tax/calculations``
    (``TaxLocationInvalid`` for an address it cannot place)."""
    check_location(address)
    rate = rate_for(str(address["country"]))
    tax = line_tax(amount, rate, behavior)
    inclusive = behavior == "inclusive"
    now = int(time.time())
    calc = fixture("tax.calculation")
    calc.update(
        id=f"taxcalc_{secrets.token_hex(12)}", livemode=livemode, currency=currency,
        amount_total=amount if inclusive else amount + tax,
        tax_amount_exclusive=0 if inclusive else tax, tax_amount_inclusive=tax if inclusive else 0,
        customer=None, expires_at=now + 90 * 86400, tax_date=now, ship_from_details=None, shipping_cost=None,
        customer_details={
            "address": {key: address.get(key) for key in ("city", "country", "line1", "line2", "postal_code", "state")},
            "address_source": "billing", "ip_address": None, "tax_ids": [], "taxability_override": "none",
        },
        tax_breakdown=[{
            "amount": tax, "inclusive": inclusive, "taxable_amount": amount - tax if inclusive else amount,
            "taxability_reason": "standard_rated" if rate.percentage else "not_collecting",
            "tax_rate_details": {
                "country": str(address["country"]).upper(), "percentage_decimal": f"{rate.percentage:.1f}",
                "state": None, "tax_type": rate.tax_type, "flat_amount": None, "rate_type": "percentage",
            },
        }],
    )
    calc["line_items"] = {
        "object": "list", "has_more": False, "url": f"/v1/tax/calculations/{calc['id']}/line_items",
        "data": [{
            "id": f"tax_li_{secrets.token_hex(8)}", "object": "tax.calculation_line_item", "amount": amount,
            "amount_tax": tax, "livemode": livemode, "product": None, "quantity": 1, "reference": reference or "line",
            "tax_behavior": behavior, "tax_code": tax_code,
        }],
    }
    return calc


def transaction(calc: Mapping[str, Any], reference: str) -> dict[str, Any]:
    """The ``tax.transaction`` Stripe records from ``calc`` when the PaymentIntent linked to
    it succeeds (``reference``: the PaymentIntent's id)."""
    tx = fixture("tax.transaction")
    tx.update(
        id=f"tax_{secrets.token_hex(12)}", created=int(time.time()), currency=calc["currency"],
        customer=None, customer_details=calc["customer_details"], livemode=calc["livemode"], metadata={},
        posted_at=int(time.time()), reference=reference, reversal=None, ship_from_details=None, shipping_cost=None,
        tax_date=calc["tax_date"], type="transaction",
    )
    tx["line_items"] = {"object": "list", "has_more": False, "url": f"/v1/tax/transactions/{tx['id']}/line_items",
                        "data": []}
    return tx


def reversal_share(tax: int, total: int, refunded_before: int, refunded_now: int) -> int:
    """The tax a refund of ``refunded_now`` reverses, after ``refunded_before`` was refunded,
    of a payment of ``total`` with ``tax`` in it: the tax of everything refunded so far
    (rounded half up) less what earlier refunds reversed, so partial refunds add up to the
    tax exactly when the whole amount is refunded."""
    def upto(refunded: int) -> int:
        share = Decimal(tax) * Decimal(refunded) / Decimal(total)
        return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return upto(refunded_before + refunded_now) - upto(refunded_before)


def reversal(original: Mapping[str, Any], *, refund: str, amount: int, tax: int) -> dict[str, Any]:
    """The ``tax.transaction`` of type ``reversal`` Stripe records for a refund of ``amount``
    (``tax`` of it tax) of the PaymentIntent behind ``original``."""
    tx = transaction({**original, "tax_date": original["tax_date"]}, reference=f"{refund}")
    tx.update(type="reversal", reversal={"original_transaction": original["id"]})
    tx["line_items"]["data"] = [{
        "id": f"tax_li_{secrets.token_hex(8)}", "object": "tax.transaction_line_item", "amount": -amount,
        "amount_tax": -tax, "livemode": original["livemode"], "metadata": None, "product": None, "quantity": 1,
        "reference": refund, "reversal": {"original_line_item": "line"}, "tax_behavior": "exclusive",
        "tax_code": "txcd_00000000", "type": "reversal",
    }]
    return tx


def checkout_tax(
    *, amount: int, address: Mapping[str, Any], behavior: str, livemode: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """What Stripe Checkout (``automatic_tax[enabled]=true``) computes for a Session of one
    line of ``amount`` minor units once the customer entered ``address``: the tax
    (``total_details.amount_tax``) and ``total_details.breakdown.taxes``, each with its
    ``rate`` (a ``tax_rate``). ``TaxLocationInvalid`` for an address it cannot place."""
    check_location(address)
    country = str(address["country"]).upper()
    rate = rate_for(country)
    tax = line_tax(amount, rate, behavior)
    inclusive = behavior == "inclusive"
    percentage = float(rate.percentage)
    tax_rate = {
        "id": f"txr_{secrets.token_hex(12)}", "object": "tax_rate", "active": True, "country": country,
        "created": int(time.time()), "description": None, "display_name": rate.tax_type.replace("_", " ").upper()
        if rate.tax_type != "sales_tax" else "Sales Tax", "effective_percentage": percentage,
        "flat_amount": None, "inclusive": inclusive, "jurisdiction": rate.jurisdiction or None,
        "jurisdiction_level": "country", "livemode": livemode, "metadata": {}, "percentage": percentage,
        "rate_type": "percentage", "state": None, "tax_type": rate.tax_type,
    }
    taxes = [{
        "amount": tax, "rate": tax_rate,
        "taxability_reason": "standard_rated" if rate.percentage else "not_collecting",
        "taxable_amount": amount - tax if inclusive else amount,
    }]
    return tax, taxes
