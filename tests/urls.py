from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # A prefix of the host's own choosing: nothing may assume /api/payments/.
    path("billing/v1/", include("django_apranova_payments.urls")),
]
