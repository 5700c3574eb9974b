"""The catalogue's record of one model variant (stdlib only, so listing never imports TensorFlow)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

FAMILIES = ("ffn", "cnn", "rnn", "autoencoder", "dbn", "backbone", "hub")
TASKS = ("classification", "regression", "reconstruction", "image-classification")


@dataclass(frozen=True)
class Reference:
    """A measured result and the command that reproduces it."""

    dataset: str
    metric: str
    value: float
    command: str
    also: tuple[tuple[str, float], ...] = ()  # further metrics of the same run, e.g. (("top-5", 0.921),)


@dataclass(frozen=True)
class Entry:
    """One catalogue variant: a pure builder plus everything known about it without building it."""

    name: str
    family: str
    task: str
    build: Callable[..., keras.Model]
    hparams: Mapping[str, Any]
    input_shape: tuple[int | None, ...]
    params: int
    summary: str
    input_dtype: str = "float32"
    loss: str | None = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ("accuracy",)
    preprocessing: str | None = None
    weights: tuple[str, ...] = ()
    classifier: str | None = "predictions"
    reference: Reference | None = None
    licence: str | None = None  # of the pretrained weights (an SPDX name), where known; None: no weights or unknown
    module: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"entry {self.name!r}: family {self.family!r} is not one of {FAMILIES}")
        if self.task not in TASKS:
            raise ValueError(f"entry {self.name!r}: task {self.task!r} is not one of {TASKS}")
        object.__setattr__(self, "hparams", MappingProxyType(dict(self.hparams)))

    def describe(self) -> dict[str, Any]:
        """The entry's metadata as plain JSON-ready data (the builder is named, not included)."""
        skipped = ("build", "hparams", "reference", "module")
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skipped}
        data["hparams"] = dict(self.hparams)
        data["input_shape"] = list(self.input_shape)
        data["metrics"] = list(self.metrics)
        data["weights"] = list(self.weights)
        data["builder"] = f"{self.build.__module__}.{self.build.__qualname__}"
        data["reference"] = asdict(self.reference) if self.reference else None
        return data
