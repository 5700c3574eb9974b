"""zoo: a Keras 3 model zoo and transfer-learning toolkit.

Importing this package does not import TensorFlow: listing and inspecting the catalogue stay fast. `finetune`,
`lr_find` and `FinetuneResult` are zoo.training's own objects (real signatures and docstrings), imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.catalogue import default_catalogue
from zoo.entry import Entry
from zoo.errors import (
    BadData,
    BadDevice,
    BadModelFile,
    BadOverride,
    CacheNotWritable,
    CatalogueError,
    CorruptWeights,
    ManifestError,
    NotExplainable,
    OutputExists,
    PackagingFailed,
    ResumeMismatch,
    RunLocked,
    UnknownMetric,
    UnknownModel,
    UnknownWeightsFile,
    WeightsDoNotFit,
    WeightsNotFound,
    WorkerLost,
    ZooError,
)
from zoo.loading.registration import register_serializables
from zoo.version import __version__

if TYPE_CHECKING:
    import keras

    from zoo.training.lr_find import lr_find
    from zoo.training.run import FinetuneResult, finetune

# Modules that register classes a saved model may name; `keras.saving.load_model` finds them after `import zoo`.
SERIALIZABLE_MODULES = ("zoo.layers", "zoo.loading.model", "zoo.training.discriminative_lr")
register_serializables(SERIALIZABLE_MODULES)

# Imported on first use (PEP 562): each pulls in TensorFlow, which `import zoo` must not.
_LAZY = {
    "finetune": "zoo.training.run",
    "FinetuneResult": "zoo.training.run",
    "lr_find": "zoo.training.lr_find",
}

__all__ = [
    "NotExplainable",
    "PackagingFailed",
    "__version__",
    "BadData",
    "BadModelFile",
    "BadDevice",
    "BadOverride",
    "CacheNotWritable",
    "CatalogueError",
    "CorruptWeights",
    "Entry",
    "finetune",
    "FinetuneResult",
    "classify",
    "embed",
    "info",
    "list_models",
    "load",
    "load_saved",
    "lr_find",
    "ManifestError",
    "OutputExists",
    "ResumeMismatch",
    "RunLocked",
    "UnknownMetric",
    "UnknownModel",
    "UnknownWeightsFile",
    "WeightsDoNotFit",
    "WeightsNotFound",
    "WorkerLost",
    "ZooError",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        _quiet_tensorflow()
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def list_models(family: str | None = None, task: str | None = None) -> list[str]:
    """Catalogue names, optionally of one family (ffn, cnn, rnn, autoencoder, dbn, backbone) or one task."""
    return default_catalogue().names(family=family, task=task)


def info(name: str) -> Entry:
    """The catalogue entry `name`: family, task, input spec, hyper-parameters, parameter count, reference result."""
    return default_catalogue().get(name)


def load(name: str, **overrides: Any) -> keras.Model:
    """A ready, compiled Keras model of catalogue entry `name`; `overrides` replace default hyper-parameters.

    weights="imagenet" (default), None, or a file; verify=False takes your own backbone weights file, unverified.
    """
    _quiet_tensorflow()
    from zoo.loading.assemble import load as load_model

    return load_model(name, **overrides)


def load_saved(path: str) -> keras.Model:
    """A model saved by this toolkit (`model.save("x.keras")`), reloaded with safe_mode on."""
    _quiet_tensorflow()
    from zoo.loading.assemble import load_saved as reload

    return reload(path)


def classify(model: Any, images: Any, top: int = 5, batch_size: int = 32, runtime: str = "cached") -> list:
    """The `top` (label, probability) pairs of each image with `model`: a catalogue name, .keras file, run folder
    or Keras model. runtime: "cached" (default) runs the fast runtime's converted file where one is held (a run
    folder's export, or the cache), without TensorFlow; "auto" converts once where none is; "keras" never."""
    from zoo.results.inference import classify as run

    return run(model, images, top=top, batch_size=batch_size, runtime=runtime)


def embed(model: Any, images: Any, batch_size: int = 32, runtime: str = "cached") -> Any:
    """Pooled trunk features (n, d) of each image with `model` (as `classify` takes it), as a NumPy array."""
    from zoo.results.inference import embed as run

    return run(model, images, batch_size=batch_size, runtime=runtime)


def _quiet_tensorflow() -> None:
    """Import TensorFlow as the CLI does: its native start-up logs (CUDA probes on a CPU machine) left out."""
    from zoo.hardware.devices import import_tensorflow_quietly

    import_tensorflow_quietly()
