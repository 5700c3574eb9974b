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
    BrokenSeal,
    CacheNotWritable,
    CatalogueError,
    CorruptWeights,
    DamagedCheckpoint,
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
    "BrokenSeal",
    "CacheNotWritable",
    "CatalogueError",
    "CorruptWeights",
    "DamagedCheckpoint",
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
    """A ready, compiled Keras model of catalogue entry `name` (or a saved `.keras` file). Guide: docs/classify.md.

    Keyword options:
        weights: "imagenet" (default; backbones), None for random initialisation, or a weights file (a backbone's
            published file, hash-checked; a recipe's own .weights.h5 or .keras).
        verify: False takes your own backbone weights file, unverified (its sha256 is printed).
        device: auto, cpu, gpu, gpu:N, all, tpu or a list; builds the model under that placement ($ZOO_DEVICE).
        precision: auto, float32, mixed_float16 or mixed_bfloat16 (with `device`).
      `overrides` replace the entry's hyper-parameters (`zoo info NAME` lists them; another key is refused by name):
        num_classes: a new head with this many classes (backbones keep their pretrained trunk).
        input_shape: (height, width, channels); 1 or 4 channels keep pretrained weights (the first conv folded).
        dropout: dropout before the head.
        learning_rate: Adam's learning rate in the compiled model.
        include_top, pooling: a backbone's ImageNet head, and the pooling of a headless trunk (avg, max, None).
        drop_connect_rate: EfficientNet's stochastic depth rate.
        name: the Keras model's name; the recipes' own (filters, units, hidden_units, code_size, ...): `zoo info`.
    """
    _quiet_tensorflow()
    from zoo.loading.assemble import load as load_model

    return load_model(name, **overrides)


def load_saved(path: str) -> keras.Model:
    """The model saved at `path` by this toolkit (`model.save("x.keras")`), reloaded with safe_mode on."""
    _quiet_tensorflow()
    from zoo.loading.assemble import load_saved as reload

    return reload(path)


def classify(model: Any, images: Any, top: int = 5, batch_size: int = 32, runtime: str = "cached") -> list:
    """The `top` (label, probability) pairs of each image with `model`: a catalogue name, .keras file, run folder
    (finetune, kaggle or blend, as `zoo predict` takes it) or Keras model.

    Args:
        images: a path, PIL image or array, a batch array (n, h, w[, c]) or a sequence, fitted to the input.
        batch_size: images decoded and run at a time (memory stays bounded however many are given).
        runtime: "cached" (default) runs the fast runtime's converted file where one is held (a run folder's
            export, or the cache), without TensorFlow; "auto" converts once where none is; "keras" never.
    """
    from zoo.kaggle.submit.inference import classify as run

    return run(model, images, top=top, batch_size=batch_size, runtime=runtime)


def embed(model: Any, images: Any, batch_size: int = 32, runtime: str = "cached") -> Any:
    """Pooled trunk features (n, d) of each image with `model` (as `classify` takes it), as a NumPy array.

    Args:
        images: a path, PIL image or array, a batch array (n, h, w[, c]) or a sequence, fitted to the input.
        batch_size: images decoded and run at a time.
        runtime: "cached", "auto" or "keras", as for `classify`.
    """
    from zoo.kaggle.submit.inference import embed as run

    return run(model, images, batch_size=batch_size, runtime=runtime)


def _quiet_tensorflow() -> None:
    """Import TensorFlow as the CLI does: its native start-up logs (CUDA probes on a CPU machine) left out."""
    from zoo.hardware.devices import quiet_tensorflow_when_imported

    quiet_tensorflow_when_imported()
