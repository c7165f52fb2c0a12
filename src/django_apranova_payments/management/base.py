"""What the package's management commands share: argument types, verbosity, progress.

Argument types raise ``argparse.ArgumentTypeError``, so a bad value is argparse's one-line
``error: argument --since: …`` (exit status 2) on the command line and a one-line
``CommandError`` from ``call_command``, never a traceback.

Verbosity, the same for every command:

* ``-v 0``: errors only (stderr), no summary, no progress; the exit status still tells.
* ``-v 1`` (default): a line per item, warnings, a summary, and a progress indicator on
  long runs (``progress.Progress``).
* ``-v 2``: also the details of each item, indented under its line.
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from .progress import Progress

#: How ``--since`` values are described in ``--help`` and in errors.
DATE_FORMATS = "YYYY-MM-DD (a day, from midnight) or YYYY-MM-DDTHH:MM (a time; add +HH:MM for another offset)"


def since(value: str) -> datetime:
    """A ``--since`` value: ``2026-11-01`` (midnight) or ``2026-11-01T14:30[:SS][+01:00]``,
    in the current time zone unless it carries an offset."""
    try:
        if "T" in value or " " in value.strip():
            moment = datetime.fromisoformat(value.strip())
        else:
            moment = datetime.combine(datetime.strptime(value.strip(), "%Y-%m-%d").date(), time.min)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes {DATE_FORMATS}, not {value!r}") from None
    if not settings.USE_TZ:
        return timezone.make_naive(moment) if timezone.is_aware(moment) else moment
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def day(value: str) -> date:
    """A ``--from`` or ``--to`` value: a date, ``YYYY-MM-DD``."""
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a date, YYYY-MM-DD, not {value!r}") from None


def _whole_number(value: str, minimum: int, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise argparse.ArgumentTypeError(f"takes {what}, not {value!r}")
    return number


def minutes(value: str) -> int:
    """A whole number of minutes, 0 or more."""
    return _whole_number(value, 0, "a whole number of minutes, 0 or more")


def positive(value: str) -> int:
    """A whole number, 1 or more."""
    return _whole_number(value, 1, "a whole number, 1 or more")


def clean(option: str, value: Any, parse: Callable[[str], Any]) -> Any:
    """``value`` through ``parse`` when it is still a string (``call_command`` passes
    keyword options as given, without argparse), as a ``CommandError`` when it is bad."""
    if not isinstance(value, str):
        return value
    try:
        return parse(value)
    except argparse.ArgumentTypeError as exc:
        raise CommandError(f"Error: argument {option}: {exc}") from None


def printable(text: str) -> str:
    """``text`` with every control or format character (Unicode's ``C…`` categories, and the
    line and paragraph separators) written as an escape such as ``\\x1b``. Failure codes and
    messages come from Stripe's payloads: on the operator's terminal they must not retitle the
    window, recolour or move the cursor (ESC, CSI), nor reorder the line (U+202E)."""
    return "".join(_escaped(char) if _is_control(char) else char for char in text)


def _is_control(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class PaymentsCommand(BaseCommand):
    """Base of the package's commands: ``say`` (``-v 1``), ``detail`` (``-v 2``), ``warn``
    (stderr, ``-v 1``), ``error`` (stderr, always) and ``progress`` for the loop, all of
    them writing above the progress bar, each line ``printable``."""

    verbosity = 1
    _progress: Progress | None = None

    def execute(self, *args: Any, **options: Any) -> Any:
        self.verbosity = options.get("verbosity", 1)
        return super().execute(*args, **options)

    def _write(self, line: str, style_func: Callable[[str], str] | None = None, *, error: bool = False) -> None:
        stream = self.stderr if error else self.stdout
        line = printable(line)
        if self._progress is not None:
            self._progress.write(line, style_func, stream=stream)
        else:
            stream.write(line, style_func)

    def say(self, line: str, style_func: Callable[[str], str] | None = None) -> None:
        """A line of normal output (hidden at ``-v 0``)."""
        if self.verbosity >= 1:
            self._write(line, style_func)

    def detail(self, line: str, *, error: bool = False) -> None:
        """A detail of the item above, indented (``-v 2`` and more); on stderr under an
        ``error``."""
        if self.verbosity >= 2:
            self._write(f"    {line}", error=error)

    def warn(self, line: str) -> None:
        """A warning on stderr (hidden at ``-v 0``)."""
        if self.verbosity >= 1:
            self._write(f"Warning: {line}", self.style.WARNING, error=True)

    def error(self, line: str) -> None:
        """An item that failed, on stderr, at every verbosity."""
        self._write(line, self.style.ERROR, error=True)

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Progress]:
        """A ``Progress`` over ``total`` items, silent at ``-v 0``; ``say`` and the others
        write above it while it runs."""
        self._progress = Progress(self.stdout, total, label=label, enabled=self.verbosity >= 1)
        try:
            yield self._progress
        finally:
            self._progress.close()
            self._progress = None
