"""Receipt numbers: one gap-free sequence per installation, never reused.

A payment is numbered in the transaction that makes it succeed, while its row is locked:
the sequence's row is locked next (always in that order, so two paths never wait on each
other), its ``last`` raised by one and the number stored on the payment. A rollback returns
the number with everything else, so no number is skipped, and the unique column refuses a
number given twice. Receipts are on when ``SELLER`` is set; a payment that succeeded
before that is numbered when its receipt is first asked for (``ensure_number``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import exceptions
from .conf import Seller, app_settings
from .models import Payment, PaymentStatus, ReceiptSequence, concrete_field
from .money import from_minor_units
from .money_display import format_money, group_digits

logger = logging.getLogger(__name__)

#: The one sequence receipts are numbered from.
SEQUENCE = "receipts"


def seller() -> Seller | None:
    """``SELLER`` as configured, or ``None`` when it is not set or cannot be read (``manage.py
    check`` says why, E011): a typo there never stops a payment from succeeding."""
    try:
        value: Seller | None = app_settings.SELLER
    except ImproperlyConfigured as exc:
        logger.error("No receipt number given: %s", exc)
        return None
    return value


def next_number() -> int:
    """The next receipt number, taken under the sequence row's lock for the rest of the
    caller's transaction: one statement, ``UPDATE … SET last = last + 1 … RETURNING last``
    (PostgreSQL, and SQLite since 3.35); the first receipt ever makes the row."""
    with transaction.atomic(savepoint=False):
        number = _increment()
        if number is None:
            ReceiptSequence.objects.get_or_create(name=SEQUENCE)  # the first receipt (a savepoint)
            number = _increment()
        assert number is not None
        return number


def _increment() -> int | None:
    connection = connections[router.db_for_write(ReceiptSequence)]
    quote = connection.ops.quote_name
    meta = ReceiptSequence._meta
    last, name = (quote(str(concrete_field(meta.get_field(field)).column)) for field in ("last", "name"))
    # Only quoted identifiers are formatted in; the value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {last} = {last} + 1 WHERE {name} = %s RETURNING {last}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [SEQUENCE])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def number_if_due(payment: Payment) -> int | None:
    """The number a payment that is succeeding now takes (``None`` when receipts are off or it
    has one): called by the status machine with the payment's row locked."""
    if payment.receipt_number is not None or seller() is None:
        return None
    return next_number()


def ensure_card(payment: Payment) -> Payment:
    """``payment`` with what it was paid with: a card's brand and last four digits, or the
    payment method's type (``link``, ``sepa_debit`` …), asked of Stripe once (one call, the
    PaymentIntent with its PaymentMethod expanded, no retry) and kept: no other card detail is
    stored. A free payment asks no one; Stripe out of reach leaves the receipt without it (the
    next view asks again)."""
    if payment.card_brand or not payment.stripe_payment_intent or payment.is_free:
        return payment
    from .gateway import get_gateway  # the gateway imports conf, which the models import

    try:
        method = get_gateway().payment_card(payment.stripe_payment_intent)
    except exceptions.GatewayError:
        logger.warning("The card of payment %s could not be asked for; its receipt leaves it out", payment.pk)
        return payment
    brand = (method.brand or method.type) if method is not None else ""
    if not brand:
        return payment
    payment.card_brand, payment.card_last4 = brand[:20], method.last4[-4:] if method is not None else ""
    Payment.objects.filter(pk=payment.pk).update(card_brand=payment.card_brand, card_last4=payment.card_last4)
    return payment


def ensure_number(payment: Payment) -> Payment:
    """``payment`` (succeeded) with its receipt number, numbering it now, under its row lock,
    when it succeeded before ``SELLER`` was set."""
    if payment.receipt_number is not None or payment.status != PaymentStatus.SUCCEEDED:
        return payment
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        number = number_if_due(locked)
        if number is not None:
            locked.receipt_number = number
            locked.save(update_fields=["receipt_number", "updated_at"])
    return locked


# --- the receipt as a reader sees it ---------------------------------------------------------

#: How a receipt number is written: ``R-`` and at least six digits (``R-000042``; the millionth
#: receipt is ``R-1000000``). The file name of its PDF is ``receipt-R-000042.pdf``.
NUMBER_FORMAT = "R-{:06d}"

#: Stripe Tax's ``tax_type`` values, as a receipt names them; any other is "Tax".
TAX_TYPES = {
    "vat": gettext_lazy("VAT"),
    "gst": gettext_lazy("GST"),
    "igst": gettext_lazy("IGST"),
    "cgst": gettext_lazy("CGST"),
    "sgst": gettext_lazy("SGST"),
    "hst": gettext_lazy("HST"),
    "pst": gettext_lazy("PST"),
    "qst": gettext_lazy("QST"),
    "rst": gettext_lazy("RST"),
    "jct": gettext_lazy("JCT"),
    "sales_tax": gettext_lazy("Sales tax"),
}


def number_text(number: int) -> str:
    """A receipt number as printed: ``R-000042``."""
    return NUMBER_FORMAT.format(number)


def sends_own_receipts() -> bool:
    """Whether the package e-mails its own numbered receipts: ``RECEIPT_EMAIL`` and ``SELLER``
    both set. Stripe's own receipt (the PaymentIntent's ``receipt_email``) is then not asked
    for, so a student never gets two."""
    return app_settings.RECEIPT_EMAIL is True and seller() is not None


@dataclass(frozen=True)
class TaxLine:
    """One row of the tax breakdown: ``VAT 19% (DE)`` or ``includes GST 18% (IN)``."""

    label: str
    amount: str


@dataclass(frozen=True)
class RefundLine:
    """A refund that succeeded: when and how much."""

    date: str
    amount: str


@dataclass(frozen=True)
class Receipt:
    """A succeeded payment's receipt, every figure written for the active language: what the
    HTML page, the PDF and the e-mail all print."""

    number: str
    paid_on: str
    currency: str
    seller: Seller
    buyer_name: str
    buyer_email: str
    buyer_address: tuple[str, ...]
    product: str
    price: str
    discount: str
    coupon_code: str
    subtotal: str
    taxes_added: tuple[TaxLine, ...]  # exclusive: on top of the subtotal, before the total
    taxes_included: tuple[TaxLine, ...]  # inclusive: within the total, printed under it
    total: str
    refunds: tuple[RefundLine, ...]
    refunded: str
    net: str
    card: str = ""  # "Visa •••• 4242" when known

    @property
    def filename(self) -> str:
        return f"receipt-{self.number}.pdf"


def build(payment: Payment, sold_by: Seller) -> Receipt:
    """The receipt of ``payment`` (succeeded, numbered) in the active language.

    ``amount`` is what was charged: the price less the discount, plus the tax of the breakdown's
    exclusive rows (an ``inclusive`` row's tax is within the price). So the price before the
    discount is ``amount - exclusive tax + discount``."""
    from .services.customers import user_email  # the services import the status machine, which imports this

    if payment.receipt_number is None:
        raise ValueError("a receipt needs a numbered payment")
    currency = payment.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    rows = [row for row in payment.tax_breakdown if isinstance(row, dict)] if isinstance(
        payment.tax_breakdown, list) else []
    taxed = [row for row in rows if _minor(row.get("amount"))]
    added = [row for row in taxed if row.get("inclusive") is not True]
    included = [row for row in taxed if row.get("inclusive") is True]
    if taxed:
        exclusive_tax = sum((from_minor_units(_minor(row.get("amount")), currency) for row in added), Decimal(0))
        taxes_added = tuple(_tax_line(row, currency) for row in added)
        taxes_included = tuple(_tax_line(row, currency) for row in included)
    else:  # a tax without its breakdown: added on top, as TAX's default behaviour is
        exclusive_tax = payment.amount_tax
        taxes_added = (TaxLine(_("Tax"), money(payment.amount_tax)),) if payment.amount_tax else ()
        taxes_included = ()
    price = payment.amount - exclusive_tax + payment.discount
    refunds = tuple(
        RefundLine(_date(refund.created_at), money(refund.amount))
        for refund in payment.refunds.filter(status="succeeded").order_by("created_at", "pk")
    )
    user = payment.user
    full_name = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return Receipt(
        number=number_text(payment.receipt_number),
        paid_on=_date(payment.succeeded_at or payment.updated_at),
        currency=currency.upper(),
        seller=sold_by,
        buyer_name=full_name or user.get_username(),
        buyer_email=user_email(user) or "",
        buyer_address=_address_lines(payment.billing_address),
        product=_product(payment.metadata),
        price=money(price),
        discount=money(payment.discount) if payment.discount else "",
        coupon_code=payment.coupon.code if payment.coupon_id and payment.coupon else "",
        subtotal=money(price - payment.discount) if exclusive_tax else "",
        taxes_added=taxes_added,
        taxes_included=taxes_included,
        total=money(payment.amount),
        refunds=refunds,
        refunded=money(payment.amount_refunded) if payment.amount_refunded else "",
        net=money(payment.amount - payment.amount_refunded) if payment.amount_refunded else "",
        card=_card(payment),
    )


def _card(payment: Payment) -> str:
    """``Visa •••• 4242`` (the brand as people write it, the last four digits), or the payment
    method's type (``Link``) when it was not a card; "" when unknown."""
    if not payment.card_brand:
        return ""
    brand = CARD_BRANDS.get(payment.card_brand, payment.card_brand.replace("_", " ").title())
    return f"{brand} •••• {payment.card_last4}" if payment.card_last4 else brand


#: Stripe's card brands as people write them.
CARD_BRANDS = {"amex": "American Express", "diners": "Diners Club", "discover": "Discover", "eftpos_au": "eftpos",
               "jcb": "JCB", "mastercard": "Mastercard", "unionpay": "UnionPay", "visa": "Visa",
               "cartes_bancaires": "Cartes Bancaires", "interac": "Interac", "link": "Link"}


def _product(metadata: Any) -> str:
    name = metadata.get("product_name") if isinstance(metadata, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else str(_("Payment"))


def _date(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATE_FORMAT")


def _minor(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _tax_line(row: dict[str, Any], currency: str) -> TaxLine:
    tax = str(TAX_TYPES.get(str(row.get("tax_type") or ""), _("Tax")))
    values = {"tax": tax, "rate": _rate(row.get("percentage")), "place": _place(row)}
    if not values["rate"]:
        label = (_("includes %(tax)s (%(place)s)") if row.get("inclusive") else _("%(tax)s (%(place)s)")) % values
    elif row.get("inclusive"):
        label = _("includes %(tax)s %(rate)s (%(place)s)") % values
    else:
        label = _("%(tax)s %(rate)s (%(place)s)") % values
    if not values["place"]:
        label = label.replace(" ()", "")
    return TaxLine(label, format_money(from_minor_units(_minor(row.get("amount")), currency), currency))


def _rate(value: Any) -> str:
    """Stripe's ``"19.0"`` as ``19%``, ``"7.25"`` as ``7.25%`` (``7,25%`` in German)."""
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    if not rate.is_finite() or rate < 0:
        return ""
    digits = f"{rate.normalize():f}" if rate != rate.to_integral_value() else f"{int(rate)}"
    return f"{group_digits(digits)}%"


def _place(row: dict[str, Any]) -> str:
    parts = [str(row.get(key) or "").strip().upper() for key in ("country", "state")]
    return "-".join(part for part in parts if part)


def _address_lines(address: Any) -> tuple[str, ...]:
    """Stripe's address keys as the lines of an envelope."""
    if not isinstance(address, dict):
        return ()

    def text(key: str) -> str:
        value = address.get(key)
        return value.strip() if isinstance(value, str) else ""

    lines = [text("line1"), text("line2"), " ".join(p for p in (text("postal_code"), text("city")) if p),
             text("state"), text("country").upper()]
    return tuple(line for line in lines if line)
