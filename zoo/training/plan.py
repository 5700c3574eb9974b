"""The fine-tuning plan, decided before any training: phases, what trains in each, learning rates, epochs, caching.

`make_plan` only reads the model (it changes no flag and trains nothing), so tests and `print(plan)` can check
a run before paying for it. `finetune` then carries the plan out phase by phase.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from zoo.errors import BadOverride
from zoo.layers.augment import LIGHT, Augmentation, augmentation_named
from zoo.training.freezing import BackboneParts, backbone_parts
from zoo.training.phases import FeatureCache, Phase, PlanSettings, scratch_phase, transfer_phases

if TYPE_CHECKING:
    import keras

__all__ = ["Augmentation", "FeatureCache", "FinetunePlan", "Phase", "PlanSettings", "make_plan"]


@dataclass(frozen=True)
class FinetunePlan:
    """Everything a fine-tuning run will do, printable (str) and JSON-ready (to_dict)."""

    model_name: str
    mode: str  # "transfer" (pretrained trunk, new head) or "scratch" (no backbone: every layer trains)
    num_classes: int
    train_size: int
    batch_size: int
    input: str
    augmentation: Augmentation | None
    settings: PlanSettings
    phases: tuple[Phase, ...]
    notes: tuple[str, ...] = field(default=())
    multilabel: bool = False  # one sigmoid per label, binary cross-entropy (the data's labels are 0/1 rows)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.train_size / self.batch_size))

    @property
    def mixes(self) -> bool:
        return self.augmentation is not None and self.augmentation.mix is not None

    def mix_in(self, index: int) -> str | None:
        """The batch mix phase `index` trains with: none while only the head trains, when a later phase trains more
        (a linear head on mixed frozen features learns only softer outputs, more label smoothing: slower)."""
        if not self.mixes:
            return None
        head_only = self.phases[index].train == "head" and any(phase.train != "head" for phase in self.phases)
        return None if head_only else self.augmentation.mix

    @property
    def total_epochs(self) -> int:
        return sum(phase.epochs for phase in self.phases)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "steps_per_epoch": self.steps_per_epoch, "text": str(self)}

    def __str__(self) -> str:
        s = self.settings
        lines = [
            f"Fine-tuning plan for {self.model_name} ({self.mode}): {self.num_classes} classes, "
            f"{self.train_size} training examples, batch {self.batch_size} ({self.steps_per_epoch} steps/epoch)",
            f"  input: {self.input}",
            "  augmentation (training only, not in the exported model): "
            + (self.augmentation.describe() if self.augmentation else "off"),
            self.loss_line(),
            f"  early stopping: val_loss, patience {s.patience}, best weights restored",
        ]
        for number, phase in enumerate(self.phases, start=1):
            described = phase.describe()
            lines.append(f"  phase {number}/{len(self.phases)} {described[0]}")
            lines.extend(f"  {line}" for line in described[1:])
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def loss_line(self) -> str:
        s = self.settings
        if self.multilabel:
            return (
                f"  loss: binary cross-entropy, one sigmoid per label (multi-label), label smoothing "
                f"{s.label_smoothing:g}; class weights: none (each label is its own yes/no)"
            )
        return (
            f"  loss: cross-entropy, label smoothing {s.label_smoothing:g}; class weights: "
            + ("balanced" if s.class_weighting else "none")
            + ("; labels and weights mixed with the examples (soft labels)" if self.mixes else "")
        )


def make_plan(
    model: keras.Model,
    train_size: int,
    *,
    epochs: int | tuple[int, int] | None = None,
    batch_size: int = 32,
    augment: bool | str | Sequence[str] | Augmentation = True,
    num_classes: int | None = None,
    validation_size: int = 0,
    multilabel: bool = False,
    **options: Any,
) -> FinetunePlan:
    """The plan for fine-tuning `model` on `train_size` examples: reads the model, trains nothing.

    `epochs`: total (split between the head phase and the fine-tuning phase), a (head, fine-tune) pair, or None for
    the defaults. `augment`: True ("light"), False, "light", "strong", a list of names or an Augmentation.
    `multilabel`: a sigmoid head's plan (binary cross-entropy, no batch mix). `options` are PlanSettings fields.
    """
    settings = PlanSettings.from_options(options)
    if train_size < 1 or batch_size < 1:
        raise BadOverride(f"need train_size >= 1 and batch_size >= 1, got {train_size} and {batch_size}")
    augmentation, notes = choose_augmentation(model, augment)
    if multilabel and augmentation is not None and augmentation.mix is not None:
        notes.append(f"{augmentation.mix} off: it mixes single-label classes; multi-label runs train without it")
        augmentation = replace(augmentation, mix=None)
    parts = backbone_parts(model)
    if parts is None:
        phases = (scratch_phase(model, epochs, settings),)
    else:
        cached_rows = (train_size, validation_size)
        phases = transfer_phases(parts, cached_rows, epochs, settings, augmentation is not None)
        notes += mixing_notes(augmentation, phases)
    return FinetunePlan(
        model_name=getattr(model, "entry_name", None) or model.name,
        mode="scratch" if parts is None else "transfer",
        num_classes=int(num_classes or model.output_shape[-1]),
        train_size=int(train_size),
        batch_size=int(batch_size),
        input=describe_input(model, parts),
        augmentation=augmentation,
        settings=settings,
        phases=phases,
        notes=tuple(notes),
        multilabel=multilabel,
    )


def choose_augmentation(
    model: keras.Model, augment: bool | str | Sequence[str] | Augmentation
) -> tuple[Augmentation | None, list[str]]:
    """The augmentation for this model's input (a preset, a list of names or an Augmentation) and notes on why it
    differs from what was asked."""
    if augment is False or augment is None or augment == "none":
        return None, []
    chosen = augment if isinstance(augment, Augmentation) else LIGHT if augment is True else augmentation_named(augment)
    shape = model.input_shape
    if len(shape) != 4:
        return None, [f"augmentation off: the input {tuple(shape[1:])} is not an image"]
    preset = augment is True or (isinstance(augment, str) and augment in ("light", "strong"))
    if shape[-1] == 1 and chosen.flip and preset:
        note = "no flips: single-channel images (digits, letters) are rarely mirror-symmetric"
        return replace(chosen, flip=None), [note]
    return chosen, []


def mixing_notes(augmentation: Augmentation | None, phases: tuple[Phase, ...]) -> list[str]:
    """Where a batch mix (MixUp, CutMix) meets cached features: it mixes the features, after the cache."""
    if augmentation is None or augmentation.mix is None or not any(phase.cache for phase in phases):
        return []
    notes = [f"{augmentation.mix} mixes cached features (new pairs every epoch), images where nothing is cached"]
    if any(phase.train == "head" for phase in phases) and any(phase.train != "head" for phase in phases):
        notes.append(f"{augmentation.mix} starts with the first phase that trains more than the head")
    if augmentation.mix == "cutmix" and any(phase.cache and len(phase.cache.shape) != 3 for phase in phases):
        notes.append("cutmix needs a spatial map: pooled cached features are mixed as MixUp")
    return notes


def describe_input(model: keras.Model, parts: BackboneParts | None) -> str:
    shape = "x".join(str(d) for d in model.input_shape[1:])
    if parts is not None:
        scaling = getattr(parts.preprocess, "mode", None) or "preset ImageConverter"  # Preprocess, or a hub model's
        return f"{shape} images, RGB values in [0, 255]; the {scaling!r} scaling is inside the model"
    return f"{shape} arrays, as given (the model's own layers do any scaling)"
