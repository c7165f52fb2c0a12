"""The simulator's test cards (Stripe's own test numbers) and card-detail validation.

Only the last four digits of a card ever reach a log; a card saved on a simulated Customer
keeps its test number, as Stripe keeps a saved card's, to behave the same way again.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    SUCCEEDS = "succeeds"
    DECLINED = "declined"
    REQUIRES_AUTHENTICATION = "requires_authentication"
    #: The payment succeeds, then the cardholder disputes it (a fraudulent chargeback).
    DISPUTED = "disputed"


@dataclass(frozen=True)
class TestCard:
    number: str
    description: str
    outcome: Outcome
    decline_code: str = ""
    message: str = ""

    @property
    def display_number(self) -> str:
        return " ".join(self.number[i:i + 4] for i in range(0, len(self.number), 4))


#: The test cards of the ApraNova LMS's original flow, plus Stripe's generic decline and its
#: dispute card, keyed by number.
TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "Succeeds", Outcome.SUCCEEDS),
        TestCard(
            "4000000000009995", "Declined: insufficient funds", Outcome.DECLINED,
            "insufficient_funds", "Your card has insufficient funds.",
        ),
        TestCard("4000002500003155", "Requires authentication (3-D Secure)", Outcome.REQUIRES_AUTHENTICATION),
        TestCard(
            "4000000000000002", "Declined: generic decline", Outcome.DECLINED,
            "generic_decline", "Your card was declined.",
        ),
        TestCard("4000000000000259", "Succeeds, then disputed as fraudulent", Outcome.DISPUTED),
    )
}

#: What any other valid card number does: Stripe refuses real cards in test mode.
NON_TEST_CARD = TestCard(
    "", "A card number that is not a test card", Outcome.DECLINED, "test_mode_live_card",
    "Your card was declined. The simulator accepts only test cards, such as 4242 4242 4242 4242.",
)


CARD_NUMBER = re.compile(r"[0-9]{12,19}")
CVC = re.compile(r"[0-9]{3,4}")
EXPIRY_PART = re.compile(r"[0-9]{1,4}")


class InvalidCard(ValueError):
    """Card details Stripe's form would refuse before any charge; ``code`` is Stripe's."""

    def __init__(self, code: str, message: str, param: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Card:
    card: TestCard
    last4: str
    brand: str
    number: str = ""
    exp_month: int = 0
    exp_year: int = 0


def parse_card(number: object, exp_month: object, exp_year: object, cvc: object,
               today: datetime.date | None = None) -> Card:
    """Validate card details as Stripe does, or raise ``InvalidCard``. Digits are ASCII
    digits only (``str.isdigit`` would take "²" or "٤" too)."""
    digits = re.sub(r"[ \-]", "", str(number or ""))
    if not (CARD_NUMBER.fullmatch(digits) and _luhn_ok(digits)):
        raise InvalidCard("incorrect_number", "Your card number is incorrect.", "number")
    month, year = _check_expiry(exp_month, exp_year, today or datetime.date.today())
    if not CVC.fullmatch(str(cvc or "").strip()):
        raise InvalidCard("invalid_cvc", "Your card's security code is invalid.", "cvc")
    card = TEST_CARDS.get(digits, NON_TEST_CARD)
    return Card(card=card, last4=digits[-4:], brand=_brand(digits), number=digits, exp_month=month, exp_year=year)


def saved(number: str, exp_month: int, exp_year: int) -> Card:
    """A saved card paid with again: what its test number does, without a form to check."""
    return Card(TEST_CARDS.get(number, NON_TEST_CARD), number[-4:], _brand(number), number, exp_month, exp_year)


def _check_expiry(exp_month: object, exp_year: object, today: datetime.date) -> tuple[int, int]:
    month, year = _small_number(exp_month), _small_number(exp_year)
    if month is None or year is None:
        raise InvalidCard("invalid_expiry_month", "Your card's expiration date is incomplete.", "exp_month")
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        raise InvalidCard("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    if (year, month) < (today.year, today.month):
        raise InvalidCard("invalid_expiry_year", "Your card's expiration date is in the past.", "exp_year")
    return month, year


def _small_number(value: object) -> int | None:
    """An expiry month or year: an integer, or one to four ASCII digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 9999 else None
    text = str(value).strip() if isinstance(value, str) else ""
    return int(text) if EXPIRY_PART.fullmatch(text) else None


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _brand(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or "2221" <= digits[:4] <= "2720":
        return "mastercard"
    if digits[:2] in {"34", "37"}:
        return "amex"
    return "unknown"
