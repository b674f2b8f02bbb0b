"""Login throttling: after N failures for one (username, address) within a window, refuse.

A password check must first reserve an attempt (`acquire`): the reservation is counted with the
recorded failures under one lock, so a burst of simultaneous guesses checks at most N passwords,
not however many requests arrive before the first failure is recorded.

In memory, per process (waitress runs one process with threads); a restart forgets it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class Attempt:
    """One reserved password check. Settle it once: `failed()`, `succeeded()` or `release()`.
    Used as a context manager, an attempt left unsettled (an error mid-check) counts as a
    failure: fail closed."""

    def __init__(self, throttle: LoginThrottle | None, key: Hashable, retry_after: float = 0.0) -> None:
        self._throttle = throttle
        self.key = key
        self.retry_after = retry_after  # > 0 when refused: seconds until the key may try again
        self.allowed = throttle is not None

    def failed(self) -> None:
        """A wrong password: the reservation becomes a recorded failure."""
        self._settle(LoginThrottle._record_failure)

    def succeeded(self) -> None:
        """The right password: the key's failures are forgotten."""
        self._settle(LoginThrottle._record_success)

    def release(self) -> None:
        """Neither (e.g. the password was right but the request was refused for another reason)."""
        self._settle(None)

    def _settle(self, outcome) -> None:
        throttle, self._throttle = self._throttle, None
        if throttle is not None:
            throttle._finish(self.key, outcome)

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, *exc) -> None:
        self.failed()


class LoginThrottle:
    def __init__(self, max_failures: int = 5, window_seconds: float = 900, clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[Hashable, deque[float]] = {}
        self._pending: dict[Hashable, int] = {}  # attempts reserved and not yet settled
        self._lock = threading.Lock()

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _wait(self, key: Hashable, now: float) -> float:
        # Attempts in flight count as failures happening now: the wait if they all fail.
        counted = [*self._recent(key, now), *[now] * self._pending.get(key, 0)]
        if len(counted) < self.max_failures:
            return 0.0
        return max(self.window - (now - counted[-self.max_failures]), 1.0)

    def retry_after(self, key: Hashable) -> float:
        """Seconds until `key` may try again; 0 when it may try now."""
        with self._lock:
            return self._wait(key, self.clock())

    def acquire(self, key: Hashable) -> Attempt:
        """Reserve one password check for `key`, or refuse (`allowed` False, `retry_after` set)."""
        with self._lock:
            wait = self._wait(key, self.clock())
            if wait:
                return Attempt(None, key, wait)
            self._pending[key] = self._pending.get(key, 0) + 1
            return Attempt(self, key)

    def _finish(self, key: Hashable, outcome: Callable[[LoginThrottle, Hashable], None] | None) -> None:
        with self._lock:
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)
            if outcome is not None:
                outcome(self, key)

    def _record_failure(self, key: Hashable) -> None:
        now = self.clock()
        self._recent(key, now)
        self._failures.setdefault(key, deque(maxlen=self.max_failures * 2)).append(now)
        if len(self._failures) > 50_000:  # keep memory bounded under a spray of usernames
            for stale in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
                del self._failures[stale]

    def _record_success(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def fail(self, key: Hashable) -> None:
        """Record a failure without a reservation."""
        with self._lock:
            self._record_failure(key)

    def reset(self, key: Hashable) -> None:
        with self._lock:
            self._record_success(key)
