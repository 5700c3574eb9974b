"""`python -m zoo.bench.offline`: how fast `zoo predict resnet50 IMAGE` fails when its weights are not here, against
`python -c "import tensorflow"` on the same machine (goal: at most 0.3x). Each figure is the best of a few fresh
processes with an empty cache: with ZOO_OFFLINE=1, and with the download failing to connect (HTTPS_PROXY at a
closed loopback port, so no machine ever downloads the 100 MB file while measuring).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "zoo" / "assets" / "coffee.jpg"
REPEATS = 3


def best_seconds(command: list[str], env: dict[str, str], expect: int) -> float:
    """The fastest of REPEATS runs of `command`; each must exit with `expect`."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != expect:
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}, expected {expect}: {done.stderr[-500:]}")
    return min(times)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(model: str = "resnet50") -> dict[str, float]:
    """The three figures (seconds) and the two ratios to the TensorFlow import."""
    predict = [sys.executable, "-m", "zoo", "predict", model, str(IMAGE)]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_CACHE_DIR": cache}
        env.pop("ZOO_WEIGHTS_DIR", None)
        offline = best_seconds(predict, {**env, "ZOO_OFFLINE": "1"}, expect=2)
        proxy = f"http://127.0.0.1:{closed_port()}"
        unreachable = best_seconds(predict, {**env, "HTTPS_PROXY": proxy, "https_proxy": proxy}, expect=2)
        tensorflow = best_seconds([sys.executable, "-c", "import tensorflow"], env, expect=0)
    return {
        "offline_error_s": round(offline, 2),
        "unreachable_error_s": round(unreachable, 2),
        "tensorflow_import_s": round(tensorflow, 2),
        "offline_vs_tensorflow_import": round(offline / tensorflow, 3),
        "unreachable_vs_tensorflow_import": round(unreachable / tensorflow, 3),
    }


def main() -> int:
    result = run()
    for name, value in result.items():
        print(f"{name:<34} {value}")
    print(json.dumps(result))
    return 0 if max(result["offline_vs_tensorflow_import"], result["unreachable_vs_tensorflow_import"]) <= 0.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
