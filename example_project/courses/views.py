"""Pages: the course list, a student's courses and the checkout."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from .models import Course, Enrollment, RevokedEnrollment


def payments_mode(request: HttpRequest) -> dict[str, Any]:
    """Template context: whether payments are simulated (the banner on every page)."""
    return {"payments_mode": settings.PAYMENTS_MODE}


def course_list(request: HttpRequest) -> HttpResponse:
    enrolled: set[int] = set()
    if request.user.is_authenticated:
        enrolled = set(Enrollment.objects.filter(user_id=request.user.pk).values_list("course_id", flat=True))
    courses = [(course, course.pk in enrolled) for course in Course.objects.all()]
    return render(request, "courses/course_list.html", {"courses": courses})


@login_required
def my_courses(request: HttpRequest) -> HttpResponse:
    enrollments = Enrollment.objects.filter(user_id=request.user.pk).select_related("course", "payment")
    revoked = RevokedEnrollment.objects.filter(user_id=request.user.pk).select_related("course")
    return render(request, "courses/my_courses.html", {"enrollments": enrollments, "revoked": revoked})


@login_required
@ensure_csrf_cookie
def checkout(request: HttpRequest, slug: str) -> HttpResponse:
    course = get_object_or_404(Course, slug=slug)
    enrolled = Enrollment.objects.filter(user_id=request.user.pk, course=course).exists()
    config = {
        "mode": settings.PAYMENTS_MODE,
        "publishableKey": settings.STRIPE_PUBLISHABLE_KEY if settings.PAYMENTS_MODE == "stripe" else None,
        "createUrl": reverse("apranova_payments:create-payment"),
        "checkoutUrl": reverse("apranova_payments:checkout-session"),
        "successUrl": request.build_absolute_uri(reverse("checkout-paid", args=[course.slug])),
        "updateUrl": reverse("apranova_payments:update-status"),
        "myCoursesUrl": reverse("my-courses"),
        "courseId": course.pk,
        "courseTitle": course.title,
        "free": course.is_free,
        "amountMinor": course.amount_minor,
        "currency": course.currency,
        "returnUrl": request.build_absolute_uri(),
    }
    return render(request, "courses/checkout.html", {"course": course, "enrolled": enrolled, "config": config})


@login_required
def checkout_paid(request: HttpRequest, slug: str) -> HttpResponse:
    """Where Stripe Checkout sends the student back (``?session_id=cs_…``): the enrollment
    once the webhook has made it; until then the page asks the payment's state (by its Session)
    every second, behind a spinner."""
    course = get_object_or_404(Course, slug=slug)
    session_id = request.GET.get("session_id", "")
    config = {
        "paymentUrl": reverse("apranova_payments:payment-detail", args=[session_id]) if session_id else None,
        "courseTitle": course.title,
        "myCoursesUrl": reverse("my-courses"),
        "checkoutUrl": reverse("checkout", args=[course.slug]),
    }
    return render(request, "courses/paid.html", {"course": course, "config": config})
