"""The API where the committed OpenAPI schema says it is, plus the schema itself."""

from pathlib import Path

from django.http import HttpResponse
from django.urls import include, path

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "reference" / "openapi.yaml"


def schema(request):
    return HttpResponse(SCHEMA.read_bytes(), content_type="application/yaml")


urlpatterns = [
    path("openapi.yaml", schema),
    path("api/payments/", include("django_apranova_payments.urls")),
]
