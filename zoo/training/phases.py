"""The phases of a fine-tuning plan: what trains, at which rate, for how many epochs, with which cached features.

Pure functions of the model's structure and the settings: nothing here changes a flag or trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo.data.decoding.store import memory_budget
from zoo.errors import BadOverride
from zoo.training.freezing import (
    BackboneParts,
    Block,
    find_cut,
    trainable_param_count,
    trunk_blocks,
    trunk_nodes,
)

if TYPE_CHECKING:
    import keras

HEAD_EPOCHS, TUNE_EPOCHS, SCRATCH_EPOCHS = 10, 10, 30  # defaults; early stopping ends most runs sooner
TOP_FRACTION = 0.25  # unfreeze="top": the top quarter of the trunk's blocks
FLOAT_BYTES = 4
SCHEDULES = ("cosine", "one_cycle")
FEATURE_CACHE_MAX = 2 * 1024**3  # feature caches above this go to disk even when RAM would hold them


def feature_cache_limit() -> int:
    """Bytes a feature cache may hold in RAM: the data's memory budget (ZOO_MEMORY_BUDGET_MB), at most 2 GiB."""
    return min(FEATURE_CACHE_MAX, memory_budget())


@dataclass(frozen=True)
class PlanSettings:
    """The knobs of a fine-tuning run that shape its plan; every one has a default that works for small image sets."""

    unfreeze: str | int | float = "top"  # "top" (top quarter of the blocks), N blocks, a fraction, "all", "none"
    head_lr: float = 1e-3
    finetune_lr: float | None = None  # peak of phase 2; default head_lr / 10
    scratch_lr: float | None = None  # default: the learning rate the model was compiled with
    warmup_epochs: int = 1
    block_lr_decay: float = 0.8  # each earlier unfrozen block learns this much slower than the one above it
    label_smoothing: float = 0.1
    dropout: float = 0.2  # before the head, while training only, when the model has no dropout of its own
    patience: int = 3  # early stopping on val_loss; best weights restored
    views: int = 4  # augmented views cached per image while the trunk is frozen; 0 recomputes every epoch
    class_weighting: bool = True  # balanced class weights: rare classes count as much as common ones
    validation_fraction: float = 0.2  # stratified, seeded split when no validation data is given
    memory_limit: int = field(default_factory=feature_cache_limit)  # larger feature caches go to disk
    # "cosine": a constant head phase, then warm-up + cosine decay; "one_cycle": fastai's one-cycle in every phase
    schedule: str = "cosine"
    lora: int = 0  # rank of LoRA adapters on a transformer trunk's attention (0: none); adapted kernels stay frozen
    ema: bool = False  # train with an exponential moving average of the weights (Keras' use_ema), kept at the end

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise BadOverride(f"schedule={self.schedule!r}: choose among {', '.join(SCHEDULES)}")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PlanSettings:
        """Settings from keyword options; an unknown name is refused with the list of known ones."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise BadOverride(
                f"finetune does not take {', '.join(map(repr, unknown))}; "
                f"its plan settings are: {', '.join(sorted(known))}"
            )
        return cls(**options)


@dataclass(frozen=True)
class FeatureCache:
    """Features computed once by the frozen part of the network, then reused every epoch."""

    source: str  # "trunk" (all of it) or "lower trunk" (up to cut_layer)
    cut_layer: str | None  # first trunk layer that still runs every step; None when the whole trunk is cached
    shape: tuple[int, ...]  # per image
    views: int  # augmented versions of each training image (1 without augmentation)
    bytes: int
    where: str  # "memory" or "disk"
    via: str | None = None  # computed through the lower-trunk cache cut at this layer (shared with phase 2)
    via_where: str | None = None  # where that shared lower-trunk cache lives (phase 1 computes it for phase 2)

    def describe(self) -> str:
        what = "trunk output" if self.cut_layer is None else f"lower trunk (up to {self.cut_layer})"
        what += f" via the shared lower-trunk cache (cut at {self.via})" if self.via else ""
        views = f"{self.views} augmented views" if self.views > 1 else "1 view"
        shape = "x".join(map(str, self.shape))
        return f"{what}, {shape} values/image, {views}, in {self.where} ({self.bytes / 1e6:.1f} MB)"


@dataclass(frozen=True)
class Phase:
    """One stage of training: what trains, for how long, at which learning rate, and what is cached."""

    name: str
    epochs: int
    learning_rate: float  # peak
    # "constant", "cosine" (decay to 0 over the phase, after `warmup_epochs` of linear warm-up) or "one_cycle"
    # (up from a 25th of the peak over a quarter of the steps, then cosine down to 1e-5 of it; fastai's default)
    schedule: str
    warmup_epochs: int
    train: str | tuple[str, ...]  # "head", "all", or the names of the trunk layers that train (plus the head)
    trained_blocks: tuple[str, ...]
    trainable_params: int
    frozen_params: int
    lr_multipliers: tuple[tuple[str, float], ...]  # (block, multiplier of the phase's learning rate)
    cache: FeatureCache | None
    cost: str  # one line: what runs every step, what augmentation costs
    pin_batchnorm: bool = True

    def describe(self) -> list[str]:
        rate = {"constant": "constant", "cosine": "cosine decay to 0"}.get(self.schedule, "one-cycle")
        if self.warmup_epochs and self.schedule == "cosine":
            rate = f"{self.warmup_epochs} epoch warm-up, then {rate}"
        lines = [f"{self.name}: {self.epochs} epochs, Adam lr {self.learning_rate:g} ({rate})"]
        pinned = "; BatchNorm statistics pinned" if self.pin_batchnorm and self.train != "head" else ""
        lines.append(f"    trains: {_what_trains(self)}; frozen: {self.frozen_params:,} params{pinned}")
        if self.lr_multipliers:
            pairs = [f"{block} {rate:.3g}" for block, rate in reversed(self.lr_multipliers)]
            shown = pairs if len(pairs) <= 6 else [*pairs[:4], "...", *pairs[-2:]]
            lines.append("    lr multipliers (top first): " + ", ".join(shown))
        lines.append(f"    cache: {self.cache.describe() if self.cache else 'none'}")
        lines.append(f"    cost: {self.cost}")
        return lines


def _what_trains(phase: Phase) -> str:
    if phase.train == "head":
        return f"the head ({phase.trainable_params:,} params)"
    if phase.train == "all":
        return f"all layers ({phase.trainable_params:,} params)"
    blocks = ", ".join(phase.trained_blocks)
    return f"{len(phase.trained_blocks)} top blocks ({blocks}) + head ({phase.trainable_params:,} params)"


def split_epochs(epochs: int | tuple[int, int] | None, tunes: bool) -> tuple[int, int]:
    """(head epochs, fine-tuning epochs) from a total, a pair, or None (defaults)."""
    if epochs is None:
        return HEAD_EPOCHS, TUNE_EPOCHS if tunes else 0
    if isinstance(epochs, tuple) and len(epochs) == 2 and all(isinstance(e, int) and e >= 0 for e in epochs):
        return epochs[0], epochs[1] if tunes else 0
    if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1:
        head = math.ceil(epochs / 2) if tunes else epochs
        return head, epochs - head
    raise BadOverride(f"epochs must be a positive int, a (head, fine-tune) pair or None; got {epochs!r}")


def choose_blocks(blocks: list[Block], unfreeze: str | int | float) -> list[Block]:
    """The top blocks that phase 2 unfreezes."""
    if unfreeze == "none":
        return []
    if unfreeze == "all":
        return list(blocks)
    if unfreeze == "top":
        count = max(1, round(len(blocks) * TOP_FRACTION))
    elif isinstance(unfreeze, int) and not isinstance(unfreeze, bool) and unfreeze >= 0:
        count = min(unfreeze, len(blocks))
    elif isinstance(unfreeze, float) and 0 < unfreeze <= 1:
        count = max(1, round(len(blocks) * unfreeze))
    else:
        raise BadOverride(
            f"unfreeze must be 'top', 'all', 'none', a number of blocks or a fraction in (0, 1]; got {unfreeze!r}"
        )
    return list(blocks[len(blocks) - count :]) if count else []


def block_multipliers(trained: list[Block], decay: float) -> tuple[tuple[str, float], ...]:
    """(block, multiplier): the top block 1.0, each earlier one `decay` times the one above it."""
    count = len(trained)
    return tuple((block.name, round(decay ** (count - 1 - index), 6)) for index, block in enumerate(trained))


@dataclass(frozen=True)
class TransferBasis:
    """What a transfer plan's phases are worked out from: the backbone, the (training, validation) rows that get
    cached, the settings, the augmented views cached per image and whether the data is augmented at all."""

    parts: BackboneParts
    rows: tuple[int, int]
    settings: PlanSettings
    views: int
    augmenting: bool


def transfer_phases(
    parts: BackboneParts, rows: tuple[int, int], epochs: Any, settings: PlanSettings, augmenting: bool
) -> tuple[Phase, ...]:
    """Phase 1 trains the new head on a frozen trunk; phase 2 unfreezes the top blocks at a lower rate.

    When phase 2 caches the lower trunk, phase 1 computes its features through that same cache, so the lower part
    (most of the network's work) runs once for both phases; both then cache the same number of views.
    """
    blocks = trunk_blocks(parts.trunk)
    trained = choose_blocks(blocks, settings.unfreeze)
    head_epochs, tune_epochs = split_epochs(epochs, bool(trained))
    views = _views(settings, max(head_epochs, tune_epochs), augmenting)
    basis = TransferBasis(parts, rows, settings, views, augmenting)
    head_params = sum(trainable_param_count(layer) for layer in parts.head)
    # every weight of the trunk that may train, LoRA's base weights too: what does not train in a phase is frozen
    trunk_params = trainable_param_count(parts.trunk)
    tune = None
    if trained and tune_epochs:
        tune = tune_phase(basis, blocks, trained, tune_epochs, (head_params, trunk_params), head_epochs > 0)
    shared = tune.cache if tune is not None and tune.cache is not None and head_epochs else None
    cache, cost = head_cache(basis, head_epochs, shared)
    lr = "one_cycle" if settings.schedule == "one_cycle" else "constant"
    head = Phase("head", head_epochs, settings.head_lr, lr, 0, "head", (), head_params, trunk_params, (), cache, cost)
    return (head,) if tune is None else (head, tune)


def _cache(
    basis: TransferBasis, source: str, cut: str | None, shape: Any, shared: FeatureCache | None = None
) -> FeatureCache:
    """A cache of `shape` per view of each training row and per validation row: in memory only while it fits the
    memory limit together with the shared lower-trunk cache it is computed through (alive at the same time)."""
    shape = tuple(int(d) for d in shape)
    size = (basis.views * basis.rows[0] + basis.rows[1]) * math.prod(shape) * FLOAT_BYTES
    held = shared.bytes if shared is not None and shared.where == "memory" else 0
    where = "disk" if size + held > basis.settings.memory_limit else "memory"
    if shared is None:
        return FeatureCache(source, cut, shape, basis.views, size, where)
    return FeatureCache(source, cut, shape, basis.views, size, where, shared.cut_layer, shared.where)


def _views(settings: PlanSettings, epochs: int, augmenting: bool) -> int:
    return min(settings.views, max(epochs, 1)) if augmenting else 1


def head_cache(basis: TransferBasis, epochs: int, shared: FeatureCache | None) -> tuple[FeatureCache | None, str]:
    """Phase 1's trunk-output cache (through phase 2's lower-trunk cache `shared`, if any) and one line on what it
    costs."""
    views = basis.views
    if views == 0:
        return None, (
            f"augmentation on: trunk features recomputed every epoch ({epochs} trunk passes, ~{epochs}x the cost of "
            "cached features); --no-augment caches them"
        )
    cache = _cache(basis, "trunk", None, basis.parts.trunk.output.shape[1:], shared)
    through = " (its lower part shared with phase 2)" if shared else ""
    if not basis.augmenting:
        return cache, f"the trunk runs once over the data{through}; each of the {epochs} epochs trains the head alone"
    return cache, (
        f"augmentation on: {views} trunk passes{through}, one per cached view, for {epochs} epochs; "
        "--no-augment caches a single view (1 pass)"
    )


def tune_phase(
    basis: TransferBasis, blocks: list[Block], trained: list[Block], epochs: int, params_of: tuple[int, int],
    shared: bool,
) -> Phase:
    """Phase 2: the top blocks (or all) train with warm-up, cosine decay and lower rates for earlier blocks;
    `params_of`: the (head, whole trunk) weights that may train."""
    settings, views, trunk = basis.settings, basis.views, basis.parts.trunk
    head_params, trunk_params = params_of
    everything = len(trained) == len(blocks)
    train = "all" if everything else tuple(name for block in trained for name in block.layers)
    params = sum(block.params for block in trained)
    cache, cost = None, "the whole model runs forward and backward every step (all blocks train)"
    cut = None if everything or views == 0 else find_cut(trunk, trained[0].layers[0])
    if cut is not None:
        cut_layer, tensor = cut
        cache = _cache(basis, "lower trunk", cut_layer, tensor.shape[1:])
        nodes = [node.operation.name for node in trunk_nodes(trunk) if not node.is_input]
        upper = len(nodes) - nodes.index(cut_layer)
        cost = (
            f"each step runs {upper} of {len(nodes)} trunk layers (from {cut_layer}) + head; "
            f"the lower part runs {views} {'time' if views == 1 else 'times'} in all"
            + (", its output shared with phase 1" if shared else "")
        )
    elif not everything:
        cost = "the whole model runs every step (" + (
            "augmentation recomputed: views=0)" if views == 0 else "no single-tensor cut below the unfrozen blocks)"
        )
    return Phase(
        name="all blocks" if everything else "top blocks",
        epochs=epochs,
        learning_rate=settings.finetune_lr or settings.head_lr / 10,
        schedule=settings.schedule,
        warmup_epochs=min(settings.warmup_epochs, epochs) if settings.schedule == "cosine" else 0,
        train=train,
        trained_blocks=tuple(block.name for block in trained),
        trainable_params=params + head_params,
        frozen_params=trunk_params - params,
        lr_multipliers=block_multipliers(trained, settings.block_lr_decay),
        cache=cache,
        cost=cost,
    )


def scratch_phase(model: keras.Model, epochs: Any, settings: PlanSettings) -> Phase:
    """No pretrained trunk: one phase where every layer trains (BatchNorm included)."""
    if epochs is not None and not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1):
        raise BadOverride(
            f"a model without a pretrained backbone trains in one phase: epochs must be an int, got {epochs!r}"
        )
    rate = settings.scratch_lr or compiled_learning_rate(model) or 1e-3
    params = sum(trainable_param_count(layer) for layer in model.layers)
    return Phase(
        name="all layers",
        epochs=SCRATCH_EPOCHS if epochs is None else epochs,
        learning_rate=rate,
        schedule=settings.schedule,
        warmup_epochs=0,
        train="all",
        trained_blocks=(),
        trainable_params=params,
        frozen_params=0,
        lr_multipliers=(),
        cache=None,
        cost="every layer trains on every step (no pretrained backbone: nothing to freeze or cache)",
        pin_batchnorm=False,
    )


def compiled_learning_rate(model: keras.Model) -> float | None:
    """The constant learning rate the model was compiled with (zoo.load uses the recipe's), if any."""
    rate = getattr(getattr(model, "optimizer", None), "learning_rate", None)
    try:
        return float(rate) if rate is not None else None
    except (TypeError, ValueError):
        return None  # a schedule: fall back to the default
