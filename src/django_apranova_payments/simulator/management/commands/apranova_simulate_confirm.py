"""Pay a simulated PaymentIntent with a test card from the command line: the offline
version of ``stripe payment_intents confirm``.

    manage.py apranova_simulate_confirm pi_sim… --card 4242424242424242
    manage.py apranova_simulate_confirm pi_sim… --card 4000002500003155 --authenticate complete

It goes through the simulator's own confirm (and 3-D Secure) path, the one its card form
uses, so the simulator posts the same signed ``payment_intent.*`` webhooks to
``SIMULATOR_WEBHOOK_URL``; the command waits for those posts and says how each went.
Like the rest of the simulator it refuses to run with ``DEBUG`` off.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from ....conf import app_settings
from ....exceptions import PaymentsError
from ....gateway import get_gateway
from ....management.base import PaymentsCommand
from ... import sender
from ...cards import TEST_CARDS, Card, InvalidCard, parse_card
from ...gateway import SimulatorGateway, UnexpectedState
from ...models import SimulatedPaymentIntent, SimulatedStatus

CARDS = ", ".join(f"{number} ({card.description.lower()})" for number, card in TEST_CARDS.items())


class _Collect(logging.Handler):
    """Keeps the sender's log records, to report them once the posts are done."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Command(PaymentsCommand):
    help = (
        "Pay a simulated PaymentIntent with a test card, as the simulator's card form does, and "
        "wait until the simulator has posted its webhook events. Offline development only: "
        "refuses to run with DEBUG off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("payment_intent", metavar="PAYMENT_INTENT",
                            help="The pi_sim… id that create-payment answered.")
        parser.add_argument("--card", default="4242424242424242", metavar="NUMBER",
                            help=f"A test card number (default 4242424242424242): {CARDS}. "
                                 "Any other valid number is declined, as Stripe declines real cards.")
        parser.add_argument("--authenticate", choices=["complete", "fail"], default=None,
                            help="For a card that requires authentication (3-D Secure): complete or fail "
                                 "it, as the buttons of the simulator's 3-D Secure page do.")

    def handle(self, *args: Any, **options: Any) -> None:
        gateway = self._simulator()
        intent_id = options["payment_intent"]
        intent = SimulatedPaymentIntent.objects.filter(intent_id=intent_id).first()
        if intent is None:
            raise CommandError(f"No simulated PaymentIntent {intent_id!r} (the id create-payment answered, pi_sim…).")
        authenticate = options["authenticate"]
        with self._deliveries() as records:
            try:
                if not (authenticate and intent.status == SimulatedStatus.REQUIRES_ACTION):
                    intent = gateway.confirm_payment_intent(intent_id, self._card(options["card"]))
                if authenticate and intent.status == SimulatedStatus.REQUIRES_ACTION:
                    intent = gateway.authenticate_payment_intent(intent_id, success=authenticate == "complete")
            except UnexpectedState as exc:
                raise CommandError(f"{intent_id}: {exc.detail}") from None
            except PaymentsError as exc:
                raise CommandError(f"{intent_id}: the simulator refused: {exc}") from None
            self._outcome(intent, authenticate)
        self._report(records)

    def _simulator(self) -> SimulatorGateway:
        if not settings.DEBUG:
            raise CommandError("The payment simulator runs only with DEBUG on (it moves no money, so it never "
                               "runs in production).")
        configured = app_settings.GATEWAY  # the class: the Stripe gateway would need its keys to be built
        if not (isinstance(configured, type) and issubclass(configured, SimulatorGateway)):
            raise CommandError("APRANOVA_PAYMENTS['GATEWAY'] is not the simulator: set it to "
                               "'django_apranova_payments.simulator.gateway.SimulatorGateway'.")
        gateway = get_gateway()
        assert isinstance(gateway, SimulatorGateway)
        return gateway

    @staticmethod
    def _card(number: str) -> Card:
        """The card, with an expiry a year ahead and a CVC, as the test cards take any."""
        next_year = datetime.date.today().year + 1
        try:
            return parse_card(number, 12, next_year, "123")
        except InvalidCard as exc:
            raise CommandError(f"Error: argument --card: {exc.message} ({exc.code}, {number!r})") from None

    def _outcome(self, intent: SimulatedPaymentIntent, authenticate: str | None) -> None:
        card = f"{intent.card_brand} ending {intent.card_last4}"
        if intent.status == SimulatedStatus.SUCCEEDED:
            self.say(f"{intent.intent_id}: succeeded ({card}).", self.style.SUCCESS)
        elif intent.status == SimulatedStatus.REQUIRES_ACTION:
            self.say(f"{intent.intent_id}: requires authentication (3-D Secure, {card}). Run this command again "
                     f"with --authenticate complete (or fail).")
        elif intent.last_payment_error:
            error = intent.last_payment_error
            code = error.get("decline_code") or error.get("code")
            self.say(f"{intent.intent_id}: declined ({code}, {card}): {error.get('message')} "
                     f"The PaymentIntent waits for another card: run this command again to retry.")
        else:
            self.say(f"{intent.intent_id}: {intent.status}.")

    @contextmanager
    def _deliveries(self) -> Iterator[list[logging.LogRecord]]:
        """Collect what the sender logs while the change is made and its events are posted,
        and wait for those posts (the sender's thread dies with this process)."""
        log = logging.getLogger(sender.__name__)
        handler, level = _Collect(), log.level
        log.addHandler(handler)
        if not log.isEnabledFor(logging.INFO):
            log.setLevel(logging.INFO)
        try:
            yield handler.records
            if app_settings.SIMULATOR_WEBHOOK_URL:
                sender.wait_for_deliveries(2 * float(app_settings.SIMULATOR_WEBHOOK_TIMEOUT) + 5)
        finally:
            log.removeHandler(handler)
            log.setLevel(level)

    def _report(self, records: list[logging.LogRecord]) -> None:
        url = app_settings.SIMULATOR_WEBHOOK_URL
        if not url:
            self.warn("SIMULATOR_WEBHOOK_URL is not set, so no webhook was sent; POST the payment to "
                      "update-status/ to bring it up to date.")
        for record in records:
            if record.levelno >= logging.WARNING:
                self.warn(record.getMessage())
            else:
                self.say(record.getMessage())
        deliveries = [record.simulator_delivery for record in records if hasattr(record, "simulator_delivery")]
        update = "Without the events, POST the payment to update-status/ to bring it up to date."
        if any(delivery.status == 400 for delivery in deliveries):
            self.warn(f"The webhook at {url} refused the signature (HTTP 400): STRIPE_WEBHOOK_SECRET must be the "
                      f"same in the process that runs this command and in the server. {update}")
        if any(delivery.status is None for delivery in deliveries):
            self.warn(f"Is the server listening at SIMULATOR_WEBHOOK_URL ({url})? {update}")
        elif any(record.levelno >= logging.WARNING for record in records):
            self.warn(update)
        if any(delivery.outcome == sender.QUEUED for delivery in deliveries):
            self.warn("The webhook queued the events (WEBHOOK_PROCESSING = 'task'): the payment changes when a "
                      "worker runs them: start your task worker, or run manage.py apranova_process_events "
                      "--older-than 0.")
