"""The finetune and augment benches' default setting, apart from their code so that `python -m zoo.bench --help`
reads it without importing Keras."""

from __future__ import annotations

BACKBONE = "efficientnet_lite0"
IMAGE_SIZE = 96  # 8x8 digits upscaled 12x; lite0 sees a 3x3 final feature map (64 gives 2x2)
EPOCHS = (5, 5)  # (head, fine-tune): half of finetune's default 10 + 10; both paths take ~3 min on 2 CPU cores
BATCH_SIZE = 32
ORDERS = ("zoo-first", "keras-first")
