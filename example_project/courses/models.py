"""Courses a student can buy, and the enrollments a successful payment creates."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from django_apranova_payments import money


class Course(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="usd", help_text="Lowercase ISO 4217 code, e.g. usd.")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        self.currency = self.currency.lower()
        try:
            money.to_minor_units(Decimal(self.price), self.currency)
        except money.MoneyError as exc:
            raise ValidationError({"price": str(exc)}) from exc

    @property
    def formatted_price(self) -> str:
        return money.format_amount(self.price, self.currency)

    @property
    def amount_minor(self) -> int:
        """The price in the currency's minor units, as Stripe.js' Payment Element wants it."""
        return money.to_minor_units(self.price, self.currency)


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
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="courses_enrollment_user_course_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course}"
