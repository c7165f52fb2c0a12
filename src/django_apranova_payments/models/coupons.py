"""``Coupon``: a discount code staff hand out, the redemptions its payments hold, and
batches of single-use codes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .. import money
from .choices import PaymentStatus

#: What a code may look like: letters, digits, ``-`` and ``_``, 3 to 40 characters. Codes are
#: stored upper case and matched without regard to case.
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}", re.ASCII)
CODE_MAX_LENGTH = 40
#: The characters of a generated code: no 0 and O, no 1, I and L, which read alike on paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: Random characters in a generated code, after its prefix: 31**8, about 8.5 * 10**11 codes.
CODE_RANDOM_LENGTH = 8
#: Codes checked against the table in one statement (below SQLite's oldest parameter limit).
_CHECK_CHUNK = 500
#: Rounds of drawing codes again for those already taken, and of inserting a batch again
#: after another transaction took one of its codes first.
_DRAWS = 10
_INSERTS = 3


def normalize_code(value: object) -> str | None:
    """A code as stored (upper case, stripped), or ``None`` when ``value`` cannot be one."""
    if not isinstance(value, str) or not value.isascii():  # "ß".upper() is "SS"
        return None
    code = value.strip().upper()
    return code if CODE_PATTERN.fullmatch(code) else None


def holding_redemption(path: str = "") -> Q:
    """The payments that hold a redemption: every one that is not canceled. ``path`` leads
    to them (``"payments__"`` from a coupon). The one definition for the limits and the admin."""
    return ~Q(**{f"{path}status": PaymentStatus.CANCELED})


def random_code(prefix: str = "") -> str:
    """``prefix`` and ``CODE_RANDOM_LENGTH`` characters of ``CODE_ALPHABET``, from ``secrets``."""
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _n in range(CODE_RANDOM_LENGTH))


class CouponQuerySet(models.QuerySet["Coupon"]):
    def with_redemptions_held(self) -> CouponQuerySet:
        """Each coupon with ``redemptions_held``, counted in the same statement."""
        return self.annotate(redemptions_held=Count("payments", filter=holding_redemption("payments__")))

    def create_single_use(
        self, count: int, template: Coupon, prefix: str = "", draw: Callable[[str], str] = random_code
    ) -> list[Coupon]:
        """``count`` new coupons with ``template``'s discount, dates and description, each
        redeemed once at most, by one student. Their codes are ``draw(prefix)`` and unique: a
        code already taken is drawn again; all are inserted in one statement, in one
        transaction, and the batch is drawn again if another transaction took a code first."""
        prefix = prefix.strip().upper()
        for _attempt in range(_INSERTS - 1):
            try:
                return self._insert_single_use(count, template, prefix, draw)
            except IntegrityError:
                continue
        return self._insert_single_use(count, template, prefix, draw)

    def _insert_single_use(self, count: int, template: Coupon, prefix: str, draw: Callable[[str], str]) -> list[Coupon]:
        with transaction.atomic(using=self.db):
            codes = self._new_codes(count, prefix, draw)
            copies: list[Any] = [template.single_use_copy(code) for code in codes]
            return cast("list[Coupon]", self.bulk_create(copies))

    def _new_codes(self, count: int, prefix: str, draw: Callable[[str], str]) -> list[str]:
        codes: set[str] = set()
        for _round in range(_DRAWS):
            drawn = {draw(prefix) for _n in range(count - len(codes))} - codes
            codes |= drawn - self._taken(drawn)
            if len(codes) == count:
                return sorted(codes)
        raise IntegrityError(f"Could not draw {count} unused codes with the prefix {prefix!r}.")

    def of_codes(self, codes: Iterable[str]) -> list[Coupon]:
        """The coupons of ``codes`` (as stored, upper case), ordered by code, read
        ``_CHECK_CHUNK`` codes per statement."""
        ordered = sorted(set(codes))
        chunks = [ordered[i:i + _CHECK_CHUNK] for i in range(0, len(ordered), _CHECK_CHUNK)]
        return [coupon for chunk in chunks for coupon in self.filter(code__in=chunk).order_by("code")]

    def _taken(self, codes: set[str]) -> set[str]:
        return {coupon.code for coupon in self.of_codes(codes)}


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

    objects = CouponQuerySet.as_manager()

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

    def single_use_copy(self, code: str) -> Coupon:
        """A new coupon ``code`` with this one's discount, dates and description, for one
        redemption by one student."""
        return Coupon(
            code=code.strip().upper(), description=self.description, percent_off=self.percent_off,
            amount_off=self.amount_off, currency=self.currency.strip().lower(), valid_from=self.valid_from,
            valid_until=self.valid_until, max_redemptions=1, max_redemptions_per_user=1, active=True,
        )

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
