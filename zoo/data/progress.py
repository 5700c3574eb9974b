"""Progress of a long scan on stderr: one updating line on a terminal, one line per ~10% in a log."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

MIN_FILES = 200  # shorter scans finish before a progress line would help


class Progress:
    """Counts finished items and reports them; silent when disabled or when there are few items."""

    def __init__(
        self,
        total: int,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        min_items: int | None = None,  # default MIN_FILES
    ) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and worth_reporting(total, min_items)
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.last_tenth = 0
        self.last_draw = 0.0

    def advance(self) -> None:
        """One more item done."""
        self.done += 1
        if not self.enabled:
            return
        if self.tty:
            now = time.monotonic()
            # Redrawing for every file would cost more than it shows: ten times a second is plenty.
            if now - self.last_draw > 0.1 or self.done == self.total:
                self.last_draw = now
                self.stream.write(f"\r{self.label}: {self.done}/{self.total} ({self.percent()}%)")
                self.stream.flush()
        elif self.done * 10 // self.total > self.last_tenth:
            self.last_tenth = self.done * 10 // self.total
            self.stream.write(f"{self.label}: {self.percent()}% ({self.done}/{self.total})\n")
            self.stream.flush()

    def update(self, count: int = 1) -> None:
        """`count` more items done (tqdm's name, so either meter serves)."""
        for _ in range(count):
            self.advance()

    def percent(self) -> int:
        return self.done * 100 // self.total

    def close(self) -> None:
        """End the line on a terminal and say how long it took."""
        if self.enabled:
            prefix = "\r" if self.tty else ""
            seconds = time.monotonic() - self.started
            self.stream.write(f"{prefix}{self.label}: {self.done}/{self.total} done in {seconds:.1f} s\n")
            self.stream.flush()


def progress_meter(total: int, label: str, *, enabled: bool = True, min_items: int | None = None) -> Any:
    """A tqdm bar on a terminal; elsewhere (logs, notebooks' captured stderr) a Progress: one line per ~10%."""
    if enabled and sys.stderr.isatty() and worth_reporting(total, min_items):
        from tqdm import tqdm

        return tqdm(total=total, desc=label, file=sys.stderr, mininterval=0.2, dynamic_ncols=True)
    return Progress(total, label, enabled=enabled, min_items=min_items)


def worth_reporting(total: int, min_items: int | None = None) -> bool:
    """Whether a step over `total` items lasts long enough for progress lines (MIN_FILES unless told)."""
    return total >= (MIN_FILES if min_items is None else min_items)


def silent(text: str) -> None:
    """The `say` of a quiet run: no lines, and so no bars either (meters and step bars check for it)."""
