"""The URLconf of the simulator's tests: the package, the simulator and the admin, as a host
wires them."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/payments/", include("django_apranova_payments.urls")),
    path("simulator/", include("django_apranova_payments.simulator.urls")),
]
