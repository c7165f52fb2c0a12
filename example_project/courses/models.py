"""Courses a student can buy, the enrollments a successful payment creates, and the ones a
refund or a chargeback took away."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from django_apranova_payments import money


class Course(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="usd", help_text="Lowercase ISO 4217 code, e.g. usd.")

    class Meta:
        ordering = ["title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        self.currency = self.currency.lower()
        try:
            money.normalize_currency(self.currency)
        except money.MoneyError as exc:
            raise ValidationError({"currency": str(exc)}) from exc
        if self.is_free:
            return  # no charge to check: the package makes a free payment (ALLOW_FREE)
        try:
            money.to_minor_units(Decimal(self.price), self.currency)
        except money.MoneyError as exc:
            raise ValidationError({"price": str(exc)}) from exc

    @property
    def is_free(self) -> bool:
        """A price of 0: the resolver answers 0 and the package stores a succeeded ``free_…``
        payment (``ALLOW_FREE``), so the same ``payment_succeeded`` receiver enrolls."""
        return self.price is not None and Decimal(self.price) == 0

    @property
    def formatted_price(self) -> str:
        return money.format_amount(self.price, self.currency)

    @property
    def amount_minor(self) -> int:
        """The price in the currency's minor units, as Stripe.js' Payment Element wants it
        (0 for a free course, which has no Payment Element)."""
        return 0 if self.is_free else money.to_minor_units(self.price, self.currency)


class Enrollment(models.Model):
    """A student's access to a course; one per student and course, whatever was paid."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    payment = models.ForeignKey(
        "apranova_payments.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The payment that granted the enrollment.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="courses_enrollment_user_course_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course}"


class RevokedEnrollment(models.Model):
    """An enrollment taken away because its payment was refunded in full or disputed: what
    "My courses" lists as refunded, and what a refund that fails after all gives back."""

    class Reason(models.TextChoices):
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="revoked_enrollments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="+")
    payment = models.OneToOneField(
        "apranova_payments.Payment", on_delete=models.CASCADE, related_name="+",
        help_text="The payment that had granted the enrollment.",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    enrolled_at = models.DateTimeField(help_text="When the enrollment was made.")
    revoked_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-revoked_at"]
        verbose_name = _("revoked enrollment")
        verbose_name_plural = _("revoked enrollments")

    def __str__(self) -> str:
        return f"{self.user} in {self.course} ({self.get_reason_display()})"
