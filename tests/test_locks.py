"""zoo.locks: a second process waits for the folder's lock, saying so, and gets it once the first lets go."""

from __future__ import annotations

import subprocess
import sys

from zoo.locks import folder_locked

WAITER = """
import sys
from pathlib import Path
from zoo.locks import folder_locked
with folder_locked(Path(sys.argv[1]), "x.lock", waiting="waiting for the other process"):
    print("held", flush=True)
"""


def test_a_second_process_waits_says_so_and_gets_the_lock_once_it_is_let_go(tmp_path):
    with folder_locked(tmp_path, "x.lock"):
        waiter = subprocess.Popen(
            [sys.executable, "-c", WAITER, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert waiter.stderr.readline().strip() == "waiting for the other process"  # blocks until it has tried
        assert waiter.poll() is None  # still waiting while this process holds the lock
    out, _ = waiter.communicate(timeout=60)
    assert waiter.returncode == 0 and out.strip() == "held"


def test_a_folder_where_no_lock_can_be_made_is_used_unlocked(tmp_path):
    """A read-only cache (a Kaggle input dataset) cannot hold a lock, and nothing there can be written or removed."""
    not_a_folder = tmp_path / "a file"
    not_a_folder.write_text("")
    ran = False
    with folder_locked(not_a_folder, "x.lock"):
        ran = True
    assert ran and not_a_folder.is_file()
