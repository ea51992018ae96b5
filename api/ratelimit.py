"""A fixed-window request counter per token, in process memory.

One API process enforces its own limit; behind several processes the effective limit is
per process (the README says so). Windows start at multiples of the window length, so the
reset time every client sees for a window is the same.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the window resets

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_s),
        }


class RateLimiter:
    def __init__(self, requests: int, window_s: int) -> None:
        self.requests = requests
        self.window_s = window_s
        self._windows: dict[str, tuple[int, int]] = {}  # token id -> (window number, count)
        self._lock = threading.Lock()

    def hit(self, token_id: str) -> Limit:
        """Count one request of token_id; allowed while within the window's budget."""
        now = time.time()
        window = int(now // self.window_s)
        reset_s = max(1, math.ceil((window + 1) * self.window_s - now))
        with self._lock:
            current, count = self._windows.get(token_id, (window, 0))
            if current != window:
                count = 0
                if len(self._windows) > 100_000:  # forget idle tokens of past windows
                    self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
            count += 1
            self._windows[token_id] = (window, count)
        allowed = count <= self.requests
        return Limit(allowed, self.requests, max(self.requests - count, 0), reset_s)
