"""The keras.applications ImageNet backbones: one shared builder and one table of what is known about each.

Every row names a Keras 3.15 application and its facts: default input size (the one its ImageNet weights were
trained at, and the only one keras.applications takes with the classifier's weights), the smallest size it builds, the
input scaling its weights expect, the parameter count with the classifier (counted by building it), the classifier
layer, and the ImageNet-1k accuracy published with Keras. The weights files are in weights_manifest.json under
"<name>.top" and "<name>.notop"; `zoo.load` adds them, the preprocessing layer and any new head.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from zoo.entry import Entry, Reference
from zoo.errors import BadOverride

if TYPE_CHECKING:
    import keras

# These constructors can scale their inputs themselves (include_preprocessing=True); we switch that off so that the
# Entry's `preprocessing`, added by zoo.load as one Preprocess layer, is the only input scaling for every backbone.
# EfficientNet (v1) has no such switch: its Rescaling + Normalization stay inside, hence its "efficientnet_v1" mode.
PREPROCESSING_SWITCH = ("ConvNeXt", "EfficientNetV2", "MobileNetV3")

KERAS_IO = "published by keras.applications (https://keras.io/api/applications/)"
MOBILENET_V3_DOC = (
    "published by keras.applications in the MobileNetV3 docstring (https://keras.io/api/applications/mobilenet/)"
)


class _Row(NamedTuple):
    name: str
    application: str  # the keras.applications constructor
    size: int  # default input height = width
    preprocessing: str  # a zoo.layers.preprocess mode: what the bare architecture expects from RGB 0..255 pixels
    params: int  # with the 1000-class classifier, counted on Keras 3.15
    classifier: str  # the last layer with weights: the one a new head replaces
    top1: float | None = None  # ImageNet-1k validation accuracy as Keras publishes it (None: no Keras figure on record)
    top5: float | None = None
    min_size: int = 32  # the smallest height/width Keras builds without the classifier
    published: str = KERAS_IO
    note: str = ""


_V3 = MOBILENET_V3_DOC
_IN21K = "ImageNet-21k pre-training, ImageNet-1k fine-tuning"
# EfficientNetV2 S/M/L scale by (x - 128) / 128 inside Keras; B0-B3 use ImageNet mean/std ("torch").
_ROWS = (
    _Row("vgg16", "VGG16", 224, "caffe", 138_357_544, "predictions", 0.713, 0.901),
    _Row("vgg19", "VGG19", 224, "caffe", 143_667_240, "predictions", 0.713, 0.900),
    _Row("resnet50", "ResNet50", 224, "caffe", 25_636_712, "predictions", 0.749, 0.921),
    _Row("resnet101", "ResNet101", 224, "caffe", 44_707_176, "predictions", 0.764, 0.928),
    _Row("resnet152", "ResNet152", 224, "caffe", 60_419_944, "predictions", 0.766, 0.931),
    _Row("resnet50_v2", "ResNet50V2", 224, "tf", 25_613_800, "predictions", 0.760, 0.930),
    _Row("resnet101_v2", "ResNet101V2", 224, "tf", 44_675_560, "predictions", 0.772, 0.938),
    _Row("resnet152_v2", "ResNet152V2", 224, "tf", 60_380_648, "predictions", 0.780, 0.942),
    _Row("inception_v3", "InceptionV3", 299, "tf", 23_851_784, "predictions", 0.779, 0.937, min_size=75),
    _Row("inception_resnet_v2", "InceptionResNetV2", 299, "tf", 55_873_736, "predictions", 0.803, 0.953, min_size=75),
    _Row("xception", "Xception", 299, "tf", 22_910_480, "predictions", 0.790, 0.945, min_size=71),
    _Row("mobilenet", "MobileNet", 224, "tf", 4_253_864, "conv_preds", 0.704, 0.895),
    _Row("mobilenet_v2", "MobileNetV2", 224, "tf", 3_538_984, "predictions", 0.713, 0.901),
    _Row("mobilenet_v3_small", "MobileNetV3Small", 224, "tf", 2_554_968, "logits", 0.681, None, published=_V3),
    _Row("mobilenet_v3_large", "MobileNetV3Large", 224, "tf", 5_507_432, "logits", 0.756, None, published=_V3),
    _Row("densenet121", "DenseNet121", 224, "torch", 8_062_504, "predictions", 0.750, 0.923),
    _Row("densenet169", "DenseNet169", 224, "torch", 14_307_880, "predictions", 0.762, 0.932),
    _Row("densenet201", "DenseNet201", 224, "torch", 20_242_984, "predictions", 0.773, 0.936),
    _Row("nasnet_mobile", "NASNetMobile", 224, "tf", 5_326_716, "predictions", 0.744, 0.919),
    _Row("nasnet_large", "NASNetLarge", 331, "tf", 88_949_818, "predictions", 0.825, 0.960),
    _Row("efficientnet_b0", "EfficientNetB0", 224, "efficientnet_v1", 5_330_571, "predictions", 0.771, 0.933),
    _Row("efficientnet_b1", "EfficientNetB1", 240, "efficientnet_v1", 7_856_239, "predictions", 0.791, 0.944),
    _Row("efficientnet_b2", "EfficientNetB2", 260, "efficientnet_v1", 9_177_569, "predictions", 0.801, 0.949),
    _Row("efficientnet_b3", "EfficientNetB3", 300, "efficientnet_v1", 12_320_535, "predictions", 0.816, 0.957),
    _Row("efficientnet_b4", "EfficientNetB4", 380, "efficientnet_v1", 19_466_823, "predictions", 0.829, 0.964),
    _Row("efficientnet_b5", "EfficientNetB5", 456, "efficientnet_v1", 30_562_527, "predictions", 0.836, 0.967),
    _Row("efficientnet_b6", "EfficientNetB6", 528, "efficientnet_v1", 43_265_143, "predictions", 0.840, 0.968),
    _Row("efficientnet_b7", "EfficientNetB7", 600, "efficientnet_v1", 66_658_687, "predictions", 0.843, 0.970),
    _Row("efficientnet_v2_b0", "EfficientNetV2B0", 224, "torch", 7_200_312, "predictions", 0.787, 0.943),
    _Row("efficientnet_v2_b1", "EfficientNetV2B1", 240, "torch", 8_212_124, "predictions", 0.798, 0.950),
    _Row("efficientnet_v2_b2", "EfficientNetV2B2", 260, "torch", 10_178_374, "predictions", 0.805, 0.951),
    _Row("efficientnet_v2_b3", "EfficientNetV2B3", 300, "torch", 14_467_622, "predictions", 0.820, 0.958),
    _Row("efficientnet_v2_s", "EfficientNetV2S", 384, "efficientnet_v2", 21_612_360, "predictions", 0.839, 0.967),
    _Row("efficientnet_v2_m", "EfficientNetV2M", 480, "efficientnet_v2", 54_431_388, "predictions", 0.853, 0.974),
    _Row("efficientnet_v2_l", "EfficientNetV2L", 480, "efficientnet_v2", 119_027_848, "predictions", 0.857, 0.975),
    _Row("convnext_tiny", "ConvNeXtTiny", 224, "torch", 28_589_128, "convnext_tiny_head_dense"),
    _Row("convnext_small", "ConvNeXtSmall", 224, "torch", 50_223_688, "convnext_small_head_dense"),
    _Row("convnext_base", "ConvNeXtBase", 224, "torch", 88_591_464, "convnext_base_head_dense", note=_IN21K),
    _Row("convnext_large", "ConvNeXtLarge", 224, "torch", 197_767_336, "convnext_large_head_dense", note=_IN21K),
    _Row("convnext_xlarge", "ConvNeXtXLarge", 224, "torch", 350_196_968, "convnext_xlarge_head_dense", note=_IN21K),
)

APPLICATIONS = tuple(row.application for row in _ROWS)
# Smallest input height/width Keras builds each backbone at (without the classifier), by entry name.
MIN_INPUT_SIZE = {row.name: row.min_size for row in _ROWS}


def build_application(
    application: str,
    input_shape: Sequence[int],
    include_top: bool = True,
    pooling: str | None = None,
    num_classes: int = 1000,
    **ignored: Any,
) -> keras.Model:
    """The bare keras.applications architecture: random weights (weights=None) and no input scaling of its own.

    `ignored` takes the training settings (dropout, learning_rate) that zoo.load reads from the hparams.
    """
    import keras

    if application not in APPLICATIONS:
        raise BadOverride(
            f"application={application!r} is not one of the catalogue's keras.applications backbones; "
            f"use one of: {', '.join(APPLICATIONS)}"
        )
    options = {"include_preprocessing": False} if application.startswith(PREPROCESSING_SWITCH) else {}
    return getattr(keras.applications, application)(
        weights=None,
        input_shape=tuple(input_shape),
        include_top=include_top,
        pooling=pooling,
        classes=num_classes,
        **options,
    )


def _reference(row: _Row) -> Reference | None:
    if row.top1 is None:
        return None
    also = (("top-5", row.top5),) if row.top5 is not None else ()
    return Reference(dataset="ImageNet-1k val", metric="top-1", value=row.top1, command=row.published, also=also)


def _entry(row: _Row) -> Entry:
    shape = (row.size, row.size, 3)
    trained = f"ImageNet-1k weights ({row.note})" if row.note else "ImageNet-1k weights"
    return Entry(
        name=row.name,
        family="backbone",
        task="image-classification",
        build=build_application,
        hparams=dict(
            application=row.application,
            input_shape=shape,
            include_top=True,
            pooling=None,
            num_classes=1000,
            dropout=0.0,
            learning_rate=1e-3,
        ),
        input_shape=shape,
        params=row.params,
        preprocessing=row.preprocessing,
        weights=(f"{row.name}.top", f"{row.name}.notop"),
        classifier=row.classifier,
        reference=_reference(row),
        summary=f"keras.applications {row.application} at {row.size}x{row.size} RGB with {trained}, for fine-tuning.",
    )


ENTRIES = tuple(_entry(row) for row in _ROWS)
