from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import notifications, receivers  # noqa: F401  (connect the enrollment and e-mail receivers)
