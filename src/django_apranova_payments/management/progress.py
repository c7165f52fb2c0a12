"""The progress indicator of the package's management commands.

On a terminal it is one line, a bar and a counter redrawn in place (other output scrolls
above it); anywhere else (a log file, cron mail, a pipe) it is a plain line every tenth of
the run or every ``LINE_EVERY`` items, whichever comes first. Short runs (fewer than
``MIN_ITEMS`` items) and ``-v 0`` show none. ``PaymentsCommand.progress`` builds one with the
command's verbosity; output written while it runs goes through ``Progress.write`` so that the
bar is never mixed into a line.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import TracebackType

from django.core.management.base import OutputWrapper

#: Runs shorter than this get no progress indicator: their item lines are enough.
MIN_ITEMS = 20
#: Without a terminal, a progress line at least every this many items.
LINE_EVERY = 100
#: Characters of the bar on a terminal.
BAR_WIDTH = 24


def duration(seconds: float) -> str:
    """``"45 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """How far a loop over ``total`` items has got, on ``out`` (a command's ``stdout``).

    Call ``advance()`` after each item and ``close()`` (or use it as a context manager) at the
    end; write other output with ``write()``. ``enabled=False`` makes it silent except for
    ``write()``, so the same loop serves every verbosity.
    """

    def __init__(
        self,
        out: OutputWrapper,
        total: int,
        *,
        label: str = "",
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.total = total
        self.label = label
        self.enabled = enabled and total >= MIN_ITEMS
        self.tty = out.isatty()
        self.every = min(LINE_EVERY, max(1, math.ceil(total / 10)))
        self.done = 0
        self._clock = clock
        self._started = clock()
        self._shown = ""  # the bar now on the terminal's last line
        self._shown_percent = -1

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 100

    def status(self) -> str:
        """``"120/1000 (12%), 14 s elapsed, about 1 min 43 s left"``."""
        elapsed = self._clock() - self._started
        text = f"{self.done}/{self.total} ({self.percent()}%), {duration(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", about {duration(elapsed / self.done * (self.total - self.done))} left"
        return text

    def bar(self) -> str:
        """``"replay [######------------------] 120/1000 (12%), 14 s elapsed, …"``."""
        filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
        prefix = f"{self.label} " if self.label else ""
        return f"{prefix}[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.status()}"

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self.enabled:
            return
        if self.tty:
            if self.percent() != self._shown_percent:
                self._draw()
        elif self.done % self.every == 0 and self.done < self.total:
            prefix = f"{self.label}: " if self.label else ""
            self.out.write(f"{prefix}{self.status()}")

    def write(self, line: str, style_func: Callable[[str], str] | None = None, *,
              stream: OutputWrapper | None = None) -> None:
        """Write ``line`` to ``stream`` (default ``out``) above the bar."""
        had_bar = bool(self._shown)
        self._erase()
        (stream or self.out).write(line, style_func)
        if had_bar:
            self._draw()

    def close(self) -> None:
        """Take the bar off the terminal (the command's summary follows)."""
        self._erase()
        self.enabled = False

    def _draw(self) -> None:
        text = self.bar().ljust(len(self._shown))  # covers a longer bar drawn before
        self.out.write("\r" + text, ending="")
        self.out.flush()
        self._shown, self._shown_percent = text, self.percent()

    def _erase(self) -> None:
        if self._shown:
            self.out.write("\r" + " " * len(self._shown) + "\r", ending="")
            self.out.flush()
            self._shown = ""

