"""Read pickled weights (legacy PyTorch checkpoints, pickled NumPy arrays) with NumPy alone and no code execution.

`pickle.load` runs whatever callable a file names, so a weights file could run `os.system`. The unpickler here
resolves only the few globals that rebuild arrays, each mapped to a NumPy stand-in that checks its arguments;
every other global raises `UnsafePickle` naming it, before anything is called. Legacy PyTorch checkpoints are read
by zoo.weights.torch_legacy on the same machinery.
A pickle cannot change the allowed objects (each global is a fresh read-only proxy), nor make reading slow or
large: shared references are walked once, within a step and depth budget, and arrays may not hold more bytes
than the file (times MAX_EXPANSION) nor more elements than their storage has.
"""

from __future__ import annotations

import collections
import contextvars
import math
import pickle
import re
import reprlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from zoo.errors import ZooError

# Plain numeric dtypes only: an object dtype would let a pickle smuggle Python objects into an array.
_NUMERIC_DTYPE = re.compile(r"^[<>=|]?(\?|b1|[iu][1248]|f[248]|c(8|16))$")
MAX_EXPANSION = 4  # arrays may total this many times the file's bytes (tied weights share storage: 2x at most)
MIN_ARRAY_BUDGET = 1 << 20
MAX_STEPS = 1_000_000  # distinct objects walked after unpickling
MAX_DEPTH = 64  # nesting of dicts, lists and tuples; weights pickles nest 2 or 3 deep
SHORT = reprlib.Repr()
SHORT.maxlevel, SHORT.maxstring, SHORT.maxother = 3, 80, 80
_ARRAY_BYTES_LEFT: contextvars.ContextVar[list[int]] = contextvars.ContextVar("array_bytes_left")


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
        return _Global(key, self._allowed[key])

    def load(self) -> Any:
        """Unpickle, with every malformed-structure error (a bad opcode, a wrong call) reported as UnsafePickle."""
        try:
            return super().load()
        except UnsafePickle:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError, KeyError) as error:
            raise refuse(self._source, f"{type(error).__name__}: {SHORT.repr(str(error))}") from None
        except (RecursionError, MemoryError, OverflowError) as error:
            raise refuse(self._source, f"{type(error).__name__} while reading") from None

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise UnsafePickle(
                f"{self._source}: unexpected persistent id {SHORT.repr(pid)} in a pickle that should have none"
            )
        return self._persistent(pid)


def refuse(source: str, what: str) -> UnsafePickle:
    return UnsafePickle(f"{source}: {what}; this is not a well-formed weights pickle")


class _Global:
    """A fresh, read-only stand-in for one allowed global: calling it calls the target; BUILD on it is refused,
    so a pickle cannot set attributes of the shared classes and functions for the rest of the process."""

    __slots__ = ("key", "target")

    def __init__(self, key: str, target: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "target", target)

    def __call__(self, *args: Any) -> Any:
        return self.target(*args)

    def __setattr__(self, name: str, value: Any) -> None:
        raise UnsafePickle(f"refused to modify the global {self.key!r}: a weights pickle may only call it")

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickle(f"refused to modify the global {self.key!r}: a weights pickle may only call it")


def proxied(obj: Any) -> Any:
    return obj.target if isinstance(obj, _Global) else None


@contextmanager
def array_budget(file_bytes: int) -> Iterator[None]:
    """Within this block, arrays built may total MAX_EXPANSION times the file's size (at least 1 MiB)."""
    token = _ARRAY_BYTES_LEFT.set([max(MIN_ARRAY_BUDGET, MAX_EXPANSION * file_bytes)])
    try:
        yield
    finally:
        _ARRAY_BYTES_LEFT.reset(token)


def charge(nbytes: int, what: str) -> None:
    """Count `nbytes` against the current load's array budget; refuse before allocating once it is spent."""
    left = _ARRAY_BYTES_LEFT.get(None)
    if left is None:
        raise UnsafePickle("arrays are only built inside a load (no size budget is set)")
    left[0] -= nbytes
    if left[0] < 0:
        raise UnsafePickle(
            f"{what} would take the arrays past {MAX_EXPANSION}x the file's size: a weights pickle holds its data"
        )


# --- NumPy stand-ins: they record arguments and build arrays with np.frombuffer, never numpy's own unpickling.


class _NDArrayType:
    """Stands for `numpy.ndarray` as the subtype argument of `_reconstruct`."""


class _DTypeSpec:
    """Stands for `numpy.dtype(spec, align, copy)`; BUILD may set its byte order and nothing else."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = False) -> None:
        if not isinstance(spec, str) or not _NUMERIC_DTYPE.match(spec):
            raise UnsafePickle(f"refused numpy dtype {SHORT.repr(spec)}: only plain numeric dtypes are read")
        self.spec = spec
        self.byteorder = "="

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "=", "|"):
            raise UnsafePickle(f"refused numpy dtype state {SHORT.repr(state)}")
        self.byteorder = state[1]

    def resolve(self) -> np.dtype:
        dtype = np.dtype(self.spec)
        return dtype if self.byteorder in ("=", "|") else dtype.newbyteorder(self.byteorder)


def _as_dtype(dtype: Any) -> np.dtype:
    if not isinstance(dtype, _DTypeSpec):
        raise UnsafePickle(f"expected a numpy dtype, got {type(dtype).__name__}")
    return dtype.resolve()


def is_shape(shape: Any) -> bool:
    return isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape) and len(shape) <= 32


def _array_from_bytes(data: Any, dtype: np.dtype, shape: Any, fortran: bool) -> np.ndarray:
    if not isinstance(data, bytes | bytearray) or not is_shape(shape):
        shown = SHORT.repr(shape)
        raise UnsafePickle(
            f"array data must be bytes and its shape a tuple of sizes, got {type(data).__name__}, {shown}"
        )
    count = math.prod(shape)
    if count * dtype.itemsize != len(data):
        raise UnsafePickle(
            f"array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes, has {len(data)}"
        )
    charge(len(data), f"an array of shape {shape}")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


class _ArraySpec:
    """Stands for `numpy.core.multiarray._reconstruct(ndarray, shape, typecode)`; BUILD supplies the data."""

    def __init__(self, subtype: Any, shape: Any = (0,), typecode: Any = b"b") -> None:
        if proxied(subtype) is not _NDArrayType:
            raise UnsafePickle(f"refused array subtype {SHORT.repr(subtype)}: only numpy.ndarray is read")
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise UnsafePickle(f"refused ndarray state of type {type(state).__name__}")
        shape, dtype, fortran, data = state[-4:]
        self.array = _array_from_bytes(data, _as_dtype(dtype), shape, bool(fortran))


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Stands for `numpy.core.numeric._frombuffer` (protocol-5 array pickles); `buffer` must hold the bytes
    (bytes(n) of an int would allocate n zero bytes)."""
    if not isinstance(buffer, bytes | bytearray | memoryview | pickle.PickleBuffer):
        raise UnsafePickle(f"refused array buffer of type {type(buffer).__name__}: it must hold the array's bytes")
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


def materialise(obj: Any, replace: Callable[[Any], Any]) -> Any:
    """A copy of `obj` with every stand-in (found in dicts, lists, tuples) swapped for `replace(stand_in)`.

    Each distinct object is visited once (shared references stay shared), within MAX_STEPS and MAX_DEPTH: a pickle
    of nested shared lists would otherwise take time exponential in its size.
    """
    memo: dict[int, Any] = {}
    steps = [MAX_STEPS]

    def visit(item: Any, depth: int) -> Any:
        if id(item) in memo:
            return memo[id(item)]
        steps[0] -= 1
        if steps[0] < 0 or depth > MAX_DEPTH:
            raise UnsafePickle(
                f"the unpickled data is nested deeper than {MAX_DEPTH} or holds more than {MAX_STEPS} objects"
            )
        if isinstance(item, dict):
            out = memo[id(item)] = collections.OrderedDict() if isinstance(item, collections.OrderedDict) else {}
            out.update((key, visit(value, depth + 1)) for key, value in item.items())
        elif isinstance(item, list):
            out = memo[id(item)] = []
            out.extend(visit(value, depth + 1) for value in item)
        elif isinstance(item, tuple):
            out = memo[id(item)] = tuple(visit(value, depth + 1) for value in item)
        else:
            out = memo[id(item)] = replace(item)
        return out

    return visit(obj, 0)


def _array_of(obj: Any) -> Any:
    if isinstance(obj, _ArraySpec):
        if obj.array is None:
            raise UnsafePickle("an ndarray was reconstructed but never given its data")
        return obj.array
    return plain(obj)


_PLAIN_TYPES = (type(None), bool, int, float, complex, str, bytes, np.ndarray, np.generic)


def plain(obj: Any) -> Any:
    """`obj` itself when it is plain data; a leftover stand-in or callable means the pickle was not weights data."""
    if not isinstance(obj, _PLAIN_TYPES):
        raise UnsafePickle(f"a {type(obj).__name__} was left in the unpickled data; weights pickles hold only arrays")
    return obj


def load_numpy_pickle(path: str | Path) -> Any:
    """The object pickled in `path` (dicts, lists, tuples, numbers, strings, numeric ndarrays), read safely."""
    path = Path(path)
    with path.open("rb") as file, array_budget(path.stat().st_size):
        obj = RestrictedUnpickler(file, NUMPY_GLOBALS, source=str(path)).load()
        return materialise(obj, _array_of)
