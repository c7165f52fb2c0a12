"""Record the package's signals while a block runs, to assert on what host projects hear."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.dispatch import Signal

from .. import signals

_uids = itertools.count()


def package_signals() -> dict[str, Signal]:
    """Every ``Signal`` defined in ``django_apranova_payments.signals``, by name, in the order
    the module defines them: a signal added there is captured without a change here."""
    return {name: value for name, value in vars(signals).items() if isinstance(value, Signal)}


@dataclass(frozen=True)
class SentSignal:
    """One signal as a receiver saw it: its name and its kwargs, ``sender`` included."""

    name: str
    kwargs: dict[str, Any]

    @property
    def sender(self) -> Any:
        return self.kwargs["sender"]


class CapturedSignals:
    """The package signals sent, in the order they were sent.

    Iterating gives ``SentSignal`` items; ``names()``, ``of(name)`` and ``count(name)`` are the
    usual questions. A name that is not a package signal raises ``ValueError``, so a typo
    cannot make ``count("payment_succeded") == 0`` pass.
    """

    def __init__(self, names: list[str]) -> None:
        self._names = names
        self._sent: list[SentSignal] = []

    def _record(self, name: str, kwargs: dict[str, Any]) -> None:
        self._sent.append(SentSignal(name, kwargs))

    def _known(self, name: str) -> str:
        if name not in self._names:
            raise ValueError(f"{name!r} is not a signal of django_apranova_payments.signals: {self._names}")
        return name

    def names(self) -> list[str]:
        """The names of the signals sent, in order."""
        return [sent.name for sent in self._sent]

    def of(self, name: str) -> list[dict[str, Any]]:
        """The kwargs (``sender``, ``payment``, ``event``, …) of each ``name`` signal, in order."""
        self._known(name)
        return [sent.kwargs for sent in self._sent if sent.name == name]

    def count(self, name: str) -> int:
        """How many ``name`` signals were sent."""
        return len(self.of(name))

    def clear(self) -> None:
        """Forget what was captured so far; capturing goes on."""
        self._sent.clear()

    def __iter__(self) -> Iterator[SentSignal]:
        return iter(list(self._sent))

    def __len__(self) -> int:
        return len(self._sent)

    def __getitem__(self, index: int) -> SentSignal:
        return self._sent[index]

    def __repr__(self) -> str:
        return f"<CapturedSignals {self.names()}>"


@contextmanager
def capture_signals() -> Iterator[CapturedSignals]:
    """Record every package signal sent inside the ``with`` block::

        with capture_signals() as sent:
            post_event(client, build_event(payment, "payment_intent.succeeded"))
        assert sent.names() == ["webhook_event_received", "payment_status_changed", "payment_succeeded"]
        assert sent.of("payment_succeeded")[0]["payment"] == payment

    Receivers are strong references with their own ``dispatch_uid``, disconnected when the
    block ends, even by an exception; captures can be nested, and each sees every signal.
    The kwargs are kept as sent (the same ``Payment`` and event objects), not copied.
    """
    found = package_signals()
    sent = CapturedSignals(list(found))
    connected: list[tuple[Signal, str]] = []
    try:
        for name, signal in found.items():
            uid = f"django_apranova_payments.testing.capture_signals:{next(_uids)}"
            signal.connect(_receiver(sent, name), weak=False, dispatch_uid=uid)
            connected.append((signal, uid))
        yield sent
    finally:
        for signal, uid in connected:
            signal.disconnect(dispatch_uid=uid)


def _receiver(sent: CapturedSignals, name: str) -> Any:
    def receiver(signal: Signal, sender: Any, **kwargs: Any) -> None:
        sent._record(name, {"sender": sender, **kwargs})

    return receiver
