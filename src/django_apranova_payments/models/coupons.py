"""``Coupon``: a discount code staff hand out, and the redemptions its payments hold."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .. import money

#: What a code may look like: letters, digits, ``-`` and ``_``, 3 to 40 characters. Codes are
#: stored upper case and matched without regard to case.
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}", re.ASCII)
CODE_MAX_LENGTH = 40


def normalize_code(value: object) -> str | None:
    """A code as stored (upper case, stripped), or ``None`` when ``value`` cannot be one."""
    if not isinstance(value, str) or not value.isascii():  # "ß".upper() is "SS"
        return None
    code = value.strip().upper()
    return code if CODE_PATTERN.fullmatch(code) else None


class Coupon(models.Model):
    """A discount: ``percent_off`` (more than 0, at most 100) or ``amount_off`` in its own
    ``currency``, exactly one of the two. Every payment with the coupon that is not canceled
    holds one redemption; ``max_redemptions`` and ``max_redemptions_per_user`` (``None``:
    unlimited) bound them."""

    code = models.CharField(
        _("code"), max_length=CODE_MAX_LENGTH, unique=True,
        validators=[RegexValidator(
            CODE_PATTERN.pattern + r"\Z", flags=re.IGNORECASE,
            message=_("3 to 40 letters, digits, '-' or '_', starting with a letter or digit."),
        )],
        help_text=_("What students type; matched without regard to case."),
    )
    description = models.CharField(
        _("description"), max_length=200, blank=True, help_text=_("For staff: what the coupon is for.")
    )
    percent_off = models.DecimalField(
        _("percent off"), max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
    )
    amount_off = models.DecimalField(
        _("amount off"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("In major units of the coupon's currency; it applies to prices in that currency only."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, blank=True, help_text=_("The currency of the amount off (lowercase ISO 4217).")
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(
        _("redemptions"), null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("How many payments may use it in all; empty: unlimited."),
    )
    max_redemptions_per_user = models.PositiveIntegerField(
        _("redemptions per student"), null=True, blank=True, default=1, validators=[MinValueValidator(1)],
        help_text=_("How many payments one student may use it for; empty: unlimited."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.CheckConstraint(
                condition=(Q(percent_off__isnull=False, amount_off__isnull=True, currency="")
                           | (Q(percent_off__isnull=True, amount_off__isnull=False) & ~Q(currency=""))),
                name="apranova_coupon_percent_xor_amount",
            ),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True) | Q(percent_off__gt=0, percent_off__lte=100),
                name="apranova_coupon_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(amount_off__isnull=True) | Q(amount_off__gt=0), name="apranova_coupon_amount_positive"
            ),
            models.CheckConstraint(condition=Q(code=Upper("code")), name="apranova_coupon_code_upper"),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True) | Q(max_redemptions__gte=1),
                name="apranova_coupon_max_redemptions_min",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions_per_user__isnull=True) | Q(max_redemptions_per_user__gte=1),
                name="apranova_coupon_max_per_user_min",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.code = self.code.strip().upper()
        self.currency = self.currency.strip().lower()
        super().save(*args, **kwargs)

    @property
    def is_limited(self) -> bool:
        """Whether redeeming it needs the coupon's row lock (some limit to keep)."""
        return self.max_redemptions is not None or self.max_redemptions_per_user is not None

    @property
    def is_full_discount(self) -> bool:
        """Whether it makes every price free (100% off)."""
        return self.percent_off is not None and self.percent_off >= 100

    def describe(self) -> str:
        """``'25% off'`` or ``'10.00 USD off'``."""
        if self.percent_off is not None:
            return _("%(percent)s%% off") % {"percent": f"{self.percent_off.normalize():f}"}
        if self.amount_off is not None:
            return _("%(amount)s off") % {"amount": money.format_amount(self.amount_off, self.currency)}
        return ""

    def clean(self) -> None:
        """Field messages for the admin's form: one kind of discount, an amount that is
        exact for its currency, dates in order."""
        super().clean()
        self.code = (self.code or "").strip().upper()
        self.currency = (self.currency or "").strip().lower()
        errors: dict[str, Any] = {}
        if (self.percent_off is None) == (self.amount_off is None):
            neither = self.percent_off is None
            errors["percent_off"] = (
                _("Give a percent off or an amount off.") if neither
                else _("Give a percent off or an amount off, not both.")
            )
        elif self.percent_off is not None and self.currency:
            errors["currency"] = _("A percent off applies in every currency: leave the currency empty.")
        elif self.amount_off is not None:
            errors.update(self._amount_errors())
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors["valid_until"] = _("Must be later than 'valid from'.")
        if errors:
            raise ValidationError(errors)

    def _amount_errors(self) -> dict[str, Any]:
        if not self.currency:
            return {"currency": _("An amount off needs its currency.")}
        try:
            money.to_minor_units(self.amount_off, self.currency, minimum=False)  # type: ignore[arg-type]
        except money.MoneyError as exc:
            field = "currency" if not self._known_currency() else "amount_off"
            return {field: str(exc)}
        return {}

    def _known_currency(self) -> bool:
        try:
            money.normalize_currency(self.currency)
        except money.MoneyError:
            return False
        return True
