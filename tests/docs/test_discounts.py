"""docs/how-to/discounts.md, run as written against the real create-payment endpoint.

The per-course ``COUPON_VALIDATOR`` is compiled from the page's ``courses/coupons.py`` block
and runs against the suite's ``testapp.Course`` (the how-to's ``Course`` with its
``coupons``); the page's "from code" block makes its coupons; the answer the page shows for
``SPRING25`` and the refusals of its table are what the endpoint answers.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from django_apranova_payments.models import Coupon
from tests.factories import PaymentFactory
from tests.testapp.models import Course

from .blocks import DOCS, blocks

PAGE = DOCS / "how-to" / "discounts.md"
VALIDATOR_MODULE = "docs_discounts_course_coupons"


def page_blocks(lang: str, title: str | None = None) -> list[str]:
    return [block.text for block in blocks(PAGE) if block.lang == lang and (title is None or block.title == title)]


def course_price(request: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The how-to's ``PRICE_RESOLVER``, reduced to what this page needs: the course's price."""
    course = Course.objects.get(pk=int(data["metadata"]["course"]))
    return {"amount": course.price, "currency": course.currency, "metadata": {"course": str(course.pk)}}


@pytest.fixture
def validator(settings: Any) -> Iterator[None]:
    """The page's validator as a module of its own, named in the settings as the page does."""
    [text] = page_blocks("python", "courses/coupons.py")
    module = types.ModuleType(VALIDATOR_MODULE)
    exec(compile(text, f"{PAGE.name}:courses/coupons.py", "exec"), module.__dict__)  # noqa: S102 - our docs
    sys.modules[VALIDATOR_MODULE] = module
    settings.APRANOVA_PAYMENTS = {
        **settings.APRANOVA_PAYMENTS,
        "PRICE_RESOLVER": f"{__name__}.course_price",
        "COUPON_VALIDATOR": f"{VALIDATOR_MODULE}.course_coupon",
    }
    yield
    del sys.modules[VALIDATOR_MODULE]


def buy(api: Any, course: Course, coupon: str) -> Any:
    return api.post(reverse("apranova_payments:create-payment"),
                    {"metadata": {"course": str(course.pk)}, "coupon": coupon}, format="json")


def test_the_settings_block_names_the_validator_of_the_page() -> None:
    [settings_block, _allow_free] = page_blocks("python", "lms/settings.py")
    assert '"COUPON_VALIDATOR": "courses.coupons.course_coupon"' in settings_block
    assert "def course_coupon(request, coupon, data):" in page_blocks("python", "courses/coupons.py")[0]


@pytest.mark.django_db
def test_a_coupon_that_names_the_course_applies_to_it(validator: None, api: Any, stripe_mock: Any) -> None:
    course = Course.objects.create(title="Python", price=Decimal("19.99"))
    course.coupons.add(Coupon.objects.create(code="PYTHON25", percent_off=Decimal(25)))

    response = buy(api, course, "python25")

    assert response.status_code == 201, response.content
    # 25% of 19.99 is 4.9975: 5.00 off and 14.99 to pay, as the page says.
    assert (response.json()["amount"], response.json()["discount"]) == ("14.99", "5.00")


@pytest.mark.django_db
def test_a_coupon_for_another_course_answers_the_validators_message(validator: None, api: Any,
                                                                    stripe_mock: Any) -> None:
    python = Course.objects.create(title="Python", price=Decimal("19.99"))
    devops = Course.objects.create(title="DevOps", price=Decimal("49.00"))
    python.coupons.add(Coupon.objects.create(code="PYTHON25", percent_off=Decimal(25)))

    response = buy(api, devops, "PYTHON25")

    assert response.status_code == 400
    assert response.json() == {"coupon": ["This coupon is for another course."]}
    assert stripe_mock.calls_to("create") == []


@pytest.mark.django_db
def test_a_coupon_no_course_names_applies_to_every_course(validator: None, api: Any, stripe_mock: Any) -> None:
    Coupon.objects.create(code="SPRING25", percent_off=Decimal(25))
    course = Course.objects.create(title="Full-Stack", price=Decimal("999.00"))

    response = buy(api, course, "spring25")

    assert response.status_code == 201, response.content
    [shown] = [json.loads(text) for text in page_blocks("json") if '"discount"' in text]
    body = response.json()
    assert {key: body[key] for key in ("amount", "currency", "status", "coupon", "discount")} == {
        key: shown[key] for key in ("amount", "currency", "status", "coupon", "discount")
    }


@pytest.mark.django_db
def test_the_from_code_block_makes_the_coupons_it_names() -> None:
    [text] = [block for block in page_blocks("python") if "Coupon.objects.create" in block]

    exec(compile(text, f"{PAGE.name}:from code", "exec"), {})  # noqa: S102 - our docs

    spring, welcome = Coupon.objects.get(code="SPRING25"), Coupon.objects.get(code="WELCOME10")
    assert (spring.percent_off, spring.max_redemptions_per_user) == (Decimal(25), None)
    assert (welcome.amount_off, welcome.currency, welcome.max_redemptions_per_user) == (Decimal(10), "usd", 1)


def _inactive(user: Any, other_user: Any) -> None:
    Coupon.objects.create(code="OLD", percent_off=Decimal(10), active=False)


def _used_up(user: Any, other_user: Any) -> None:
    PaymentFactory(user=other_user, coupon=Coupon.objects.create(code="LAST", percent_off=Decimal(10),
                                                                 max_redemptions=1))


def _already_used(user: Any, other_user: Any) -> None:
    PaymentFactory(user=user, coupon=Coupon.objects.create(code="ONCE", percent_off=Decimal(10)))


#: (the code, the rows it needs, the course's price and currency, the page's message)
REFUSALS = [
    ("NOPE", None, "19.99", "usd", "This coupon code is not valid."),
    ("OLD", _inactive, "19.99", "usd", "This coupon is no longer active."),
    ("TENOFF", None, "499.00", "inr", "This coupon applies to prices in USD only."),
    ("LAST", _used_up, "19.99", "usd", "This coupon has been used up."),
    ("ONCE", _already_used, "19.99", "usd", "You have already used this coupon."),
    ("TENOFF", None, "10.30", "usd",
     "With this coupon the price would be 0.30 USD, which cannot be charged: Amount must be at least 0.50 USD."),
    ("FREE", None, "19.99", "usd", "This coupon covers the whole price, and free purchases are not accepted here."),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "setup", "price", "currency", "message"), REFUSALS)
def test_each_refusal_the_page_lists_is_what_the_student_gets(
    validator: None, api: Any, user: Any, other_user: Any, stripe_mock: Any,
    code: str, setup: Any, price: str, currency: str, message: str,
) -> None:
    Coupon.objects.create(code="TENOFF", amount_off=Decimal("10.00"), currency="usd")
    Coupon.objects.create(code="FREE", percent_off=Decimal(100))
    if setup is not None:
        setup(user, other_user)
    course = Course.objects.create(title="A course", price=Decimal(price), currency=currency)

    response = buy(api, course, code)

    assert response.status_code == 400
    assert response.json() == {"coupon": [message]}
    assert f"| {message} |" in PAGE.read_text(encoding="utf-8")
    assert stripe_mock.calls_to("create") == []
