"""make_plan: the phases, what trains, rates, epochs and caching of a run, checked without training anything."""

from __future__ import annotations

import json

import numpy as np
import pytest
from finetune_data import lite0

import zoo
from zoo.errors import BadOverride
from zoo.layers.traversal import all_layers
from zoo.training.freezing import backbone_parts, trunk_blocks
from zoo.training.plan import Augmentation, make_plan


@pytest.fixture(scope="module")
def backbone():
    return lite0()


def test_transfer_plan_trains_the_head_then_the_top_blocks(backbone):
    plan = make_plan(backbone, 300, epochs=10, batch_size=32, augment=False)
    head, top = plan.phases
    assert plan.mode == "transfer" and plan.num_classes == 3 and plan.steps_per_epoch == 10
    assert (head.name, head.train, head.schedule, head.learning_rate) == ("head", "head", "constant", 1e-3)
    assert head.trainable_params == 1280 * 3 + 3
    assert top.name == "top blocks" and top.schedule == "cosine" and top.warmup_epochs == 1
    assert top.learning_rate == pytest.approx(1e-4)
    blocks = trunk_blocks(backbone_parts(backbone).trunk)
    expected = blocks[-round(len(blocks) * 0.25) :]
    assert top.trained_blocks == tuple(block.name for block in expected)
    assert set(top.train) == {name for block in expected for name in block.layers}
    assert top.pin_batchnorm and top.frozen_params > 0


def test_earlier_blocks_get_smaller_learning_rates(backbone):
    top = make_plan(backbone, 100, epochs=4, augment=False, block_lr_decay=0.5).phases[1]
    rates = [rate for _, rate in top.lr_multipliers]
    assert rates[-1] == 1.0 and rates == sorted(rates)
    assert rates[-2] == pytest.approx(0.5) and rates[0] == pytest.approx(0.5 ** (len(rates) - 1))


@pytest.mark.parametrize(
    ("epochs", "split"), [(None, (10, 10)), (7, (4, 3)), (1, (1,)), ((2, 0), (2,)), ((0, 3), (0, 3))]
)
def test_epochs_are_split_between_the_phases(backbone, epochs, split):
    plan = make_plan(backbone, 50, epochs=epochs, augment=False)
    assert tuple(phase.epochs for phase in plan.phases) == split


def test_no_augmentation_caches_one_view_of_the_trunk_output(backbone):
    head, top = make_plan(backbone, 200, validation_size=50, epochs=(5, 5), augment=False).phases
    assert head.cache.cut_layer is None and head.cache.shape == (1280,) and head.cache.views == 1
    assert head.cache.bytes == (200 + 50) * 1280 * 4 and head.cache.where == "memory"
    assert "runs once" in head.cost
    assert top.cache.source == "lower trunk" and top.cache.cut_layer in top.train
    assert top.cache.shape == (2, 2, 192)  # lite0's block6 input at 64x64


def test_augmentation_caches_a_few_views_and_says_what_it_costs(backbone):
    head = make_plan(backbone, 100, epochs=(10, 2), augment=True).phases[0]
    assert head.cache.views == 4 and "4 trunk passes" in head.cost and "--no-augment" in head.cost
    fresh = make_plan(backbone, 100, epochs=(10, 2), augment=True, views=0).phases
    assert fresh[0].cache is None and "recomputed every epoch" in fresh[0].cost and "~10x" in fresh[0].cost
    assert fresh[1].cache is None


def test_unfreeze_choices(backbone):
    blocks = len(trunk_blocks(backbone_parts(backbone).trunk))
    everything = make_plan(backbone, 50, epochs=4, augment=False, unfreeze="all").phases[1]
    assert everything.name == "all blocks" and everything.train == "all" and everything.cache is None
    assert len(everything.trained_blocks) == blocks
    assert len(make_plan(backbone, 50, epochs=4, augment=False, unfreeze="none").phases) == 1
    assert len(make_plan(backbone, 50, epochs=4, augment=False, unfreeze=2).phases[1].trained_blocks) == 2
    assert len(make_plan(backbone, 50, epochs=4, augment=False, unfreeze=0.5).phases[1].trained_blocks) == blocks // 2
    with pytest.raises(BadOverride, match="unfreeze must be"):
        make_plan(backbone, 50, unfreeze="most")


def test_big_caches_go_to_disk(backbone):
    head = make_plan(backbone, 1000, epochs=2, augment=False, memory_limit=1000).phases[0]
    assert head.cache.where == "disk"


def test_make_plan_changes_nothing(backbone):
    flags = [layer.trainable for layer in all_layers(backbone)]
    weights = [w.copy() for w in backbone.get_weights()]
    make_plan(backbone, 100, epochs=6, unfreeze="all")
    assert flags == [layer.trainable for layer in all_layers(backbone)]
    assert all(np.array_equal(a, b) for a, b in zip(weights, backbone.get_weights(), strict=True))


def test_plan_prints_and_serialises(backbone):
    plan = make_plan(backbone, 120, epochs=(3, 3), augment=True)
    text = str(plan)
    for expected in (
        "phase 1/2 head",
        "phase 2/2 top blocks",
        "lr 0.0001",
        "BatchNorm statistics pinned",
        "RandomFlip(horizontal)",
        "lower trunk (up to",
        "lr multipliers",
    ):
        assert expected in text
    assert json.loads(json.dumps(plan.to_dict()))["phases"][1]["name"] == "top blocks"


def test_a_recipe_trains_from_scratch_in_one_phase():
    plan = make_plan(zoo.load("resnet_small"), 500, epochs=3, augment=True)
    (phase,) = plan.phases
    assert plan.mode == "scratch" and phase.train == "all" and phase.cache is None
    assert not phase.pin_batchnorm  # a network trained from scratch needs its BatchNorm statistics
    assert phase.epochs == 3 and phase.learning_rate == pytest.approx(1e-3)


def test_single_channel_images_are_not_flipped_and_vectors_not_augmented():
    digits = make_plan(zoo.load("lenet5", input_shape=(8, 8, 1)), 100, augment=True)
    assert digits.augmentation == Augmentation(flip=None) and "no flips" in digits.notes[0]
    assert digits.phases[0].learning_rate == pytest.approx(3e-3)  # the recipe's own rate
    tabular = make_plan(zoo.load("mlp_tabular"), 100, augment=True)
    assert tabular.augmentation is None and "not an image" in tabular.notes[0]


def test_mixup_mixes_cached_features_and_says_so(backbone):
    assert make_plan(backbone, 120, epochs=(3, 3), augment="strong").mix_in(1) is None  # strong holds no MixUp
    mixes = ["flip", "rotation", "randaugment", "mixup"]
    mixed = make_plan(backbone, 120, epochs=(3, 3), augment=mixes)
    assert mixed.augmentation.randaugment and mixed.augmentation.mix == "mixup"
    assert any("mixes cached features" in note for note in mixed.notes)
    assert (mixed.mix_in(0), mixed.mix_in(1)) == (None, "mixup")  # the head phase trains on unmixed features
    assert any("starts with the first phase that trains more than the head" in note for note in mixed.notes)
    head_only = make_plan(backbone, 120, epochs=(3, 3), augment=mixes, unfreeze="none")
    assert [head_only.mix_in(index) for index in range(len(head_only.phases))] == ["mixup"] * len(head_only.phases)
    assert "MixUp" in str(mixed) and "soft labels" in str(mixed)
    cut = make_plan(backbone, 120, epochs=(3, 3), augment=["flip", "cutmix"])
    assert any("pooled cached features are mixed as MixUp" in note for note in cut.notes)
    digits = make_plan(zoo.load("lenet5", input_shape=(8, 8, 1)), 100, augment="strong")
    assert digits.augmentation.flip is None and len(digits.notes) == 1 and digits.notes[0].startswith("no flips")
    assert make_plan(backbone, 120, epochs=2, augment="none").augmentation is None


def test_one_cycle_runs_every_phase_without_a_separate_warm_up(backbone):
    head, top = make_plan(backbone, 100, epochs=4, augment=False, schedule="one_cycle").phases
    assert (head.schedule, top.schedule, top.warmup_epochs) == ("one_cycle", "one_cycle", 0)
    assert "one-cycle" in head.describe()[0] and "warm-up" not in top.describe()[0]
    with pytest.raises(BadOverride, match="schedule='linear': choose among cosine, one_cycle"):
        make_plan(backbone, 100, schedule="linear")


def test_bad_settings_are_refused_by_name(backbone):
    with pytest.raises(BadOverride, match="'head_learning_rate'.*head_lr"):
        make_plan(backbone, 100, head_learning_rate=1e-2)
    with pytest.raises(BadOverride, match="epochs must be"):
        make_plan(backbone, 100, epochs=0)
    with pytest.raises(BadOverride, match="one phase"):
        make_plan(zoo.load("mlp_tabular"), 100, epochs=(2, 2))
