"""The fast path: frozen features computed once (per augmented view), and the tf.data batches that feed them."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from finetune_data import shapes

from zoo.data import LabelledData
from zoo.errors import BrokenSeal
from zoo.results.scoring.evaluation import evaluate_classifier
from zoo.sealed import check_sealed
from zoo.training import feature_cache
from zoo.training.feature_cache import Targets, batches, feature_array, one_hot
from zoo.training.phase_fit import augmenter_for
from zoo.training.plan import Augmentation


@pytest.fixture(scope="module")
def extractor():
    image = keras.Input((16, 16, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv")(image))
    return keras.Model(image, pooled)


@pytest.fixture(scope="module")
def images():
    return shapes(10, size=16)[0]


def test_features_match_the_extractor(extractor, images):
    store = feature_array(extractor, images, batch_size=4)
    assert store.shape == (1, 10, 4) and store.dtype == np.float32
    np.testing.assert_allclose(store[0], extractor.predict(images.astype("float32"), verbose=0), rtol=1e-5)


def test_augmented_views_differ_and_repeat_with_the_seed(extractor, images):
    augmentation = Augmentation(flip=None, rotation=0.2, zoom=0.2, contrast=0.0)
    first = feature_array(extractor, images, views=3, augmenter=augmenter_for(augmentation, 7))
    again = feature_array(extractor, images, views=3, augmenter=augmenter_for(augmentation, 7))
    plain = feature_array(extractor, images)
    assert first.shape == (3, 10, 4)
    assert not np.allclose(first[0], first[1]) and not np.allclose(first[0], plain[0])
    np.testing.assert_allclose(first, again, rtol=1e-5)


def test_a_disk_cache_equals_the_memory_one(extractor, images, tmp_path):
    path = tmp_path / "features.npy"
    on_disk = feature_array(extractor, images, path=path)
    assert isinstance(on_disk, np.memmap) and path.exists()
    np.testing.assert_allclose(np.load(path), feature_array(extractor, images), rtol=1e-6)
    assert not on_disk.flags.writeable
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, f"{path.name}.seal"]  # no partial file left
    check_sealed(path)  # sealed when written, as a later reader checks it


def test_a_feature_cache_changed_before_it_is_opened_is_refused(tmp_path):
    partial, path = tmp_path / "features.npy.partial-1", tmp_path / "features.npy"
    with open(partial, "wb") as handle:
        np.save(handle, np.ones((1, 3, 2), np.float32))
    with pytest.MonkeyPatch.context() as patch:  # a write that lands between sealing and opening
        real = feature_cache.seal_written

        def seal_then_damage(*args, **kwargs):
            real(*args, **kwargs)
            with open(path, "r+b") as handle:
                handle.seek(-4, 2)
                handle.write(b"\xff\xff\xff\xff")

        patch.setattr(feature_cache, "seal_written", seal_then_damage)
        with pytest.raises(BrokenSeal, match="does not match its seal"):
            feature_cache.sealed_features(partial, path)


def test_images_in_a_memory_map_are_read_in_slices(extractor, images, tmp_path):
    mapped = np.memmap(tmp_path / "images.u8", dtype=images.dtype, mode="w+", shape=images.shape)
    mapped[:] = images
    features = feature_array(extractor, mapped, batch_size=3, views=2)
    np.testing.assert_allclose(features, feature_array(extractor, images, views=2), rtol=1e-5)
    classifier = keras.Sequential([extractor, keras.layers.Softmax()])
    streamed, in_memory = (evaluate_classifier(classifier, labelled(x), batch_size=3) for x in (mapped, images))
    np.testing.assert_allclose(streamed.probabilities, in_memory.probabilities, rtol=1e-5)
    assert len(streamed.probabilities) == 10


def labelled(x):
    return LabelledData(x, np.arange(len(x)) % 4, ("a", "b", "c", "d"), None, (), "test")


def epoch(dataset):
    return [tuple(np.asarray(part) for part in batch) for batch in dataset]


def test_batches_cover_every_row_once_per_epoch_in_a_new_order():
    rows_ = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    x = np.stack([rows_, rows_ + 1000])  # two views of ten rows; view 1 is recognisable
    labels = Targets(np.arange(10) % 3, 3, class_weights=np.array([1.0, 1.5, 2.0], "float32"))
    targets, weights = one_hot(labels.y, 3), labels.class_weights[labels.y]  # what each row's batch must carry
    dataset = batches(x, labels, batch_size=4, shuffle=True, seed=3)
    assert int(dataset.cardinality()) == 3
    first, second = epoch(dataset), epoch(dataset)
    rows = lambda batches_: np.concatenate([(b[0][:, 0] % 1000) // 3 for b in batches_]).astype(int)  # noqa: E731
    assert sorted(rows(first)) == list(range(10)) and sorted(rows(second)) == list(range(10))
    assert list(rows(first)) != list(rows(second))
    views = np.concatenate([b[0][:, 0] >= 1000 for b in first + second])
    assert views.any() and not views.all()  # each row draws one of the views
    for features, target, weight in first:
        row = ((features[:, 0] % 1000) // 3).astype(int)
        np.testing.assert_array_equal(target, targets[row])
        np.testing.assert_array_equal(weight, weights[row])
    again = epoch(batches(x, labels, batch_size=4, shuffle=True, seed=3))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))  # seeded: runs repeat


def test_unshuffled_image_batches_arrive_in_order_as_floats(images):
    dataset = batches(images[np.newaxis], Targets(np.zeros(10, int), 2), batch_size=4, shuffle=False)
    got = epoch(dataset)
    assert [len(b[0]) for b in got] == [4, 4, 2] and got[0][0].dtype == np.float32
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), images.astype("float32"))


def test_targets_are_made_per_batch_so_memory_does_not_grow_with_rows_times_classes():
    """One-hot rows for every example (2,000 x 1,000 classes: 8 MB) must not come back: a batch's are made when
    it is read, as are its class weights (tracemalloc sees NumPy's allocations, not TensorFlow's)."""
    import tracemalloc

    rows, classes = 2000, 1000
    y = np.arange(rows) % classes
    labels = Targets(y, classes, class_weights=np.ones(classes, "float32"))
    dataset = batches(np.zeros((1, rows, 2), np.float32), labels, batch_size=32, shuffle=True)
    tracemalloc.start()
    try:
        for _, target, weight in dataset:
            assert target.shape[1] == classes and len(weight) == len(target)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < rows * classes * 4 / 4  # a batch's one-hot rows are 128 KB; all of them would be 8 MB


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


LOWER_BYTES = 6 * 192 * 4  # lite0 at 32 px, cut at block6c: 1x1x192 floats for each of the 6 rows planned


@pytest.mark.parametrize("where", ["memory", "disk", "lower in memory"])
def test_phase_one_reuses_the_lower_trunk_cache_of_phase_two(where, tmp_path):
    from finetune_data import lite0

    from zoo.training.freezing import backbone_parts, kept_trainable_flags
    from zoo.training.phase_fit import images_to, phase_arrays, phase_setup
    from zoo.training.plan import make_plan

    model = lite0(size=32)
    x, _ = shapes(6, size=32)
    limit = {"memory": 2**30, "disk": 0, "lower in memory": LOWER_BYTES}[where]  # the head's cache no longer fits
    plan = make_plan(model, 6, epochs=(1, 1), augment=False, memory_limit=limit)
    head, top = plan.phases
    assert head.cache.via == top.cache.cut_layer is not None and top.cache.bytes == LOWER_BYTES
    assert (top.cache.where, head.cache.where) == {"memory": ("memory",) * 2, "disk": ("disk",) * 2}.get(
        where, ("memory", "disk")
    )
    assert head.cache.via_where == top.cache.where  # phase 1 computes phase 2's cache where phase 2 wants it
    shared: dict = {}
    with kept_trainable_flags(model):
        first = phase_arrays(phase_setup(model, head, plan.settings, None), head, (x, x[:2]), tmp_path, 0, shared)
        second = phase_arrays(phase_setup(model, top, plan.settings, None), top, (x, x[:2]), tmp_path, 1, shared)
    assert isinstance(first[0], np.memmap) == (head.cache.where == "disk")  # on disk: never in RAM
    assert isinstance(second[0], np.memmap) == (top.cache.where == "disk")
    assert list(shared) == [top.cache.cut_layer] and second[0] is shared[top.cache.cut_layer][0]
    parts = backbone_parts(model)
    direct = images_to(parts.trunk, model, parts).predict(x.astype("float32"), verbose=0)
    np.testing.assert_allclose(first[0][0], direct, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(first[1][0], direct[:2], rtol=1e-4, atol=1e-4)
    assert second[0].shape == (1, 6, 1, 1, 192)


def test_the_frozen_part_runs_on_the_runtime_where_it_pays_after_the_augmentation(
    extractor, images, tmp_path, monkeypatch
):
    from zoo.results import frozen_trunk
    from zoo.training.feature_cache import on_runtime

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    assert on_runtime(extractor, "conv", len(images)).runtime is None  # a small cold pass: Keras, nothing converted
    monkeypatch.setattr(frozen_trunk, "CONVERSION_PAYS", 0)
    batches_run = counting_runtime_calls(monkeypatch)
    part = on_runtime(extractor, "conv", len(images))
    batches_run.clear()  # the conversion's check ran the runtime too
    augmentation = Augmentation(flip=None, rotation=0.2, zoom=0.2, contrast=0.0)
    fast = feature_array(part, images, batch_size=4, views=2, augmenter=augmenter_for(augmentation, 7))
    assert batches_run == [4, 4, 2, 4, 4, 2]  # every batch of both views went through LiteRT
    in_keras = feature_array(extractor, images, batch_size=4, views=2, augmenter=augmenter_for(augmentation, 7))
    np.testing.assert_allclose(fast, in_keras, rtol=1e-4, atol=1e-4)  # same augmented views, same features


@pytest.mark.slow
def test_the_frozen_lower_trunk_runs_on_the_runtime_and_a_warm_cache_serves_the_next_run(tmp_path, monkeypatch, capsys):
    from finetune_data import lite0

    from zoo.results import frozen_trunk
    from zoo.training.freezing import backbone_parts, kept_trainable_flags, split_trunk
    from zoo.training.phase_fit import images_to, phase_arrays, phase_setup
    from zoo.training.plan import make_plan

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(frozen_trunk, "CONVERSION_PAYS", 0)  # cold: convert even this tiny pass
    batches_run = counting_runtime_calls(monkeypatch)
    x, _ = shapes(6, size=32)

    def lower_trunk_features() -> tuple[np.ndarray, np.ndarray]:
        model = lite0(size=32)  # the same pretrained weights each time: a rerun, a resume, another kaggle fold
        plan = make_plan(model, 6, epochs=(1, 1), augment=False)
        top = plan.phases[1]
        with kept_trainable_flags(model):
            features = phase_arrays(phase_setup(model, top, plan.settings, None), top, (x, x[:2]), tmp_path, 1, {})
        parts = backbone_parts(model)
        lower = images_to(split_trunk(parts.trunk, top.cache.cut_layer)[0], model, parts)
        return features[0][0], lower.predict(x.astype("float32"), verbose=0)

    fast, expected = lower_trunk_features()
    assert batches_run and capsys.readouterr().err.count("converting") == 1
    np.testing.assert_allclose(fast, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())
    monkeypatch.setattr(frozen_trunk, "CONVERSION_PAYS", 10**15)  # a cold cache would now stay in Keras
    batches_run.clear()
    again, _ = lower_trunk_features()
    assert batches_run and capsys.readouterr().err == ""  # warm: the runtime, no second conversion
    np.testing.assert_array_equal(again, fast)


def counting_runtime_calls(monkeypatch) -> list[int]:
    """The batch sizes every LiteRT or OpenVINO call runs from now on (whichever runtime open_runner picks)."""
    from zoo.results.openvino_runtime import OpenVINOCall
    from zoo.results.runtime import InterpreterCall

    calls: list[int] = []
    for runtime_call in (InterpreterCall, OpenVINOCall):
        monkeypatch.setattr(runtime_call, "__call__", counted(runtime_call.__call__, calls))
    return calls


def counted(call, calls: list[int]):
    def wrapper(self, batch):
        calls.append(len(batch))
        return call(self, batch)

    return wrapper
