from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("", include("courses.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/payments/", include("django_apranova_payments.urls")),
    # The header's language switcher posts to set_language; the scripts' strings (the example's
    # and the simulator's card form) come from jsi18n.
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["courses", "django_apranova_payments"]),
         name="javascript-catalog"),
]

if apps.is_installed("django_apranova_payments.simulator"):  # offline mode only (settings.py)
    # The offline simulator's "Stripe.js" and 3-D Secure page (404 unless it is the gateway).
    urlpatterns.append(path("simulator/", include("django_apranova_payments.simulator.urls")))
