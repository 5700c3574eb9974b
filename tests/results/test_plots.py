"""`save_plots`: training curves with phases, the confusion matrix, the grid of most confidently wrong images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from zoo.results.scoring.evaluation import evaluation_from_probabilities
from zoo.results.scoring.plots import mark_phases, new_figure, save_plots

HISTORY = {
    "loss": [1.2, 0.9, 0.7, 0.6, 0.5],
    "val_loss": [1.3, 1.0, 0.9, 0.8, 0.8],
    "accuracy": [0.4, 0.6, 0.7, 0.8, 0.85],
    "val_accuracy": [0.35, 0.5, 0.6, 0.65, 0.7],
}


@dataclass
class Labelled:
    """The fields of zoo.data.LabelledData that plotting reads."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    files: tuple[str, ...] | None = None


def labelled_images(n: int = 24, channels: int = 3, seed: int = 0):
    """Random uint8 images, labels and an evaluation with some mistakes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.0
    data = Labelled(rng.integers(0, 256, (n, 20, 20, channels), dtype=np.uint8), y, ("cat", "dog", "bird"))
    return data, evaluation_from_probabilities(y, logits, data.class_names)


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.mark.parametrize("channels", [1, 3])
def test_image_data_gives_three_pngs(tmp_path, channels):
    data, evaluation = labelled_images(channels=channels)
    paths = save_plots(HISTORY, evaluation, data, tmp_path / "plots", phases=[("head", 2), ("fine-tune", 3)])
    assert set(paths) == {"training_curves", "confusion_matrix", "most_wrong"}
    for name, path in paths.items():
        assert path == tmp_path / "plots" / f"{name}.png"
        width, height = png_size(path)
        assert width > 300 and height > 300


def test_non_image_data_has_no_most_wrong_grid(tmp_path):
    data, evaluation = labelled_images()
    features = Labelled(np.random.default_rng(0).random((len(data.y), 5)), data.y, data.class_names)
    assert "most_wrong" not in save_plots(HISTORY, evaluation, features, tmp_path)


def test_no_mistakes_means_no_grid(tmp_path):
    data, _ = labelled_images()
    perfect = evaluation_from_probabilities(data.y, np.eye(3)[data.y], data.class_names)
    assert "most_wrong" not in save_plots(HISTORY, perfect, data, tmp_path)


def test_without_accuracy_only_the_loss_panel_is_drawn(tmp_path):
    data, evaluation = labelled_images()
    both = save_plots(HISTORY, evaluation, data, tmp_path / "both")["training_curves"]
    loss_only = save_plots({"loss": HISTORY["loss"]}, evaluation, data, tmp_path / "loss")["training_curves"]
    assert png_size(loss_only)[0] < 0.6 * png_size(both)[0]


def test_empty_history_draws_no_curves(tmp_path):
    data, evaluation = labelled_images()
    assert "training_curves" not in save_plots({}, evaluation, data, tmp_path)


def test_phases_are_named_and_separated_at_their_boundaries():
    axes = new_figure(4, 3).subplots()
    axes.plot([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    mark_phases(axes, [("head", 2), ("fine-tune", 3)], epochs=5)
    assert [text.get_text() for text in axes.texts] == ["head", "fine-tune"]
    assert [line.get_xdata()[0] for line in axes.lines[1:]] == [2.5]  # one boundary, between epochs 2 and 3


def test_phases_longer_than_the_history_are_refused():
    axes = new_figure(4, 3).subplots()
    with pytest.raises(ValueError, match=r"add up to 7 epochs but the history has 5"):
        mark_phases(axes, [("head", 3), ("fine-tune", 4)], epochs=5)


def test_evaluation_of_other_data_is_refused(tmp_path):
    data, evaluation = labelled_images()
    fewer = Labelled(data.x[:5], data.y[:5], data.class_names)
    with pytest.raises(ValueError, match=r"covers 24 samples but the data has 5"):
        save_plots(HISTORY, evaluation, fewer, tmp_path)


def coloured_pixels(path) -> int:
    """How many pixels are not grey (R, G and B unequal)."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=int)
    return int(np.sum((pixels[..., 0] != pixels[..., 1]) | (pixels[..., 1] != pixels[..., 2])))


def test_most_wrong_grid_of_grey_images_carries_the_models_heat_maps(tmp_path):
    import keras

    data, evaluation = labelled_images(channels=1)
    cnn = keras.Sequential(
        [
            keras.Input((20, 20, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    dense = keras.Sequential([keras.Input((20, 20, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    plain = save_plots(HISTORY, evaluation, data, tmp_path / "plain")["most_wrong"]
    overlaid = save_plots(HISTORY, evaluation, data, tmp_path / "cnn", model=cnn)["most_wrong"]
    unexplainable = save_plots(HISTORY, evaluation, data, tmp_path / "dense", model=dense)["most_wrong"]
    assert coloured_pixels(plain) == coloured_pixels(unexplainable) == 0
    assert coloured_pixels(overlaid) > 0.2 * np.prod(png_size(overlaid))
