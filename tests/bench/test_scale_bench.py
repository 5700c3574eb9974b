"""The scale bench's pieces that need no training: its image folders and the ratios its goals are stated in."""

from __future__ import annotations

import hashlib

import pytest

from zoo.bench.scale import Setting, render, summarised, write_folder


def test_folders_hold_distinct_images_in_two_classes(tmp_path):
    root = write_folder(tmp_path / "data", 6, seed=0)
    files = sorted(root.glob("*/*.jpg"))
    assert sorted({path.parent.name for path in files}) == ["cat", "coffee"] and len(files) == 6
    assert len({hashlib.sha256(path.read_bytes()).hexdigest() for path in files}) == 6


def test_ratios_are_added_memory_per_added_image_over_its_decoded_size_at_each_budget():
    setting = Setting(images_small=100, images_large=1100, image_size=100, budgets_mb=(8, 64))
    runs = [
        {"budget_mb": 8, "images": 100, "rss_mb": 900.0, "anon_mb": 500.0},
        {"budget_mb": 8, "images": 1100, "rss_mb": 903.0, "anon_mb": 500.0},
        {"budget_mb": 64, "images": 100, "rss_mb": 900.0, "anon_mb": 500.0},
        {"budget_mb": 64, "images": 1100, "rss_mb": 900.0, "anon_mb": 530.0},
    ]
    runs = [{**run, "file_mb": 100.0, "seconds": 60.0} for run in runs]
    result = summarised({"runs": runs, "load_first_s": 10.0, "load_second_s": 0.5}, setting)
    assert result["decoded_bytes_per_image"] == 30_000 and result["load_speedup"] == pytest.approx(20)
    at_8, at_64 = result["per_budget"]
    assert at_8["added_rss_bytes_per_image"] == pytest.approx(3 * 2**20 / 1000)  # 3 MiB over 1000 images
    assert at_8["added_rss_share_of_decoded"] == pytest.approx(3 * 2**20 / 1000 / 30_000)
    assert at_8["added_anon_share_of_decoded"] == 0 and at_64["added_anon_share_of_decoded"] > 1
    assert "budget 64 MB: added anonymous memory per added image 31.5 KB" in render(result)
