"""The Celery application of the load tests' ``celery`` engine (``tests/load/task_settings.py``):
``celery -A tests.load.celery_app worker``. Its settings are Django's ``CELERY_*`` names; the
webhook task is registered with it by ``django-tasks-celery`` when
``django_apranova_payments.tasks`` is imported (at Django's setup here, in the worker)."""

import os

import django
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.load.task_settings")  # or benchmarks.task_settings
django.setup()

app = Celery("apranova_load")
app.config_from_object("django.conf:settings", namespace="CELERY")

import django_apranova_payments.tasks  # noqa: E402, F401  (registers the webhook task with app)
