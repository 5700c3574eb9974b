"""Where an image classifier looked: HiResCAM heat maps over its last convolutional feature map, and PNG overlays.

HiResCAM (Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional neural
networks", 2020) weighs each feature-map cell by its own gradient, sum_k dS/dA_k * A_k, where Grad-CAM first
averages the gradient over the map. For a head that pools globally (CAM's setting, every zoo backbone) the two are
the same map; for a Flatten -> Dense head (lenet5, vgg_small) Grad-CAM can light cells the score does not depend
on, while HiResCAM's cells sum to the score's linear part, so it shows what the model used. Same cost: one forward
and one backward pass. S is the class logit (the classifier's pre-softmax value): a confident softmax has almost no
gradient, and the most confidently wrong images are the ones we explain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.errors import NotExplainable

if TYPE_CHECKING:
    import keras
    from matplotlib.axes import Axes

OVERLAY_ALPHA = 0.45  # the heat map's opacity over the image


@dataclass(frozen=True)
class Explanation:
    """One image's heat map (the model's input height x width, in [0, 1]) for one class, and what it came from."""

    image: np.ndarray  # (height, width, channels) as the model received it
    heatmap: np.ndarray
    class_index: int
    class_name: str
    probability: float
    layer: str


def check_image_model(model: keras.Model) -> None:
    """Refuse a model that does not take one batch of (height, width, 1, 3 or 4 channels) images."""
    if len(model.inputs) != 1:
        raise NotExplainable(f"{model.name} takes {len(model.inputs)} inputs; heat maps need a one-input image model")
    check_image_input(model.name, tuple(model.inputs[0].shape)[1:])


def check_image_input(name: str, shape: tuple[int | None, ...]) -> None:
    """Refuse an input shape (no batch axis) that is not (height, width, 1, 3 or 4 channels)."""
    if len(shape) != 3 or shape[-1] not in (1, 3, 4):
        raise NotExplainable(
            f"{name} takes inputs of shape {shape}, not images; "
            "heat maps need an image classifier (height x width x 1, 3 or 4 channels)"
        )


def feature_layer(model: keras.Model, name: str | None = None) -> Any:
    """The layer to explain: `name`, or the last one, nested models included, whose output is a spatial map."""
    import keras

    layers = [layer for layer in layers_in_order(model) if not isinstance(layer, keras.layers.InputLayer)]
    if name is not None:
        found = [layer for layer in layers if layer.name == name]
        if not found:
            raise NotExplainable(f"{model.name} has no layer {name!r}; pass one of its layer names to --layer")
        return found[0]
    spatial = [layer for layer in layers if _is_spatial_map(layer) and not _is_input_scaling(layer)]
    if not spatial and any(_is_input_scaling(layer) for layer in layers):
        raise NotExplainable(
            f"{model.name} is an attention model (a vision transformer): it has no convolutional feature map for "
            "Grad-CAM, and zoo does not compute attention maps; explain a CNN (a keras.applications backbone, "
            "hgnetv2_b4) instead"
        )
    if not spatial:
        raise NotExplainable(
            f"{model.name} has no convolutional feature map to explain (no layer outputs height x width x channels); "
            "heat maps need a CNN such as lenet5, vgg_small or a backbone"
        )
    return spatial[-1]


def _is_input_scaling(layer: Any) -> bool:
    """zoo's Preprocess or a hub model's ImageConverter: image-shaped outputs, but pixels, not features."""
    from zoo.layers.preprocess import Preprocess

    return isinstance(layer, Preprocess) or any(cls.__name__ == "ImageConverter" for cls in type(layer).__mro__)


def layers_in_order(model: keras.Model) -> list[Any]:
    """The model's layers in the order they run, nested models replaced by their own layers in order.

    zoo.layers.traversal.all_layers keeps Keras' tracking order, which lists a nested model's layers backwards.
    """
    return [
        inner for layer in model.layers for inner in (layers_in_order(layer) if hasattr(layer, "layers") else [layer])
    ]


def _is_spatial_map(layer: Any) -> bool:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):  # a layer never called, or called more than once
        return False
    return len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1


def classifier_layer(model: keras.Model) -> Any:
    """The layer whose pre-activation is the class score: the model's `classifier` name, else its last layer."""
    name = getattr(model, "classifier", None)
    named = [layer for layer in layers_in_order(model) if name is not None and layer.name == name]
    if named:
        return named[0]
    last = model.layers[-1]
    return classifier_layer(last) if hasattr(last, "layers") else last


def split_model(model: keras.Model, target: Any, classifier: Any | None) -> keras.Model:
    """A model from `model`'s input to (target's output, classifier's input); classifier None: to model's output.

    A target inside a nested model (a backbone's trunk) is reached by re-calling the outer chain of layers on a
    new input, with the nested model split the same way; the layers, and so the weights, are shared.
    """
    import keras

    own = {id(layer) for layer in model.layers}
    if id(target) in own and (classifier is None or id(classifier) in own):
        end = model.outputs[0] if classifier is None else classifier.input
        return keras.Model(model.inputs, [target.output, end])
    chain = _chain(model)
    container = next(index for index, layer in enumerate(chain) if _contains(layer, target))
    inner = classifier if classifier is not None and _contains(chain[container], classifier) else None
    x = inputs = keras.Input(batch_shape=model.inputs[0].shape)
    for layer in chain[:container]:
        x = layer(x)
    feature, x = split_model(chain[container], target, inner)(x)
    for layer in [] if inner is not None else chain[container + 1 :]:
        if layer is classifier:
            break
        x = layer(x)
    return keras.Model(inputs, [feature, x])


def _chain(model: keras.Model) -> list[Any]:
    """The model's layers, input layer left out, when each is called once on the previous one's output (else refused).

    Read from the call records: a nested model's own `.input` is its inner Input, not what the outer model fed it,
    and Keras has no public accessor for the latter.
    """
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    fed = model.inputs[0]
    for layer in layers:
        nodes = layer._inbound_nodes
        if len(nodes) != 1 or len(nodes[0].input_tensors) != 1 or nodes[0].input_tensors[0] is not fed:
            raise NotExplainable(
                f"{model.name}: its feature map lies in a nested model that is not in a chain of layers; "
                "pass --layer naming one of its own (outer) layers"
            )
        fed = nodes[0].output_tensors[0]
    return layers


def _contains(layer: Any, inner: Any) -> bool:
    return hasattr(layer, "layers") and any(candidate is inner for candidate in layers_in_order(layer))


def class_logits(classifier: Any, penultimate: Any) -> Any:
    """The classifier's output before its activation: a Dense layer's xW + b; any other layer's own output."""
    import keras
    from keras import ops

    if isinstance(classifier, keras.layers.Dense):
        logits = ops.matmul(ops.cast(penultimate, "float32"), ops.cast(classifier.kernel, "float32"))
        return logits + ops.cast(classifier.bias, "float32") if classifier.use_bias else logits
    return ops.cast(classifier(penultimate), "float32")


def heatmaps(
    model: keras.Model, images: np.ndarray, classes: np.ndarray | None = None, layer: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """HiResCAM maps (n, height, width) in [0, 1] for `classes` (default: each image's predicted class).

    Returns the maps, upsampled to the input size, and the class indices they explain.
    """
    import tensorflow as tf

    check_image_model(model)
    classifier = classifier_layer(model)
    split = split_model(model, feature_layer(model, layer), classifier)
    batch = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    # Watch the input, not the weights: the ops of a frozen trunk read no watched variable and would go unrecorded.
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(batch)
        feature, penultimate = split(batch, training=False)
        logits = class_logits(classifier, penultimate)
        if classes is None:
            classes = _predicted(logits)
        score = tf.reduce_sum(_class_scores(logits, np.asarray(classes)))
    gradients = tape.gradient(score, feature)
    maps = tf.nn.relu(tf.reduce_sum(tf.cast(gradients, "float32") * tf.cast(feature, "float32"), axis=-1))
    maps = tf.image.resize(maps[..., None], batch.shape[1:3], method="bilinear")[..., 0].numpy()
    peaks = maps.reshape(len(maps), -1).max(axis=1).reshape(-1, 1, 1)
    return np.divide(maps, peaks, out=np.zeros_like(maps), where=peaks > 0), np.asarray(classes)


def _predicted(logits: Any) -> np.ndarray:
    logits = np.asarray(logits)
    return (logits[:, 0] > 0).astype(np.int64) if logits.shape[-1] == 1 else logits.argmax(axis=-1)


def _class_scores(logits: Any, classes: np.ndarray) -> Any:
    """Each row's score for its class; one sigmoid unit scores class 1 by its logit and class 0 by minus it."""
    import tensorflow as tf

    if logits.shape[-1] == 1:
        sign = tf.constant(np.where(classes == 1, 1.0, -1.0), dtype=logits.dtype)
        return logits[:, 0] * sign
    return tf.gather(logits, tf.constant(classes, dtype=tf.int64), axis=1, batch_dims=1)


def model_input(model: keras.Model, path: str | Path) -> np.ndarray:
    """An image file as the model's input, read as every command reads it (`model_pixels`: drafted, centre-cropped
    to its size, grey for one channel, float in [0, 255]); a fourth channel is an opaque alpha."""
    from zoo.data.decoding.images import model_pixels

    height, width, channels = model.inputs[0].shape[1:]
    if height is None or width is None:
        raise NotExplainable(f"{model.name} takes images of any size; explain needs a model with a fixed input size")
    if channels != 4:
        return model_pixels(path, (height, width, channels))
    rgb = model_pixels(path, (height, width, 3))
    return np.concatenate([rgb, np.full((height, width, 1), 255.0, dtype=np.float32)], axis=-1)


def explain_image(
    model: keras.Model, path: str | Path, class_name: str | None = None, layer: str | None = None
) -> Explanation:
    """The heat map of one image file for `class_name` (default: the predicted class)."""
    check_image_model(model)
    names = list(getattr(model, "class_names", None) or [])
    if class_name is not None and class_name not in names:
        known = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") if names else "none: it has no class names"
        raise NotExplainable(f"--class {class_name!r} is not a class of {model.name}; its classes: {known}")
    image = model_input(model, path)
    classes = None if class_name is None else np.array([names.index(class_name)])
    maps, classes = heatmaps(model, image[None], classes, layer)
    probabilities = np.asarray(model.predict(image[None], verbose=0))[0]
    index = int(classes[0])
    if len(probabilities) == 1:  # one sigmoid unit: p(class 1)
        probabilities = np.array([1.0 - probabilities[0], probabilities[0]])
    probability = float(probabilities[index])
    name = names[index] if index < len(names) else str(index)
    return Explanation(image, maps[0], index, name, probability, feature_layer(model, layer).name)


def draw_overlay(axes: Axes, image: np.ndarray, heatmap: np.ndarray) -> None:
    """The image (grey or colour, [0, 255]) with the heat map over it in the 'jet' colours."""
    grey = image.shape[-1] == 1
    pixels = image[..., 0] if grey else image[..., :3]
    axes.imshow(np.clip(pixels, 0, 255).astype(np.uint8), cmap="gray" if grey else None, vmin=0, vmax=255)
    axes.imshow(heatmap, cmap="jet", alpha=OVERLAY_ALPHA, vmin=0, vmax=1, interpolation="bilinear")
    axes.set_axis_off()


def save_overlay(explanation: Explanation, path: str | Path) -> Path:
    """Write the overlay as a PNG (to a temporary name, then renamed, so a reader never sees half a file)."""
    import io

    from matplotlib.figure import Figure

    from zoo.results.run_folder import write_atomic

    path = Path(path)
    figure = Figure(figsize=(4.5, 4.9), dpi=100, layout="constrained")
    axes = figure.subplots()
    draw_overlay(axes, explanation.image, explanation.heatmap)
    axes.set_title(f"{explanation.class_name} ({explanation.probability:.2f})\nHiResCAM on {explanation.layer}")
    png = io.BytesIO()
    figure.savefig(png, format="png")
    write_atomic(path, png.getvalue())
    return path
