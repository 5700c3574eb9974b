# %% [markdown]
# # 4. A Kaggle-style competition, from CSV to submission
#
# A competition download is a `train.csv` of ids and labels, folders of images named by id, and a
# `sample_submission.csv` that fixes the format of your answers. `zoo.kaggle` runs a competitor's loop on it, offline:
# `train` splits the rows into K folds and trains one model per fold, scored on the fold it did not see (the CV score
# and the out-of-fold predictions); `predict` averages the fold models, optionally over several views of each test
# image, and writes `submission.csv` in the template's format.
#
# The shell does the same: `zoo kaggle train ...` and `zoo kaggle predict ...`.

# %%
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Image as Picture
from IPython.display import display
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from zoo.kaggle import predict, train
from zoo.results.scoring.plots import plot_confusion_matrix
from zoo.results.scoring.evaluation import evaluation_from_probabilities

plt.rcParams["figure.dpi"] = 72  # small figures keep the notebook light

# %% [markdown]
# ## The competition folder
# Made here from scikit-learn's 1797 handwritten digits (8x8 pixels), split 75/25 and written the way competitions
# ship their data: 32x32 RGB PNG files in `train/` and `test/`, `train.csv` (id, label), `test.csv` (id) and
# `sample_submission.csv`. The test labels are what the competition keeps to itself; we keep them aside, out of the
# folder, to score the submissions at the end as the leaderboard would.

# %%
work = Path(tempfile.mkdtemp(prefix="zoo-kaggle-"))
comp = work / "digits-comp"
digits = load_digits()
ids = np.array([f"img_{i + 1:04d}" for i in range(len(digits.target))])
split = train_test_split(np.arange(len(ids)), test_size=0.25, stratify=digits.target, random_state=0)
train_rows, test_rows = (np.sort(rows) for rows in split)
for folder, rows in (("train", train_rows), ("test", test_rows)):
    (comp / folder).mkdir(parents=True)
    for i in rows:
        grey = Image.fromarray((digits.images[i] * 255 / 16).astype(np.uint8)).resize((32, 32), Image.BILINEAR)
        grey.convert("RGB").save(comp / folder / f"{ids[i]}.png")
train_table = pd.DataFrame({"id": ids, "label": digits.target}).iloc[train_rows]
test_ids = ids[test_rows]
train_table.to_csv(comp / "train.csv", index=False)
pd.DataFrame({"id": test_ids}).to_csv(comp / "test.csv", index=False)
pd.DataFrame({"id": test_ids, "label": 0}).to_csv(comp / "sample_submission.csv", index=False)
answers = pd.Series(digits.target[test_rows], index=test_ids)  # hidden from the competitors

for path in sorted(comp.iterdir()):
    size = f"{len(list(path.iterdir()))} PNG files" if path.is_dir() else f"{path.stat().st_size} bytes"
    print(f"{path.name:<22} {size}")
pd.read_csv(comp / "train.csv").head()

# %%
shown = pd.read_csv(comp / "train.csv").head(12)
figure, axes = plt.subplots(2, 6, figsize=(6, 2.4))
for ax, (identifier, label) in zip(axes.flat, shown.itertuples(index=False), strict=True):
    ax.imshow(plt.imread(comp / "train" / f"{identifier}.png"))
    ax.set_title(f"{identifier}: {label}", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Cross-validated training
# `train` reads `train.csv`, finds each id's image, infers the task from the labels (ten classes: multi-class, scored
# by accuracy unless `metric=` says otherwise) and splits the rows into stratified folds. Each fold's model trains on
# the other folds and is scored on its own; the models stay in the run folder for `predict`.
#
# A small recipe keeps this demo short: `lenet5` (LeNet-5, 60k parameters, trained from scratch), 3 folds of 5 epochs.
# Without `model=` images get `efficientnet_lite0`, fine-tuned from ImageNet weights that install with `zoo`.

# %%
run = train(
    comp / "train.csv", images=comp / "train", id_col="id", target_col="label",
    model="lenet5", folds=3, epochs=5, seed=0, out=work / "runs" / "lenet",
)  # fmt: skip
cv = run.cv
print(f"run.cv: {cv['metric']} per fold {[round(fold['score'], 4) for fold in cv['folds']]}, mean {cv['mean']:.4f}, "
      f"sample std {cv['std']:.4f}, out-of-fold {cv['oof']:.4f}")  # fmt: skip
print("files:", sorted(path.name for path in run.run_dir.iterdir()))

# %% [markdown]
# The spread between folds says how much of a difference between two runs is noise: a change that moves the CV score
# by less than about one standard deviation has not been shown to help.

# %%
scores = [fold["score"] for fold in cv["folds"]]
figure, ax = plt.subplots(figsize=(4.5, 2.6))
ax.bar([f"fold {fold['fold']}" for fold in cv["folds"]], scores, color="tab:blue")
ax.axhline(cv["mean"], color="black", label=f"mean {cv['mean']:.4f}")
ax.axhspan(cv["mean"] - cv["std"], cv["mean"] + cv["std"], color="grey", alpha=0.25, label="mean +- std")
ax.set_ylim(min(scores) - 3 * cv["std"] - 0.01, 1)
ax.set_ylabel(cv["metric"])
ax.legend(loc="upper right", fontsize=8)
ax.set_title("score of each fold model on its own fold")
plt.show()

# %% [markdown]
# ## Out-of-fold predictions
# `oof.csv` holds, for every training row, the probabilities from the one model that did not train on it: a
# prediction for the whole training set that no model has seen, the ground for error analysis, threshold tuning and
# stacking. Scored with `zoo.results.scoring.evaluation` and drawn with `zoo.results.scoring.plots`, as `finetune` does for its validation set.

# %%
oof = pd.read_csv(run.run_dir / "oof.csv")
print(oof.head(3).round(3).to_string(index=False))
classes = [str(c) for c in range(10)]
evaluation = evaluation_from_probabilities(
    oof["label"].to_numpy(), oof[[f"prob_{c}" for c in classes]].to_numpy(), classes, files=list(oof["id"])
)
print(evaluation.summary())
display(Picture(filename=plot_confusion_matrix(evaluation, work / "oof_confusion.png"), width=480))

# %% [markdown]
# The training images the models got wrong with the highest confidence: look here first for mislabelled rows.

# %%
wrong = evaluation.most_wrong[:6]
figure, axes = plt.subplots(1, len(wrong), figsize=(1.1 * len(wrong), 1.5), squeeze=False)
for ax, index in zip(axes[0], wrong, strict=True):
    sample = evaluation.describe(int(index))
    ax.imshow(plt.imread(comp / "train" / f"{sample['file']}.png"))
    ax.set_title(f"true {sample['true']}\npred {sample['predicted']} ({sample['probability']:.2f})", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The submission
# `predict` runs every fold model on the test images and averages their probabilities (a 3-model ensemble for
# free). With `template=` the submission copies the sample submission's header, columns and id order; accuracy is
# scored on labels, so it writes the most probable class. (`verbose=False` here leaves out the progress lines that
# reading the images prints.)

# %%
submission = predict(
    run.run_dir, template=comp / "sample_submission.csv", images=comp / "test", out=work / "submission.csv",
    verbose=False,
)  # fmt: skip
sub = pd.read_csv(submission, dtype=str)
template = pd.read_csv(comp / "sample_submission.csv", dtype=str)
print(sub.head().to_string(index=False))
print("same header as the template:", list(sub.columns) == list(template.columns))
print("same ids, same order:", sub["id"].equals(template["id"]))
print(f"test accuracy (the hidden answers): {np.mean(sub['label'].astype(int) == answers[sub['id']].to_numpy()):.4f}")

# %% [markdown]
# **Test-time augmentation**: `tta=N` averages N fixed views of each image (original, flip, centre crop, flip +
# crop, four corner crops). Digits are not mirror-symmetric, so `tta_flip=False` leaves the flipped views out: with
# `tta=3` the views are the original, the centre crop and the top-left crop. Whether TTA helps depends on the
# data: here the crops cut strokes off digits that fill their frame, so compare it on the hidden answers (in a real
# competition: on a held-out part of train.csv, or the public leaderboard) before keeping it.

# %%
with_tta = predict(
    run.run_dir, template=comp / "sample_submission.csv", images=comp / "test", tta=3, tta_flip=False,
    out=work / "submission_tta.csv", verbose=False,
)  # fmt: skip
labels = pd.read_csv(with_tta, dtype=str).set_index("id")["label"].astype(int)
print(f"test accuracy with 3 views: {np.mean(labels == answers[labels.index].to_numpy()):.4f}")

# %% [markdown]
# ## Run it again
# `config.json` records every setting, what was inferred from the data, and the `zoo kaggle train` command that
# re-runs the training from the shell with the same folds and the same scores (paths below are relative to the
# working folder; the file holds them absolute).

# %%
config = json.loads((run.run_dir / "config.json").read_text())
print(config["command"].replace(f"{work}/", ""))
print(f"target: {config['target']['kind']}, classes {config['target']['names']}; input {config['input']['shape']}")

# %% [markdown]
# ## A tabular competition
# Without `images=` the other columns of `train.csv` are features for a feed-forward network (`mlp_tabular`):
# numeric columns standardised, text columns one-hot encoded, fitted on each fold's training rows only. Here the same
# digits as 64 pixel columns, in a competition scored by log loss: the template has a probability column per class,
# and the submission fills them.

# %%
tab = work / "digits-tab"
tab.mkdir()
pixels = pd.DataFrame(digits.data.astype(int), columns=[f"px{j}" for j in range(64)], index=ids).rename_axis("id")
pixels.iloc[train_rows].assign(label=train_table["label"].to_numpy()).to_csv(tab / "train.csv")
pixels.iloc[test_rows].to_csv(tab / "test.csv")
pd.DataFrame(0.1, index=test_ids, columns=classes).rename_axis("id").to_csv(tab / "sample_submission.csv")

tab_run = train(
    tab / "train.csv", id_col="id", target_col="label", metric="logloss", folds=3, epochs=15, seed=0,
    out=work / "runs" / "mlp",
)  # fmt: skip
tab_submission = predict(
    tab_run.run_dir, test_csv=tab / "test.csv", template=tab / "sample_submission.csv", out=work / "submission-mlp.csv"
)
probabilities = pd.read_csv(tab_submission).set_index("id")
print(probabilities.head(3).round(4).to_string())
rows = probabilities[classes].div(probabilities[classes].sum(axis=1), axis=0)  # rescaled to sum 1, as Kaggle scores
print(f"test log loss (the hidden answers): {log_loss(answers[rows.index], rows):.4f}")
