"""OpenVINO on the CPU: the converted file (OpenVINO IR from Keras' export, or a .tflite that OpenVINO's TFLite front
end reads) compiled by OpenVINO's CPU plugin, run one image per request. The model is
compiled for throughput: OpenVINO makes one stream per core (or per few cores), each with its own threads, and zoo
keeps every stream busy with single-image requests. On a busy 2-core machine this measured faster than one
interpreter spreading each batch over both cores (whose threads wait for each other at every layer). float32
inference is asked for explicitly: on CPUs with bfloat16 units OpenVINO would otherwise compute in bfloat16 and
change the answers. The compiled model is cached by OpenVINO in runtime/openvino (keyed by its own hash of the model,
the settings and its version), which halves the next start.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

SETTINGS = {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": "f32"}


def has_openvino() -> bool:
    return importlib.util.find_spec("openvino") is not None


def openvino_version() -> str:
    from importlib.metadata import version

    return version("openvino")


class OpenVINOCall:
    """One batch through an OpenVINO model compiled from `path` (an IR .xml or a .tflite): its images spread over the
    streams' requests; the call gives output `output` (a converted file may carry the features as a second)."""

    def __init__(self, path: Path, compiled_cache: Path | None = None, output: int | None = 0) -> None:
        import openvino as ov

        self.path = path
        core = ov.Core()
        model = core.read_model(str(path))
        shape = model.inputs[0].get_partial_shape()
        shape[0] = 1  # one image per request: a static shape compiles to faster kernels than a dynamic batch
        model.reshape(shape)
        settings = {**SETTINGS, "CACHE_DIR": str(compiled_cache)} if compiled_cache else SETTINGS
        self.queue = ov.AsyncInferQueue(core.compile_model(model, "CPU", settings))
        self.kept = range(len(model.outputs)) if output is None else [output]
        self.outputs: list[list[np.ndarray] | None] = []
        self.queue.set_callback(self.keep)

    def keep(self, request: Any, index: int) -> None:
        self.outputs[index] = [request.get_output_tensor(i).data.copy() for i in self.kept]

    def all_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        """Every kept output of the model on `batch`, in the model's order."""
        images = np.ascontiguousarray(batch, dtype=np.float32)
        self.outputs = [None] * len(images)
        for index in range(len(images)):
            self.queue.start_async([images[index : index + 1]], index)
        self.queue.wait_all()
        return [np.concatenate([kept[i] for kept in self.outputs]) for i in range(len(self.kept))]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.all_outputs(batch)[0]
