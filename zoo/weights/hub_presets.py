"""KerasHub presets, offline first: a local preset folder `$ZOO_WEIGHTS_DIR/<preset>/` (the form a Kaggle dataset
attached to an offline notebook takes), else keras_hub's own fetch; the files' sha256 for the run card.

Stdlib only: the folder is found and hashed before keras_hub or TensorFlow is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import WeightsNotFound
from zoo.weights.resolve import WEIGHTS_DIR_VAR
from zoo.weights.verify import digest_file

PRESET_CONFIG = "config.json"  # every KerasHub preset folder has it (save_to_preset writes it first)


@dataclass(frozen=True)
class HubPreset:
    """Where a preset is read from: a local folder (`folder`), or keras_hub's fetch of `handle` (folder None)."""

    name: str
    handle: str
    folder: Path | None

    @property
    def source(self) -> str:
        """What `from_preset` is given: the folder where there is one, else the handle."""
        return str(self.folder) if self.folder is not None else self.handle


def preset_folder(preset: str) -> Path | None:
    """`$ZOO_WEIGHTS_DIR/<preset>/` when it holds a preset (its config.json), else None."""
    root = os.environ.get(WEIGHTS_DIR_VAR)
    if not root:
        return None
    folder = Path(root).expanduser() / preset
    return folder if (folder / PRESET_CONFIG).is_file() else None


def resolve_preset(preset: str) -> HubPreset:
    """The preset to load: a folder path given as `preset`, the local folder, else keras_hub's handle."""
    given = Path(preset).expanduser()
    if "/" in preset and not given.is_dir() and "://" not in preset:
        raise WeightsNotFound(f"no KerasHub preset folder at {given}: pass a folder saved with save_to_preset")
    if given.is_dir():
        if not (given / PRESET_CONFIG).is_file():
            raise WeightsNotFound(f"{given} is not a KerasHub preset folder (no {PRESET_CONFIG}); save one with "
                                  "backbone.save_to_preset(folder)")
        return HubPreset(given.name, str(given), given)
    return HubPreset(preset, preset, preset_folder(preset))


def preset_not_found(preset: HubPreset, reason: str) -> WeightsNotFound:
    """The one-line error when keras_hub could not fetch a preset and no local folder holds it."""
    root = os.environ.get(WEIGHTS_DIR_VAR) or "$ZOO_WEIGHTS_DIR"
    return WeightsNotFound(
        f"KerasHub preset {preset.name!r} could not be fetched ({reason}) and no local copy was found: put the preset "
        f"folder (config.json, model.weights.h5, the preprocessor and tokenizer files, as KerasHub's Kaggle model "
        f"page or a Kaggle dataset of it holds them) at {Path(root) / preset.name}"
    )


def preset_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file in a preset folder, by relative path: what the run card records of the weights."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    return {str(path.relative_to(folder)): digest_file(path)["sha256"] for path in files}


def local_presets(names: list[str]) -> dict[str, Path | None]:
    """For `zoo weights list`: each preset's local folder, or None where it has none."""
    return {name: preset_folder(name) for name in names}
