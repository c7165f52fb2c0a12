from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("courses.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/payments/", include("django_apranova_payments.urls")),
]

if apps.is_installed("django_apranova_payments.simulator"):  # offline mode only (settings.py)
    # The offline simulator's "Stripe.js" and 3-D Secure page (404 unless it is the gateway).
    urlpatterns.append(path("simulator/", include("django_apranova_payments.simulator.urls")))
