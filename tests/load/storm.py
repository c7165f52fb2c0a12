"""The storm: Stripe's event histories for many payments, delivered out of order with
duplicates, and an independent model of the status machine to check the outcome.

Each payment follows one scenario (a history of ``payment_intent.*`` events with
increasing ``created`` times, as Stripe sends them). Every scenario's final status is the
same whatever order the events arrive in: a terminal status always wins, and an older
event never moves a payment between open statuses. How many transitions happen on the way
does depend on the order (``failed`` then ``succeeded`` is two, ``succeeded`` first is
one), so the expected transitions are computed by ``replay`` from the order in which the
server actually applied the events (each event's ``processed_at``, written under the
payment's row lock).
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django_apranova_payments.testing import build_event

P, S, F, C, PR = "pending", "succeeded", "failed", "canceled", "processing"

#: The status machine documented in docs/explanation/status-machine.md, written out again
#: here so the check is independent of ``transitions.py``.
ALLOWED = {
    P: {PR, S, F, C},
    PR: {S, F, C},
    F: {PR, S, P, C},
    S: set(),
    C: set(),
}
TERMINAL = {S, C}

#: The local status each event type carries (``created`` moves nothing).
EVENT_STATUS: dict[str, str | None] = {
    "payment_intent.created": None,
    "payment_intent.requires_action": P,
    "payment_intent.processing": PR,
    "payment_intent.succeeded": S,
    "payment_intent.payment_failed": F,
    "payment_intent.canceled": C,
}

#: name: (event types in Stripe's order, final status, weight)
SCENARIOS: dict[str, tuple[tuple[str, ...], str, int]] = {
    "card succeeds": (("created", "succeeded"), S, 30),
    "declined, then succeeds": (("created", "payment_failed", "succeeded"), S, 15),
    "3-D Secure, then succeeds": (("created", "requires_action", "succeeded"), S, 10),
    "bank debit: processing, then succeeds": (("created", "processing", "succeeded"), S, 10),
    "bank debit: processing, then fails": (("created", "processing", "payment_failed"), F, 5),
    "declined": (("created", "payment_failed"), F, 5),
    "3-D Secure, then declined": (("created", "requires_action", "payment_failed"), F, 5),
    "canceled": (("created", "canceled"), C, 8),
    "declined, retried, declined, canceled": (
        ("created", "payment_failed", "requires_action", "payment_failed", "canceled"), C, 7),
    "declined, 3-D Secure, processing, succeeds": (
        ("created", "payment_failed", "requires_action", "processing", "succeeded"), S, 5),
}


@dataclass
class Storm:
    events: list[dict[str, Any]] = field(default_factory=list)  # unique events
    deliveries: list[int] = field(default_factory=list)  # indices into events, shuffled
    expected_final: dict[str, str] = field(default_factory=dict)  # pi -> status
    scenario_of: dict[str, str] = field(default_factory=dict)  # pi -> scenario name
    noise: int = 0

    def bodies(self) -> list[bytes]:
        encoded = [json.dumps(event).encode() for event in self.events]
        return [encoded[i] for i in self.deliveries]


def plan(payments: Sequence[Any], deliveries: int, rng: random.Random, start: int) -> Storm:
    """A storm of ``deliveries`` deliveries over ``payments`` (saved ``Payment`` rows).

    ``start`` is the epoch second of the first event; each payment's events are 1 to 3 s
    apart. About 1 delivery in 20 is noise the endpoint must accept and ignore: an event
    type the package does not handle, or a PaymentIntent it never created.
    """
    storm = Storm()
    names = list(SCENARIOS)
    weights = [SCENARIOS[name][2] for name in names]
    for payment in payments:
        name = rng.choices(names, weights)[0]
        types, final, _ = SCENARIOS[name]
        created = start + rng.randrange(0, 600)
        for short in types:
            created += rng.randint(1, 3)
            storm.events.append(build_event(payment, f"payment_intent.{short}", created=created))
        storm.expected_final[payment.stripe_payment_intent] = final
        storm.scenario_of[payment.stripe_payment_intent] = name
    storm.noise = max(1, len(payments) // 20)
    storm.events += [_noise_event(rng, start + i) for i in range(storm.noise)]
    if deliveries < len(storm.events):
        raise ValueError(f"{deliveries} deliveries cannot carry {len(storm.events)} events")
    storm.deliveries = list(range(len(storm.events)))
    storm.deliveries += [rng.randrange(len(storm.events)) for _ in range(deliveries - len(storm.events))]
    rng.shuffle(storm.deliveries)
    return storm


def _noise_event(rng: random.Random, created: int) -> dict[str, Any]:
    if rng.random() < 0.5:
        charge = {"id": f"ch_{secrets.token_hex(12)}", "object": "charge", "amount": 1000, "currency": "usd"}
        event = build_event(charge, "charge.succeeded", created=created)
        return event
    stranger = {  # a PaymentIntent of another application on the same Stripe account
        "id": f"pi_{secrets.token_hex(12)}", "object": "payment_intent", "amount": 1000,
        "currency": "usd", "status": "succeeded", "livemode": False, "metadata": {},
        "last_payment_error": None, "created": created,
    }
    return build_event(stranger, "payment_intent.succeeded", created=created)


@dataclass(frozen=True)
class Replay:
    final: str
    transitions: list[tuple[str, str]]


def replay(events: Iterable[Mapping[str, Any]], status: str = P) -> Replay:
    """Apply ``events`` (one payment's, in the order the server applied them) to the status
    machine (docs/explanation/status-machine.md): disallowed moves are ignored, terminal
    moves always apply, and a move between open statuses needs an event at least as new as
    the newest applied (``failed -> pending`` a strictly newer one)."""
    last: int | None = None
    transitions: list[tuple[str, str]] = []
    for event in events:
        new = EVENT_STATUS.get(event["type"])
        created = event["created"]
        if new is None or (new != status and new not in ALLOWED[status]):
            continue
        if new not in TERMINAL and last is not None and (
            created < last or (status == F and new == P and created == last)
        ):
            continue
        last = created if last is None else max(last, created)
        if new != status:
            transitions.append((status, new))
            status = new
    return Replay(status, transitions)


def specific_counts(transitions: Iterable[tuple[str, str]]) -> Counter[str]:
    """How often each status-specific signal should fire for these transitions."""
    return Counter(f"payment_{new}" for _, new in transitions if new != P)


def is_walk(moves: Counter, final: str, position: str = P) -> bool:
    """Whether ``moves`` (a multiset of (old, new)) is exactly one path through the status
    machine from ``position`` to ``final``, using each move as often as it was signalled."""
    if not +moves:
        return position == final
    for old, new in +moves:
        if old == position and new in ALLOWED[old]:
            if is_walk(moves - Counter({(old, new): 1}), final, new):
                return True
    return False


def check_signals(storm: Storm, counted: Mapping[str, int], context: str) -> int:
    """Assert what the storm's signal counts (``tallies``) must show; the number of transitions.

    One ``webhook_event_received`` per event. Per payment, the signalled transitions must be
    one walk of the status machine from pending to the final status, every move allowed and
    each signalled once, with the status-specific signal once per move into that status.
    Which walk it is depends on the order in which the payment's row lock let the events in
    (failed then succeeded is two moves, succeeded first is one), which no client observes;
    ``replay`` of every event, in any order, must end in the same final status."""
    from tests.load.tally.receivers import received_key

    event_ids = [event["id"] for event in storm.events]
    assert {received_key(i): counted.get(received_key(i)) for i in event_ids} == {
        received_key(i): 1 for i in event_ids}, context
    by_payment = defaultdict(list)
    for event in storm.events:
        by_payment[event["data"]["object"]["id"]].append(event)
    moves: dict[str, Counter] = defaultdict(Counter)
    specific: dict[str, Counter] = defaultdict(Counter)
    for name, n in counted.items():
        kind, _, rest = name.partition(":")
        if kind == "changed":
            pi, _, move = rest.partition(":")
            moves[pi][tuple(move.split(">"))] += n
        elif kind != "received":
            specific[rest][kind] += n
    transitions = 0
    for pi, final in storm.expected_final.items():
        assert replay(by_payment[pi]).final == final, (context, pi, storm.scenario_of[pi])
        assert is_walk(moves[pi], final), (context, pi, storm.scenario_of[pi], moves[pi])
        assert specific[pi] == specific_counts(moves[pi].elements()), (context, pi, specific[pi], moves[pi])
        transitions += sum(moves[pi].values())
    return transitions
