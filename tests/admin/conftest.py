"""The admin's users: a superuser's logged-in client, and staff holding exactly the
permissions a test names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory, staff_holding


@pytest.fixture
def superuser(db: Any) -> Any:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client: Client, superuser: Any) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def staff_with(db: Any) -> Callable[..., Any]:
    """``staff_with("view_payment", …)``: a new staff user (not a superuser) holding exactly
    these permissions of the app (``tests.factories.staff_holding``)."""
    return staff_holding
