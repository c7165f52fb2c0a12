from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import PaymentFactory, UserFactory

pytest_plugins = ["django_apranova_payments.testing.pytest_plugin", "tests.webhook_modes"]


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def other_user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def api(user: Any) -> APIClient:
    """An API client authenticated as ``user`` with ``force_authenticate``. DRF runs no CSRF
    check for a forced authentication, so these tests send no token; a browser session must
    (``test_a_session_login_without_a_csrf_token_is_refused``)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def payment(user: Any) -> Any:
    return PaymentFactory(user=user)


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (APRANOVA_TEST_DB=postgres)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
