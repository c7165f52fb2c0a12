"""The ``PRICE_RESOLVER``: the server, not the browser, decides what a course costs."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from .ids import parse_course_id
from .models import Course, Enrollment


def resolve_course_price(request: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Charge the price of the course named in ``metadata["course"]``; whatever amount or
    currency the browser sent is ignored. ``product_name`` is what Stripe Checkout's page
    calls the line."""
    raw_id = (data.get("metadata") or {}).get("course")
    if raw_id is None:
        raise ValidationError({"metadata": {"course": ["Choose a course to pay for."]}})
    course_id = parse_course_id(raw_id)
    if course_id is None:
        raise ValidationError({"metadata": {"course": ["A course id is a number written in the digits 0-9."]}})
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise ValidationError({"metadata": {"course": ["There is no such course."]}})
    enrolled = Enrollment.objects.filter(user_id=request.user.pk, course=course)
    if enrolled.exists() and not _retry_of_the_enrolling_request(request, enrolled):
        raise ValidationError({"course": [f"You are already enrolled in {course.title}."]})
    return {**data, "amount": course.price, "currency": course.currency,
            "metadata": {"course": str(course.pk), "product_name": course.title}}


def _retry_of_the_enrolling_request(request: Any, enrolled: Any) -> bool:
    """A retry, with the same ``Idempotency-Key``, of the request whose payment made the
    enrollment (its answer was lost): let it through, and the package answers that payment
    again, as it does for any retry."""
    key = request.headers.get("Idempotency-Key")
    return bool(key) and enrolled.filter(payment__idempotency_key=key).exists()
