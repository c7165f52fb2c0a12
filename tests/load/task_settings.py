"""Settings of the load-test server and workers in task mode (``WEBHOOK_PROCESSING = "task"``)
on a real engine: the load server's settings plus ``engine_settings`` below, which
``benchmarks/task_settings.py`` shares.

``APRANOVA_TASK_ENGINE`` chooses the engine:

* ``db``: ``django-tasks-db``'s ``DatabaseBackend`` on the run's PostgreSQL database, applied
  by ``manage.py db_worker`` processes;
* ``celery``: ``django-tasks-celery``'s ``CeleryBackend`` publishing to RabbitMQ
  (``APRANOVA_AMQP_URL``, default the machine's 127.0.0.1:5672 guest/guest), applied by
  Celery worker processes (``tests/load/celery_app.py``).

``APRANOVA_TASK_QUEUE`` names the run's own queue, so no other run's tasks are picked up.
"""

import os
from typing import Any

from tests.load.server_settings import *  # noqa: F403
from tests.load.server_settings import APRANOVA_PAYMENTS as _PAYMENTS
from tests.load.server_settings import INSTALLED_APPS as _APPS


def engine_settings(apps: list[str], payments: dict[str, Any]) -> dict[str, Any]:
    """The settings that put ``payments`` (an ``APRANOVA_PAYMENTS``) in task mode on the
    engine ``APRANOVA_TASK_ENGINE`` names, with ``apps`` as ``INSTALLED_APPS``."""
    engine = os.environ.get("APRANOVA_TASK_ENGINE", "db")
    queue = os.environ.get("APRANOVA_TASK_QUEUE", "webhooks")
    config: dict[str, Any] = {"APRANOVA_PAYMENTS": {**payments, "WEBHOOK_PROCESSING": "task", "TASK_QUEUE": queue}}
    if engine == "db":
        return {**config, "INSTALLED_APPS": [*apps, "django_tasks_db"],
                "TASKS": {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": [queue]}}}
    if engine == "celery":
        return {
            **config, "INSTALLED_APPS": list(apps),
            "TASKS": {"default": {"BACKEND": "django_tasks_celery.CeleryBackend", "QUEUES": [queue],
                                  "OPTIONS": {"CELERY_APP": "tests.load.celery_app.app"}}},
            "CELERY_BROKER_URL": os.environ.get("APRANOVA_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
            # A task is acknowledged when it ends, not when a worker takes it: a worker killed
            # in the middle of one gives it back to the broker (the event's transaction has
            # rolled back).
            "CELERY_TASK_ACKS_LATE": True,
            "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
            "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
            "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
        }
    raise RuntimeError(f"APRANOVA_TASK_ENGINE must be 'db' or 'celery', not {engine!r}")


globals().update(engine_settings(_APPS, _PAYMENTS))
