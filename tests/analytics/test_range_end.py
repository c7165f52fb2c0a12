"""The analytics range ends at the local midnight after ``to``: a payment, a success or a
refund at that very instant belongs to the next day, not to the range."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from django_apranova_payments.analytics import local_midnight
from django_apranova_payments.models import Payment
from tests.factories import dated_payment

pytestmark = pytest.mark.django_db

TO = date(2026, 11, 30)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_a_payment_at_the_local_midnight_after_to_is_not_in_the_range(zone):
    with override_settings(TIME_ZONE=zone):
        midnight = local_midnight(TO + timedelta(days=1))
        just_before = midnight - timedelta(microseconds=1)
        last = dated_payment(just_before, "10.00", refunded="1.00")
        dated_payment(midnight, "99.00", refunded="5.00")

        between = Payment.objects.created_between(date(2026, 11, 1), TO)
        report = Payment.objects.analytics(date(2026, 11, 1), TO)

    assert list(between) == [last]
    assert report.currencies["usd"].payments == 1
    assert report.currencies["usd"].gross == Decimal("10.00")
    assert report.currencies["usd"].refunded == Decimal("1.00")
