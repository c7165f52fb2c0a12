from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Course, Enrollment, RevokedEnrollment


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "price", "currency"]
    prepopulated_fields = {"slug": ["title"]}


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "payment", "created_at"]
    list_select_related = ["user", "course", "payment"]
    raw_id_fields = ["user", "payment"]


@admin.register(RevokedEnrollment)
class RevokedEnrollmentAdmin(admin.ModelAdmin):
    """What a full refund or a dispute took away: written by the receivers only (a failed
    refund or a won dispute gives it back), so staff may look, not change."""

    list_display = ["user", "course", "reason", "payment", "enrolled_at", "revoked_at"]
    list_filter = ["reason"]
    list_select_related = ["user", "course", "payment"]
    search_fields = ["user__username", "course__title", "payment__stripe_payment_intent"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RevokedEnrollment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RevokedEnrollment | None = None) -> bool:
        return False
