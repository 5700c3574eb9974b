"""`zoo env`: the versions, devices and settings that matter in a bug report."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import Any

DISTRIBUTIONS = ("zoo-keras", "tensorflow", "keras", "numpy", "pillow", "tensorflow-datasets", "pooch")
SETTINGS = (
    *("ZOO_WEIGHTS_DIR", "ZOO_CACHE_DIR", "ZOO_IMAGE_STORE", "ZOO_IMAGE_STORE_MAX_GB", "ZOO_OFFLINE", "ZOO_DEVICE"),
    *("KERAS_BACKEND", "CUDA_VISIBLE_DEVICES", "TF_CPP_MIN_LOG_LEVEL"),
    *("TF_CONFIG", "SLURM_JOB_ID", "TF_FORCE_GPU_ALLOW_GROWTH"),
)


def installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment_report(with_devices: bool = True) -> dict[str, Any]:
    """Versions, platform, zoo's settings and folders, and (importing TensorFlow) the devices it sees."""
    from zoo.weights.resolve import cache_dir, is_offline, weights_dir

    report: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {name: installed_version(name) for name in DISTRIBUTIONS},
        "settings": {name: os.environ.get(name) for name in SETTINGS},
        "weights_cache": str(cache_dir()),
        "weights_dir": str(weights_dir()) if weights_dir() else None,
        "offline": is_offline(),
        **image_store_report(),
    }
    if with_devices:
        import tensorflow as tf

        report["devices"] = [f"{d.device_type}:{d.name}" for d in tf.config.list_physical_devices()]
        report["built_with_cuda"] = tf.test.is_built_with_cuda()
    return report


def image_store_report() -> dict[str, Any]:
    """Where decoded images are kept, what they take and their cap (zoo.data.decoding.eviction)."""
    from zoo.data.decoding.eviction import CAP_VAR, finished_stores, store_cap
    from zoo.data.decoding.store import store_root

    root = store_root()
    stores = finished_stores(root)
    size = sum(store.bytes for store in stores) / 1e9
    cap = f"{store_cap() / 1e9:g} GB ({CAP_VAR})"
    return {"image_store": str(root), "image_store_size": f"{len(stores)} stores, {size:.2f} GB of {cap}"}


def render(report: dict[str, Any]) -> str:
    """The report as indented text lines."""
    lines = []
    for key, value in report.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {name:<22} {item}" for name, item in value.items()]
        elif isinstance(value, list):
            lines.append(f"{key}: {', '.join(value) or 'none'}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def clear_image_stores() -> int:
    """`zoo env --clear-image-store`: remove the finished stores (a store another run is writing stays)."""
    from zoo.data.decoding.eviction import clear_stores
    from zoo.data.decoding.store import store_root

    removed = clear_stores(store_root())
    freed = sum(store.bytes for store in removed) / 1e9
    print(f"removed {len(removed)} image stores ({freed:.2f} GB) from {store_root()}")
    return 0
