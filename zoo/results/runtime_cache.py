"""The runtime cache's entries: where a converted model and its card live, named by everything that fixes them, and
how they are written (sealed: zoo.sealed) and read back (checked: damage is one line, the entry removed, rebuilt).

An entry's key digests the model (weights or saved file, input size), the purpose, zoo's version, the versions of
the converter and of both runtimes, and the bytes of zoo's own conversion code (CONVERSION_MODULES): a file made by
other code or other versions is never found, so never reused. Two processes converting one model take turns on a
lock, the second finding the first's entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from zoo.errors import BrokenSeal
from zoo.locks import folder_locked
from zoo.sealed import check_sealed, read_sealed, remove_sealed, seal_in_place, seal_path, write_sealed
from zoo.version import __version__
from zoo.weights.resolve import cache_dir

RUNTIME_FOLDER = "runtime"
# zoo.results modules whose code decides what a conversion writes: their bytes are part of every key (a test
# checks that each module of zoo.results they import is listed). A new conversion route adds its module here.
CONVERSION_MODULES = (
    "runtime.py", "runtime_cache.py", "runtime_choice.py", "conversion.py", "export.py",
    "litert.py", "openvino_runtime.py",
)
CONVERTER_PACKAGES = ("tensorflow", "ai-edge-litert", "openvino")  # the converter and both runtimes
CARD_KEYS = ("input_shape", "class_names", "converted", "reason", "runtimes", "files", "source")
MODEL_SUFFIXES = (".xml", ".bin", ".tflite")  # an entry's converted file: OpenVINO IR (graph, weights) or LiteRT


def runtime_folder() -> Path:
    """$ZOO_CACHE_DIR/runtime, else the user cache's zoo/runtime (beside the weights folder)."""
    return cache_dir().parent / RUNTIME_FOLDER


def package_version(name: str) -> str:
    """An installed distribution's version, read from its metadata (nothing is imported); "absent" if none."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=1)
def conversion_identity() -> str:
    """A digest of zoo's conversion code, zoo's version and the converter's and runtimes' versions."""
    digest = hashlib.sha256(__version__.encode())
    folder = Path(__file__).parent
    for name in CONVERSION_MODULES:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    for package in CONVERTER_PACKAGES:
        digest.update(f"{package}={package_version(package)}\0".encode())
    return digest.hexdigest()


def kind_of(purpose: str) -> str:
    """What a purpose's file is: "model" (its outputs and its features, serving predict and embed) or "features"."""
    return "features" if purpose == "features" else "model"


def cached_paths(source: Any, purpose: str) -> tuple[Path, Path]:
    """(the converted file's stem path: .xml/.bin or .tflite beside it, its card .json) of `source` (a
    zoo.results.runtime.ModelSource) used for `purpose`; predict and embed share one file (features: its second)."""
    key = hashlib.sha256(f"{source.digest}|{kind_of(purpose)}|{conversion_identity()}".encode()).hexdigest()[:24]
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(source.label).stem)[:40] or "model"
    base = runtime_folder() / f"{stem}-{kind_of(purpose)}-{key}"
    return base, Path(f"{base}.json")


def model_file(paths: tuple[Path, Path], card: dict) -> Path:
    """The converted file a runtime reads (the IR's .xml or the .tflite) of an entry whose card says it converted."""
    return paths[1].parent / next(name for name in card["files"] if name.endswith((".xml", ".tflite")))


def read_card(path: Path) -> dict | None:
    """The card as sealed, or None when there is none; BrokenSeal when it is damaged or not a card."""
    if not path.exists() and not path.with_name(path.name + ".seal").exists():
        return None
    card = json.loads(read_sealed(path))
    if not isinstance(card, dict) or not all(key in card for key in CARD_KEYS):
        raise BrokenSeal(f"{path} is not a runtime card")
    return card


def sealed_card(path: Path) -> dict | None:
    """The card at `path` once it and every converted file it names match their seals (None: no card); BrokenSeal
    naming the first that does not."""
    card = read_card(path)
    for name in card["files"] if card is not None and card["converted"] else ():
        check_sealed(path.parent / name)
    return card


def checked_entry(paths: tuple[Path, Path], note: Callable[[str], None]) -> dict | None:
    """The entry's card when the card and its converted files match their seals; a damaged entry is removed with one
    `note` line (None: convert again), or, where the cache cannot be written, a card saying to run in Keras (its
    caller's one line)."""
    try:
        return sealed_card(paths[1])
    except BrokenSeal as error:
        if not writable(paths[1].parent):
            reason = f"its cached runtime file is damaged ({error}) and {paths[1].parent} cannot be written"
            return {"converted": False, "reason": f"{reason} (set ZOO_CACHE_DIR)"}
        discard(paths, note, str(error))
        return None


def discard(paths: tuple[Path, Path], note: Callable[[str], None], why: str) -> None:
    """Remove a damaged entry (card first: a half-removed entry is unfinished, never trusted), saying why."""
    note(f"the cached runtime file is damaged ({why}): converting again")
    remove_sealed(paths[1])
    for suffix in MODEL_SUFFIXES:
        remove_sealed(paths[0].with_name(paths[0].name + suffix))


def compiled_folder(model: Path, note: Callable[[str], None]) -> Path | None:
    """runtime/openvino/<entry>, where OpenVINO keeps the entry's compiled model, each blob checked against its seal
    first (a damaged or unsealed one is removed with one line: OpenVINO compiles again); None when it cannot be made
    (compiled each time)."""
    folder = model.parent / "openvino" / model.stem
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    for blob in sorted(folder.glob("*.blob")):
        try:
            check_sealed(blob)
        except BrokenSeal as error:
            note(f"OpenVINO's compiled model is damaged ({error}): compiling again")
            remove_sealed(blob)
    return folder


def seal_compiled(folder: Path | None) -> None:
    """Seal the blobs OpenVINO just wrote into `folder` (a read-only cache is left as it is)."""
    for blob in sorted(folder.glob("*.blob")) if folder is not None else ():
        if not seal_path(blob).exists():
            try:
                seal_in_place(blob, made_by=f"openvino {package_version('openvino')} compiled model")
            except OSError:
                return


def writable(folder: Path) -> bool:
    """True when files can be created in `folder` (made if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return True
    except OSError:
        return False


@contextmanager
def conversion_lock(paths: tuple[Path, Path]) -> Iterator[None]:
    """Hold the entry's lock while it is converted: a second process waits, then finds the first one's entry."""
    with folder_locked(paths[1].parent, paths[1].with_suffix(".lock").name):
        yield


def store_card(card_path: Path, card: dict) -> None:
    """Write an entry's card, sealed, after the files it names (zoo.results.conversion.place seals each one)."""
    write_sealed(card_path, json.dumps(card, indent=1).encode(), made_by=f"zoo {__version__} runtime card")


def last_line(error: BaseException) -> str:
    """An error's last non-empty line (OpenVINO's first lines name its C++ source file, the last one the fault)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {(lines or [''])[-1][:200]}"
