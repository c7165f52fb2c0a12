"""``manage.py seed_demo``: the demo student and the course catalogue, idempotently."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from courses.models import Course

#: (slug, title, price, currency, description). 19.99 is where the original flow's
#: float arithmetic charged 1998 cents; 1999 here.
DEMO_COURSES = [
    ("full-stack-web-development", "Full-Stack Web Development", "999.00", "usd",
     "Django, REST APIs and a modern front end, from the first model to deployment."),
    ("python-for-data-science", "Python for Data Science", "19.99", "usd",
     "NumPy, pandas and plotting: the toolkit of every data team."),
    ("devops-essentials", "DevOps Essentials", "49.00", "eur",
     "Containers, CI pipelines and infrastructure as code."),
    ("cloud-fundamentals", "Cloud Fundamentals", "4999.00", "inr",
     "Compute, storage and networking on the major clouds."),
]

DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "apranova-demo"  # noqa: S105 - the documented password of a local demo


class Command(BaseCommand):
    help = (
        "Create or update the demo user and courses. Safe to run again: nothing is duplicated, "
        "and the user's password is reset to the one given."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=DEFAULT_USERNAME)
        parser.add_argument("--password", default=DEFAULT_PASSWORD)
        parser.add_argument("--no-admin", action="store_true", help="Do not give the user admin access.")

    @transaction.atomic
    def handle(self, *args: Any, username: str, password: str, no_admin: bool, **options: Any) -> None:
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(**{user_model.USERNAME_FIELD: username})
        user.set_password(password)
        user.is_staff = user.is_superuser = not no_admin
        user.save()
        for slug, title, price, currency, description in DEMO_COURSES:
            Course.objects.update_or_create(
                slug=slug,
                defaults={"title": title, "price": Decimal(price), "currency": currency, "description": description},
            )
        self.stdout.write(
            f"{'Created' if created else 'Updated'} user {username!r}; {len(DEMO_COURSES)} demo courses ready."
        )
