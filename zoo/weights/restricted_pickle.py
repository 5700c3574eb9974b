"""Read pickled weights (legacy PyTorch checkpoints, pickled NumPy arrays) with NumPy alone and no code execution.

`pickle.load` runs whatever callable a file names, so a weights file could run `os.system`. The unpickler here
resolves only the few globals that rebuild arrays, each mapped to a NumPy stand-in that checks its arguments;
every other global raises `UnsafePickle` naming it, before anything is called. No torch import is needed.
"""

from __future__ import annotations

import collections
import pickle
import re
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from zoo.errors import ZooError

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
# Plain numeric dtypes only: an object dtype would let a pickle smuggle Python objects into an array.
_NUMERIC_DTYPE = re.compile(r"^[<>=|]?(\?|b1|[iu][1248]|f[248]|c(8|16))$")


class UnsafePickle(ZooError, pickle.UnpicklingError):
    """A pickle this module will not read: a global outside the allowed few, or a malformed structure."""


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler whose globals come only from `allowed` ("module.name" -> stand-in); the rest are refused."""

    def __init__(
        self,
        file: IO[bytes],
        allowed: Mapping[str, Any],
        source: str,
        persistent_load: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(file)
        self._allowed = allowed
        self._source = source
        self._persistent = persistent_load

    def find_class(self, module: str, name: str) -> Any:
        key = f"{module}.{name}"
        if key not in self._allowed:
            allowed = ", ".join(sorted(self._allowed)) or "none"
            raise UnsafePickle(
                f"refused global {key!r} in {self._source}: a weights pickle may only rebuild arrays "
                f"(allowed here: {allowed}). Do not load this file with pickle or torch.load; get it from its source."
            )
        return self._allowed[key]

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise UnsafePickle(f"{self._source}: unexpected persistent id {pid!r} in a pickle that should have none")
        return self._persistent(pid)


def _refuse(source: str, what: str) -> UnsafePickle:
    return UnsafePickle(f"{source}: {what}; this is not a well-formed weights pickle")


# --- NumPy stand-ins: they record arguments and build arrays with np.frombuffer, never numpy's own unpickling.


class _NDArrayType:
    """Stands for `numpy.ndarray` as the subtype argument of `_reconstruct`."""


class _DTypeSpec:
    """Stands for `numpy.dtype(spec, align, copy)`; BUILD may set its byte order and nothing else."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = False) -> None:
        if not isinstance(spec, str) or not _NUMERIC_DTYPE.match(spec):
            raise UnsafePickle(f"refused numpy dtype {spec!r}: only plain numeric dtypes are read")
        self.spec = spec
        self.byteorder = "="

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "=", "|"):
            raise UnsafePickle(f"refused numpy dtype state {state!r}")
        self.byteorder = state[1]

    def resolve(self) -> np.dtype:
        dtype = np.dtype(self.spec)
        return dtype if self.byteorder in ("=", "|") else dtype.newbyteorder(self.byteorder)


def _as_dtype(dtype: Any) -> np.dtype:
    if not isinstance(dtype, _DTypeSpec):
        raise UnsafePickle(f"expected a numpy dtype, got {type(dtype).__name__}")
    return dtype.resolve()


def _array_from_bytes(data: Any, dtype: np.dtype, shape: Any, fortran: bool) -> np.ndarray:
    if not isinstance(data, bytes | bytearray) or not isinstance(shape, tuple):
        raise UnsafePickle(f"array data must be bytes and its shape a tuple, got {type(data).__name__}, {shape!r}")
    count = int(np.prod(shape, dtype=np.int64))
    if count * dtype.itemsize != len(data):
        raise UnsafePickle(
            f"array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes, has {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


class _ArraySpec:
    """Stands for `numpy.core.multiarray._reconstruct(ndarray, shape, typecode)`; BUILD supplies the data."""

    def __init__(self, subtype: Any, shape: Any = (0,), typecode: Any = b"b") -> None:
        if subtype is not _NDArrayType:
            raise UnsafePickle(f"refused array subtype {subtype!r}: only numpy.ndarray is read")
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise UnsafePickle(f"refused ndarray state of type {type(state).__name__}")
        shape, dtype, fortran, data = state[-4:]
        self.array = _array_from_bytes(data, _as_dtype(dtype), shape, bool(fortran))


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Stands for `numpy.core.numeric._frombuffer` (protocol-5 array pickles)."""
    return _array_from_bytes(bytes(buffer), _as_dtype(dtype), shape, order == "F")


def _scalar(dtype: Any, data: Any) -> np.generic:
    """Stands for `numpy.core.multiarray.scalar` (a pickled NumPy scalar)."""
    return _array_from_bytes(data, _as_dtype(dtype), (), False)[()]


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    """Stands for `_codecs.encode`: protocol-2 pickles spell bytes (an array's data) as encode(str, "latin1")."""
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickle(f"refused _codecs.encode of {type(text).__name__} to {encoding!r}")
    return text.encode("latin1")


NUMPY_GLOBALS: dict[str, Any] = {
    f"{prefix}.{name}": stand_in
    for prefix in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name, stand_in in (("_reconstruct", _ArraySpec), ("scalar", _scalar))
} | {
    "numpy.ndarray": _NDArrayType,
    "numpy.dtype": _DTypeSpec,
    "numpy.core.numeric._frombuffer": _frombuffer,
    "numpy._core.numeric._frombuffer": _frombuffer,
    "_codecs.encode": _latin1_bytes,
}


def _materialise(obj: Any, replace: Callable[[Any], Any]) -> Any:
    """`obj` with every stand-in (found in dicts, lists, tuples) swapped for `replace(stand_in)`."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = _materialise(value, replace)
        return obj
    if isinstance(obj, list):
        return [_materialise(value, replace) for value in obj]
    if isinstance(obj, tuple):
        return tuple(_materialise(value, replace) for value in obj)
    return replace(obj)


def _array_of(obj: Any) -> Any:
    if isinstance(obj, _ArraySpec):
        if obj.array is None:
            raise UnsafePickle("an ndarray was reconstructed but never given its data")
        return obj.array
    return _plain(obj)


def _plain(obj: Any) -> Any:
    """`obj` itself when it is plain data; a leftover stand-in or callable means the pickle was not weights data."""
    if callable(obj) or isinstance(obj, _DTypeSpec | _StorageType | _Storage):
        raise UnsafePickle(f"a {type(obj).__name__} was left in the unpickled data; weights pickles hold only arrays")
    return obj


def load_numpy_pickle(path: str | Path) -> Any:
    """The object pickled in `path` (dicts, lists, tuples, numbers, strings, numeric ndarrays), read safely."""
    path = Path(path)
    with path.open("rb") as file:
        obj = RestrictedUnpickler(file, NUMPY_GLOBALS, source=str(path)).load()
    return _materialise(obj, _array_of)


# --- Legacy PyTorch stand-ins: storages are filled after the object pickle, so tensors are rebuilt in two steps.


class _StorageType:
    """Stands for `torch.FloatStorage` and its kin: only its dtype matters."""

    def __init__(self, name: str, dtype: str) -> None:
        self.name = name
        self.dtype = np.dtype(dtype)


class _Storage:
    """A storage named by a persistent id; its bytes follow the object pickle in the file."""

    def __init__(self, key: str, dtype: np.dtype, numel: int) -> None:
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data: np.ndarray | None = None


class _TensorSpec:
    """Stands for `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` until storages are read."""

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> None:
        shapes_ok = all(isinstance(t, tuple) and all(isinstance(n, int) and n >= 0 for n in t) for t in (size, stride))
        if (
            not isinstance(storage, _Storage)
            or not isinstance(offset, int)
            or not shapes_ok
            or len(size) != len(stride)
        ):
            raise UnsafePickle(f"refused tensor rebuild arguments {(type(storage).__name__, offset, size, stride)}")
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def to_array(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise UnsafePickle(f"storage {self.storage.key!r} is referenced by a tensor but its bytes are missing")
        if 0 in self.size:
            return np.empty(self.size, dtype=data.dtype)
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
    f"torch.{name}": _StorageType(name, dtype) for name, dtype in _TORCH_STORAGES.items()
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
            raise _refuse(source, f"persistent id {pid!r} is not a storage reference")
        _, storage_type, key, _location, numel = pid[:5]
        if len(pid) == 6 and pid[5] is not None:
            raise _refuse(source, "storage views (PyTorch < 0.4 files) are not supported")
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or not isinstance(numel, int):
            raise _refuse(source, f"persistent id {pid!r} has the wrong types")
        return storages.setdefault(key, _Storage(key, storage_type.dtype, numel))

    return load


def _read_header(file: IO[bytes], source: str) -> Any:
    """One of the legacy format's global-free pickles (magic number, protocol, sys info, storage keys)."""
    return RestrictedUnpickler(file, {}, source).load()


def _check_legacy_header(file: IO[bytes], source: str) -> None:
    if file.peek(4)[:4] == b"PK\x03\x04":
        raise _refuse(source, "it is a zip-format PyTorch checkpoint (PyTorch >= 1.6); only the legacy format is read")
    magic = _read_header(file, source)
    if magic != TORCH_LEGACY_MAGIC:
        raise _refuse(source, f"magic number {magic!r} is not the legacy PyTorch one")
    protocol = _read_header(file, source)
    if protocol != TORCH_LEGACY_PROTOCOL:
        raise _refuse(source, f"PyTorch protocol version {protocol!r}, expected {TORCH_LEGACY_PROTOCOL}")
    sys_info = _read_header(file, source)
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise _refuse(source, f"system info {sys_info!r} is not little-endian")


def _read_storages(file: IO[bytes], storages: dict[str, _Storage], source: str) -> None:
    """After the object pickle: a pickled list of storage keys, then per key an int64 count and the raw elements."""
    keys = _read_header(file, source)
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise _refuse(source, f"storage key list {keys!r:.200} does not match the {len(storages)} referenced storages")
    for key in keys:
        storage = storages[key]
        (count,) = struct.unpack("<q", file.read(8).ljust(8, b"\0"))
        if count != storage.numel:
            raise _refuse(source, f"storage {key!r} holds {count} elements, the tensors expect {storage.numel}")
        data = file.read(count * storage.dtype.itemsize)
        if len(data) != count * storage.dtype.itemsize:
            raise _refuse(source, f"storage {key!r} is truncated")
        storage.data = np.frombuffer(data, dtype=storage.dtype)


def load_torch_legacy(path: str | Path) -> dict[str, np.ndarray]:
    """The state dict (name -> array) of a legacy, non-zip PyTorch checkpoint, read with NumPy and no torch."""
    path = Path(path)
    source = str(path)
    storages: dict[str, _Storage] = {}
    with path.open("rb") as file:
        _check_legacy_header(file, source)
        unpickler = RestrictedUnpickler(file, TORCH_GLOBALS, source, persistent_load=_storage_loader(storages, source))
        obj = unpickler.load()
        _read_storages(file, storages, source)
    state = _materialise(obj, lambda o: o.to_array() if isinstance(o, _TensorSpec) else _plain(o))
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items()
    ):
        raise _refuse(source, "the checkpoint is not a state dict of name -> tensor")
    return dict(state)
