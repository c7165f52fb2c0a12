"""Browser tests: the example project served offline, driven in Debian's Chromium by
Playwright. Skipped unless ``APRANOVA_BROWSER_TESTS=1`` (``tox -e browser`` sets it).

Playwright never downloads a browser here: it launches ``CHROMIUM_PATH`` (default
``/usr/bin/chromium``, Debian's ``chromium`` package). The example server runs on a free
loopback port against a temporary SQLite database, with no Stripe key in its environment,
so payments go through the package's simulator and its signed webhooks.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example_project"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
ENABLED = os.environ.get("APRANOVA_BROWSER_TESTS") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
#: The flags this machine needs (no sandbox as root, no background traffic to Google).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
USERNAME, PASSWORD = "e2e-student", "e2e-password"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="browser test: set APRANOVA_BROWSER_TESTS=1 (or run tox -e browser)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class ExampleServer:
    url: str
    db_path: Path
    log_path: Path

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the server's database (WAL mode: safe while the server writes)."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback server
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def example_server(tmp_path_factory: Any) -> Iterator[ExampleServer]:
    tmp = tmp_path_factory.mktemp("example")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "EXAMPLE_", "SIMULATOR_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="example_site.settings",
        EXAMPLE_DB_PATH=str(tmp / "db.sqlite3"),
        SIMULATOR_WEBHOOK_URL=f"{url}/api/payments/webhook/",
        PYTHONUNBUFFERED="1",
    )
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"],
                    ["seed_demo", "--username", USERNAME, "--password", PASSWORD, "--no-admin"]):
        subprocess.run([*manage, *command], cwd=EXAMPLE, env=env, check=True, capture_output=True, timeout=120)  # noqa: S603
    log_path = tmp / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own manage.py
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=EXAMPLE, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: server.poll() is not None or _responds(f"{url}/accounts/login/"), 60, "the example server")
        if server.poll() is not None:
            pytest.fail(f"the example server exited:\n{log_path.read_text()}")
        yield ExampleServer(url, tmp / "db.sqlite3", log_path)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def seed_user(server: ExampleServer, username: str, password: str, *flags: str) -> str:
    """``manage.py seed_demo`` for another user of the running example (``--no-admin``,
    ``--no-payments``…): each journey has a user of its own, so none sees another's payments."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "EXAMPLE_", "SIMULATOR_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="example_site.settings", EXAMPLE_DB_PATH=str(server.db_path))
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "seed_demo", "--username", username, "--password", password, *flags],
        cwd=EXAMPLE, env=env, check=True, capture_output=True, timeout=120,
    )
    return username


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"No Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, example_server: ExampleServer, request: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the example server; a screenshot is kept
    when the test fails."""
    context = browser.new_context(base_url=example_server.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
        print(example_server.log()[-5000:])
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
