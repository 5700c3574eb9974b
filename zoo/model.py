"""`ZooModel`: the Keras model `zoo.load` returns: a plain functional model plus class names and `classify`.

A registered subclass (never a patched Keras class) so saved models reload with safe_mode on and keep their
class names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="zoo")
class ZooModel(keras.Model):
    """A functional Keras model that remembers its catalogue entry and its class names."""

    def __init__(self, *args: Any, class_names: Sequence[str] | None = None, entry_name: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_names = list(class_names) if class_names is not None else None
        self.entry_name = entry_name

    def get_config(self) -> dict:
        return {**super().get_config(), "class_names": self.class_names, "entry_name": self.entry_name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> ZooModel:
        config = dict(config)
        class_names, entry_name = config.pop("class_names", None), config.pop("entry_name", None)
        model = super().from_config(config, custom_objects=custom_objects)
        model.class_names, model.entry_name = class_names, entry_name
        return model

    def classify(self, images: Any, top: int = 5) -> list[list[tuple[str, float]]]:
        """The `top` (label, probability) pairs, best first, for each image (paths, PIL images, arrays, batches)."""
        from zoo.images import images_to_batch

        if self.class_names is None:
            raise ValueError(f"{self.name} has no class names: it is not a classifier (see zoo.info)")
        height, width = self.input_shape[1:3]
        probabilities = self.predict(images_to_batch(images, (height, width)), verbose=0)
        return top_labels(probabilities, self.class_names, top)

    def finetune(self, data: Any, **options: Any) -> Any:
        """Fine-tune this model on `data` the careful way (see zoo.finetune.finetune); returns a FinetuneResult."""
        from zoo.finetune import finetune

        return finetune(self, data, **options)

    def lr_find(self, data: Any, **options: Any) -> Any:
        """Learning-rate range test on `data` (see zoo.lr_find.lr_find); the model is left as it was."""
        from zoo.lr_find import lr_find

        return lr_find(self, data, **options)


def top_labels(probabilities: np.ndarray, class_names: Sequence[str], top: int) -> list[list[tuple[str, float]]]:
    """Per row, the `top` best (class name, probability) pairs."""
    top = max(1, min(top, probabilities.shape[-1]))
    best = np.argsort(-probabilities, axis=-1)[:, :top]
    pairs = zip(probabilities, best, strict=True)
    return [[(class_names[i], float(row[i])) for i in indices] for row, indices in pairs]
