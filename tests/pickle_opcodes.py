"""Pickles written opcode by opcode, so the unpickler tests need no torch and can craft what no pickler writes."""

from __future__ import annotations

import importlib.util
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from zoo.weights.torch_legacy import TORCH_LEGACY_MAGIC


def package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed (pip install -e .)")
    return Path(spec.submodule_search_locations[0], *parts)


def global_op(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def str_op(text: str) -> bytes:
    return b"X" + struct.pack("<I", len(text)) + text.encode()


def ints_op(values: tuple[int, ...]) -> bytes:
    return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"


def tensor_op(key: str, numel: int, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    storage = b"((" + str_op("storage") + global_op("torch", "FloatStorage") + str_op(key) + str_op("cpu")
    storage += b"J" + struct.pack("<i", numel) + b"NtQ"  # the persistent id tuple, then BINPERSID
    args = storage + b"J" + struct.pack("<i", offset) + ints_op(size) + ints_op(stride)
    args += b"\x89" + global_op("collections", "OrderedDict") + b")Rt"  # requires_grad=False, backward_hooks={}
    return global_op("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def legacy_file(path: Path, body: bytes, storages: dict[str, np.ndarray]) -> Path:
    """Magic, protocol, sys info, the object pickle `body`, the storage keys, then each storage's count and bytes."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    parts = [pickle.dumps(TORCH_LEGACY_MAGIC, 2), pickle.dumps(1001, 2), pickle.dumps(sys_info, 2)]
    parts += [b"\x80\x02" + body + b".", pickle.dumps(list(storages), 2)]
    for data in storages.values():
        parts.append(struct.pack("<q", data.size) + data.astype("<f4").tobytes())
    path.write_bytes(b"".join(parts))
    return path


def state_dict(items: list[tuple[str, bytes]]) -> bytes:
    return global_op("collections", "OrderedDict") + b")R(" + b"".join(str_op(k) + v for k, v in items) + b"u"


def shared_nest(levels: int) -> bytes:
    """A list holding the previous level twice, `levels` deep, via the memo: 2**levels paths in ~8*levels bytes."""
    return b"Nq\x000" + b"(h\x00h\x00lq\x000" * levels + b"h\x00"


def marker_command(tmp_path: Path) -> tuple[Path, str]:
    marker = tmp_path / "pwned"
    return marker, f"touch {marker}"
