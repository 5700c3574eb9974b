# %% [markdown]
# # 2. Fine-tune on a folder of images, and read the plots
#
# Your data: a folder with one sub-folder per class. Here it is made from scikit-learn's handwritten digits (0 to
# 4, 40 of each) written as 64x64 RGB PNG files, the same way the fine-tuning benchmark makes its data, plus two
# files that real folders often hold: one that is not an image, and a PNG whose name says `.jpg`.
#
# Then: check the folder (`zoo doctor`), find a learning rate (`zoo lr-find`), fine-tune `efficientnet_lite0`
# (`zoo finetune`), read what the run wrote, and use the model.

# %%
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Image, display

import zoo
from zoo.bench.finetune import Setting, digit_folders
from zoo.data import diagnose

plt.rcParams["figure.dpi"] = 72  # small figures keep the notebook light

# %%
work = Path(tempfile.mkdtemp(prefix="zoo-finetune-"))
train_dir, val_dir, n_train, n_val = digit_folders(work / "digits", Setting(classes=5, per_class=40, image_size=64))
(train_dir / "0" / "notes.jpg").write_text("not a picture: a text file someone saved here\n")
png = sorted((train_dir / "1").glob("*.png"))[0]
png.rename(png.with_suffix(".jpg"))  # still PNG inside: files are read by content, not by name
for folder in (train_dir, val_dir):
    counts = {d.name: len(list(d.iterdir())) for d in sorted(folder.iterdir())}
    print(f"{folder.relative_to(work)}: {counts}")

# %%
samples = [sorted((train_dir / str(digit)).glob("*.png"))[:6] for digit in range(5)]
figure, axes = plt.subplots(5, 6, figsize=(4.5, 4))
for digit, (row, files) in enumerate(zip(axes, samples, strict=True)):
    for ax, file in zip(row, files, strict=True):
        ax.imshow(plt.imread(file))
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(f"train/{digit}/")
plt.show()

# %% [markdown]
# ## Check the data first
# `diagnose` (the shell's `zoo doctor FOLDER`) decodes every file the way training will and reports what it found:
# classes, skipped files and why, duplicates, image modes and sizes, and the class weights training will use.
# It never trains and never imports TensorFlow. The text file is skipped with its reason; the PNG named `.jpg` is
# read as the PNG it is.

# %%
report = diagnose(train_dir, progress=False)
print(report)

# %% [markdown]
# ## A learning rate
# The range test trains the new head for 100 steps while the learning rate grows from 1e-7 to 10, and suggests the
# rate where the loss falls fastest. Fine-tuning picks its own rates; this is how to check them.

# %%
model = zoo.load("efficientnet_lite0", num_classes=5, input_shape=(64, 64, 3))
found = model.lr_find(train_dir, steps=100, out=work / "lr", progress=False)
print(f"suggested learning rate {found.suggestion:.1e} ({found.method}; sweep ended: {found.stopped})")
display(Image(filename=found.plot_path))

# %% [markdown]
# ## Fine-tune
# One call. It prints its plan first: phase 1 trains the new head on the frozen network (its features computed once
# and cached), phase 2 unfreezes the top blocks at lower, per-block learning rates. `epochs=(3, 3)` keeps this demo
# short (the default is 10 + 10 with early stopping); `export=("keras",)` skips the SavedModel, TFLite and ONNX files.

# %%
result = model.finetune(
    train_dir, validation=val_dir, epochs=(3, 3), out=work / "run", export=("keras",), progress=False
)

# %% [markdown]
# ## Read what the run wrote
# `report.json` holds the numbers; three plots show them.

# %%
run = json.loads((result.out_dir / "report.json").read_text())
print(f"validation accuracy {run['val_accuracy']:.3f} on {run['val_size']} images (trained on {run['train_size']})")
for name, scores in run["evaluation"]["per_class"].items():
    print(f"  class {name}: precision {scores['precision']:.2f}, recall {scores['recall']:.2f}")
for item in run["skipped"]:
    print(f"skipped {Path(item['file']).relative_to(work)}: {item['reason']}")
print(f"seconds: reading the data {run['seconds']['load_data']:.1f}, training {run['seconds']['train']:.1f}")
print("files written:", sorted(path.name for path in result.out_dir.iterdir()))

# %% [markdown]
# **Training curves**: loss and accuracy per epoch on the training and validation data; the dashed line is where
# phase 2 starts. Validation loss rising while training loss falls means overfitting (early stopping then restores
# the best epoch). Training scores are taken with augmentation, dropout and label smoothing on, so on a small, easy
# set like this one validation can score higher than training.

# %%
display(Image(filename=result.out_dir / "training_curves.png"))

# %% [markdown]
# **Confusion matrix**: rows are the true classes, columns the predicted ones; off-diagonal cells are the mistakes,
# and which classes get confused.

# %%
display(Image(filename=result.out_dir / "confusion_matrix.png"))

# %% [markdown]
# **Most confidently wrong**: the validation images the model got wrong with the highest probability. Look here
# first for wrong labels and odd images in your data. (A run with no mistakes writes no such plot.)

# %%
most_wrong = result.out_dir / "most_wrong.png"
display(Image(filename=most_wrong)) if most_wrong.exists() else print("no validation image was misclassified")

# %% [markdown]
# ## Use the model
# The trained model keeps its class names; `model.keras` reloads with `zoo.load_saved` (safe mode on).

# %%
reloaded = zoo.load_saved(result.out_dir / "model.keras")
checks = [sorted((val_dir / str(digit)).glob("*.png"))[0] for digit in range(5)]
for file, top in zip(checks, reloaded.classify(checks, top=2), strict=True):
    print(f"{file.parent.name}/{file.name}: " + ", ".join(f"{label} {p:.2f}" for label, p in top))
