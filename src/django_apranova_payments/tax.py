"""Stripe Tax on create-payment: the billing address, checked as Stripe needs it, and the
calculation a PaymentIntent is linked to.

With ``TAX`` set, a payment that is not free is priced in two calls to Stripe: ``POST
/v1/tax/calculations`` for the price after any coupon (exact minor units, ``TAX``'s tax code
and behaviour), then the PaymentIntent for the calculation's ``amount_total``, linked to it
with ``hooks[inputs][tax][calculation]``. Stripe then records the tax transaction itself when
the PaymentIntent succeeds, and reverses the share of each refund (made here or in the
Dashboard): nothing else is ours to record. Disputes are not reversed by Stripe; see the
how-to "Charge tax and send receipts".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from . import exceptions
from .charges import Charge
from .conf import Tax
from .gateway import TaxCalculationData, get_gateway
from .services.keys import stripe_key

logger = logging.getLogger(__name__)

#: ISO 3166-1 alpha-2: every country code a billing address may name.
COUNTRIES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

#: The longest each part of an address may be (Stripe takes up to 5000; no real one is that long).
MAX_LENGTHS = {"country": 2, "postalCode": 20, "state": 100, "city": 100, "line1": 200}
#: The JSON keys of ``billingAddress`` and the keys Stripe (and ``Payment.billing_address``) use.
STRIPE_KEYS = {"country": "country", "postalCode": "postal_code", "state": "state", "city": "city",
               "line1": "line1"}

#: Postal codes Stripe needs to place an address, by country: a US ZIP code (ZIP+4 taken); a
#: Canadian postal code (or, failing it, the province in ``state``).
_POSTAL_CODES = {
    "US": re.compile(r"[0-9]{5}(-[0-9]{4})?"),
    "CA": re.compile(r"[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]"),
}
_STATE_CODE = re.compile(r"[A-Za-z0-9]{1,3}")


def billing_address(value: Any) -> dict[str, str]:
    """``billingAddress`` as sent, checked and in Stripe's keys (``postal_code``…), or DRF's
    ``ValidationError`` on ``billingAddress`` saying what is wrong."""
    def refuse(message: str) -> ValidationError:
        return ValidationError({"billingAddress": [message]}, code="invalid")

    if not isinstance(value, Mapping):
        raise refuse(_("An object such as {\"country\": \"DE\", \"postalCode\": \"10115\"} is required."))
    unknown = sorted(str(key) for key in value if key not in MAX_LENGTHS)
    if unknown:
        raise refuse(_("Unknown keys: %(keys)s. Use %(known)s.") % {
            "keys": ", ".join(unknown[:5]), "known": ", ".join(MAX_LENGTHS)})
    address: dict[str, str] = {}
    for key, limit in MAX_LENGTHS.items():
        part = value.get(key)
        if part is None:
            continue
        if not isinstance(part, str):
            raise refuse(_("%(key)s must be a string.") % {"key": key})
        part = " ".join(part.split())
        if len(part) > limit or not part.isprintable():
            raise refuse(_("%(key)s must be at most %(limit)d printable characters.") % {"key": key, "limit": limit})
        if part:
            address[STRIPE_KEYS[key]] = part
    country = address.get("country", "").upper()
    if not country:
        raise refuse(_("country is required (an ISO 3166 code such as \"DE\")."))
    if country not in COUNTRIES:
        raise refuse(_("country must be an ISO 3166 code such as \"DE\", not \"%(value)s\".") % {"value": country})
    address["country"] = country
    postal = address.get("postal_code", "")
    shape = _POSTAL_CODES.get(country)
    if country == "US" and not (shape and shape.fullmatch(postal)):
        raise refuse(_("A US address needs its ZIP code (12345 or 12345-6789) in postalCode."))
    if country == "CA" and not (shape and shape.fullmatch(postal)) and not address.get("state"):
        raise refuse(_("A Canadian address needs its postal code (A1A 1A1) in postalCode, or its province in state."))
    if "state" in address and country in ("US", "CA") and not _STATE_CODE.fullmatch(address["state"]):
        raise refuse(_("state must be the state or province code (such as \"NY\" or \"QC\")."))
    return address


@dataclass(frozen=True)
class Taxed:
    """A charge priced by Stripe Tax: ``total`` (minor units) is charged, ``calculation``
    has the tax in it."""

    calculation: TaxCalculationData
    address: Mapping[str, str]

    @property
    def total(self) -> int:
        return self.calculation.amount_total


def calculate(tax: Tax, charge: Charge, address: Mapping[str, str], *, scope: tuple[object, ...],
              idempotency_key: str | None) -> Taxed:
    """Stripe Tax's calculation for ``charge`` (the price after any coupon) sold to
    ``address``; a retry of the same Idempotency-Key gets Stripe's same calculation."""
    calculation = get_gateway().calculate_tax(
        amount=charge.minor_units, currency=charge.currency, address=address, tax_code=tax.tax_code,
        behavior=tax.behavior, reference=(charge.metadata.get("product_name") or "payment")[:200],
        idempotency_key=stripe_key("apranova-tax-", idempotency_key, *scope),
    )
    expected = charge.minor_units + (calculation.tax_amount if tax.behavior == "exclusive" else 0)
    if calculation.currency != charge.currency or calculation.amount_total != expected:
        logger.error("Stripe Tax calculation %s is %s %s (tax %s) for %s %s %s", calculation.id,
                     calculation.amount_total, calculation.currency, calculation.tax_amount, tax.behavior,
                     charge.minor_units, charge.currency)
        raise exceptions.GatewayError()
    return Taxed(calculation, dict(address))
