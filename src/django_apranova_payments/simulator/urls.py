"""URLs of the offline simulator (only where its app is installed and ``GATEWAY`` is the
simulator)::

    urlpatterns = [path("simulator/", include("django_apranova_payments.simulator.urls"))]

Load ``{% url "apranova_payments_simulator:js" %}`` on the checkout page in place of
Stripe.js.
"""

from django.urls import re_path

from . import checkout_views, views

app_name = views.NAMESPACE

PAYMENT_INTENT = r"(?P<intent_id>pi_[A-Za-z0-9_]{1,60})"
SESSION = r"(?P<session_id>cs_[A-Za-z0-9_]{1,60})"

urlpatterns = [
    re_path(r"^simulator\.js$", views.ScriptView.as_view(), name="js"),
    re_path(rf"^v1/payment_intents/{PAYMENT_INTENT}$", views.PaymentIntentView.as_view(), name="payment-intent"),
    re_path(rf"^v1/payment_intents/{PAYMENT_INTENT}/confirm$", views.ConfirmView.as_view(), name="confirm"),
    re_path(rf"^v1/payment_intents/{PAYMENT_INTENT}/authenticate$", views.AuthenticateView.as_view(),
            name="authenticate"),
    # Stripe Checkout's hosted page
    re_path(rf"^checkout/{SESSION}/$", checkout_views.CheckoutPageView.as_view(), name="checkout"),
    re_path(rf"^checkout/{SESSION}/authenticate$", checkout_views.CheckoutAuthenticateView.as_view(),
            name="checkout-authenticate"),
]
