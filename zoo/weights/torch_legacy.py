"""Legacy (pre-1.6, non-zip) PyTorch checkpoints read with NumPy alone: no torch import and no code execution.

The object pickle goes through zoo.weights.restricted_pickle's unpickler with stand-ins for torch's storages and
tensor rebuilders; the storages' raw bytes follow it in the file and are read with size checks.
"""

from __future__ import annotations

import collections
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from zoo.weights.restricted_pickle import (
    SHORT,
    RestrictedUnpickler,
    UnsafePickle,
    array_budget,
    charge,
    is_shape,
    materialise,
    plain,
    proxied,
    refuse,
)

# torch.serialization's legacy (pre-1.6, non-zip) format: these two pickles open the file.
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_LEGACY_PROTOCOL = 1001
_TORCH_STORAGES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


@dataclass(frozen=True)
class _StorageType:
    """Stands for `torch.FloatStorage` and its kin: only its dtype matters."""

    name: str
    dtype: np.dtype


class _Storage:
    """A storage named by a persistent id; its bytes follow the object pickle in the file."""

    def __init__(self, key: str, dtype: np.dtype, numel: int) -> None:
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data: np.ndarray | None = None


class _TensorSpec:
    """Stands for `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` until storages are read."""

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> None:
        shapes_ok = is_shape(size) and is_shape(stride)
        if (
            not isinstance(storage, _Storage)
            or not isinstance(offset, int)
            or not shapes_ok
            or len(size) != len(stride)
        ):
            shown = SHORT.repr((type(storage).__name__, offset, size, stride))
            raise UnsafePickle(f"refused tensor rebuild arguments {shown}")
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def to_array(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise UnsafePickle(f"storage {self.storage.key!r} is referenced by a tensor but its bytes are missing")
        count = math.prod(self.size)
        if count > data.size:  # a zero stride would repeat a few stored elements into a huge array
            raise UnsafePickle(
                f"tensor of size {self.size} has {count} elements, more than storage {self.storage.key!r} holds "
                f"({data.size})"
            )
        if count == 0:
            return np.empty(self.size, dtype=data.dtype)
        charge(count * data.itemsize, f"a tensor of size {self.size}")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        if self.offset < 0 or last >= data.size:
            raise UnsafePickle(f"tensor of size {self.size} reaches past storage {self.storage.key!r} ({data.size})")
        strides = tuple(s * data.itemsize for s in self.stride)
        view = np.lib.stride_tricks.as_strided(data[self.offset :], shape=self.size, strides=strides)
        return view.copy()


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None, *rest: Any) -> Any:
    """Stands for `torch._utils._rebuild_parameter`: a Parameter is its tensor here."""
    if not isinstance(data, _TensorSpec):
        raise UnsafePickle(f"refused parameter of type {type(data).__name__}")
    return data


TORCH_GLOBALS: dict[str, Any] = {
    f"torch.{name}": _StorageType(name, np.dtype(dtype)) for name, dtype in _TORCH_STORAGES.items()
} | {
    "torch._utils._rebuild_tensor_v2": _TensorSpec,
    "torch._utils._rebuild_tensor": _TensorSpec,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "collections.OrderedDict": collections.OrderedDict,
}


def _storage_loader(storages: dict[str, _Storage], source: str) -> Callable[[Any], _Storage]:
    """The persistent_load of the object pickle: ('storage', type, key, location, numel[, view]) -> a _Storage."""

    def load(pid: Any) -> _Storage:
        if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage":
            raise refuse(source, f"persistent id {SHORT.repr(pid)} is not a storage reference")
        _, proxy, key, _location, numel = pid[:5]
        storage_type = proxied(proxy)
        if len(pid) == 6 and pid[5] is not None:
            raise refuse(source, "storage views (PyTorch < 0.4 files) are not supported")
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or not isinstance(numel, int):
            raise refuse(source, f"persistent id {SHORT.repr(pid)} has the wrong types")
        return storages.setdefault(key, _Storage(key, storage_type.dtype, numel))

    return load


def _read_header(file: IO[bytes], source: str) -> Any:
    """One of the legacy format's global-free pickles (magic number, protocol, sys info, storage keys)."""
    return RestrictedUnpickler(file, {}, source).load()


def _check_legacy_header(file: IO[bytes], source: str) -> None:
    if file.peek(4)[:4] == b"PK\x03\x04":
        raise refuse(source, "it is a zip-format PyTorch checkpoint (PyTorch >= 1.6); only the legacy format is read")
    magic = _read_header(file, source)
    if magic != TORCH_LEGACY_MAGIC:
        raise refuse(source, f"magic number {SHORT.repr(magic)} is not the legacy PyTorch one")
    protocol = _read_header(file, source)
    if protocol != TORCH_LEGACY_PROTOCOL:
        raise refuse(source, f"PyTorch protocol version {SHORT.repr(protocol)}, expected {TORCH_LEGACY_PROTOCOL}")
    sys_info = _read_header(file, source)
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise refuse(source, f"system info {SHORT.repr(sys_info)} is not little-endian")


def _read_storages(file: IO[bytes], storages: dict[str, _Storage], source: str) -> None:
    """After the object pickle: a pickled list of storage keys, then per key an int64 count and the raw elements."""
    keys = _read_header(file, source)
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys) or set(keys) != set(storages):
        shown = SHORT.repr(keys)
        raise refuse(source, f"storage key list {shown} does not match the {len(storages)} referenced storages")
    left = os.fstat(file.fileno()).st_size - file.tell()
    for key in keys:
        storage = storages[key]
        (count,) = struct.unpack("<q", file.read(8).ljust(8, b"\0"))
        left -= 8
        if count < 0 or count * storage.dtype.itemsize > left:
            raise refuse(source, f"storage {key!r} is truncated (it claims {count} elements)")
        left -= count * storage.dtype.itemsize
        if count != storage.numel:
            raise refuse(source, f"storage {key!r} holds {count} elements, the tensors expect {storage.numel}")
        data = file.read(count * storage.dtype.itemsize)
        if len(data) != count * storage.dtype.itemsize:
            raise refuse(source, f"storage {key!r} is truncated")
        storage.data = np.frombuffer(data, dtype=storage.dtype)


def load_torch_legacy(path: str | Path) -> dict[str, np.ndarray]:
    """The state dict (name -> array) of a legacy, non-zip PyTorch checkpoint, read with NumPy and no torch."""
    path = Path(path)
    source = str(path)
    storages: dict[str, _Storage] = {}
    with path.open("rb") as file, array_budget(path.stat().st_size):
        _check_legacy_header(file, source)
        unpickler = RestrictedUnpickler(file, TORCH_GLOBALS, source, persistent_load=_storage_loader(storages, source))
        obj = unpickler.load()
        _read_storages(file, storages, source)
        state = materialise(obj, lambda o: o.to_array() if isinstance(o, _TensorSpec) else plain(o))
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items()
    ):
        raise refuse(source, "the checkpoint is not a state dict of name -> tensor")
    return dict(state)
