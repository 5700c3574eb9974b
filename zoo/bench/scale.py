"""`python -m zoo.bench scale`: does finetune's memory grow with the number of images, and is a second load fast?

Two folders of JPEGs (random crops, flips and tints of the two photos in zoo/assets, in two classes) of different
sizes; `zoo finetune efficientnet_lite0 FOLDER --epochs N` runs on each in its own process under a memory budget
smaller than the data (ZOO_MEMORY_BUDGET_MB: images and feature caches must stream from disk), while this process
samples the child's /proc status: VmHWM is its peak resident memory, file-backed pages of memory maps included
(the kernel drops those under pressure), the highest RssAnon sampled is what it holds of its own, and the highest
RssFile sampled its file-backed pages (libraries, the store's pages not yet released). Then the large folder is loaded
twice in fresh processes: decoding into a new image store, then reusing it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

BACKBONE = "efficientnet_lite0"
PHOTOS = {"cat": "chelsea.jpg", "coffee": "coffee.jpg"}  # zoo/assets: one class per photo
SOURCE_SIDE = 128  # the JPEGs' side: larger than the training size, so loading resizes as real data does
LOAD_SCRIPT = (
    "import sys, time\nfrom zoo.data import load_data\nstarted = time.perf_counter()\n"
    "load_data(sys.argv[1], image_size=(int(sys.argv[2]),) * 2, progress=False)\nprint(time.perf_counter() - started)"
)


@dataclass(frozen=True)
class Setting:
    """Folder sizes, training size and epochs, and the memory budget the runs get."""

    images_small: int = 2000
    images_large: int = 20000
    image_size: int = 96
    epochs: int = 2
    budget_mb: int = 8  # below the feature caches of both folders: everything past the model streams from disk


def write_folder(root: Path, count: int, seed: int) -> Path:
    """root/<class>/<i>.jpg: `count` distinct images, half per class, each a random crop, flip and tint of a photo."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    assets = Path(__file__).resolve().parent.parent / "assets"
    photos = {}
    for name, file in PHOTOS.items():
        with Image.open(assets / file) as opened:
            photos[name] = opened.convert("RGB")  # decoded once: 20,000 files are written from two photos
    for index in range(count):
        name = list(PHOTOS)[index % len(PHOTOS)]
        photo = photos[name]
        width, height = photo.size
        side = int(min(width, height) * rng.uniform(0.5, 1.0))
        left, top = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
        pixels = np.asarray(photo.crop((left, top, left + side, top + side)).resize((SOURCE_SIDE,) * 2), np.float32)
        pixels = np.clip(pixels * rng.uniform(0.8, 1.2, size=3), 0, 255).astype(np.uint8)
        if rng.random() < 0.5:
            pixels = pixels[:, ::-1]
        (root / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / name / f"{index:06}.jpg", quality=90)
    return root


def status_kb(pid: int) -> dict[str, int]:
    """VmHWM, RssAnon and RssFile (kB) of a running process; empty once it has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            lines = [line.split() for line in handle if line.startswith(("VmHWM:", "RssAnon:", "RssFile:"))]
    except OSError:
        return {}
    return {fields[0].rstrip(":"): int(fields[1]) for fields in lines}


def watched(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `command`, sampling its memory every 0.2 s: peak RSS (VmHWM), the highest anonymous and file-backed RSS
    sampled, seconds."""
    started = time.perf_counter()
    log = tempfile.TemporaryFile("w+")  # a pipe read only at the end could fill and stall the child
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    peak, anon, mapped = 0, 0, 0
    while child.poll() is None:
        sample = status_kb(child.pid)
        peak, anon = max(peak, sample.get("VmHWM", 0)), max(anon, sample.get("RssAnon", 0))
        mapped = max(mapped, sample.get("RssFile", 0))
        time.sleep(0.2)
    log.seek(0)
    error = log.read()
    log.close()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({child.returncode}):\n{error[-2000:]}")
    seconds = time.perf_counter() - started
    return {"rss_mb": peak / 1024, "anon_mb": anon / 1024, "file_mb": mapped / 1024, "seconds": seconds}


def load_seconds(folder: Path, image_size: int, env: dict[str, str]) -> float:
    """Seconds `load_data` takes on `folder` in a fresh process (TensorFlow not imported)."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(folder), str(image_size)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"loading {folder} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def run(setting: Setting) -> dict[str, Any]:
    """Both finetune runs and both loads; the figures of the JSON line."""
    result: dict[str, Any] = {"setting": asdict(setting)}
    with tempfile.TemporaryDirectory(prefix="zoo-bench-scale-") as scratch:
        root = Path(scratch)
        env = {**os.environ, "ZOO_MEMORY_BUDGET_MB": str(setting.budget_mb), "PYTHONUNBUFFERED": "1"}
        for size in ("small", "large"):
            count = getattr(setting, f"images_{size}")
            folder = write_folder(root / size, count, seed=count)
            print(f"[bench] scale: finetune on {count} images...", file=sys.stderr, flush=True)
            command = [sys.executable, "-m", "zoo", "finetune", BACKBONE, str(folder), "--epochs", str(setting.epochs)]
            out = str(root / f"run-{size}")
            command += ["--image-size", str(setting.image_size), "--out", out, "--export", "keras"]
            figures = watched(command, {**env, "ZOO_IMAGE_STORE": str(root / f"store-{size}")})
            result[f"images_{size}"] = count
            result[f"rss_{size}_mb"], result[f"anon_{size}_mb"] = figures["rss_mb"], figures["anon_mb"]
            result[f"file_{size}_mb"] = figures["file_mb"]
            result[f"seconds_{size}"] = figures["seconds"]
        fresh = {**env, "ZOO_IMAGE_STORE": str(root / "store-load")}
        result["load_first_s"] = load_seconds(root / "large", setting.image_size, fresh)
        result["load_second_s"] = load_seconds(root / "large", setting.image_size, fresh)
    return summarised(result, setting)


def summarised(result: dict[str, Any], setting: Setting) -> dict[str, Any]:
    """Add the ratios the goals are stated in: added memory per added image against its decoded size; load speedup."""
    decoded = setting.image_size**2 * 3 / 1e6
    added = setting.images_large - setting.images_small
    for kind in ("rss", "anon"):
        per_image = (result[f"{kind}_large_mb"] - result[f"{kind}_small_mb"]) / added
        result[f"added_{kind}_per_image_of_decoded"] = per_image / decoded
    result["decoded_mb_per_image"] = decoded
    result["load_speedup"] = result["load_first_s"] / max(result["load_second_s"], 1e-9)
    return result


def render(result: dict[str, Any]) -> str:
    """The figures for people."""
    lines = [f"{'images':>8}  {'peak RSS MB':>11}  {'peak anon MB':>12}  {'peak file MB':>12}  {'seconds':>8}"]
    for size in ("small", "large"):
        rss, anon, mapped = (result[f"{kind}_{size}_mb"] for kind in ("rss", "anon", "file"))
        seconds = result[f"seconds_{size}"]
        lines.append(f"{result[f'images_{size}']:>8}  {rss:>11.0f}  {anon:>12.0f}  {mapped:>12.0f}  {seconds:>8.0f}")
    lines.append(
        f"added memory per added image: {result['added_rss_per_image_of_decoded']:.1%} (RSS), "
        f"{result['added_anon_per_image_of_decoded']:.1%} (anonymous) of its decoded size "
        f"({result['decoded_mb_per_image'] * 1000:.1f} KB); goal under 10%"
    )
    lines.append(
        f"loading {result['images_large']} images: {result['load_first_s']:.2f} s decoding, "
        f"{result['load_second_s']:.2f} s from the store ({result['load_speedup']:.0f}x; goal 10x)"
    )
    return "\n".join(lines)


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result)
