"""A custom user model, so the suite proves the package never assumes ``auth.User``."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Member(AbstractUser):
    email = models.EmailField(unique=True)

    EMAIL_FIELD = "email"


class SignalTally(models.Model):
    """How often a signal fired, counted in the database inside the signal's transaction, so
    only committed deliveries count (used by the concurrency tests)."""

    name = models.CharField(max_length=100, unique=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.count}"


class Course(models.Model):
    """A course as the how-tos' ``courses`` app has it, with the coupons that name it: the
    per-course ``COUPON_VALIDATOR`` of docs/how-to/discounts.md runs against these."""

    title = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="usd")
    coupons = models.ManyToManyField("apranova_payments.Coupon", blank=True, related_name="courses")

    def __str__(self) -> str:
        return self.title
