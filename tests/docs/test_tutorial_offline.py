"""The tutorial's offline route, run as written, and the simulator's confirm command.

``test_the_offline_tutorial_runs_as_written`` reads docs/tutorial/first-payment.md and
test-a-receiver.md, keeps the blocks outside content tabs and those of the "Offline
simulator" tabs, and does what they say in a temporary directory: it writes every titled
code block into its file, runs every ``$`` command (``runserver`` in the background, on a
free port, as the docs say for another port) and compares the output the docs show with what
came out (``...`` and ``…`` stand for anything; the example PaymentIntent id for the real
one). A change to the docs or to the code that makes them disagree fails it.

Not run, on purpose (``NOT_RUN``): cloning, making and activating the virtualenv and ``pip install``
(the test runs in an environment that has the package, installed from this checkout), and
``mkdir``/``cd`` (the temporary directory). ``createsuperuser`` gets ``--noinput`` and the
password from the environment instead of its prompt. A Stripe-only command on the offline
route fails the test.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from django.core.management import CommandError, call_command

from django_apranova_payments.simulator import sender
from django_apranova_payments.simulator.gateway import SimulatorGateway
from django_apranova_payments.simulator.models import SimulatedPaymentIntent

from .blocks import DOCS, Block, Command, blocks

TUTORIAL = [DOCS / "tutorial" / "first-payment.md", DOCS / "tutorial" / "test-a-receiver.md"]
HOWTO = DOCS / "how-to" / "offline-simulator.md"
OFFLINE, STRIPE = "Offline simulator", "Stripe test mode"
EXAMPLE_INTENT = "pi_3QxExample0000000000000"
PASSWORD = "tutorial-password-1"
NOT_RUN = {
    "git clone https://github.com/apranova/django-apranova-payments.git": "the test runs from the clone",
    "mkdir lms && cd lms": "the test's temporary directory is the project's",
    "python -m venv .venv": "the test runs in an environment that has the package",
    "source .venv/bin/activate": "the same",
}
PLACEHOLDER = re.compile(r"\s*(?:\.\.\.|…)\s*")


def offline_route(paths: list[Path]) -> list[Block]:
    """The blocks a reader of the offline route follows, in order."""
    route = [block for path in paths for block in blocks(path) if block.tab in (None, OFFLINE)]
    assert route
    return route


# -- the docs agree with each other -------------------------------------------------------------


def python_blocks(path: Path) -> list[str]:
    return [block.text for block in blocks(path) if block.lang == "python"]


def test_the_how_to_shows_the_tutorials_offline_settings_and_urls():
    offline = [b.text for b in blocks(TUTORIAL[0]) if b.tab == OFFLINE and b.lang == "python"]
    assert [b.split("\n", 1)[0] for b in offline] == ["import os", "from django.apps import apps"]
    howto = python_blocks(HOWTO)
    assert offline[0] in howto, "the how-to's merged settings differ from the tutorial's offline tab"
    assert offline[1] in howto, "the how-to's merged URLs differ from the tutorial's offline tab"


@pytest.mark.parametrize("value", [None, ""])
def test_the_offline_settings_name_a_missing_webhook_secret(tmp_path, value):
    """A new shell without ``STRIPE_WEBHOOK_SECRET``: the settings stop with a message naming
    the variable and how to set it, never a bare ``KeyError`` and never a default secret."""
    settings = next(b.text for b in blocks(TUTORIAL[0]) if b.tab == OFFLINE and b.lang == "python")
    (tmp_path / "offline_settings.py").write_text(settings, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_WEBHOOK_SECRET"}
    if value is not None:
        env["STRIPE_WEBHOOK_SECRET"] = value

    done = subprocess.run([sys.executable, "-c", "import offline_settings"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == ("django.core.exceptions.ImproperlyConfigured: STRIPE_WEBHOOK_SECRET is not set in this shell. "
                    "Export the same secret in every shell that runs manage.py: "
                    "export STRIPE_WEBHOOK_SECRET=$(cat webhook-secret.txt)"), done.stderr
    assert "KeyError" not in done.stderr


def test_under_pytest_the_offline_settings_leave_the_secret_to_the_tests(monkeypatch):
    """Part 2 gives pytest runs their own secret, after these settings: no error before it."""
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    settings = next(b.text for b in blocks(TUTORIAL[0]) if b.tab == OFFLINE and b.lang == "python")
    namespace: dict[str, Any] = {}

    exec(compile(settings, "lms/settings.py", "exec"), namespace)  # noqa: S102 - the docs' own settings

    assert namespace["APRANOVA_PAYMENTS"]["STRIPE_WEBHOOK_SECRET"] is None


def test_each_step_with_a_stripe_tab_has_an_offline_one():
    labels = [b.tab for b in blocks(TUTORIAL[0]) if b.tab]
    assert labels.count(STRIPE) and set(labels) == {STRIPE, OFFLINE}
    stripe_commands = [c.text for b in offline_route(TUTORIAL) if b.lang == "console" for c in b.commands()
                       if c.text.startswith("stripe ")]
    assert stripe_commands == []


# -- running the offline route ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def expected_pattern(line: str, intent: str | None) -> re.Pattern[str]:
    """A documented output line as a pattern: placeholders match anything, the example id the
    real one, runs of blanks any blanks."""
    parts = [re.escape(" ".join(part.split())) for part in PLACEHOLDER.split(line.strip())]
    pattern = ".*".join(parts)
    if intent:
        pattern = pattern.replace(re.escape(EXAMPLE_INTENT), re.escape(intent))
    return re.compile(pattern)


def assert_output(documented: list[str], actual: str, where: str, intent: str | None) -> None:
    lines = [" ".join(line.split()) for line in actual.splitlines()]
    for line in documented:
        pattern = expected_pattern(line, intent)
        assert any(pattern.search(got) for got in lines), (
            f"{where}: the docs show\n  {line}\nbut the command printed:\n{actual}"
        )


def assert_json(documented: str, actual: str, where: str) -> None:
    """The answer has every documented key, with the documented value unless it is an example."""
    shown, got = json.loads(documented), json.loads(actual)
    for key, value in shown.items():
        assert key in got, f"{where}: {key!r} is documented but not in the answer {got}"
        example = key in ("createdAt", "updatedAt") or (isinstance(value, str) and (
            "Example" in value or PLACEHOLDER.search(value)))
        if not example:
            assert got[key] == value, f"{where}: {key} is {got[key]!r}, the docs show {value!r}"


class Reader:
    """Follows the docs in ``project``: writes the files, runs the commands."""

    def __init__(self, project: Path, port: int) -> None:
        self.project = project
        self.port = port
        self.intent: str | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log = project / "runserver.log"
        bin_dir = str(Path(sys.executable).parent)
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("DJANGO_", "STRIPE_", "SIMULATOR_", "APRANOVA_", "PYTEST_"))}
        self.env = {
            **keep,
            "PATH": bin_dir + os.pathsep + keep.get("PATH", ""),
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }
        self.last_output = ""
        self.ran: list[str] = []

    def follow(self, block: Block) -> None:
        if block.lang in ("python", "ini"):
            assert block.title, f"{block.where}: a {block.lang} block on the route without a title (which file?)"
            path = self.project / block.title
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as file:  # later definitions win: "add" and "replace" alike
                file.write("\n" + block.text)
        elif block.lang == "console":
            for command in block.commands():
                self.run(command, block.where)
        elif block.lang == "json":
            assert_json(block.text, self.last_output, block.where)
        elif block.lang == "text" and "/api/payments/webhook/" in block.text:
            self.wait_for_log(block)
        # html: the browser's half, which the command of step 8 stands in for

    def substitute(self, text: str) -> str:
        text = text.replace("YOUR_PASSWORD", PASSWORD)
        text = re.sub(r"(localhost|127\.0\.0\.1):8000", f"127.0.0.1:{self.port}", text)
        return text.replace(EXAMPLE_INTENT, self.intent) if self.intent else text

    def run(self, command: Command, where: str) -> None:
        if command.text in NOT_RUN or command.text.startswith("pip install "):
            return
        assert not command.text.startswith("stripe "), f"{where}: {command.text} on the offline route"
        text = self.substitute(command.text)
        self.ran.append(command.text)
        if text == "python manage.py runserver":
            self.start_server()
            return
        if text.startswith("python manage.py createsuperuser"):
            text += " --noinput"
        if match := re.fullmatch(r"export (\w+)=(.*)", text):
            self.env[match[1]] = self.shell(f"printf %s {match[2]}", where)
            return
        self.last_output = self.shell(text, where)
        assert_output(command.output, self.last_output, where, self.intent)
        if self.intent is None and self.last_output.startswith("{"):
            self.intent = json.loads(self.last_output).get("paymentIntent")

    def shell(self, text: str, where: str) -> str:
        done = subprocess.run(["bash", "-c", text], cwd=self.project, env=self.env,  # noqa: S603, S607
                              capture_output=True, text=True, timeout=180)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{where}: `{text}` exited {done.returncode}:\n{output}"
        return output

    def start_server(self) -> None:
        with self.server_log.open("wb") as log:
            # As step 7 says for a port other than 8000 (the test takes a free one). Only the
            # server: the second terminal of step 8 has what the docs export there.
            hook = f"http://127.0.0.1:{self.port}/api/payments/webhook/"
            self.server = subprocess.Popen(  # noqa: S603 - the tutorial's own manage.py
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                cwd=self.project, env={**self.env, "SIMULATOR_WEBHOOK_URL": hook}, stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not self._listening():
            assert self.server.poll() is None, f"runserver exited:\n{self.server_log.read_text()}"
            assert time.monotonic() < deadline, f"runserver did not answer:\n{self.server_log.read_text()}"
            time.sleep(0.1)

    def _listening(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/payments/webhook/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # 405 for a GET: it answers
        except OSError:
            return False

    def wait_for_log(self, block: Block) -> None:
        deadline = time.monotonic() + 20
        while True:
            log = self.server_log.read_text(errors="replace")
            try:
                assert_output(block.text.strip().splitlines(), log, block.where, self.intent)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.project / "db.sqlite3") as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    if shutil.which("curl") is None:
        pytest.skip("the tutorial's requests are curl commands: curl is not installed")
    reader = Reader(tmp_path / "lms", _free_port())
    reader.project.mkdir()
    try:
        yield reader
    finally:
        reader.stop()


def test_the_offline_tutorial_runs_as_written(reader):
    for block in offline_route(TUTORIAL[:1]):
        reader.follow(block)

    assert reader.intent and reader.intent.startswith("pi_sim")
    assert [c.split()[2] for c in reader.ran if c.startswith("python manage.py")] == [
        "startapp", "migrate", "createsuperuser", "check", "runserver", "apranova_simulate_confirm"]
    assert sum(c.startswith("curl ") for c in reader.ran) == 4
    # The second terminal of step 8 exports both variables the server has (a new shell has neither).
    exports = [c.split("=")[0] for c in reader.ran if c.startswith("export ")]
    assert exports == ["export STRIPE_WEBHOOK_SECRET", "export STRIPE_WEBHOOK_SECRET", "export SIMULATOR_WEBHOOK_URL"]
    events = reader.query("SELECT type, outcome FROM apranova_payments_webhookevent ORDER BY received_at")
    assert ("payment_intent.created", "processed") in events
    assert ("payment_intent.succeeded", "processed") in events, events  # posted by the simulator itself
    assert reader.query("SELECT status FROM apranova_payments_payment") == [("succeeded",)]

    reader.stop()
    for block in offline_route(TUTORIAL[1:]):  # the second part, in the same project
        reader.follow(block)
    assert reader.ran[-2:] == ["pytest", "pytest"] and "3 passed" in reader.last_output


# -- apranova_simulate_confirm --------------------------------------------------------------------

HOOK = "http://127.0.0.1:8765/api/payments/webhook/"


@pytest.fixture
def simulator(settings: Any, transactional_db: Any) -> Iterator[responses.RequestsMock]:
    """The simulator as the gateway, its events posted (after real commits) to a mocked hook."""
    settings.DEBUG = True
    settings.APRANOVA_PAYMENTS = {
        "GATEWAY": "django_apranova_payments.simulator.gateway.SimulatorGateway",
        "STRIPE_WEBHOOK_SECRET": "whsec_tutorial_suite",
        "SIMULATOR_WEBHOOK_URL": HOOK,
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, HOOK, json={"received": True})
        yield mock


def new_intent() -> str:
    intent = SimulatorGateway().create_payment_intent(amount=99900, currency="usd", metadata={},
                                                      idempotency_key=os.urandom(8).hex())
    assert sender.wait_for_deliveries(10)
    return intent.id


def confirm(*args: str, verbosity: int = 1) -> tuple[str, str]:
    out, err = _Buffer(), _Buffer()
    call_command("apranova_simulate_confirm", *args, verbosity=verbosity, stdout=out, stderr=err)
    return out.text, err.text


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def posted_types(mock: responses.RequestsMock) -> list[str]:
    return [json.loads(call.request.body)["type"] for call in mock.calls]


def test_4242_succeeds_and_the_command_waits_for_the_event(simulator):
    intent = new_intent()

    out, err = confirm(intent, "--card", "4242424242424242")

    assert out.splitlines()[0] == f"{intent}: succeeded (visa ending 4242)."
    assert re.search(rf"Event evt_sim\w+ \(payment_intent.succeeded\) for {intent} delivered: HTTP 200", out)
    assert err == ""
    assert posted_types(simulator) == ["payment_intent.created", "payment_intent.succeeded"]
    assert SimulatedPaymentIntent.objects.get(intent_id=intent).status == "succeeded"


def test_a_decline_says_why_and_a_retry_on_the_same_intent_succeeds(simulator):
    intent = new_intent()

    out, _ = confirm(intent, "--card", "4000 0000 0000 9995")
    assert out.startswith(f"{intent}: declined (insufficient_funds, visa ending 9995): "
                          "Your card has insufficient funds. The PaymentIntent waits for another card")

    out, _ = confirm(intent)  # the default card, 4242
    assert out.startswith(f"{intent}: succeeded")
    assert posted_types(simulator)[1:] == ["payment_intent.payment_failed", "payment_intent.succeeded"]


@pytest.mark.parametrize(("action", "status"), [("complete", "succeeded"), ("fail", "requires_payment_method")])
def test_3d_secure_is_decided_by_authenticate(simulator, action, status):
    intent = new_intent()

    out, _ = confirm(intent, "--card", "4000002500003155")
    assert "requires authentication (3-D Secure, visa ending 3155)" in out
    confirm(intent, "--authenticate", action)

    assert SimulatedPaymentIntent.objects.get(intent_id=intent).status == status


def test_card_and_authentication_in_one_call(simulator):
    intent = new_intent()

    out, _ = confirm(intent, "--card", "4000002500003155", "--authenticate", "complete")

    assert out.splitlines()[0] == f"{intent}: succeeded (visa ending 3155)."
    assert posted_types(simulator)[1:] == ["payment_intent.requires_action", "payment_intent.succeeded"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pi_simnothere"], "No simulated PaymentIntent 'pi_simnothere'"),
        (["{intent}", "--card", "1234"], "Error: argument --card: Your card number is incorrect."),
        (["{intent}", "--authenticate", "maybe"], "argument --authenticate: invalid choice: 'maybe'"),
    ],
)
def test_bad_arguments_are_one_line_errors(simulator, args, message):
    intent = new_intent()

    with pytest.raises(CommandError) as raised:
        confirm(*[arg.format(intent=intent) for arg in args])

    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_paid_intent_cannot_be_confirmed_again(simulator):
    intent = new_intent()
    confirm(intent)

    with pytest.raises(CommandError, match=f"^{intent}: This PaymentIntent cannot be confirmed: its status is succ"):
        confirm(intent)


def test_refuses_with_debug_off(simulator, settings):
    intent = new_intent()
    settings.DEBUG = False

    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        confirm(intent)
    assert SimulatedPaymentIntent.objects.get(intent_id=intent).status == "requires_payment_method"


def test_refuses_when_stripe_is_the_gateway(simulator, settings):
    intent = new_intent()
    stripe = "django_apranova_payments.gateway.StripeGateway"
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "GATEWAY": stripe}

    with pytest.raises(CommandError, match=r"GATEWAY'\] is not the simulator"):
        confirm(intent)


def test_a_failed_delivery_is_reported_with_the_url(simulator, settings):
    intent = new_intent()
    simulator.replace(responses.POST, HOOK, body=requests.ConnectionError("refused"))

    out, err = confirm(intent)

    assert out.startswith(f"{intent}: succeeded")
    assert "(payment_intent.succeeded) to http://127.0.0.1:8765/api/payments/webhook/ failed" in err
    assert "Is the server listening at SIMULATOR_WEBHOOK_URL (http://127.0.0.1:8765/api/payments/webhook/)?" in err


def test_without_a_webhook_url_it_says_no_event_was_sent(simulator, settings):
    intent = new_intent()
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "SIMULATOR_WEBHOOK_URL": None}

    out, err = confirm(intent)

    assert out.startswith(f"{intent}: succeeded")
    assert "SIMULATOR_WEBHOOK_URL is not set, so no webhook was sent" in err


def test_verbosity_0_prints_nothing_and_the_logger_is_left_as_it_was(simulator):
    intent = new_intent()
    log = logging.getLogger(sender.__name__)
    level, handlers = log.level, list(log.handlers)

    assert confirm(intent, verbosity=0) == ("", "")

    assert (log.level, log.handlers) == (level, handlers)
    assert posted_types(simulator)[-1] == "payment_intent.succeeded"
