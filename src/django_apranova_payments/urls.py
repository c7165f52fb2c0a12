"""URLs of django-apranova-payments. Include them under a prefix of your choice::

    urlpatterns = [path("api/payments/", include("django_apranova_payments.urls"))]

and reverse them as ``apranova_payments:create-payment`` and so on.
"""

from django.urls import path, re_path

from .api import payment_methods, receipts, views
from .api.webhook import StripeWebhookView

app_name = "apranova_payments"

PAYMENT_INTENT = r"(?P<payment_intent>[^/]+)"  # any id answers in JSON; unknown ones 404

urlpatterns = [
    path("create-payment/", views.CreatePaymentView.as_view(), name="create-payment"),
    path("checkout/", views.CheckoutView.as_view(), name="checkout-session"),
    path("update-status/", views.UpdateStatusView.as_view(), name="update-status"),
    path("webhook/", StripeWebhookView.as_view(), name="webhook"),
    path("", views.PaymentListView.as_view(), name="payment-list"),
    # Before the PaymentIntent routes: "analytics" and "payment-methods" are never taken for a
    # PaymentIntent id.
    path("analytics/", views.AnalyticsView.as_view(), name="analytics"),
    path("payment-methods/", payment_methods.PaymentMethodListView.as_view(), name="payment-method-list"),
    path(
        "payment-methods/<str:payment_method>/", payment_methods.PaymentMethodDetailView.as_view(),
        name="payment-method-detail",
    ),
    re_path(rf"^{PAYMENT_INTENT}/$", views.PaymentDetailView.as_view(), name="payment-detail"),
    re_path(rf"^{PAYMENT_INTENT}/cancel/$", views.PaymentCancelView.as_view(), name="payment-cancel"),
    re_path(rf"^{PAYMENT_INTENT}/refund/$", views.PaymentRefundView.as_view(), name="payment-refund"),
    re_path(rf"^{PAYMENT_INTENT}/receipt/$", receipts.PaymentReceiptView.as_view(), name="payment-receipt"),
    # Last: any path without its trailing slash answers a JSON 404 naming the right URL, instead
    # of APPEND_SLASH's redirect (which drops a POST body, or raises under DEBUG).
    re_path(r"^(?P<path>.*[^/])$", views.missing_slash, name="missing-slash"),
]
