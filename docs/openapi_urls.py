"""URLs for the OpenAPI schema: the package included where the tutorial includes it."""

from django.urls import include, path

urlpatterns = [path("api/payments/", include("django_apranova_payments.urls"))]
