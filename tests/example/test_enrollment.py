"""The example project's checkout tests, run with the example's own settings.

They prove, offline and through the package's real paths (create-payment with the price
resolver, the simulator, update-status and signed deliveries to the webhook endpoint), that
a paid course shows exactly one enrollment however often, in whatever order and however
simultaneously the webhook and update-status arrive. The example needs settings of its own
(its ``courses`` app, the simulator gateway), so it runs in a child process; on
``APRANOVA_TEST_DB=postgres`` it uses PostgreSQL too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"

pytestmark = pytest.mark.skipif(not (EXAMPLE / "manage.py").exists(), reason="example_project/ is not here")


def example_env(tmp_path: Path) -> dict[str, str]:
    """The example's environment: simulator mode, its database (and the simulator's secret
    file beside it) in ``tmp_path``, not in the repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "EXAMPLE_", "SIMULATOR_"))}
    env["DJANGO_SETTINGS_MODULE"] = "example_site.settings"
    env["EXAMPLE_DB_PATH"] = str(tmp_path / "db.sqlite3")
    if os.environ.get("APRANOVA_TEST_DB") == "postgres":
        env["EXAMPLE_SIMULATOR_SECRET_FILE"] = str(tmp_path / "simulator-webhook-secret")
    return env


def test_paid_course_shows_one_enrollment_however_often_webhook_and_update_status_arrive(tmp_path):
    env = example_env(tmp_path)
    if os.environ.get("APRANOVA_TEST_DB") == "postgres":
        env["EXAMPLE_DATABASE"] = "postgres"
        env["EXAMPLE_TEST_DB_NAME"] = f"test_example_{os.environ.get('APRANOVA_TEST_DB_NAME', 'apranova')}"[:63]

    result = subprocess.run(
        [sys.executable, "manage.py", "test", "courses", "--noinput", "-v", "1"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stderr


def settings_secret(env: dict[str, str]) -> str:
    code = "import django; django.setup(); from django.conf import settings; " \
           "print(settings.APRANOVA_PAYMENTS['STRIPE_WEBHOOK_SECRET'])"
    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", code], cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_example_makes_its_simulator_webhook_secret_per_database_with_no_public_default(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()

    secrets = [settings_secret(example_env(first)), settings_secret(example_env(first)),
               settings_secret(example_env(second))]

    assert secrets[0].startswith("whsec_") and secrets[0] != "whsec_offline_simulator_not_a_secret"
    assert secrets[0] == secrets[1]  # every process serving one database signs and verifies alike
    assert secrets[2] != secrets[0]
    assert settings_secret({**example_env(first), "STRIPE_WEBHOOK_SECRET": "whsec_mine"}) == "whsec_mine"


WIRING = """
import sys
import django
django.setup()
from django.apps import apps
from django.urls import NoReverseMatch, reverse
import example_site.urls  # noqa: F401
try:
    url = reverse("apranova_payments_simulator:js")
except NoReverseMatch:
    url = None
imported = "django_apranova_payments.simulator" in sys.modules
print(apps.is_installed("django_apranova_payments.simulator"), url, imported)
"""


@pytest.mark.parametrize(
    ("keys", "expected"),
    [({}, "True /simulator/simulator.js True"),
     ({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}, "False None False")],
    ids=["simulator", "stripe"],
)
def test_the_example_installs_the_simulator_app_and_urls_only_without_stripe_keys(tmp_path, keys, expected):
    env = {**example_env(tmp_path), **keys}

    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", WIRING], cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
