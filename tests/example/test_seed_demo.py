"""The example's ``seed_demo``: its demo payments are all dated before now, so a payment made
after the seed is the newest in the admin's list (sorted by -created_at)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .test_enrollment import EXAMPLE, example_env

pytestmark = pytest.mark.skipif(not (EXAMPLE / "manage.py").exists(), reason="example_project/ is not here")


def manage(env: dict[str, str], *command: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *command], cwd=EXAMPLE, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def stamps(db: Path, sql: str) -> list[datetime]:
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(sql).fetchall()
    return [datetime.fromisoformat(value).replace(tzinfo=UTC) for (value,) in rows if value]


#: seed_demo run at 08:00 in the example's time zone: earlier in the day than most demo payments'
#: hours (07:00 to 22:59), so payments dated "today" would be later than now.
SEED_AT_EIGHT = """
import datetime, django
django.setup()
from django.core.management import call_command
from django.utils import timezone
zone = timezone.get_current_timezone()
eight = datetime.datetime.combine(datetime.date.today(), datetime.time(8), tzinfo=zone)
timezone.now = lambda: eight
call_command("seed_demo", username="demo-seed", password="demo-seed-password", no_admin=True)
print(eight.astimezone(datetime.UTC).isoformat())
"""


def test_the_demo_payments_are_all_dated_before_now(tmp_path):
    env = {k: v for k, v in example_env(tmp_path).items() if k != "EXAMPLE_DATABASE"}
    manage(env, "migrate", "--noinput", "-v", "0")
    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", SEED_AT_EIGHT], cwd=EXAMPLE, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    now = datetime.fromisoformat(result.stdout.strip().splitlines()[-1])
    db = tmp_path / "db.sqlite3"

    created = stamps(db, "SELECT created_at FROM apranova_payments_payment")
    assert len(created) > 50
    assert max(created) < now
    assert max(stamps(db, "SELECT succeeded_at FROM apranova_payments_payment")) < now
    assert max(stamps(db, "SELECT created_at FROM apranova_payments_refund")) < now
