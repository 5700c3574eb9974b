"""The one-line summary at the end of a run says the score, the epochs, the time and what was skipped."""

from __future__ import annotations

from pathlib import Path

from zoo.results.outputs import summary_line

REPORT = {
    "model": "lenet5",
    "val_accuracy": 0.91234,
    "val_size": 40,
    "classes": ["a", "b"],
    "phases": [{"name": "all layers", "epochs_run": 7}],
    "seconds": {"total": 12.34},
    "status": "completed",
    "skipped": [],
}


def test_a_clean_run():
    line = summary_line(REPORT, Path("run"))
    assert line == (
        "finetune: lenet5 val_accuracy 0.9123 on 40 examples (which chose the best epoch), 2 classes; epochs: all "
        "layers 7; training 12.3s; outputs in run"
    )


def test_training_and_export_time_are_said_apart():
    line = summary_line({**REPORT, "seconds": {"total": 12.34, "exports": 4.56}}, Path("run"))
    assert "; training 12.3s, exports 4.6s; outputs in run" in line


def test_skipped_files_and_a_stopped_run_are_said():
    report = {**REPORT, "skipped": [{"file": "x.jpg", "reason": "empty"}] * 2, "status": "stopped in phase 1"}
    line = summary_line(report, Path("run"))
    assert "(stopped in phase 1)" in line and "2 unreadable files skipped (listed in skipped.csv)" in line
    assert "1 unreadable file skipped (report['skipped']" in summary_line({**report, "skipped": ["x"]}, None)
