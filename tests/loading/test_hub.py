"""The hub family on tiny random presets saved with save_to_preset and read through $ZOO_WEIGHTS_DIR (no network)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras_hub")

import keras  # noqa: E402
from finetune_data import shapes  # noqa: E402
from hub_presets import HUB_ENTRIES, SIZE  # noqa: E402

import zoo  # noqa: E402
from zoo.catalogue import default_catalogue  # noqa: E402
from zoo.errors import BadOverride, WeightsNotFound  # noqa: E402
from zoo.training.freezing import backbone_parts, trunk_blocks  # noqa: E402

ENTRIES = HUB_ENTRIES
SHAPE = (SIZE, SIZE, 3)


def images(count: int = 6, seed: int = 0) -> np.ndarray:
    return shapes(count, size=SIZE, seed=seed)[0].astype("float32")


def test_every_hub_entry_names_its_preset_licence_and_architecture():
    hub = [default_catalogue().get(name) for name in default_catalogue().names(family="hub")]
    assert {entry.hparams["architecture"] for entry in hub} == set(ENTRIES)
    for entry in hub:
        assert entry.hparams["preset"] in entry.summary and "licence" in entry.summary and entry.params > 0
        assert entry.preprocessing == "preset ImageConverter"


@pytest.mark.parametrize("architecture", list(ENTRIES))
def test_each_architecture_loads_offline_with_its_converter_and_a_new_head(weights_dir, architecture):
    model = zoo.load(ENTRIES[architecture], num_classes=3, input_shape=SHAPE)
    parts = backbone_parts(model)
    assert parts is not None and type(parts.preprocess).__name__.endswith("ImageConverter")
    probabilities = model.predict(images(2), verbose=0)
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert len(model.weights_files["sha256"]["config.json"]) == 64


@pytest.mark.parametrize("architecture", ["dinov2", "siglip", "clip"])
def test_transformer_trunks_split_into_one_block_per_transformer_block(weights_dir, architecture):
    model = zoo.load(ENTRIES[architecture], num_classes=3, input_shape=SHAPE)
    blocks = [block.name for block in trunk_blocks(backbone_parts(model).trunk)]
    assert len([name for name in blocks if name[-1] in "0123456789"]) >= 2, blocks
    assert len(set(blocks)) == len(blocks), blocks  # learning rates are keyed by block name


def test_a_missing_preset_names_the_folder_to_provide(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("KAGGLE_API_ENDPOINT", "http://127.0.0.1:9")  # never the network, even where there is one
    with pytest.raises(WeightsNotFound, match=str(tmp_path / "dinov2_small")):
        zoo.load("dinov2_small")


def test_the_preset_size_is_kept(weights_dir):
    with pytest.raises(BadOverride, match="built for"):
        zoo.load("vit_b16", num_classes=3, input_shape=(48, 48, 3))


def test_zero_shot_scores_are_the_models_own_and_equal_in_classify_and_the_cli(weights_dir, tmp_path, capsys):
    import keras_hub

    labels = ["cat", "dog", "a red car"]
    batch = images(3)
    for architecture in ("siglip", "clip"):
        model = zoo.load(ENTRIES[architecture], labels=labels, input_shape=SHAPE)
        scores = model.predict(batch, verbose=0)
        assert scores.shape == (3, 3) and model.class_names == labels
        folder = str(weights_dir / default_catalogue().get(ENTRIES[architecture]).hparams["preset"])
        backbone = keras_hub.models.Backbone.from_preset(folder)
        kind = "SigLIPPreprocessor" if architecture == "siglip" else "CLIPPreprocessor"
        preprocessor = getattr(keras_hub.models, kind).from_preset(folder)
        prompts = [("This is a photo of {}." if architecture == "siglip" else "a photo of a {}.").format(label)
                   for label in labels]
        inputs = preprocessor({"images": batch, "prompts": prompts})
        logits = keras.ops.convert_to_numpy(backbone({"images": inputs["images"],
                                                      "token_ids": inputs["token_ids"]})["vision_logits"])
        expected = keras.ops.convert_to_numpy(
            keras.activations.sigmoid(logits) if architecture == "siglip" else keras.activations.softmax(logits)
        )
        np.testing.assert_allclose(scores, expected, atol=1e-5)
        if architecture == "clip":
            np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-5)
    top = zoo.load("clip_b32", input_shape=SHAPE).classify(batch, labels=labels, top=3)
    assert [[label for label, _ in row] for row in top] == [[labels[i] for i in np.argsort(-s)] for s in scores]


def test_zoo_predict_labels_gives_the_scores_of_classify(weights_dir, tmp_path, monkeypatch, capsys):
    import json

    from PIL import Image

    from zoo.cli.main import main

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    files = []
    for index, image in enumerate(shapes(3, size=SIZE, seed=4)[0]):
        files.append(str(tmp_path / f"{index}.png"))
        Image.fromarray(image).save(files[-1])
    labels = ["cat", "dog", "a red car"]
    assert main(["predict", "siglip_b16_224", *files, "--labels", ",".join(labels), "--top", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = zoo.load("siglip_b16_224").classify(files, labels=labels, top=3)
    for row, ranked in zip(printed, expected, strict=True):
        assert [entry["label"] for entry in row["top"]] == [label for label, _ in ranked]
        np.testing.assert_allclose([entry["probability"] for entry in row["top"]], [p for _, p in ranked], atol=1e-4)


def test_zoo_predict_labels_refuses_a_model_without_a_text_tower(weights_dir, capsys):
    from zoo.cli.main import main

    assert main(["predict", "dinov2_small", "x.png", "--labels", "cat,dog"]) != 0
    assert "image-text model" in capsys.readouterr().err


def test_lora_moves_only_the_adapters_once_blocks_are_unfrozen(weights_dir):
    from zoo.layers.lora import enable_lora
    from zoo.training.freezing import set_trainable
    from zoo.training.plan import make_plan

    x, y = shapes(8, size=SIZE, seed=1)
    model = zoo.load("dinov2_small", num_classes=3, input_shape=SHAPE)
    trunk = backbone_parts(model).trunk
    full = sum(block.params for block in trunk_blocks(trunk))
    assert enable_lora(model, 2) == 4  # query and value of each of the 2 blocks
    # the plan counts what trains: per adapted projection (kernel 16x2x8: dim x heads x head size), Keras' EinsumDense
    # LoRA makes A 16x2x2 and B 2x8; plus its bias 2x8
    assert sum(block.params for block in trunk_blocks(trunk)) == 4 * (16 * 2 * 2 + 2 * 8 + 2 * 8) < full
    head, tune = make_plan(model, 8, epochs=(1, 1), unfreeze="all", augment=False).phases
    adapters, biases = 4 * (16 * 2 * 2 + 2 * 8), 4 * 2 * 8
    assert head.frozen_params == full + adapters  # the whole trunk, adapters included, waits in phase 1
    assert tune.frozen_params == full - biases  # then all but the adapters and the adapted biases stays frozen
    set_trainable(model, "all")  # unfreezing sets every variable trainable: all but the adapters are pinned again
    query = next(layer for layer in model._flatten_layers() if layer.name == "query")
    mlp = next(layer for layer in model._flatten_layers() if layer.name == "fc1")
    kernel_before, mlp_before = query._kernel.numpy().copy(), mlp.kernel.numpy().copy()
    head_before = model.get_layer("predictions").kernel.numpy().copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(x.astype("float32"), y, epochs=1, batch_size=4, verbose=0)
    np.testing.assert_array_equal(query._kernel.numpy(), kernel_before)  # adapted kernel: frozen
    np.testing.assert_array_equal(mlp.kernel.numpy(), mlp_before)  # the rest of the trunk: frozen
    assert np.abs(query.lora_kernel_b.numpy()).max() > 0  # the adapters train
    assert not np.array_equal(model.get_layer("predictions").kernel.numpy(), head_before)  # and the head


@pytest.mark.slow  # trains on this CPU (~40-60 s)
def test_lora_finetune_saves_a_model_that_predicts_the_same_without_lora_code(weights_dir, tmp_path):
    x, y = shapes(12, size=SIZE, seed=1)
    model = zoo.load("vit_b16", num_classes=3, input_shape=SHAPE)
    result = model.finetune((x, y), epochs=(1, 1), batch_size=4, lora=2, unfreeze="all", out=tmp_path / "run",
                            export=("keras",), verbose=False, augment=False)
    lora_layers = [layer for layer in result.model._flatten_layers() if getattr(layer, "lora_enabled", False)]
    assert len(lora_layers) == 4 and all(not layer._kernel.trainable for layer in lora_layers)
    reloaded = zoo.load_saved(tmp_path / "run" / "model.keras")  # adapters merged into the kernels by Keras
    batch = images(3, seed=2)
    np.testing.assert_allclose(reloaded.predict(batch, verbose=0), result.model.predict(batch, verbose=0), atol=1e-5)


def test_lora_is_refused_for_a_cnn(weights_dir):
    from zoo.layers.lora import enable_lora

    with pytest.raises(BadOverride, match="transformer backbones"):
        enable_lora(zoo.load("hgnetv2_b4", num_classes=3, input_shape=SHAPE), 2)


@pytest.mark.slow  # trains on this CPU (~40-60 s)
def test_finetune_unfreezes_top_blocks_and_the_run_card_hashes_the_preset(weights_dir, tmp_path):
    import json

    x, y = shapes(12, size=SIZE, seed=3)
    model = zoo.load("dinov2_small", num_classes=3, input_shape=SHAPE)
    result = model.finetune((x, y), epochs=(1, 1), batch_size=4, unfreeze=1, ema=True, out=tmp_path / "run",
                            export=("keras",), verbose=False, augment=False)
    trained = result.plan.phases[-1].trained_blocks
    assert len(trained) == 1 and trained[0] == "class_token", trained  # the top block: final LayerNorm + pooling
    card = json.loads((tmp_path / "run" / "run_card.json").read_text())
    assert card["weights"]["preset"] == "dinov2_small" and "model.weights.h5" in card["weights"]["sha256"]
    embedded = zoo.load_saved(tmp_path / "run" / "model.keras").embed(images(2))
    assert embedded.shape == (2, 16)


def test_zoo_weights_list_shows_which_presets_are_here(weights_dir, capsys):
    from zoo.cli.main import main

    assert main(["weights", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if " preset " in line}
    assert "offline yes" in rows["dinov2_small"] and str(weights_dir / "dinov2_small") in rows["dinov2_small"]
    assert "offline no" in rows["dinov2_base"]


def test_explain_refuses_an_attention_model_in_one_line(weights_dir):
    from zoo.errors import NotExplainable
    from zoo.results.explain import feature_layer

    with pytest.raises(NotExplainable, match="attention model"):
        feature_layer(zoo.load("dinov2_small", num_classes=3))


@pytest.mark.slow  # 26-31 s; the default suite checks zero-shot scores in classify and zoo predict above
def test_kaggle_zero_shot_run_scores_the_class_names_without_training(weights_dir, tmp_path, monkeypatch):
    from PIL import Image

    from zoo.cli.main import main

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    x, y = shapes(12, size=SIZE, seed=5)
    (tmp_path / "train").mkdir()
    rows = ["id,label"]
    for index, (image, label) in enumerate(zip(x, y, strict=True)):
        Image.fromarray(image).save(tmp_path / "train" / f"{index}.png")
        rows.append(f"{index},{['cat', 'dog', 'car'][label]}")
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    argv = ["kaggle", "train", "--train-csv", str(tmp_path / "train.csv"), "--images", str(tmp_path / "train"),
            "--id-col", "id", "--target-col", "label", "--model", "siglip_b16_224", "--folds", "2", "--image-size",
            str(SIZE), "--zero-shot", "--out", str(run), "--quiet"]
    assert main(argv) == 0
    fold = zoo.load_saved(run / "fold_0" / "model.keras")
    direct = zoo.load("siglip_b16_224", labels=fold.class_names)
    assert sorted(fold.class_names) == ["car", "cat", "dog"]
    np.testing.assert_allclose(fold.predict(x[:4].astype("float32"), verbose=0),
                               direct.predict(x[:4].astype("float32"), verbose=0), atol=1e-5)


def test_siglips_patch_embedding_declares_the_tokens_it_computes(weights_dir):
    """keras-hub 0.32 declares patches + 1 tokens for SigLIP (no class token): a trunk cut below the pooling, as the
    lower-trunk cache of `finetune` makes, then expected 17 tokens at 32 px and got 16."""
    trunk = backbone_parts(zoo.load("siglip_b16_224", num_classes=3)).trunk
    (embedding,) = [layer for layer in trunk.layers if type(layer).__name__ == "SigLIPVisionEmbedding"]
    computed = embedding(np.zeros((1, SIZE, SIZE, 3), dtype="float32"))
    assert tuple(embedding.output.shape[1:]) == tuple(computed.shape[1:]) == ((SIZE // 8) ** 2, 16)
