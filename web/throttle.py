"""Login throttling: after N failures for one (username, address) within a window, refuse.

In memory, per process (waitress runs one process with threads); a restart forgets it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class LoginThrottle:
    def __init__(self, max_failures: int = 5, window_seconds: float = 900, clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[Hashable, deque[float]] = {}
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

    def retry_after(self, key: Hashable) -> float:
        """Seconds until `key` may try again; 0 when it may try now."""
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return 0.0
            return max(times[-self.max_failures] + self.window - now, 1.0)

    def fail(self, key: Hashable) -> None:
        with self._lock:
            now = self.clock()
            self._recent(key, now)
            self._failures.setdefault(key, deque(maxlen=self.max_failures * 2)).append(now)
            if len(self._failures) > 50_000:  # keep memory bounded under a spray of usernames
                for stale in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
                    del self._failures[stale]

    def reset(self, key: Hashable) -> None:
        with self._lock:
            self._failures.pop(key, None)
