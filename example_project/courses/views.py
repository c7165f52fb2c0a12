"""Pages: the course list, a student's courses and the checkout."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from django_apranova_payments.conf import app_settings
from django_apranova_payments.exceptions import GatewayError
from django_apranova_payments.models import DISPUTE_CLOSED_STATUSES, Coupon, Dispute, Payment
from django_apranova_payments.money import from_minor_units
from django_apranova_payments.money_display import format_money
from django_apranova_payments.receipts import TAX_TYPES
from django_apranova_payments.services import customers

from . import countries
from .management.commands.seed_demo import DEMO_COUPONS
from .models import Course, Enrollment, RevokedEnrollment
from .receivers import tax_added


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
    if app_settings.TAX is not None and not course.is_free:
        # Stripe Tax prices the course for the buyer's address: the page asks for it, and
        # shows the tax (from checkout-tax) before the card is confirmed.
        config |= {
            "tax": True,
            "taxUrl": reverse("checkout-tax", args=["PAYMENT_INTENT"]),
            "postalCodeCountries": list(countries.NEEDS_POSTAL_CODE),
        }
    # "Save this card" and the saved cards only while the package lets students save cards.
    save_cards = app_settings.SAVE_PAYMENT_METHODS is True
    cards = saved_cards(request) if save_cards and not (course.is_free or enrolled) else []
    return render(request, "courses/checkout.html", {
        "course": course, "enrolled": enrolled, "config": config, "cards": cards, "save_cards": save_cards,
        "tax": config.get("tax", False), "countries": countries.choices(),
        "country": countries.default_country(request),
    })


@login_required
@require_GET
def checkout_tax(request: HttpRequest, payment_intent: str) -> JsonResponse:
    """What the checkout shows before the card is confirmed: the price, each tax Stripe Tax
    found (``VAT 19%``) and the total of the student's pending payment, written for the
    active language. Another student's payment, or one paid or canceled, is a 404."""
    payment = Payment.objects.filter(
        user_id=request.user.pk, stripe_payment_intent=payment_intent,
        status__in=(Payment.Status.PENDING, Payment.Status.FAILED),
    ).first()
    if payment is None:
        raise Http404
    added = tax_added(payment)
    rows = [row for row in payment.tax_breakdown if isinstance(row, dict) and row.get("amount")] if isinstance(
        payment.tax_breakdown, list) else []
    lines = [{"label": tax_label(row), "amount": format_money(from_minor_units(int(row["amount"]), payment.currency),
                                                              payment.currency)} for row in rows]
    if not lines and payment.amount_tax:
        lines = [{"label": _("Tax") if added else _("Includes tax"),
                  "amount": format_money(payment.amount_tax, payment.currency)}]
    return JsonResponse({
        "price": format_money(payment.amount - added, payment.currency),
        "taxes": lines,
        "inclusive": bool(payment.amount_tax) and not added,
        "total": format_money(payment.amount, payment.currency),
    })


def tax_label(row: dict[str, Any]) -> str:
    """One row of Stripe Tax's breakdown as the checkout names it: "Tax (VAT 19%)", or
    "Includes tax (GST 18%)" when the price already had it."""
    name = str(TAX_TYPES.get(str(row.get("tax_type") or ""), _("tax")))
    try:
        rate = Decimal(str(row.get("percentage")))
    except (InvalidOperation, ValueError):
        rate = None
    if rate is not None and rate.is_finite() and rate >= 0:
        name = f"{name} {rate.normalize():f}%" if rate != rate.to_integral_value() else f"{name} {int(rate)}%"
    if row.get("inclusive") is True:
        return _("Includes tax (%(name)s)") % {"name": name}
    return _("Tax (%(name)s)") % {"name": name}


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
