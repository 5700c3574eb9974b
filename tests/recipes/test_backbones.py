"""The keras.applications backbones: each builds to its declared metadata, has both weights files in the manifest,
and the shipped ImageNet class names are the 1000 classes in index order."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from zoo.catalogue import entries_of
from zoo.errors import BadOverride
from zoo.loading.imagenet import CLASSES_FILE, imagenet_class_names
from zoo.weights.manifest import load_manifest

ENTRIES = entries_of("backbones")


def _recipe():
    """recipes/backbones.py as zoo.recipes.backbones: importable once entries_of has loaded the recipes package."""
    from zoo.recipes import backbones

    return backbones


@pytest.fixture
def fresh_keras():
    """Each build starts from an empty Keras session, so forty large graphs do not pile up in memory."""
    import keras

    keras.backend.clear_session()
    yield keras
    keras.backend.clear_session()


# Building all 40 takes 110 s on two quiet CPU cores (EfficientNetV2L and NASNetLarge ~8 s each). The default run
# builds the smallest member of each architecture family (14: EfficientNetB0 for B0-B7, DenseNet121 for 121-201,
# VGG16, InceptionResNetV2...); the 26 other sizes, the same code at other widths and depths, build under `-m slow`.
SIZE_SUFFIX = re.compile(r"(B\d|S|M|L|\d{2,3}|Tiny|Small|Base|Large|XLarge|Mobile)$")


def architecture_family(application: str) -> str:
    """The keras.applications family of a model name: ResNet50 and ResNet152 -> ResNet, EfficientNetV2B0 and
    EfficientNetV2S -> EfficientNetV2, ResNet50V2 -> ResNetV2, MobileNetV3Small -> MobileNetV3."""
    return SIZE_SUFFIX.sub("", re.sub(r"\d{2,3}(V2)$", r"\1", application))


def _smallest_per_family() -> set[str]:
    smallest: dict[str, object] = {}
    for entry in sorted(ENTRIES, key=lambda e: e.params):
        smallest.setdefault(architecture_family(entry.hparams["application"]), entry)
    return {entry.name for entry in smallest.values()}


BUILT_BY_DEFAULT = _smallest_per_family()


def _built_by_default(entry) -> bool:
    return entry.name in BUILT_BY_DEFAULT


@pytest.mark.parametrize(
    "entry",
    [pytest.param(e, id=e.name, marks=() if _built_by_default(e) else pytest.mark.slow) for e in ENTRIES],
)
def test_backbone_builds_to_its_metadata(entry, fresh_keras):
    keras = fresh_keras
    model = entry.build(**entry.hparams)
    assert model.count_params() == entry.params, "Entry.params must be the built model's count"
    assert tuple(model.input_shape[1:]) == entry.input_shape
    assert tuple(model.output_shape) == (None, 1000)
    classifier = model.get_layer(entry.classifier)
    assert classifier.weights[0].shape[-1] == 1000
    assert classifier is [layer for layer in model.layers if layer.weights][-1], "the classifier is the last weights"
    # Input scaling happens in the Entry's preprocessing layer only, except where the model keeps its own.
    scaling_layers = (keras.layers.Rescaling, keras.layers.Normalization)
    assert any(isinstance(layer, scaling_layers) for layer in model.layers) == (
        entry.preprocessing in ("raw", "efficientnet_v1")
    )


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_backbone_metadata_is_complete(entry):
    from zoo.layers.preprocess import MODES

    assert (entry.family, entry.task) == ("backbone", "image-classification")
    size = entry.input_shape[0]
    assert entry.input_shape == (size, size, 3) == tuple(entry.hparams["input_shape"])
    assert _recipe().MIN_INPUT_SIZE[entry.name] <= size
    assert entry.hparams["num_classes"] == 1000 and entry.hparams["include_top"] is True
    assert "learning_rate" in entry.hparams and entry.summary
    assert entry.preprocessing in MODES
    assert entry.weights == (f"{entry.name}.top", f"{entry.name}.notop")
    if entry.reference is not None:
        assert entry.reference.dataset == "ImageNet-1k val" and entry.reference.metric == "top-1"
        assert 0.5 < entry.reference.value < 1.0
        assert all(entry.reference.value < value < 1.0 for _, value in entry.reference.also)


@pytest.fixture(scope="module")
def manifest():
    return load_manifest()  # the project's manifest, every record's fields validated


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_manifest_has_both_weights_files(entry, manifest):
    for key in entry.weights:
        record = manifest.get(key)
        assert record.format == "keras-h5" and record.file.endswith(".h5")
        assert record.urls and all(url.startswith("https://") for url in record.urls)
        assert record.package is None and record.license
    assert manifest.get(entry.weights[0]).file != manifest.get(entry.weights[1]).file


def _smallest_per_min_size():
    """The cheapest backbone of each distinct minimum input size."""
    smallest = {}
    for entry in sorted(ENTRIES, key=lambda e: e.params):
        smallest.setdefault(_min_size(entry), entry)
    return list(smallest.values())


def _min_size(entry) -> int:
    return _recipe().MIN_INPUT_SIZE[entry.name]


@pytest.mark.parametrize("entry", _smallest_per_min_size(), ids=lambda e: e.name)
def test_feature_extractor_builds_at_its_minimum_size(entry, fresh_keras):
    size = _min_size(entry)
    hparams = {**entry.hparams, "include_top": False, "pooling": "avg"}
    model = entry.build(**{**hparams, "input_shape": (size, size, 3)})
    assert len(model.output_shape) == 2 and model.output_shape[0] is None
    with pytest.raises(ValueError, match=str(size)):
        entry.build(**{**hparams, "input_shape": (size - 1, size - 1, 3)})


def _switched_off_per_mode():
    """The cheapest backbone of each (application family, mode) whose own input scaling the builder switches off."""
    cheapest = {}
    for entry in sorted(ENTRIES, key=lambda e: e.params):
        application = entry.hparams["application"]
        family = [prefix for prefix in _recipe().PREPROCESSING_SWITCH if application.startswith(prefix)]
        if family:
            cheapest.setdefault((family[0], entry.preprocessing), entry)
    return list(cheapest.values())


@pytest.mark.parametrize("entry", _switched_off_per_mode(), ids=lambda e: e.name)
def test_preprocessing_mode_reproduces_the_applications_own_scaling(entry, fresh_keras):
    from zoo.layers.preprocess import Preprocess

    keras = fresh_keras
    options = dict(include_top=False, pooling="avg", input_shape=(32, 32, 3))
    own = getattr(keras.applications, entry.hparams["application"])(weights=None, include_preprocessing=True, **options)
    bare = entry.build(**{**entry.hparams, **options})
    bare.set_weights(own.get_weights())  # same weighted layers: Keras' scaling layers hold no weights
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(own(pixels, training=False))
    scale = float(np.abs(expected).max())  # random weights: outputs can be tiny, so compare relative to their size
    got = keras.ops.convert_to_numpy(bare(Preprocess(entry.preprocessing)(pixels), training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale)


def test_unknown_application_is_refused_with_the_choices():
    with pytest.raises(BadOverride, match="'ResNet18'.*ResNet50.*ConvNeXtXLarge"):
        _recipe().build_application("ResNet18", input_shape=(224, 224, 3))


def test_imagenet_classes_are_the_1000_names_in_index_order():
    data = json.loads(CLASSES_FILE.read_text(encoding="utf-8"))
    names = data["classes"]
    assert data["source"] and imagenet_class_names() == tuple(names)
    assert len(names) == len(set(names)) == 1000
    assert all(isinstance(name, str) and name.strip() == name != "" for name in names)
    assert (names[0], names[281], names[282], names[285], names[967]) == (
        "tench",
        "tabby",
        "tiger cat",
        "Egyptian cat",
        "espresso",
    )
    assert len(data["synsets"]) == 1000 and (data["synsets"][0], data["synsets"][285]) == ("n01440764", "n02124075")
