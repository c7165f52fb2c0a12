"""The ``PRICE_RESOLVER``: the server, not the browser, decides what a course costs."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from .models import Course, Enrollment


def resolve_course_price(request: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Charge the price of the course named in ``metadata["course"]``; whatever amount or
    currency the browser sent is ignored."""
    course_id = str((data.get("metadata") or {}).get("course", ""))
    course = Course.objects.filter(pk=int(course_id)).first() if course_id.isdigit() else None
    if course is None:
        raise ValidationError({"metadata": ["Choose a course to pay for."]})
    if Enrollment.objects.filter(user_id=request.user.pk, course=course).exists():
        raise ValidationError({"course": [f"You are already enrolled in {course.title}."]})
    return {**data, "amount": course.price, "currency": course.currency, "metadata": {"course": str(course.pk)}}
