"""`zoo cache verify`: every cache folder checked in full, damaged files named with how to clear them, --repair
removes them."""

from __future__ import annotations

import json
import os

from zoo.cli.main import main
from zoo.data import load_data
from zoo.results.runtime_cache import runtime_folder
from zoo.sealed import write_sealed


def test_verify_names_damaged_files_per_folder_and_repair_removes_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ZOO_IMAGE_STORE", raising=False)
    photos = tmp_path / "photos"
    for name in ("cat", "dog"):
        (photos / name).mkdir(parents=True)
        for index in range(2):
            from PIL import Image

            Image.new("RGB", (10, 10), (index * 90, 30, 60)).save(photos / name / f"{index}.png")
    load_data(photos, image_size=(8, 8), progress=False)  # one image store
    runtime = runtime_folder()
    runtime.mkdir(parents=True)
    write_sealed(runtime / "m-predict-abc.tflite", b"TFL3" * 100)
    write_sealed(runtime / "m-predict-abc.json", b"{}")
    write_sealed(runtime / "n-predict-def.tflite", b"TFL3" * 100)
    (runtime / "old-predict-0.tflite").write_bytes(b"from an older zoo")
    damaged = runtime / "n-predict-def.tflite"
    with open(damaged, "r+b") as handle:
        handle.write(b"XXXX")
    (store,) = (tmp_path / "cache" / "images").iterdir()
    os.truncate(store / "images.u8", 5)
    features = tmp_path / "features"
    features.mkdir()
    write_sealed(features / "phase0_train.npy", b"\x93NUMPY features")

    assert main(["cache", "verify", "--folder", str(features)]) == 1
    out = capsys.readouterr().out
    assert "runtime   2 good, 1 bad, 1 unsealed" in out and "images    1 good, 1 bad" in out
    assert f"features {features}" in out and str(damaged) in out and str(store / "images.u8") in out
    assert "zoo cache verify --repair" in out

    assert main(["cache", "verify", "--repair"]) == 0  # what it found is removed: nothing bad is left
    assert "runtime   2 good, 2 removed" in capsys.readouterr().out
    assert main(["cache", "verify", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["state"] for row in rows if row["folder"] in ("runtime", "images")} == {"good"}
    assert not damaged.exists() and not (runtime / "old-predict-0.tflite").exists()
    assert load_data(photos, image_size=(8, 8), progress=False).x.shape == (4, 8, 8, 3)  # rebuilt on next use
