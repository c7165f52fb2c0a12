"""admin/coupon_batch.py: a batch of single-use coupons with unambiguous codes, its CSV
download, and who may create one (the codes themselves: tests/coupons/test_single_use.py)."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core import signing
from django.urls import reverse

from django_apranova_payments.admin.coupon_batch import _TOKEN_SALT, download_token
from django_apranova_payments.models import CODE_ALPHABET, Coupon
from tests.factories import CouponFactory, UserFactory

BATCH = "admin:apranova_payments_coupon_batch"
CSV = "admin:apranova_payments_coupon_batch_csv"
CHANGELIST = "admin:apranova_payments_coupon_changelist"


def batch_form(**fields: Any) -> dict[str, Any]:
    data = {"count": "3", "code_prefix": "", "percent_off": "100", "amount_off": "", "currency": "",
            "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
            "description": "Scholarship 2027"}
    return {**data, **fields}


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="coupons-')
    return list(csv.reader(io.StringIO(response.content.decode())))


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_batch_creates_single_use_coupons_with_unambiguous_codes(admin_client):
    response = admin_client.post(reverse(BATCH), batch_form(count="25", code_prefix="scholar"))

    assert response.status_code == 200
    coupons = Coupon.objects.all()
    assert len(coupons) == 25
    for coupon in coupons:
        assert re.fullmatch(rf"SCHOLAR-[{CODE_ALPHABET}]{{8}}", coupon.code), coupon.code
        assert not set(coupon.code[8:]) & set("0O1IL")
        assert (coupon.max_redemptions, coupon.max_redemptions_per_user) == (1, 1)
        assert coupon.percent_off == Decimal(100) and coupon.active
        assert coupon.description == "Scholarship 2027"
    assert {c.code for c in response.context["coupons"]} == {c.code for c in coupons}
    assert LogEntry.objects.filter(object_repr__startswith="SCHOLAR-").count() == 25


def test_batch_of_amounts_off_with_dates(admin_client):
    response = admin_client.post(reverse(BATCH), batch_form(
        count="2", percent_off="", amount_off="10.00", currency="USD", code_prefix="q4_",
        valid_from_0="2027-01-01", valid_from_1="00:00:00", valid_until_0="2027-02-01", valid_until_1="00:00:00"))

    assert response.status_code == 200
    for coupon in Coupon.objects.all():
        assert coupon.code.startswith("Q4_") and len(coupon.code) == 11
        assert (coupon.amount_off, coupon.currency) == (Decimal("10.00"), "usd")
        assert coupon.valid_from.year == 2027 and coupon.valid_until.month == 2


def test_the_codes_download_as_csv_safe_for_spreadsheets(admin_client):
    page = admin_client.post(reverse(BATCH), batch_form(count="3", description="=HYPERLINK(\"http://x\")"))

    rows = rows_of(admin_client.post(reverse(CSV), {"token": page.context["token"]}))

    assert rows[0] == ["code", "discount", "valid_from", "valid_until", "max_redemptions", "description"]
    assert sorted(row[0] for row in rows[1:]) == sorted(Coupon.objects.values_list("code", flat=True))
    assert {tuple(row[1:]) for row in rows[1:]} == {("100% off", "", "", "1", "'=HYPERLINK(\"http://x\")")}


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"count": "0"}, "count", "Ensure this value is greater than or equal to 1."),
    ({"count": "1001"}, "count", "Ensure this value is less than or equal to 1000."),
    ({"code_prefix": "-bad"}, "code_prefix", "Letters, digits, '-' or '_', starting with a letter or digit."),
    ({"code_prefix": "A B"}, "code_prefix", "Letters, digits, '-' or '_', starting with a letter or digit."),
    ({"amount_off": "5", "currency": "usd"}, "percent_off", "Give a percent off or an amount off, not both."),
    ({"percent_off": ""}, "percent_off", "Give a percent off or an amount off."),
    ({"percent_off": "", "amount_off": "5"}, "currency", "An amount off needs its currency."),
    ({"percent_off": "101"}, "percent_off", "Ensure this value is less than or equal to 100."),
])
def test_a_refused_batch_names_the_problem_and_creates_nothing(admin_client, fields, field, message):
    response = admin_client.post(reverse(BATCH), batch_form(**fields))

    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert not Coupon.objects.exists()


def test_a_full_discount_batch_warns_while_free_payments_are_off(admin_client):
    response = admin_client.post(reverse(BATCH), batch_form(count="2"))

    assert any("students who apply it are refused" in m for m in messages_of(response))
    assert "2 single-use coupons created." in messages_of(response)


def test_a_partial_discount_batch_does_not_warn(admin_client):
    response = admin_client.post(reverse(BATCH), batch_form(count="1", percent_off="50"))

    assert messages_of(response) == ["1 single-use coupon created."]


def test_the_batch_page_speaks_hindi(admin_client):
    response = admin_client.post(reverse(BATCH), batch_form(count="2", percent_off="50"), HTTP_ACCEPT_LANGUAGE="hi")

    text = response.content.decode()
    assert text.count("हर एक किसी एक छात्र के एक उपयोग के लिए:") == 1
    assert "एक बार उपयोग वाले 2 कूपन बनाए गए।" in messages_of(response)


# -- who may --------------------------------------------------------------------------------


def test_staff_without_add_permission_get_403_and_no_button(client, staff_with):
    client.force_login(staff_with("view_coupon", "change_coupon"))

    assert client.get(reverse(BATCH)).status_code == 403
    assert client.post(reverse(BATCH), batch_form()).status_code == 403
    assert not Coupon.objects.exists()
    assert client.post(reverse(CSV), {"token": "x"}).status_code == 403
    changelist = client.get(reverse(CHANGELIST))
    assert changelist.status_code == 200 and reverse(BATCH) not in changelist.content.decode()


def test_staff_with_add_permission_see_the_button_and_create(client, staff_with):
    client.force_login(staff_with("view_coupon", "add_coupon"))

    assert reverse(BATCH) in client.get(reverse(CHANGELIST)).content.decode()
    assert client.get(reverse(BATCH)).status_code == 200
    assert client.post(reverse(BATCH), batch_form(count="2")).status_code == 200
    assert Coupon.objects.count() == 2


def test_a_download_for_another_user_or_forged_is_refused(admin_client, superuser):
    coupons = [CouponFactory(code="ONE-TIME")]

    others = admin_client.post(reverse(CSV), {"token": download_token(UserFactory(), coupons)})
    forged = admin_client.post(reverse(CSV), {"token": signing.dumps({"user": superuser.pk, "codes": []})})

    assert others.status_code == 400 and forged.status_code == 400
    assert b"not valid" in others.content and b"not valid" in forged.content
    assert admin_client.post(reverse(CSV), {"token": download_token(superuser, coupons)}).status_code == 200


def test_an_expired_download_is_refused(admin_client, superuser, monkeypatch):
    monkeypatch.setattr("django_apranova_payments.admin.coupon_batch.DOWNLOAD_MAX_AGE", -1)
    token = signing.dumps({"user": superuser.pk, "codes": []}, salt=_TOKEN_SALT, compress=True)

    response = admin_client.post(reverse(CSV), {"token": token})

    assert response.status_code == 400 and b"expired" in response.content


def test_the_download_answers_only_post(admin_client):
    assert admin_client.get(reverse(CSV)).status_code == 405
