"""The suite's URLs (the package under ``billing/v1/``) and the floor webhook."""

from django.urls import path
from tests.urls import urlpatterns as suite_urlpatterns

from benchmarks.floor import floor_webhook

urlpatterns = [
    *suite_urlpatterns,
    path("floor/webhook/", floor_webhook, name="floor-webhook"),
]
