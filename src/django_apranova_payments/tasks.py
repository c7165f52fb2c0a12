"""The webhook task of ``WEBHOOK_PROCESSING = "task"``, on Django's task framework.

``queue_event(event)`` is what the endpoint does with a verified event in task mode: store it
as ``received`` and enqueue its task after the commit. ``process_webhook_event(event_pk)``
applies one stored event with the same engine as the inline endpoint
(``webhooks.apply_stored``: once, under the event's row lock, signals inside its
transaction). It is enqueued on ``TASK_BACKEND``/``TASK_QUEUE``; the host's
``TASKS`` setting picks the engine (``django-tasks-db``, Celery, …): the package ships no
queue of its own.

Retries: neither Django's task framework nor the backends we test with (``django-tasks-db``,
``django-tasks-celery``) offer a retry, so a failed attempt enqueues the next one itself,
``run_after`` a backoff, until ``TASK_MAX_ATTEMPTS``; after that the event stays ``failed``
for a replay. A worker killed in the middle of an attempt leaves the event as it was (its
transaction rolls back): ``apranova_process_events`` picks up what is left ``received``.

Imported only in task mode: on Django 5.2 the framework comes from the ``django-tasks``
backport (``pip install django-apranova-payments[tasks]``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .conf import app_settings
from .models import WebhookEvent
from .webhooks.processing import DUPLICATE, apply_stored

if TYPE_CHECKING or find_spec("django.tasks"):  # Django 6.0+
    from django.tasks import Task, TaskResult, task, task_backends
else:  # Django 5.2: the django-tasks backport (the [tasks] extra)
    from django_tasks import TaskResult, task, task_backends
    from django_tasks.base import Task

__all__ = ["QUEUED", "enqueue", "process_webhook_event", "queue_event", "retry_delay", "task_backends",
           "webhook_task"]

logger = logging.getLogger(__name__)

#: Seconds before the second attempt of a failed event; each later attempt waits twice as
#: long as the one before (30 s, 1 min, 2 min, 4 min …), at most ``MAX_RETRY_DELAY``.
RETRY_DELAY = 30
MAX_RETRY_DELAY = 3600
#: The answer of task mode for an event stored and enqueued, not yet applied.
QUEUED = "queued"


@task(backend=app_settings.TASK_BACKEND, queue_name=app_settings.TASK_QUEUE)
def process_webhook_event(event_pk: int) -> str:
    """Apply the stored webhook event ``event_pk``; its outcome, or ``"duplicate"`` when
    another attempt applied it first. A failure is recorded on the event, the next attempt
    enqueued while attempts are left, and raised (the backend's result says it failed)."""
    try:
        return apply_stored(event_pk)
    except Exception:
        retry_later(event_pk)
        raise


def queue_event(event: Mapping[str, Any]) -> str:
    """Store a verified event as ``received`` and enqueue its task after the commit;
    ``"queued"``, or ``"duplicate"`` when it was applied already. A redelivery of an event
    still ``received`` or ``failed`` enqueues it again (the task applies it once)."""
    event_pk = WebhookEvent.objects.receive(event)
    if event_pk is None:
        return DUPLICATE
    transaction.on_commit(partial(enqueue, event_pk))
    return QUEUED


def webhook_task() -> Task:
    """``process_webhook_event`` on the configured backend and queue (read at each call, so
    ``override_settings`` applies); ``InvalidTask`` or ``InvalidTaskBackend`` when they are
    not usable."""
    return process_webhook_event.using(backend=app_settings.TASK_BACKEND, queue_name=app_settings.TASK_QUEUE)


def enqueue(event_pk: int, *, delay: timedelta | None = None) -> TaskResult:
    """Enqueue the task for one stored event, ``delay`` from now where the backend can defer
    a task (one that cannot, such as ``ImmediateBackend``, runs it now)."""
    configured = webhook_task()
    if delay and configured.get_backend().supports_defer:
        configured = configured.using(run_after=timezone.now() + delay)
    return configured.enqueue(event_pk)


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failure an event is tried again."""
    return timedelta(seconds=min(RETRY_DELAY * 2 ** max(0, attempts - 1), MAX_RETRY_DELAY))


def retry_later(event_pk: int) -> None:
    """After a failed attempt: enqueue the next one with backoff, or leave the event
    ``failed`` for a replay once ``TASK_MAX_ATTEMPTS`` attempts are spent."""
    attempts = WebhookEvent.objects.filter(pk=event_pk, outcome=WebhookEvent.Outcome.FAILED).values_list(
        "attempts", flat=True).first()
    if attempts is None:  # another attempt applied it meanwhile, or recording the failure failed
        return
    limit = int(app_settings.TASK_MAX_ATTEMPTS)
    if attempts >= limit:
        logger.error("Webhook event %s failed %s times (TASK_MAX_ATTEMPTS); it waits for a replay",
                     event_pk, attempts)
        return
    delay = retry_delay(attempts)
    try:
        enqueue(event_pk, delay=delay)
    except Exception:
        logger.exception("Could not enqueue attempt %s of webhook event %s; it stays failed until a replay "
                         "(apranova_replay_events --failed, or the admin's action)", attempts + 1, event_pk)
        return
    logger.warning("Webhook event %s failed (attempt %s of %s); tried again in %s s",
                   event_pk, attempts, limit, int(delay.total_seconds()))


def usable_backend_problem() -> str | None:
    """Why the configured backend and queue cannot run the webhook task (check E009), or
    ``None``."""
    try:
        backend: Any = webhook_task().get_backend()
    except Exception as exc:  # InvalidTask, InvalidTaskBackend, ImportError of a backend
        return f"{type(exc).__name__}: {exc}"
    if type(backend).__name__ == "DummyBackend":
        return gettext("TASKS[%(alias)s] is DummyBackend, which never runs a task") % {
            "alias": repr(app_settings.TASK_BACKEND)}
    return None
