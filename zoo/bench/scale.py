"""`python -m zoo.bench scale`: does finetune's memory grow with the number of images, and is a second load fast?

Two folders of JPEGs (random crops, flips and tints of the two photos in zoo/assets, in two classes) of different
sizes; `zoo finetune efficientnet_lite0 FOLDER --epochs N` runs on each in its own process under each memory budget
(ZOO_MEMORY_BUDGET_MB, 8 and 64 MB: images and feature caches past it must stream from disk), while this process
samples the child's /proc status: VmHWM is its peak resident memory, file-backed pages of memory maps included
(the kernel drops those under pressure), the highest RssAnon sampled is what it holds of its own, and the highest
RssFile sampled its file-backed pages (libraries, the store's pages not yet released). Then the large folder is loaded
twice in fresh processes: decoding into a new image store, then reusing it. The goal: anonymous memory grows by
under 10% of an image's decoded size per added image, at every budget. A run that converts the frozen trunk for a
fast runtime (large folders: the conversion pays) would carry that converter's fixed memory: a warm-up run on the
large folder converts it first, so the measured runs all find it ready (the table marks a run that converted).
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
    """Folder sizes, training size and epochs, and the memory budgets the runs get (each size runs at each)."""

    images_small: int = 1000
    images_large: int = 8000
    image_size: int = 128
    epochs: int = 2
    budgets_mb: tuple[int, ...] = (8, 64)  # 8: below every feature cache (all on disk); 64: small caches in memory


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
    sampled, seconds, and whether it converted the frozen trunk for a fast runtime (a fixed cost, not per image)."""
    started = time.perf_counter()
    log = tempfile.TemporaryFile("w+")  # a pipe read only at the end could fill and stall the child
    child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    peak, anon, mapped = 0, 0, 0
    while child.poll() is None:
        sample = status_kb(child.pid)
        peak, anon = max(peak, sample.get("VmHWM", 0)), max(anon, sample.get("RssAnon", 0))
        mapped = max(mapped, sample.get("RssFile", 0))
        time.sleep(0.2)
    log.seek(0)
    output = log.read()
    log.close()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({child.returncode}):\n{output[-2000:]}")
    seconds = time.perf_counter() - started
    converted = "to LiteRT once" in output  # zoo.results.runtime's note when it converts
    memory = {"rss_mb": peak / 1024, "anon_mb": anon / 1024, "file_mb": mapped / 1024}
    return {**memory, "seconds": seconds, "converted": converted}


def load_seconds(folder: Path, image_size: int, env: dict[str, str]) -> float:
    """Seconds `load_data` takes on `folder` in a fresh process (TensorFlow not imported)."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(folder), str(image_size)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"loading {folder} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def run(setting: Setting) -> dict[str, Any]:
    """Both finetune runs at each budget and both loads; the figures of the JSON line."""
    result: dict[str, Any] = {"setting": asdict(setting), "runs": []}
    with tempfile.TemporaryDirectory(prefix="zoo-bench-scale-") as scratch:
        root = Path(scratch)
        # A private cache: the runtime conversion of the frozen trunk starts cold in every bench
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ZOO_CACHE_DIR": str(root / "cache")}
        counts = {"small": setting.images_small, "large": setting.images_large}
        folders = {size: write_folder(root / size, count, seed=count) for size, count in counts.items()}
        # The large folder once first (same plan, so the same trunk cut): where converting the frozen trunk for a fast
        # runtime pays, every measured run then finds it converted (its memory is a one-off, not a cost per image)
        warm_up = [sys.executable, "-m", "zoo", "finetune", BACKBONE, str(folders["large"]), "--epochs"]
        warm_up += [str(setting.epochs), "--image-size", str(setting.image_size), "--out", str(root / "warm-up")]
        print("[bench] scale: warm-up on the large folder...", file=sys.stderr, flush=True)
        warm_up += ["--export", "keras"]
        stores = {size: str(root / f"store-{size}") for size in counts}
        lowest = {"ZOO_MEMORY_BUDGET_MB": str(min(setting.budgets_mb))}
        result["warm_up"] = watched(warm_up, {**env, **lowest, "ZOO_IMAGE_STORE": stores["large"]})
        for budget in setting.budgets_mb:
            for size, count in counts.items():
                print(f"[bench] scale: finetune on {count} images, budget {budget} MB...", file=sys.stderr, flush=True)
                out = str(root / f"run-{size}-{budget}")
                command = [sys.executable, "-m", "zoo", "finetune", BACKBONE, str(folders[size])]
                command += ["--epochs", str(setting.epochs), "--image-size", str(setting.image_size), "--out", out]
                run_env = {**env, "ZOO_MEMORY_BUDGET_MB": str(budget), "ZOO_IMAGE_STORE": stores[size]}
                figures = watched([*command, "--export", "keras"], run_env)
                result["runs"].append({"budget_mb": budget, "images": count, **figures})
        fresh = {**env, "ZOO_IMAGE_STORE": str(root / "store-load")}
        result["load_first_s"] = load_seconds(folders["large"], setting.image_size, fresh)
        result["load_second_s"] = load_seconds(folders["large"], setting.image_size, fresh)
    return summarised(result, setting)


def summarised(result: dict[str, Any], setting: Setting) -> dict[str, Any]:
    """Add the ratios the goals are stated in, per budget: added memory per added image (bytes, and its share of the
    image's decoded size); load speedup."""
    decoded = setting.image_size**2 * 3
    added = setting.images_large - setting.images_small
    result["decoded_bytes_per_image"] = decoded
    result["per_budget"] = []
    for budget in setting.budgets_mb:
        runs = {run["images"]: run for run in result["runs"] if run["budget_mb"] == budget}
        small, large = runs[setting.images_small], runs[setting.images_large]
        ratios: dict[str, Any] = {"budget_mb": budget}
        for kind in ("rss", "anon"):
            per_image = (large[f"{kind}_mb"] - small[f"{kind}_mb"]) * 2**20 / added
            ratios[f"added_{kind}_bytes_per_image"] = per_image
            ratios[f"added_{kind}_share_of_decoded"] = per_image / decoded
        result["per_budget"].append(ratios)
    result["load_speedup"] = result["load_first_s"] / max(result["load_second_s"], 1e-9)
    return result


def render(result: dict[str, Any]) -> str:
    """The figures for people."""
    columns = ("peak RSS MB", "peak anon MB", "peak file MB")
    lines = [f"{'budget':>7}  {'images':>7}  {columns[0]:>11}  {columns[1]:>12}  {columns[2]:>12}  {'seconds':>7}"]
    for run in result["runs"]:
        converted = "  (frozen trunk converted: a fixed cost)" if run.get("converted") else ""
        lines.append(
            f"{run['budget_mb']:>4} MB  {run['images']:>7}  {run['rss_mb']:>11.0f}  {run['anon_mb']:>12.0f}  "
            f"{run['file_mb']:>12.0f}  {run['seconds']:>7.0f}{converted}"
        )
    decoded = result["decoded_bytes_per_image"]
    for ratios in result["per_budget"]:
        lines.append(
            f"budget {ratios['budget_mb']} MB: added anonymous memory per added image "
            f"{ratios['added_anon_bytes_per_image'] / 1e3:.1f} KB = {ratios['added_anon_share_of_decoded']:.1%} of its "
            f"decoded size ({decoded / 1e3:.1f} KB; goal under 10%); RSS {ratios['added_rss_share_of_decoded']:.1%}"
        )
    lines.append(
        f"loading {result['runs'][-1]['images']} images: {result['load_first_s']:.2f} s decoding, "
        f"{result['load_second_s']:.2f} s from the store ({result['load_speedup']:.0f}x; goal 10x)"
    )
    return "\n".join(lines)


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result)
