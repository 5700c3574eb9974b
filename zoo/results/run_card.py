"""What it takes to repeat a run: run_card.json (settings, versions, machine, data fingerprint, times) written next to
the results (the seeds themselves: zoo.training.seeding)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.decoding.rows import hash_rows

# Distributions whose versions decide a run's numbers or its exports; absent optional ones are recorded as null.
LIBRARIES = {
    "tensorflow": "tensorflow",
    "keras": "keras",
    "numpy": "numpy",
    "pillow": "pillow",
    "matplotlib": "matplotlib",
    "tf2onnx": "tf2onnx",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "ai_edge_litert": "ai-edge-litert",
    "keras_hub": "keras-hub",
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def library_versions() -> dict[str, str | None]:
    """Installed versions, read from package metadata so nothing heavy is imported for them."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name, distribution in LIBRARIES.items():
        try:
            versions[name] = version(distribution)
        except PackageNotFoundError:
            versions[name] = None
    if versions["tensorflow"] is None:  # CPU-only or nightly builds have other distribution names
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    from zoo.version import __version__

    versions["zoo"] = __version__  # the code that ran, even from a checkout that is not installed
    return versions


def machine() -> dict[str, Any]:
    return {
        "system": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
    }


def devices() -> list[dict[str, Any]]:
    """TensorFlow's physical devices; GPUs with their name and compute capability when TF knows them."""
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices():
        entry: dict[str, Any] = {"name": device.name, "type": device.device_type}
        if device.device_type == "GPU":
            details = tf.config.experimental.get_device_details(device)
            entry["model"] = details.get("device_name")
            capability = details.get("compute_capability")
            entry["compute_capability"] = ".".join(map(str, capability)) if capability else None
        found.append(entry)
    return found


def data_fingerprint(files: Sequence[str] | None, arrays: Sequence[np.ndarray] | None = None) -> dict[str, Any]:
    """sha256 of the sorted file listing (one name a line), or of the arrays' dtype, shape and bytes without files.

    Hashing names, not contents, keeps this instant on large folders; it catches added, removed or renamed files.
    """
    digest = hashlib.sha256()
    if files is not None:
        for name in sorted(map(str, files)):
            digest.update(name.encode("utf-8") + b"\n")
        return {"sha256": digest.hexdigest(), "of": "sorted file listing", "count": len(files)}
    if arrays:
        for array in arrays:
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            hash_rows(digest, array)  # rows at a time: a store on disk stays on disk
        return {"sha256": digest.hexdigest(), "of": "array bytes", "count": len(arrays[0])}
    return {"sha256": None, "of": "nothing: no files and no arrays were given", "count": None}


def write_run_card(
    out_dir: Path,
    config: dict,
    data: dict[str, Any],
    extra: dict | None = None,
    *,
    seed: int | None = None,
    started: str | datetime | None = None,
) -> Path:
    """Write out_dir/run_card.json: settings, library versions, platform, devices, data hash, seed, start/end time.

    `data` is data_fingerprint's record of the data the run read; `seed` defaults to config["seed"];
    `extra` fields are added at the top level.
    """
    if isinstance(started, datetime):
        started = started.astimezone(UTC).isoformat(timespec="seconds")
    card = {
        "config": config,
        "seed": seed if seed is not None else config.get("seed"),
        "data": data,
        "versions": library_versions(),
        "platform": machine(),
        "devices": devices(),
        "started": started,
        "finished": now(),
    }
    clashes = sorted(set(card) & set(extra or {}))
    if clashes:
        raise ValueError(f"extra run-card fields {clashes} would replace measured ones; rename them")
    card.update(extra or {})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "run_card.json"
    path.write_text(json.dumps(card, indent=2, default=str) + "\n", encoding="utf-8")
    return path
