"""Counts the requests the fuzzers generate; the total is printed at the end of the run."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

GENERATED: Counter[str] = Counter()


@pytest.fixture
def count_request():
    def count(kind: str) -> None:
        GENERATED[kind] += 1

    return count


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if GENERATED:
        parts = ", ".join(f"{kind}: {n}" for kind, n in sorted(GENERATED.items()))
        terminalreporter.write_line(f"fuzz requests generated: {sum(GENERATED.values())} ({parts})")
