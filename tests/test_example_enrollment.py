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

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"

pytestmark = pytest.mark.skipif(not (EXAMPLE / "manage.py").exists(), reason="example_project/ is not here")


def test_paid_course_shows_one_enrollment_however_often_webhook_and_update_status_arrive():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "EXAMPLE_", "SIMULATOR_"))}
    env["DJANGO_SETTINGS_MODULE"] = "example_site.settings"
    if os.environ.get("APRANOVA_TEST_DB") == "postgres":
        env["EXAMPLE_DATABASE"] = "postgres"
        env["EXAMPLE_TEST_DB_NAME"] = f"test_example_{os.environ.get('APRANOVA_TEST_DB_NAME', 'apranova')}"[:63]

    result = subprocess.run(
        [sys.executable, "manage.py", "test", "courses", "--noinput", "-v", "1"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stderr
