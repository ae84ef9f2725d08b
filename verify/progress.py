"""A one-line progress bar for sweeps: tasks done / total, rate, ETA; silent off a terminal.

    [##########----------]  12/24 tasks (4 from the ledger)  0.41/s  ETA 0:00:29

The rate counts only tasks computed in this run (those taken from a ledger cost nothing), over
the time since the bar started; the ETA is the remaining tasks over that rate. The line is
redrawn in place (carriage return) at most every ``interval`` seconds and once at the end.
"""

from __future__ import annotations

import datetime as _dt
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Counts finished tasks and draws the bar on ``stream`` (default stderr) when ``enabled``
    (default: when ``stream`` is a terminal)."""

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool | None = None,
                 label: str = "tasks", width: int = 20, interval: float = 0.2) -> None:
        if total < 0:
            raise ValueError(f"total={total} must be >= 0")
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) if enabled is None else enabled
        self.label, self.width, self.interval = label, width, interval
        self.done = self.cached = 0
        self._start = time.monotonic()
        self._drawn = float("-inf")
        self._closed = False

    def rate(self) -> float:
        """Computed tasks per second so far (0 before the first)."""
        elapsed = time.monotonic() - self._start
        computed = self.done - self.cached
        return computed / elapsed if computed and elapsed > 0 else 0.0

    def line(self) -> str:
        """The bar as text (without the carriage return)."""
        filled = self.width * self.done // self.total if self.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        text = f"[{bar}] {self.done:>{len(str(self.total))}}/{self.total} {self.label}"
        if self.cached:
            text += f" ({self.cached} from the ledger)"
        rate = self.rate()
        if rate > 0:
            eta = _dt.timedelta(seconds=round((self.total - self.done) / rate))
            text += f"  {rate:.3g}/s  ETA {eta}"
        return text

    def step(self, *, cached: bool = False) -> None:
        """One more task finished (``cached``: taken from the ledger, not computed)."""
        self.done += 1
        self.cached += bool(cached)
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= self.interval or self.done == self.total):
            self._drawn = now
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line (once)."""
        if self.enabled and not self._closed and self.done:
            self.stream.write("\r" + self.line() + "\n")
            self.stream.flush()
        self._closed = True
