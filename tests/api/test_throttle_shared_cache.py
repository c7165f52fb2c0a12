"""Throttles that count across workers: check W005 warns when the default cache is kept per
process, and with Redis one limit holds across two real server processes."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation
from django.utils.module_loading import import_string

from django_apranova_payments.checks import PER_PROCESS_CACHES, check_throttle_cache

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("APRANOVA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def redis_caches(prefix: str = "") -> dict[str, Any]:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                        "KEY_PREFIX": prefix}}


def w005(caches: dict[str, Any], *, debug: bool = False, **config: Any) -> list[str]:
    with override_settings(CACHES=caches, DEBUG=debug,
                           APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, **config}):
        return [message.id for message in check_throttle_cache()]


# -- W005 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("caches", [LOCMEM, DUMMY], ids=["locmem", "dummy"])
def test_w005_fires_when_the_default_cache_is_kept_per_process(caches):
    assert w005(caches) == ["apranova_payments.W005"]


def test_w005_is_silent_with_redis_memcached_or_the_database_cache():
    memcached = {"default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                             "LOCATION": "127.0.0.1:11211"}}
    database = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache"}}

    assert w005(redis_caches()) == []
    assert w005(memcached) == []
    assert w005(database) == []


def test_w005_is_silent_when_every_throttle_is_off_or_debug_is_on():
    off = {"create": None, "update_status": None, "cancel": None, "refund": None, "payment_methods": None}

    assert w005(LOCMEM, THROTTLE_RATES=off) == []
    assert w005(LOCMEM, debug=True) == []
    assert w005(LOCMEM, THROTTLE_RATES={**off, "refund": "5/min"}) == ["apranova_payments.W005"]


def test_w005_names_the_cache_and_the_fix_in_english_and_in_hindi():
    with override_settings(CACHES=LOCMEM, DEBUG=False):
        english = check_throttle_cache()[0]
        with translation.override("hi"):
            hindi = check_throttle_cache()[0]

    assert "LocMemCache" in english.msg and "APRANOVA_PAYMENTS['THROTTLE_RATES']" in english.msg
    assert "Redis, Memcached or the database cache" in english.hint
    assert "LocMemCache" in hindi.msg and "डिफ़ॉल्ट कैश" in hindi.msg
    assert "CACHES['default']" in hindi.hint and "साझा" in hindi.hint


def test_the_example_project_counts_in_a_cache_its_processes_share():
    source = (ROOT / "example_project" / "example_site" / "settings.py").read_text(encoding="utf-8")
    [caches] = [ast.literal_eval(node.value) for node in ast.parse(source).body
                if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["CACHES"]]

    assert not issubclass(import_string(caches["default"]["BACKEND"]), PER_PROCESS_CACHES)


# -- two real processes against Redis -------------------------------------------------------------

#: The rate of the two-process tests, and the attempts each process makes, as fast as it can,
#: both starting at the same moment: enough for the two to overlap.
RATE, LIMIT = "100/min", 100
ATTEMPTS = 150


def hammer(caches_json: str, start_at: float, attempts: int) -> None:
    """Run in a server process of its own: ``attempts`` create-payment throttle decisions
    for one user (pk 4242) at ``RATE``, printed as the number let through."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from django_apranova_payments.api.throttling import PaymentRateThrottle

    config = {**settings.APRANOVA_PAYMENTS, "THROTTLE_RATES": {"create": RATE}}
    with override_settings(CACHES=json.loads(caches_json), APRANOVA_PAYMENTS=config):
        user = get_user_model()(pk=4242)
        allowed = 0
        while time.time() < start_at:
            time.sleep(0.001)
        for _ in range(attempts):
            request = Request(APIRequestFactory().post("/create-payment/"))
            request.user = user
            allowed += PaymentRateThrottle("create").allow_request(request, None)
    print(allowed)


def two_processes(caches: dict[str, Any]) -> list[int]:
    """Two processes (two gunicorn workers, say) throttling the same user at the same time;
    how many requests each let through."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    start_at = time.time() + 3  # both processes have imported Django by then
    code = (f"from tests.api.test_throttle_shared_cache import hammer; "
            f"hammer({json.dumps(caches)!r}, {start_at}, {ATTEMPTS})")
    workers = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,  # noqa: S603 - our own code
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    counts = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        counts.append(int(out.strip()))
    return counts


needs_redis = pytest.mark.skipif(
    importlib.util.find_spec("redis") is None,
    reason="the redis package is not installed (Django's RedisCache needs it): add it to the test dependency group",
)


@needs_redis
def test_with_redis_one_limit_holds_across_two_processes():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"apranova-test-{uuid.uuid4().hex}"
    try:
        counts = two_processes(redis_caches(prefix))
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)

    assert sum(counts) == LIMIT, counts  # one "100/min" for the user, whichever process answers


def test_with_the_local_memory_cache_each_process_counts_on_its_own():
    """What W005 warns about: the same two processes let the limit through twice."""
    assert two_processes(LOCMEM) == [LIMIT, LIMIT]
