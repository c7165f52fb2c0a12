"""Pages: the course list, a student's courses and the checkout."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from django_apranova_payments.conf import app_settings
from django_apranova_payments.exceptions import GatewayError
from django_apranova_payments.models import DISPUTE_CLOSED_STATUSES, Coupon, Dispute
from django_apranova_payments.services import customers

from .management.commands.seed_demo import DEMO_COUPONS
from .models import Course, Enrollment, RevokedEnrollment


def payments_mode(request: HttpRequest) -> dict[str, Any]:
    """Template context: whether payments are simulated (the banner on every page)."""
    return {"payments_mode": settings.PAYMENTS_MODE}


def site_languages(request: HttpRequest) -> dict[str, Any]:
    """Template context: the header switcher's languages, each named in its own language as
    ``LANGUAGES`` writes it ("English", "हिन्दी"; Django's tag would translate the names)."""
    return {"site_languages": settings.LANGUAGES}


def course_list(request: HttpRequest) -> HttpResponse:
    enrolled: set[int] = set()
    disputed: set[int] = set()
    if request.user.is_authenticated:
        enrolled = set(Enrollment.objects.filter(user_id=request.user.pk).values_list("course_id", flat=True))
        disputed = {purchase.course_id for purchase in revoked_purchases(request.user.pk) if purchase.dispute_open}
    courses = [(course, course.pk in enrolled, course.pk in disputed) for course in Course.objects.all()]
    # The demo codes of seed_demo that are still active, for trying at the checkout.
    coupons = Coupon.objects.filter(code__in=[code for code, _fields in DEMO_COUPONS], active=True).order_by("code")
    return render(request, "courses/course_list.html", {"courses": courses, "coupons": coupons})


@login_required
def my_courses(request: HttpRequest) -> HttpResponse:
    enrollments = Enrollment.objects.filter(user_id=request.user.pk).select_related("course", "payment")
    revoked = revoked_purchases(request.user.pk)
    return render(request, "courses/my_courses.html", {
        "enrollments": enrollments, "cards": saved_cards(request),
        "refunded": [purchase for purchase in revoked if purchase.reason == RevokedEnrollment.Reason.REFUNDED],
        "disputed": [purchase for purchase in revoked if purchase.reason == RevokedEnrollment.Reason.DISPUTED],
    })


def revoked_purchases(user_id: int) -> list[RevokedEnrollment]:
    """The student's purchases a refund or a dispute took away, each with ``dispute_open``:
    whether a dispute of its payment is still undecided (the course waits for its outcome,
    so it is not offered again meanwhile)."""
    open_disputes = Dispute.objects.filter(payment=OuterRef("payment")).exclude(status__in=DISPUTE_CLOSED_STATUSES)
    return list(RevokedEnrollment.objects.filter(user_id=user_id).select_related("course")
                .annotate(dispute_open=Exists(open_disputes)))


def saved_cards(request: HttpRequest) -> list[Any]:
    """The student's saved cards, read from Stripe (none when Stripe cannot be reached)."""
    try:
        return customers.saved_cards(request.user)
    except GatewayError:
        return []


@login_required
@require_POST
def remove_card(request: HttpRequest, payment_method: str) -> HttpResponse:
    """Forget one of the student's saved cards (the package's DELETE payment-methods/<pm>/)."""
    if not customers.forget_card(request.user, payment_method):
        raise Http404
    return redirect("my-courses")


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
        # A payment's URLs start here: <paymentsUrl><pi_…>/cancel/ (the coupon field cancels
        # the page's pending payment before it creates the one with the new price).
        "paymentsUrl": reverse("apranova_payments:payment-list"),
        "myCoursesUrl": reverse("my-courses"),
        "courseId": course.pk,
        "courseTitle": course.title,
        "free": course.is_free,
        "amountMinor": course.amount_minor,
        "currency": course.currency,
        "price": str(course.price),
        "returnUrl": request.build_absolute_uri(),
    }
    # "Save this card" and the saved cards only while the package lets students save cards.
    save_cards = app_settings.SAVE_PAYMENT_METHODS is True
    cards = saved_cards(request) if save_cards and not (course.is_free or enrolled) else []
    return render(request, "courses/checkout.html", {
        "course": course, "enrolled": enrolled, "config": config, "cards": cards, "save_cards": save_cards,
    })


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
