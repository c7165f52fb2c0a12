from django.contrib import admin

from .models import Course, Enrollment


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "price", "currency"]
    prepopulated_fields = {"slug": ["title"]}


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "payment", "created_at"]
    list_select_related = ["user", "course", "payment"]
    raw_id_fields = ["user", "payment"]
