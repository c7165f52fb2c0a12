"""``webhook_mode``: runs a webhook test once per ``WEBHOOK_PROCESSING`` mode.

``inline`` is the default configuration. ``task`` turns task mode on with Django's
``ImmediateBackend`` (the task runs in-process as soon as it is enqueued) and runs the
callbacks a request registered with ``transaction.on_commit`` when the test client's
request ends, as a real commit would (pytest-django wraps a test in a transaction that never
commits). ``tests/conftest.py`` loads this module as a plugin; a test module opts in with::

    pytestmark = pytest.mark.usefixtures("webhook_mode")

The real engines (``django-tasks-db`` workers, Celery on RabbitMQ) are proven by
``tests/load/test_task_engines.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

import pytest
from django.test import TestCase
from django.test.client import ClientHandler

#: Django's task framework: ``django.tasks`` from Django 6.0, the ``django-tasks`` backport on 5.2.
TASKS_PACKAGE = "django.tasks" if find_spec("django.tasks") else "django_tasks"
IMMEDIATE = {"default": {"BACKEND": f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"}}


@dataclass(frozen=True)
class WebhookMode:
    name: str

    @property
    def is_task(self) -> bool:
        return self.name == "task"

    def answer(self, outcome: str) -> str:
        """The endpoint's ``outcome`` for a new event that ends ``outcome``: task mode answers
        before the event is applied."""
        return "queued" if self.is_task and outcome != "duplicate" else outcome


@pytest.fixture(params=["inline", "task"])
def webhook_mode(request: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookMode]:
    mode = WebhookMode(request.param)
    if mode.is_task:
        settings.TASKS = IMMEDIATE
        settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "WEBHOOK_PROCESSING": "task"}
        handle = ClientHandler.__call__

        def committed(self: ClientHandler, environ: dict[str, Any]) -> Any:
            with TestCase.captureOnCommitCallbacks(execute=True):
                return handle(self, environ)

        monkeypatch.setattr(ClientHandler, "__call__", committed)
    yield mode
