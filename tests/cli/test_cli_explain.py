"""`zoo explain`: writes a heat-map PNG for an image classifier; refuses other models and missing files in one line."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoo.cli.main import main


def save_model(path, image: bool = True):
    """A tiny CNN classifier of 12x12 RGB images (classes cat, dog), or a dense model of 4 numbers, as .keras."""
    import keras

    from zoo.loading.model import ZooModel

    keras.utils.set_random_seed(0)
    if image:
        inputs = keras.Input((12, 12, 3))
        x = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
        outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(keras.layers.Flatten()(x))
    else:
        inputs = keras.Input((4,))
        outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(inputs)
    ZooModel(inputs, outputs, class_names=["cat", "dog"], classifier="predictions").save(path)
    return str(path)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 20, 3), dtype=np.uint8)).save(path)
    return str(path)


@pytest.mark.parametrize("where", ["cnn.keras", "run/model.keras"])
def test_writes_the_overlay_png_for_the_asked_class(tmp_path, photo, capsys, where):
    (tmp_path / "run").mkdir()
    model, out = save_model(tmp_path / where), tmp_path / "heat.png"
    model = str(tmp_path / "run") if where.startswith("run/") else model  # a finetune run folder
    assert main(["explain", model, photo, "--out", str(out), "--class", "dog"]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 200
    printed = capsys.readouterr().out
    assert printed.startswith(f"{out}: dog (") and "HiResCAM" in printed


@pytest.mark.parametrize(
    "case, match",
    [
        ("dense", "takes inputs of shape (4,), not images"),
        ("catalogue dense", "mlp_tabular takes inputs of shape"),
        ("missing model", "absent.keras: no such model file"),
        ("missing image", "image file not found: "),
        ("unknown class", "--class 'horse' is not a class of"),
    ],
)
def test_refuses_in_one_line(tmp_path, photo, capsys, case, match):
    models = {"missing model": str(tmp_path / "absent.keras"), "catalogue dense": "mlp_tabular"}
    model = models.get(case) or save_model(tmp_path / "m.keras", image=case != "dense")
    image = str(tmp_path / "absent.png") if case == "missing image" else photo
    extra = ["--class", "horse"] if case == "unknown class" else []
    assert main(["explain", model, image, "--out", str(tmp_path / "out.png"), *extra]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("zoo: error: ") and match in error, error
    assert not (tmp_path / "out.png").exists()
