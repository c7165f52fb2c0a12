"""Management commands: apranova_replay_events and apranova_reconcile."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper
from django.utils import timezone

from django_apranova_payments import signals, webhooks
from django_apranova_payments.conf import app_settings
from django_apranova_payments.management.commands.apranova_reconcile import Command as ReconcileCommand
from django_apranova_payments.management.commands.apranova_replay_events import Command as ReplayCommand
from django_apranova_payments.management.progress import MIN_ITEMS, Progress, duration
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, capture_signals, post_event
from tests.factories import PaymentFactory


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# -- apranova_replay_events ---------------------------------------------------------------------


@pytest.fixture
def failed_event(client, payment):
    """A succeeded event whose first processing failed in a receiver."""

    def broken(**kwargs):
        raise RuntimeError("enrollment service down")

    signals.payment_succeeded.connect(broken)
    try:
        event = build_event(payment, "payment_intent.succeeded")
        assert post_event(client, event).status_code == 500
    finally:
        signals.payment_succeeded.disconnect(broken)
    return WebhookEvent.objects.get(stripe_id=event["id"])


def test_replay_failed_events_processes_them_once(failed_event, payment):
    with capture_signals() as sent:
        out, _ = run("apranova_replay_events", "--failed")
        again, _ = run("apranova_replay_events", "--failed")

    payment.refresh_from_db()
    failed_event.refresh_from_db()
    assert payment.status == "succeeded"
    assert failed_event.outcome == "processed"
    assert f"[1/1] {failed_event.stripe_id} payment_intent.succeeded: processed" in out
    assert "Replayed 1 event(s): 1 processed." in out
    assert "No stored events match --failed." in again
    assert [kw["payment"].pk for kw in sent.of("payment_succeeded")] == [payment.pk]


def test_replay_by_id_of_a_processed_event_changes_nothing(client, payment):
    event = build_event(payment, "payment_intent.succeeded")
    post_event(client, event)
    with capture_signals() as sent:
        out, _ = run("apranova_replay_events", "--id", event["id"])

    assert "processed" in out
    assert sent.of("webhook_event_received") == []
    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_replay_that_fails_again_exits_with_an_error(failed_event):
    signals.payment_succeeded.connect(broken := lambda **kw: 1 / 0)
    try:
        with pytest.raises(CommandError, match="1 event"):
            run("apranova_replay_events", "--failed")
    finally:
        signals.payment_succeeded.disconnect(broken)
    failed_event.refresh_from_db()
    assert failed_event.outcome == "failed" and failed_event.attempts == 2
    assert "ZeroDivisionError" in failed_event.error


def test_replay_filters_by_type_and_date(client, user):
    first, second = PaymentFactory(user=user), PaymentFactory(user=user)
    post_event(client, build_event(first, "payment_intent.processing"))
    post_event(client, build_event(second, "payment_intent.canceled"))
    WebhookEvent.objects.filter(type="payment_intent.canceled").update(
        received_at=timezone.now() - timedelta(days=10))

    out, err = run("apranova_replay_events", "--type", "payment_intent.processing", "--dry-run")
    since, _ = run("apranova_replay_events", "--since", (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d"),
                   "--dry-run")

    processing = WebhookEvent.objects.get(type="payment_intent.processing")
    assert f"[1/1] would replay {processing.stripe_id} (payment_intent.processing, last outcome: processed)" in out
    assert "canceled" not in out and err == ""  # a handled type: no warning
    assert "Would replay 1 event(s). Dry run: nothing was processed." in since


def test_replay_needs_a_selection():
    with pytest.raises(CommandError, match="Say which events"):
        run("apranova_replay_events")


def test_replay_rejects_a_bad_date(db):
    with pytest.raises(CommandError) as raised:
        run("apranova_replay_events", "--since", "yesterday")

    message = str(raised.value)
    assert message.startswith("Error: argument --since: takes YYYY-MM-DD")
    assert "'yesterday'" in message and "\n" not in message


def test_a_bad_date_on_the_command_line_is_argparse_error_not_a_traceback(db, capsys):
    command = ReplayCommand()
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "apranova_replay_events", "--since", "yesterday"])

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "manage.py apranova_replay_events: error: argument --since: takes YYYY-MM-DD (a day, from midnight) "
        "or YYYY-MM-DDTHH:MM (a time; add +HH:MM for another offset), not 'yesterday'"
    )


def test_a_bad_date_passed_as_a_keyword_is_a_command_error(db):
    with pytest.raises(CommandError, match="argument --since: takes YYYY-MM-DD"):
        call_command("apranova_replay_events", since="yesterday", stdout=StringIO())


def test_since_takes_a_time_of_day_in_the_current_time_zone(client, user, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    early, late = PaymentFactory(user=user), PaymentFactory(user=user)
    post_event(client, build_event(early, "payment_intent.processing"))
    post_event(client, build_event(late, "payment_intent.processing"))
    zone = zoneinfo.ZoneInfo("Asia/Kolkata")
    WebhookEvent.objects.filter(object_id=early.stripe_payment_intent).update(
        received_at=datetime(2026, 11, 1, 14, 29, tzinfo=zone))
    WebhookEvent.objects.filter(object_id=late.stripe_payment_intent).update(
        received_at=datetime(2026, 11, 1, 14, 31, tzinfo=zone))

    local, _ = run("apranova_replay_events", "--since", "2026-11-01T14:30", "--dry-run")
    offset, _ = run("apranova_replay_events", "--since", "2026-11-01T09:00+00:00", "--dry-run")
    day, _ = run("apranova_replay_events", "--since", "2026-11-01", "--dry-run")

    assert "Would replay 1 event(s)" in local and late.stripe_payment_intent not in local  # by event, not intent
    assert WebhookEvent.objects.get(object_id=late.stripe_payment_intent).stripe_id in local
    assert "Would replay 1 event(s)" in offset  # 09:00 UTC is 14:30 in Kolkata
    assert "Would replay 2 event(s)" in day


def test_help_gives_every_format():
    replay_help = ReplayCommand().create_parser("manage.py", "apranova_replay_events").format_help()
    reconcile_help = ReconcileCommand().create_parser("manage.py", "apranova_reconcile").format_help()
    flat = " ".join(replay_help.split())

    assert "--since WHEN" in replay_help and "YYYY-MM-DD (a day, from midnight)" in flat
    assert "YYYY-MM-DDTHH:MM" in flat and "evt_" in flat
    assert all(event_type in flat for event_type in webhooks.HANDLERS)
    assert "--older-than MINUTES" in reconcile_help and "--limit N" in reconcile_help
    assert "0 for all (default 30)" in " ".join(reconcile_help.split())
    assert "-v 0 prints only errors" in " ".join(reconcile_help.split())


# -- unknown event types -------------------------------------------------------------------------


def test_an_unknown_type_is_refused_with_the_handled_ones(db):
    with pytest.raises(CommandError) as raised:
        run("apranova_replay_events", "--type", "payment_intent.succeded")

    message = str(raised.value)
    assert "'payment_intent.succeded' is not an event type this package handles" in message
    assert "Did you mean payment_intent.succeeded?" in message
    assert "Handled types: " + ", ".join(sorted(webhooks.HANDLERS)) + "." in message


def test_a_stored_unhandled_type_is_replayed_with_a_warning(client, payment):
    event = build_event(payment, "payment_intent.succeeded")
    event["type"] = "customer.created"
    post_event(client, event)

    out, err = run("apranova_replay_events", "--type", "customer.created")

    assert "Warning: customer.created is not an event type this package handles; " \
        "its 1 stored event(s) will be ignored again." in err
    assert f"[1/1] {event['id']} customer.created: ignored" in out
    assert "Replayed 1 event(s): 1 ignored." in out


def test_the_dry_run_says_an_unhandled_type_would_be_ignored(client, payment):
    event = build_event(payment, "payment_intent.succeeded")
    event["type"] = "customer.created"
    post_event(client, event)

    out, _ = run("apranova_replay_events", "--id", event["id"], "--dry-run")

    assert (f"would replay {event['id']} (customer.created, last outcome: ignored; "
            "not a handled type, it would be ignored again)") in out


# -- verbosity of apranova_replay_events ----------------------------------------------------------


def test_replay_at_verbosity_0_prints_nothing_on_success(failed_event):
    out, err = run("apranova_replay_events", "--failed", "-v", "0")

    assert (out, err) == ("", "")
    failed_event.refresh_from_db()
    assert failed_event.outcome == "processed"


def test_replay_at_verbosity_0_prints_only_the_failures(failed_event):
    signals.payment_succeeded.connect(broken := lambda **kw: 1 / 0)
    out, err = StringIO(), StringIO()
    try:
        with pytest.raises(CommandError, match="1 event"):
            call_command("apranova_replay_events", "--failed", verbosity=0, stdout=out, stderr=err)
    finally:
        signals.payment_succeeded.disconnect(broken)

    assert out.getvalue() == ""
    assert err.getvalue() == f"[1/1] {failed_event.stripe_id} payment_intent.succeeded: failed: " \
        "ZeroDivisionError: division by zero\n"


def test_replay_at_verbosity_2_shows_the_note_and_attempts(client, payment):
    event = build_event(payment, "payment_intent.succeeded")
    post_event(client, event)
    Payment.objects.filter(pk=payment.pk).update(amount=payment.amount + 1)

    detailed, _ = run("apranova_replay_events", "--id", event["id"], "-v", "2")
    normal, _ = run("apranova_replay_events", "--id", event["id"])

    attempts = WebhookEvent.objects.get(stripe_id=event["id"]).attempts
    assert "note:" not in normal and "attempts:" not in normal
    assert f"    attempts: {attempts}; was processed before this replay" in detailed
    assert "    note: not applied: mismatch: Stripe has" in detailed


def test_replay_dry_run_at_verbosity_2_shows_the_stored_error(failed_event):
    out, _ = run("apranova_replay_events", "--failed", "--dry-run", "-v", "2")

    assert f"would replay {failed_event.stripe_id} (payment_intent.succeeded, last outcome: failed)" in out
    assert "    received " in out and "attempts: 1" in out
    assert "    error: RuntimeError: enrollment service down" in out
    failed_event.refresh_from_db()
    assert failed_event.outcome == "failed" and failed_event.attempts == 1


# -- apranova_reconcile -----------------------------------------------------------------------


def stale(payment: Payment, minutes: int = 60) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))
    return payment


def test_reconcile_applies_what_stripe_says(user, stripe_mock):
    stuck = stale(PaymentFactory(user=user))
    PaymentFactory(user=user)  # recently updated: left alone
    stale(PaymentFactory(user=user, status="succeeded"))  # final: left alone
    stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(stuck, "succeeded")
    with capture_signals() as sent:
        out, _ = run("apranova_reconcile", "--older-than", "30")

    stuck.refresh_from_db()
    assert stuck.status == "succeeded"
    assert [kw["payment"].pk for kw in sent.of("payment_succeeded")] == [stuck.pk]
    assert f"[1/1] {stuck.stripe_payment_intent}: pending -> succeeded" in out
    assert "Checked 1 payment(s): changed 1, unchanged 0, errors 0.\n" in out
    assert [c["url"] for c in stripe_mock.calls] == [
        f"https://api.stripe.com/v1/payment_intents/{stuck.stripe_payment_intent}"]


def test_reconcile_dry_run_changes_nothing(user, stripe_mock):
    stuck = stale(PaymentFactory(user=user))
    stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(stuck, "canceled")

    out, _ = run("apranova_reconcile", "--dry-run")

    stuck.refresh_from_db()
    assert stuck.status == "pending"
    assert "would move pending -> canceled" in out
    assert "would change 1" in out


def test_reconcile_reports_stripe_errors_and_goes_on(user, stripe_mock):
    first, second = stale(PaymentFactory(user=user), 90), stale(PaymentFactory(user=user), 60)
    stripe_mock.intents[second.stripe_payment_intent] = build_payment_intent(second, "processing")
    stripe_mock.fail_next("retrieve", exception=requests.ConnectionError("reset"))

    out, err = run("apranova_reconcile", "--limit", "5")

    second.refresh_from_db()
    assert second.status == "processing"
    assert f"[1/2] {first.stripe_payment_intent}: error:" in err and "error" not in out.split("Checked")[0]
    assert "changed 1, unchanged 0, errors 1" in out


def test_reconcile_rejects_negative_minutes(db):
    with pytest.raises(CommandError):
        run("apranova_reconcile", "--older-than", "-1")


@pytest.mark.parametrize(("args", "message"), [
    (["--older-than", "-1"], "Error: argument --older-than: takes a whole number of minutes, 0 or more, not '-1'"),
    (["--older-than", "half an hour"],
     "Error: argument --older-than: takes a whole number of minutes, 0 or more, not 'half an hour'"),
    (["--limit", "0"], "Error: argument --limit: takes a whole number, 1 or more, not '0'"),
])
def test_reconcile_argument_errors_are_one_line(db, args, message):
    with pytest.raises(CommandError) as raised:
        run("apranova_reconcile", *args)

    assert str(raised.value) == message


def test_reconcile_checks_keyword_options_too(db):
    with pytest.raises(CommandError, match="--older-than must be >= 0"):
        call_command("apranova_reconcile", older_than=-5, stdout=StringIO())
    with pytest.raises(CommandError, match="argument --limit: takes a whole number, 1 or more"):
        call_command("apranova_reconcile", limit="none", stdout=StringIO())
    with pytest.raises(CommandError, match="argument --older-than: takes a whole number of minutes"):
        call_command("apranova_reconcile", older_than="half an hour", stdout=StringIO())


def test_reconcile_dry_run_says_what_it_skipped_and_why(user, stripe_mock):
    oldest, older, old = (stale(PaymentFactory(user=user), minutes) for minutes in (90, 80, 70))
    PaymentFactory(user=user), PaymentFactory(user=user)  # updated just now
    for payment in (oldest, older):
        stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "requires_payment_method")

    out, _ = run("apranova_reconcile", "--dry-run", "--limit", "2")

    assert f"[1/2] {oldest.stripe_payment_intent}: unchanged (pending, Stripe says requires_payment_method)" in out
    assert old.stripe_payment_intent not in out
    assert "Checked 2 payment(s): would change 0, unchanged 2, errors 0. Dry run: nothing was changed." in out
    assert "Skipped 2 open payment(s) updated in the last 30 minute(s) (--older-than 30); " \
        "--older-than 0 includes them." in out
    assert "Skipped 1 more payment(s) beyond --limit 2; the next run takes them, oldest first." in out


def test_reconcile_counts_the_skipped_before_it_changes_anything(user, stripe_mock):
    waiting, done = stale(PaymentFactory(user=user), 90), stale(PaymentFactory(user=user), 60)
    stripe_mock.intents[waiting.stripe_payment_intent] = build_payment_intent(waiting, "requires_action")
    stripe_mock.intents[done.stripe_payment_intent] = build_payment_intent(done, "succeeded")

    out, _ = run("apranova_reconcile", "--limit", "2")

    waiting.refresh_from_db(), done.refresh_from_db()
    assert (waiting.status, waiting.stripe_status, done.status) == ("pending", "requires_action", "succeeded")
    assert waiting.updated_at > timezone.now() - timedelta(minutes=1)  # saved by the run, still open
    assert "Skipped" not in out  # what the run saved or finished is neither recent nor beyond the limit


def test_reconcile_with_nothing_to_check_says_why(user):
    PaymentFactory(user=user)

    out, _ = run("apranova_reconcile", "--dry-run")

    assert "Checked 0 payment(s)" in out
    assert "Skipped 1 open payment(s) updated in the last 30 minute(s)" in out


def test_reconcile_at_verbosity_0_prints_only_errors(user, stripe_mock):
    failing, moving = stale(PaymentFactory(user=user), 90), stale(PaymentFactory(user=user), 60)
    PaymentFactory(user=user)  # too recent: would be reported at -v 1
    stripe_mock.intents[moving.stripe_payment_intent] = build_payment_intent(moving, "succeeded")
    stripe_mock.fail_next("retrieve", exception=requests.ConnectionError("reset"))

    out, err = run("apranova_reconcile", "-v", "0")

    moving.refresh_from_db()
    assert moving.status == "succeeded"
    assert out == ""
    assert err.startswith(f"[1/2] {failing.stripe_payment_intent}: error: ") and err.count("\n") == 1


def test_reconcile_at_verbosity_2_says_what_stripe_says_and_why_unchanged(user, stripe_mock):
    unreachable, waiting, mismatched, moving = (
        stale(PaymentFactory(user=user), minutes) for minutes in (95, 90, 80, 70))
    stripe_mock.intents[waiting.stripe_payment_intent] = build_payment_intent(waiting, "requires_action")
    stripe_mock.intents[mismatched.stripe_payment_intent] = build_payment_intent(
        mismatched, "succeeded", amount=mismatched.amount_minor + 100)
    stripe_mock.intents[moving.stripe_payment_intent] = build_payment_intent(moving, "succeeded")
    attempts = app_settings.STRIPE_MAX_NETWORK_RETRIES + 1

    stripe_mock.fail_next("retrieve", exception=requests.ConnectionError("reset"), times=attempts)
    normal, normal_err = run("apranova_reconcile", "--dry-run")
    stripe_mock.fail_next("retrieve", exception=requests.ConnectionError("reset"), times=attempts)
    detailed, err = run("apranova_reconcile", "--dry-run", "-v", "2")

    assert "Stripe:" not in normal and "why unchanged" not in normal and "cause:" not in normal_err
    assert f"[1/4] {unreachable.stripe_payment_intent}: error: " in err
    assert "    cause: APIConnectionError: " in err  # under the error, on stderr
    assert f"payment {waiting.pk}: {waiting.amount_minor} {waiting.currency} (minor units), pending" in detailed
    assert "    Stripe: requires_action," in detailed
    assert "    why unchanged: Stripe's requires_action is pending here, which the payment already is" in detailed
    assert f"    Stripe: succeeded, {mismatched.amount_minor + 100} {mismatched.currency}" in detailed
    assert "    why unchanged: mismatch: Stripe has" in detailed
    assert f"{moving.stripe_payment_intent}: would move pending -> succeeded" in detailed


# -- the admin's "process again" ------------------------------------------------------------------


def test_admin_process_again_replays_a_failed_event(client, failed_event, payment, django_user_model):
    from django.urls import reverse

    admin_user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:apranova_payments_webhookevent_changelist"),
        {"action": "process_again", "_selected_action": [failed_event.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Processed again: 1 processed." in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == "succeeded"


# -- the progress indicator (management/progress.py) ---------------------------------------------


class Terminal(StringIO):
    """A stdout attached to a terminal."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def advance(progress: Progress, clock: Clock, items: int, seconds: float = 2) -> None:
    for _ in range(items):
        clock.now += seconds
        progress.advance()


def test_duration():
    assert [duration(s) for s in (0, 45, 59.6, 185, 3599, 7620)] == [
        "0 s", "45 s", "1 min 00 s", "3 min 05 s", "59 min 59 s", "2 h 07 min"]


def test_progress_without_a_terminal_prints_a_line_every_tenth():
    out, clock = StringIO(), Clock()
    with Progress(OutputWrapper(out), 50, label="replay", clock=clock) as progress:
        advance(progress, clock, 50)

    lines = out.getvalue().splitlines()
    assert lines[0] == "replay: 5/50 (10%), 10 s elapsed, about 1 min 30 s left"
    assert lines[-1] == "replay: 45/50 (90%), 1 min 30 s elapsed, about 10 s left"
    assert len(lines) == 9 and "\r" not in out.getvalue()  # no line at 100%: the summary follows


def test_progress_without_a_terminal_prints_a_line_at_least_every_100_items():
    out, clock = StringIO(), Clock()
    with Progress(OutputWrapper(out), 1500, clock=clock) as progress:
        advance(progress, clock, 1500, seconds=0.1)

    lines = out.getvalue().splitlines()
    assert len(lines) == 14
    assert lines[0] == "100/1500 (6%), 10 s elapsed, about 2 min 20 s left"


def test_progress_shows_nothing_on_short_runs_or_when_disabled():
    short, disabled, clock = StringIO(), Terminal(), Clock()
    with Progress(OutputWrapper(short), MIN_ITEMS - 1, clock=clock) as progress:
        advance(progress, clock, MIN_ITEMS - 1)
    with Progress(OutputWrapper(disabled), 500, enabled=False, clock=clock) as progress:
        advance(progress, clock, 250)
        progress.write("an item")
        advance(progress, clock, 250)

    assert short.getvalue() == ""
    assert disabled.getvalue() == "an item\n"


def test_progress_on_a_terminal_is_a_bar_redrawn_in_place():
    out, clock = Terminal(), Clock()
    progress = Progress(OutputWrapper(out), 20, label="reconcile", clock=clock)
    advance(progress, clock, 10)
    half = "reconcile [############------------] 10/20 (50%), 20 s elapsed, about 20 s left"
    assert out.getvalue().endswith("\r" + half)
    assert "\n" not in out.getvalue()

    progress.write("[10/20] pi_1: pending -> succeeded")
    assert out.getvalue().endswith(
        "\r" + " " * len(half) + "\r" + "[10/20] pi_1: pending -> succeeded\n" + "\r" + half)

    advance(progress, clock, 10)
    progress.close()
    last = "reconcile [########################] 20/20 (100%), 40 s elapsed".ljust(len(half))
    assert out.getvalue().endswith("\r" + last + "\r" + " " * len(half) + "\r")  # erased to its widest
    assert out.getvalue().count("\n") == 1  # only the line written through it


def test_progress_on_a_terminal_redraws_once_per_percent():
    out, clock = Terminal(), Clock()
    with Progress(OutputWrapper(out), 1000, clock=clock) as progress:
        advance(progress, clock, 1000, seconds=0)

    assert out.getvalue().count("\r") == 101 + 2  # 0% … 100%, then the erase


@pytest.fixture
def many_events(db, user):
    """25 stored, processed events: enough for a progress indicator."""
    for _ in range(25):
        webhooks.process_event(build_event(PaymentFactory(user=user), "payment_intent.processing"))
    return WebhookEvent.objects.filter(type="payment_intent.processing")


def test_replay_reports_progress_in_a_log(many_events):
    out, _ = run("apranova_replay_events", "--type", "payment_intent.processing")

    progress = [line for line in out.splitlines() if line.startswith("replay: ")]
    assert [line.split(",")[0] for line in progress] == [
        f"replay: {n}/25 ({4 * n}%)" for n in (3, 6, 9, 12, 15, 18, 21, 24)]
    assert out.splitlines()[-1] == "Replayed 25 event(s): 25 processed."


def test_replay_dry_run_on_a_terminal_shows_a_bar_and_ends_clean(many_events):
    out = Terminal()
    call_command("apranova_replay_events", "--type", "payment_intent.processing", "--dry-run", stdout=out)

    text = out.getvalue()
    assert "\rdry run [" in text and "25/25 (100%)" in text
    assert text.endswith("Would replay 25 event(s). Dry run: nothing was processed.\n")
    assert "\rWould replay 25" in text  # the bar was erased before the summary
    assert re.search(r"\r {40,}\r\[2/25\] would replay ", text)  # and before each item line


def test_no_progress_at_verbosity_0(many_events):
    out = Terminal()
    call_command("apranova_replay_events", "--type", "payment_intent.processing", verbosity=0, stdout=out)

    assert out.getvalue() == ""


def test_reconcile_shows_the_same_progress(user, stripe_mock):
    for _ in range(20):
        stuck = stale(PaymentFactory(user=user))
        stripe_mock.intents[stuck.stripe_payment_intent] = build_payment_intent(stuck, "processing")

    log, _ = run("apranova_reconcile")
    terminal = Terminal()
    call_command("apranova_reconcile", "--older-than", "0", "--dry-run", stdout=terminal)

    assert "reconcile: 2/20 (10%)" in log and "Checked 20 payment(s): changed 20" in log
    assert "\rreconcile [" in terminal.getvalue()
