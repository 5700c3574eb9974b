"""`zoo env`: the versions, devices and settings that matter in a bug report."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import Any

DISTRIBUTIONS = ("zoo-keras", "tensorflow", "keras", "numpy", "pillow", "tensorflow-datasets", "pooch")
SETTINGS = (
    *("ZOO_WEIGHTS_DIR", "ZOO_CACHE_DIR", "ZOO_OFFLINE", "ZOO_DEVICE", "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES"),
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
    }
    if with_devices:
        import tensorflow as tf

        report["devices"] = [f"{d.device_type}:{d.name}" for d in tf.config.list_physical_devices()]
        report["built_with_cuda"] = tf.test.is_built_with_cuda()
    return report


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
