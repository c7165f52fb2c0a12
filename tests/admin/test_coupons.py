"""admin/coupons.py: the coupons list (redemptions counted in one statement), its filters and
search, the actions, a coupon's page with its redemptions, the 100% warning, Django's model
permissions, a protected delete, and the coupon on the payment admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_apranova_payments.admin.coupons import CurrencyFilter
from django_apranova_payments.models import Coupon, Payment
from tests.factories import CouponFactory, PaymentFactory

CHANGELIST = "admin:apranova_payments_coupon_changelist"
ADD = "admin:apranova_payments_coupon_add"
PAYMENTS = "admin:apranova_payments_payment_changelist"


def change_url(obj: Coupon | Payment) -> str:
    return reverse(f"admin:apranova_payments_{obj._meta.model_name}_change", args=[obj.pk])


def listed(response: Any) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return sorted(str(obj) for obj in response.context["cl"].result_list)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def coupon_form(**fields: Any) -> dict[str, Any]:
    data = {"code": "spring25", "description": "", "percent_off": "25", "amount_off": "", "currency": "",
            "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
            "max_redemptions": "", "max_redemptions_per_user": "1", "active": "on"}
    return {**data, **fields}


# -- the list -------------------------------------------------------------------------------


def test_list_shows_each_coupon_described_with_redemptions_held_of_its_limit(admin_client):
    coupon = CouponFactory(code="SPRING25", description="Spring sale", max_redemptions=5)
    CouponFactory(code="TENOFF", percent_off=None, amount_off=Decimal("10.00"), currency="usd")
    PaymentFactory(coupon=coupon, status="succeeded")
    PaymentFactory(coupon=coupon, status="pending")
    PaymentFactory(coupon=coupon, status="canceled")  # gave its redemption back

    response = admin_client.get(reverse(CHANGELIST))

    text = response.content.decode()
    assert "SPRING25" in text and "Spring sale" in text and "25% off" in text
    assert "10.00 USD off" in text
    assert "2 / 5" in text
    assert "0 / unlimited" in text


def test_list_counts_redemptions_in_the_same_statements_however_many_coupons(admin_client):
    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse(CHANGELIST)).status_code == 200
        return len(queries)

    PaymentFactory(coupon=CouponFactory(max_redemptions=3))
    one = statements()
    for _ in range(5):
        coupon = CouponFactory()
        PaymentFactory(coupon=coupon)
        PaymentFactory(coupon=coupon, status="canceled")

    assert statements() == one


def test_list_shows_validity(admin_client):
    now = timezone.now()
    CouponFactory(code="ALWAYS")
    CouponFactory(code="LATER", valid_from=now + timedelta(days=3))
    CouponFactory(code="BOUNDED", valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=1))

    text = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "always" in text and "from " in text and " to " in text


@pytest.mark.parametrize(("query", "expected"), [
    ({"kind": "percent"}, ["CURRENT", "EXPIRED", "FULL", "LATER", "OFF"]),
    ({"kind": "amount"}, ["EURO"]),
    ({"currency": "eur"}, ["EURO"]),
    ({"validity": "current"}, ["CURRENT", "EURO", "FULL", "OFF"]),
    ({"validity": "scheduled"}, ["LATER"]),
    ({"validity": "expired"}, ["EXPIRED"]),
    ({"used_up": "yes"}, ["FULL"]),
    ({"used_up": "no"}, ["CURRENT", "EURO", "EXPIRED", "LATER", "OFF"]),
    ({"active__exact": "0"}, ["OFF"]),
    ({"q": "euro"}, ["EURO"]),
    ({"q": "scholars"}, ["CURRENT"]),
])
def test_filters_and_search(admin_client, query, expected):
    now = timezone.now()
    CouponFactory(code="CURRENT", description="For scholars", valid_until=now + timedelta(days=1), max_redemptions=2)
    CouponFactory(code="LATER", valid_from=now + timedelta(days=1))
    CouponFactory(code="EXPIRED", valid_until=now - timedelta(seconds=1))
    CouponFactory(code="EURO", percent_off=None, amount_off=Decimal(5), currency="eur")
    CouponFactory(code="OFF", active=False)
    full = CouponFactory(code="FULL", max_redemptions=1)
    PaymentFactory(coupon=full)
    PaymentFactory(coupon=Coupon.objects.get(code="CURRENT"), status="canceled")  # given back: not used up

    assert listed(admin_client.get(reverse(CHANGELIST), query)) == expected


def test_currency_filter_offers_the_currencies_of_amounts_off(admin_client):
    CouponFactory(percent_off=None, amount_off=Decimal(5), currency="inr")
    CouponFactory()

    response = admin_client.get(reverse(CHANGELIST))

    currency = next(f for f in response.context["cl"].filter_specs if isinstance(f, CurrencyFilter))
    assert [title for _, title in currency.lookup_choices] == ["INR"]


# -- actions --------------------------------------------------------------------------------


def test_deactivate_changes_only_the_coupons_never_their_payments(admin_client):
    coupon, other = CouponFactory(), CouponFactory()
    payment = PaymentFactory(coupon=coupon, status="pending")
    before = Payment.objects.values().get(pk=payment.pk)

    response = admin_client.post(reverse(CHANGELIST), {"action": "deactivate", "_selected_action": [coupon.pk]},
                                 follow=True)

    assert messages_of(response) == ["1 coupon deactivated."]
    assert list(Coupon.objects.filter(active=False)) == [coupon]
    assert Coupon.objects.get(pk=other.pk).active
    assert Payment.objects.values().get(pk=payment.pk) == before
    assert LogEntry.objects.filter(object_id=str(coupon.pk)).count() == 1


def test_activate_counts_only_coupons_it_changed(admin_client):
    coupons = [CouponFactory(active=False), CouponFactory(active=False), CouponFactory()]

    response = admin_client.post(reverse(CHANGELIST), {
        "action": "activate", "_selected_action": [c.pk for c in coupons]}, follow=True)

    assert messages_of(response) == ["2 coupons activated."]
    assert Coupon.objects.filter(active=True).count() == 3


def test_forged_selection_is_refused_with_a_message(admin_client):
    CouponFactory()

    response = admin_client.post(reverse(CHANGELIST), {"action": "deactivate", "_selected_action": ["abc"]},
                                 follow=True)

    assert messages_of(response) == ["The selection is not valid. Nothing was done."]


def test_staff_who_may_only_view_coupons_cannot_deactivate_them(client, staff_with):
    coupon = CouponFactory()
    client.force_login(staff_with("view_coupon"))

    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action this user may take

    client.post(reverse(CHANGELIST), {"action": "deactivate", "_selected_action": [coupon.pk]})
    assert Coupon.objects.get(pk=coupon.pk).active


# -- a coupon's page ------------------------------------------------------------------------


def test_page_lists_redemptions_with_links_and_canceled_ones_given_back(admin_client):
    coupon = CouponFactory(max_redemptions=10)
    held = PaymentFactory(coupon=coupon, amount=Decimal("75.00"), discount=Decimal("25.00"), status="succeeded")
    canceled = PaymentFactory(coupon=coupon, status="canceled")
    PaymentFactory()  # another payment, without the coupon

    response = admin_client.get(change_url(coupon))

    assert response.status_code == 200
    rows = response.context["redemptions"]
    assert {row["payment"] for row in rows} == {held, canceled}
    text = response.content.decode()
    assert f'href="{change_url(held)}"' in text and f'href="{change_url(canceled)}"' in text
    assert "$75.00" in text and "$25.00" in text
    assert str(held.user) in text
    assert text.count("given back (canceled)") == 1
    assert "1 / 10" in text


def test_page_lists_the_newest_redemptions_and_links_to_all(admin_client, monkeypatch):
    monkeypatch.setattr("django_apranova_payments.admin.coupons.REDEMPTIONS_SHOWN", 2)
    coupon = CouponFactory(max_redemptions=None, max_redemptions_per_user=None)
    payments = [PaymentFactory(coupon=coupon, created_at=timezone.now() - timedelta(days=d)) for d in range(3)]

    response = admin_client.get(change_url(coupon))

    assert [row["payment"] for row in response.context["redemptions"]] == payments[:2]
    assert response.context["redemptions_total"] == 3
    listed_payments = admin_client.get(response.context["redemptions_url"])
    assert {p.pk for p in listed_payments.context["cl"].result_list} == {p.pk for p in payments}


def test_staff_who_may_not_view_payments_see_no_redemption_rows(client, staff_with):
    coupon = CouponFactory()
    PaymentFactory(coupon=coupon)
    client.force_login(staff_with("view_coupon"))

    response = client.get(change_url(coupon))

    assert response.status_code == 200
    assert "redemptions" not in response.context
    assert 'id="redemptions"' not in response.content.decode()


def test_adding_a_coupon_stores_its_code_upper_case(admin_client):
    response = admin_client.post(reverse(ADD), coupon_form(code="spring25"), follow=True)

    assert response.status_code == 200
    assert Coupon.objects.get().code == "SPRING25"


def test_adding_a_coupon_with_both_kinds_of_discount_names_the_problem(admin_client):
    response = admin_client.post(reverse(ADD), coupon_form(amount_off="5", currency="usd"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["percent_off"] == [
        "Give a percent off or an amount off, not both."]
    assert not Coupon.objects.exists()


def test_saving_a_full_discount_warns_while_free_payments_are_off(admin_client):
    response = admin_client.post(reverse(ADD), coupon_form(code="FREE100", percent_off="100"), follow=True)

    assert Coupon.objects.get().code == "FREE100"
    warnings = [m for m in messages_of(response) if "100% off" in m]
    assert len(warnings) == 1 and "students who apply it are refused" in warnings[0]


def test_saving_a_full_discount_does_not_warn_when_free_payments_are_on(admin_client):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "ALLOW_FREE": True}):
        response = admin_client.post(reverse(ADD), coupon_form(percent_off="100"), follow=True)

    assert not [m for m in messages_of(response) if "100% off" in m]


def test_saving_a_partial_discount_does_not_warn(admin_client):
    coupon = CouponFactory(percent_off=Decimal(100))

    response = admin_client.post(change_url(coupon), coupon_form(code=coupon.code, percent_off="99.99"), follow=True)

    assert Coupon.objects.get().percent_off == Decimal("99.99")
    assert not [m for m in messages_of(response) if "100% off" in m]


# -- permissions ----------------------------------------------------------------------------


def test_staff_without_coupon_permissions_are_refused(client, staff_with):
    coupon = CouponFactory()
    client.force_login(staff_with("view_payment"))

    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(change_url(coupon)).status_code == 403
    assert client.get(reverse(ADD)).status_code == 403


def test_view_permission_shows_a_page_without_saving(client, staff_with):
    coupon = CouponFactory(description="before")
    client.force_login(staff_with("view_coupon"))

    page = client.get(change_url(coupon))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()

    response = client.post(change_url(coupon), coupon_form(code=coupon.code, description="after"))
    assert response.status_code == 403
    assert Coupon.objects.get().description == "before"
    assert client.get(reverse(ADD)).status_code == 403


def test_change_permission_saves(client, staff_with):
    coupon = CouponFactory()
    client.force_login(staff_with("view_coupon", "change_coupon"))

    response = client.post(change_url(coupon), coupon_form(code=coupon.code, description="after"))

    assert response.status_code == 302
    assert Coupon.objects.get().description == "after"


# -- deleting -------------------------------------------------------------------------------


def test_a_coupon_with_payments_cannot_be_deleted_and_the_page_says_why(admin_client):
    coupon = CouponFactory()
    payment = PaymentFactory(coupon=coupon)
    url = reverse("admin:apranova_payments_coupon_delete", args=[coupon.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    for answer in (page, response):
        assert answer.status_code == 200
        text = answer.content.decode()
        assert "would require deleting the following protected related objects" in text
        assert payment.stripe_payment_intent in text
    assert Coupon.objects.filter(pk=coupon.pk).exists()


def test_delete_selected_refuses_coupons_with_payments(admin_client):
    coupon, unused = CouponFactory(), CouponFactory()
    PaymentFactory(coupon=coupon)

    response = admin_client.post(reverse(CHANGELIST), {
        "action": "delete_selected", "_selected_action": [coupon.pk, unused.pk], "post": "yes"})

    assert response.status_code == 200
    assert "protected related objects" in response.content.decode()
    assert Coupon.objects.count() == 2


def test_a_coupon_without_payments_is_deleted_by_staff_who_may(client, staff_with):
    coupon = CouponFactory()
    client.force_login(staff_with("view_coupon", "delete_coupon"))

    response = client.post(reverse("admin:apranova_payments_coupon_delete", args=[coupon.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Coupon.objects.exists()


# -- the payment admin ----------------------------------------------------------------------


def test_payments_list_shows_the_coupon_and_filters_by_it(admin_client):
    coupon = CouponFactory(code="SPRING25")
    with_coupon = PaymentFactory(coupon=coupon, discount=Decimal("5.00"))
    without = PaymentFactory()

    text = admin_client.get(reverse(PAYMENTS)).content.decode()
    assert "SPRING25" in text
    yes = admin_client.get(reverse(PAYMENTS), {"with_coupon": "yes"}).context["cl"].result_list
    no = admin_client.get(reverse(PAYMENTS), {"with_coupon": "no"}).context["cl"].result_list
    assert list(yes) == [with_coupon] and list(no) == [without]


def test_payments_list_reads_coupons_in_the_same_statements_however_many_rows(admin_client):
    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse(PAYMENTS)).status_code == 200
        return len(queries)

    PaymentFactory(coupon=CouponFactory())
    one = statements()
    for _ in range(5):
        PaymentFactory(coupon=CouponFactory())

    assert statements() == one


def test_payment_page_links_its_coupon_and_shows_the_discount(admin_client):
    coupon = CouponFactory(code="SPRING25")
    payment = PaymentFactory(coupon=coupon, amount=Decimal("75.00"), discount=Decimal("25.00"))

    text = admin_client.get(change_url(payment)).content.decode()

    assert f'<a href="{change_url(coupon)}">SPRING25</a>' in text
    assert "$25.00" in text


def test_payment_page_shows_the_code_unlinked_to_staff_who_may_not_view_coupons(client, staff_with):
    payment = PaymentFactory(coupon=CouponFactory(code="SPRING25"))
    client.force_login(staff_with("view_payment"))

    text = client.get(change_url(payment)).content.decode()

    assert "SPRING25" in text
    assert change_url(payment.coupon) not in text
