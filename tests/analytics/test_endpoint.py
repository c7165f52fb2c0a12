"""``GET analytics/``: staff figures per currency, the documented shape, who may call it, and
the 400s for parameters that cannot be reported."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PaymentFactory, dated_payment, discounted_payment, staff_holding

URL = "/billing/v1/analytics/"


@pytest.fixture
def staff(db: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_holding("view_payment"))
    return client


made = dated_payment


def test_the_url_is_named_analytics_in_the_namespace():
    assert reverse("apranova_payments:analytics") == URL


def test_staff_get_the_documented_shape_with_amounts_as_decimal_strings(staff):
    discounted_payment(datetime(2026, 11, 1, 9, tzinfo=UTC), "999.00", "250.00", refunded="99.00",
                       amount_tax=Decimal("166.50"))
    made(datetime(2026, 11, 2, 9, tzinfo=UTC), "1000", "jpy")
    made(datetime(2026, 11, 2, 10, tzinfo=UTC), "49.00", status="failed", failure_code="card_declined",
         amount_tax=Decimal("8.17"))

    response = staff.get(URL, {"from": "2026-11-01", "to": "2026-11-02", "interval": "day"})

    assert response.status_code == 200
    assert response.json() == {
        "from": "2026-11-01", "to": "2026-11-02", "interval": "day",
        "currencies": {
            "jpy": {"gross": "1000", "refunded": "0", "net": "1000", "discounts": "0", "tax": "0", "payments": 1,
                    "succeeded": 1, "failed": 0, "canceled": 0, "disputed": 0},
            "usd": {"gross": "999.00", "refunded": "99.00", "net": "900.00", "discounts": "250.00", "tax": "166.50",
                    "payments": 2, "succeeded": 1, "failed": 1, "canceled": 0, "disputed": 0},
        },
        "series": [
            {"period": "2026-11-01", "currency": "jpy", "gross": "0", "refunded": "0", "net": "0", "discounts": "0",
             "tax": "0", "succeeded": 0, "failed": 0},
            {"period": "2026-11-01", "currency": "usd", "gross": "999.00", "refunded": "99.00", "net": "900.00",
             "discounts": "250.00", "tax": "166.50", "succeeded": 1, "failed": 0},
            {"period": "2026-11-02", "currency": "jpy", "gross": "1000", "refunded": "0", "net": "1000",
             "discounts": "0", "tax": "0", "succeeded": 1, "failed": 0},
            {"period": "2026-11-02", "currency": "usd", "gross": "0.00", "refunded": "0.00", "net": "0.00",
             "discounts": "0.00", "tax": "0.00", "succeeded": 0, "failed": 1},
        ],
        "failureCodes": [{"code": "card_declined", "count": 1}],
    }


def test_without_parameters_the_last_30_days_by_day(staff):
    made(timezone.now() - timedelta(days=29), "10.00")
    made(timezone.now() - timedelta(days=31), "20.00")

    body = staff.get(URL).json()

    today = timezone.localdate()
    assert (body["from"], body["to"], body["interval"]) == (str(today - timedelta(days=29)), str(today), "day")
    assert len(body["series"]) == 30
    assert body["currencies"]["usd"]["gross"] == "10.00"


def test_by_month_without_from_the_last_12_months(staff):
    body = staff.get(URL, {"interval": "month", "to": "2026-11-15"}).json()
    assert (body["from"], body["to"], body["interval"]) == ("2025-12-01", "2026-11-15", "month")


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"from": "2026-13-01"}, {"from": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}),
        ({"to": "yesterday"}, {"to": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}),
        ({"from": "2026-11-01T00:00"}, {"from": ["Date has wrong format. Use one of these formats instead: "
                                                 "YYYY-MM-DD."]}),
        ({"interval": "week"}, {"interval": ['"week" is not a valid choice.']}),
        ({"from": "2026-11-02", "to": "2026-11-01"}, {"to": ["Must be on or after from (2026-11-02)."]}),
        ({"from": "2025-01-01", "to": "2026-11-01"},
         {"to": ["A range by day covers at most 366 days; this one covers 670. Use interval=month for a longer "
                 "range."]}),
        ({"from": "2000-01-01", "to": "2026-11-01", "interval": "month"},
         {"to": ["A range by month covers at most 120 months; this one covers 323."]}),
        ({"from": "1900-01-01", "interval": "month"}, {"from": ["Must be a date from 1970-01-01 to 9999-12-30."]}),
        ({"to": "9999-12-31"}, {"to": ["Must be a date from 1970-01-01 to 9999-12-30."]}),
        ({"from": "2026-11-01\x00"}, {"from": ["Date has wrong format. Use one of these formats instead: "
                                               "YYYY-MM-DD."]}),
    ],
)
def test_bad_parameters_answer_400_with_field_messages(staff, params, errors):
    response = staff.get(URL, params)
    assert response.status_code == 400
    assert response.json() == errors


def test_anonymous_callers_are_refused(db):
    assert APIClient().get(URL).status_code in (401, 403)


def test_anonymous_callers_are_refused_whatever_the_permission_classes(db):
    anyone = {"STRIPE_SECRET_KEY": "sk_test_x", "ANALYTICS_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]}
    with override_settings(APRANOVA_PAYMENTS=anyone):
        assert APIClient().get(URL).status_code in (401, 403)


def test_users_who_are_not_staff_are_refused(api):
    assert api.get(URL).status_code == 403


def test_a_payment_called_analytics_is_never_what_the_url_means(api, user):
    PaymentFactory(user=user, stripe_payment_intent="analytics")
    assert api.get(URL).status_code == 403  # the analytics view, not the owner's payment
    assert api.get("/billing/v1/analytics").status_code == 404  # no slash: the JSON 404, as for the others


def test_analytics_permission_classes_decide_who_may_call_it(api):
    allow = {"ANALYTICS_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}
    with override_settings(APRANOVA_PAYMENTS={"STRIPE_SECRET_KEY": "sk_test_x", **allow}):
        assert api.get(URL).status_code == 200
    deny = {"ANALYTICS_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser",
                                             "tests.analytics.test_endpoint.Never"]}
    staff = APIClient()
    staff.force_authenticate(staff_holding("view_payment"))
    with override_settings(APRANOVA_PAYMENTS={"STRIPE_SECRET_KEY": "sk_test_x", **deny}):
        assert staff.get(URL).status_code == 403


class Never:
    def has_permission(self, request: Any, view: Any) -> bool:
        return False

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return False


def test_only_get_is_allowed(staff):
    assert staff.post(URL, {}, format="json").status_code == 405


def test_the_range_counts_in_the_hosts_time_zone(staff):
    made(datetime(2026, 11, 1, 18, 30, tzinfo=UTC), "10.00")  # 00:00 on the 2nd in Kolkata
    with override_settings(TIME_ZONE="Asia/Kolkata"):
        body = staff.get(URL, {"from": "2026-11-02", "to": "2026-11-02"}).json()
    assert body["currencies"]["usd"]["payments"] == 1
    assert [row["period"] for row in body["series"]] == [str(date(2026, 11, 2))]
