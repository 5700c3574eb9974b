"""`diagnose`: the training checks without training, plus duplicates, modes, sizes, tiny images and weights."""

from __future__ import annotations

import json
import shutil

import pytest
from image_files import write_image
from PIL import Image

from zoo.data import diagnose
from zoo.errors import BadData


@pytest.fixture
def messy(classes):
    """cat: 3 images + an exact copy + a grey one; dog: 2 images, a copy of a cat, a tiny RGBA one, a broken file."""
    root = classes({"cat": 3, "dog": 2}, size=(40, 36))
    shutil.copy(root / "cat" / "0.png", root / "cat" / "0_again.png")
    shutil.copy(root / "cat" / "1.png", root / "dog" / "looks_like_a_cat.png")
    Image.new("L", (50, 40), 128).save(root / "cat" / "grey.png")
    Image.new("RGBA", (20, 12), (1, 2, 3, 4)).save(root / "dog" / "tiny.png")
    broken = write_image(root / "dog" / "broken.jpg", size=(64, 64), seed=8, fmt="JPEG")
    broken.write_bytes(broken.read_bytes()[:400])
    return root


def test_the_report_counts_classes_skips_duplicates_modes_sizes_and_weights(messy):
    report = diagnose(messy, progress=False)
    assert report.ok and report.class_names == ("cat", "dog") and report.counts == (5, 4)
    assert report.listed == 10 and [item.file for item in report.skipped] == [str(messy / "dog" / "broken.jpg")]
    groups = [[file.rsplit("/", 2)[-2] + "/" + file.rsplit("/", 1)[-1] for file, _ in g] for g in report.duplicates]
    assert sorted(groups) == [["cat/0.png", "cat/0_again.png"], ["cat/1.png", "dog/looks_like_a_cat.png"]]
    assert report.modes == {"RGB": 7, "L": 1, "RGBA": 1}
    assert report.sizes["width"] == [20, 50] and report.sizes["height"] == [12, 40]
    assert report.sizes["most_common"][0] == {"width": 40, "height": 36, "count": 7}
    assert report.tiny == [str(messy / "dog" / "tiny.png")]
    assert report.weights == {"cat": pytest.approx(9 / 10), "dog": pytest.approx(9 / 8)}


def test_the_text_report_shows_every_section(messy):
    text = str(diagnose(messy, progress=False))
    assert "files: 10 (9 usable, 1 skipped)" in text
    assert "  cat       5  0.900" in text and "  dog       4  1.125" in text
    assert "broken.jpg: corrupt or truncated image" in text
    assert "duplicates (2 groups, 4 files with identical content)" in text
    assert "[different classes: cat, dog]" in text
    assert "modes: RGB 7, L 1 (converted to RGB), RGBA 1 (converted to RGB)" in text
    assert "sizes: width 20..50, height 12..40; most common 40x36 (7)" in text
    assert "tiny images (a side under 32 px): 1" in text and text.endswith("verdict: ready to train")


def test_the_json_report_is_one_object_with_every_file(messy):
    report = json.loads(json.dumps(diagnose(messy, progress=False).to_json()))
    assert report["ok"] is True and report["classes"] == {"cat": 5, "dog": 4}
    assert report["usable"] == 9 and report["files"] == 10 and report["problems"] == []
    assert report["skipped"][0]["reason"].startswith("corrupt or truncated image")
    assert any({entry["class"] for entry in group} == {"cat", "dog"} for group in report["duplicates"])


def test_problems_are_listed_instead_of_raised(classes):
    root = classes({"cat": 3, "dog": 1, "emu": 0})
    report = diagnose(root, progress=False)
    assert not report.ok
    assert any("class 'emu' has no files" in problem for problem in report.problems)
    assert any("single usable image: 'dog' (1)" in problem for problem in report.problems)
    assert "verdict: fix the problems above before training" in str(report)


def test_a_csv_with_missing_files_is_diagnosed_not_refused(tmp_path):
    write_image(tmp_path / "a.png", seed=1)
    write_image(tmp_path / "b.png", seed=2)
    (tmp_path / "labels.csv").write_text("id,label\na,x\nb,y\nc,y\n")
    report = diagnose(tmp_path / "labels.csv", extension="png", progress=False)
    assert report.counts == (1, 1)
    assert any("1 of 3 rows of CSV" in problem and "(id 'c')" in problem for problem in report.problems)


def test_data_that_is_not_files_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadData, match="zoo doctor checks image files"):
        diagnose("tfds:mnist", progress=False)


def test_a_file_listed_with_two_labels_is_not_ready_to_train(tmp_path):
    for i in range(4):
        write_image(tmp_path / f"{i}.png", seed=i)
    (tmp_path / "labels.csv").write_text("id,label\n0.png,a\n1.png,b\n2.png,a\n3.png,b\n0.png,b\n1.png,b\n")
    report = diagnose(tmp_path / "labels.csv", progress=False)
    assert not report.ok and "different labels: line 2 (id '0.png') = 'a', line 6 (id '0.png') = 'b'" in str(report)
    assert "line 7 (id '1.png') (as line 3" in report.notes[0] and "ready to train" not in str(report)


def test_splits_taken_for_classes_are_refused_naming_the_folder_to_pass(classes):
    root = classes({"train/cat": 2, "train/dog": 2, "heldout/cat": 2, "heldout/dog": 2})
    report = diagnose(root, progress=False)
    assert report.class_names == ("heldout", "train") and not report.ok and "ready to train" not in str(report)
    assert f"(cat, dog): if those are the classes, pass {root / 'train'} (and the others" in report.problems[0]
    assert diagnose(root / "train", progress=False).ok


def test_classes_holding_folders_of_the_same_names_get_a_note(classes):
    root = classes({"cat/indoor": 2, "cat/outdoor": 2, "dog/indoor": 2, "dog/outdoor": 2})
    report = diagnose(root, progress=False)
    assert report.ok and "(indoor, outdoor): if those are the classes, pass" in report.notes[0]
    assert "verdict: ready to train (read the notes above first)" in str(report)


def test_a_path_that_does_not_exist_is_said_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadData, match=r"^nonexist: no such file or folder \(pass a folder of class sub-folders"):
        diagnose("nonexist", progress=False)


def test_diagnosing_holds_no_decoded_pixels(tmp_path):
    """The statistics are per-file facts (mode, size, hash, a 16x16 thumbnail): memory does not hold the images."""
    import tracemalloc

    import numpy as np

    rng = np.random.default_rng(0)
    for index in range(40):  # 40 x 128x128x3 = 1.97 MB decoded
        (tmp_path / f"c{index % 2}").mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(
            tmp_path / f"c{index % 2}/{index}.png"
        )
    diagnose(tmp_path, progress=False)  # imports and caches warmed outside the measurement
    tracemalloc.start()
    report = diagnose(tmp_path, progress=False, test_images=tmp_path / "c0")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sum(report.counts) == 40 and report.sizes["width"] == [128, 128]
    assert peak < 40 * 128 * 128 * 3 / 4, f"{peak} bytes at the peak"
