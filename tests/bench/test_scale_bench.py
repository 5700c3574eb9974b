"""The scale bench's pieces that need no training: its image folders and the ratios its goals are stated in."""

from __future__ import annotations

import hashlib

import pytest

from zoo.bench.scale import Setting, summarised, write_folder


def test_folders_hold_distinct_images_in_two_classes(tmp_path):
    root = write_folder(tmp_path / "data", 6, seed=0)
    files = sorted(root.glob("*/*.jpg"))
    assert sorted({path.parent.name for path in files}) == ["cat", "coffee"] and len(files) == 6
    assert len({hashlib.sha256(path.read_bytes()).hexdigest() for path in files}) == 6


def test_ratios_are_added_memory_per_added_image_over_its_decoded_size():
    setting = Setting(images_small=100, images_large=1100, image_size=100)
    figures = {"rss_small_mb": 900.0, "rss_large_mb": 903.0, "anon_small_mb": 500.0, "anon_large_mb": 500.0}
    result = summarised({**figures, "load_first_s": 10.0, "load_second_s": 0.5}, setting)
    assert result["decoded_mb_per_image"] == pytest.approx(0.03)
    assert result["added_rss_per_image_of_decoded"] == pytest.approx(0.1)  # 3 MB over 1000 images of 30 KB
    assert result["added_anon_per_image_of_decoded"] == 0 and result["load_speedup"] == pytest.approx(20)
