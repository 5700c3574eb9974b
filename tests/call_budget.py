"""A deterministic stand-in for "this returns quickly": the number of Python calls a block makes, bounded.

Wall-clock bounds fail on a busy machine; a count of calls does not. The block is stopped (CallBudgetExceeded) as soon
as it passes the budget, so an exponential walk fails the test at once instead of hanging it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


class CallBudgetExceeded(AssertionError):
    """The block made more Python calls than its budget."""


@contextmanager
def call_budget(limit: int) -> Iterator[None]:
    """Fail the block once it has made more than `limit` Python function calls."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1
            if calls > limit:
                sys.settrace(None)
                raise CallBudgetExceeded(f"more than {limit} Python calls: the work is not bounded as it should be")
        return None

    previous = sys.gettrace()
    sys.settrace(count)
    try:
        yield
    finally:
        sys.settrace(previous)
