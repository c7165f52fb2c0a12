"""A bounded load generator for loopback servers.

``deliver`` POSTs a fixed list of bodies with a fixed number of client threads, one new
connection per request (as Stripe's deliveries are independent), signing each body at the
moment it is sent. It sends each body at most once, stops at ``deadline`` seconds whatever
is left, and never retries: the caller sees every failure.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_REQUESTS = 100_000
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Result:
    index: int
    status: int | None  # None: no answer (connection refused or reset, timeout, deadline)
    body: bytes
    seconds: float
    error: str = ""


def post_once(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"load is only ever sent to loopback, not {parts.hostname}")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", parts.path or "/", body=body, headers={
            "Content-Type": "application/json", "Connection": "close", **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def deliver(
    url: str,
    bodies: Sequence[bytes],
    *,
    sign: Callable[[bytes], str],
    concurrency: int,
    deadline: float = 120.0,
    timeout: float = 60.0,
    start_together: bool = False,
) -> list[Result]:
    """POST every body once to ``url`` (``Stripe-Signature: sign(body)``); return one
    ``Result`` per body, in the order of ``bodies``.

    ``start_together`` lines the first ``concurrency`` requests up behind a barrier, so
    they leave at the same moment (a burst).
    """
    if len(bodies) > MAX_REQUESTS:
        raise ValueError(f"at most {MAX_REQUESTS} requests per call")
    results: list[Result | None] = [None] * len(bodies)
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline
    barrier = threading.Barrier(concurrency) if start_together else None

    def take() -> int | None:
        with lock:
            return next(next_index, None)

    def client() -> None:
        if barrier is not None:
            try:
                barrier.wait(timeout=timeout)
            except threading.BrokenBarrierError:
                pass
        while (index := take()) is not None:
            if time.monotonic() > stop_at:
                results[index] = Result(index, None, b"", 0.0, "not sent: deadline")
                continue
            body = bodies[index]
            started = time.perf_counter()
            try:
                status, answer = post_once(url, body, {"Stripe-Signature": sign(body)}, timeout)
                results[index] = Result(index, status, answer, time.perf_counter() - started)
            except (OSError, http.client.HTTPException) as exc:
                results[index] = Result(index, None, b"", time.perf_counter() - started, repr(exc))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, stop_at - time.monotonic()) + timeout + 5)
    return [r if r is not None else Result(i, None, b"", 0.0, "no result") for i, r in enumerate(results)]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(results: Sequence[Result], elapsed: float) -> dict[str, float]:
    latencies = [r.seconds for r in results if r.status is not None]
    return {
        "requests": len(results),
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": (statistics.fmean(latencies) * 1000) if latencies else 0.0,
    }
