"""The restricted unpickler: arrays come back, every other global is refused before it can run."""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np
import pytest
from call_budget import call_budget
from pickle_opcodes import global_op, marker_command, package_file, shared_nest, str_op

from zoo.weights.restricted_pickle import UnsafePickle, load_numpy_pickle

SQUEEZENET = ("ndf", "example_models", "weights", "squeezenet_weights.pkl")


def test_os_system_global_is_refused_without_running(tmp_path):
    marker, command = marker_command(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"(" + global_op("os", "system") + b"S'" + command.encode() + b"'\ntR.")
    with pytest.raises(UnsafePickle, match=r"refused global 'os\.system'"):
        load_numpy_pickle(path)
    assert not marker.exists()


def test_reduce_based_payload_is_refused_without_running(tmp_path):
    marker, command = marker_command(tmp_path)

    class Payload:
        def __reduce__(self):
            return (os.system, (command,))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"weights": [np.zeros(2), Payload()]}, protocol=4))  # STACK_GLOBAL form
    with pytest.raises(UnsafePickle, match=rf"refused global '{os.system.__module__}\.system'"):
        load_numpy_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_pickles_round_trip(tmp_path, protocol):
    arrays = {
        "kernel": np.arange(24, dtype="float32").reshape(2, 3, 4),
        "fortran": np.asfortranarray(np.arange(6, dtype=">f8").reshape(2, 3)),
        "ids": np.array([1, -2, 3], dtype="int64"),
        "mask": np.array([True, False]),
        "pair": [np.ones(2, "float16"), np.float32(2.5)],
    }
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=protocol))
    loaded = load_numpy_pickle(path)
    for key in ("kernel", "fortran", "ids", "mask"):
        np.testing.assert_array_equal(loaded[key], arrays[key])
        assert loaded[key].dtype == arrays[key].dtype
    np.testing.assert_array_equal(loaded["pair"][0], arrays["pair"][0])
    assert loaded["pair"][1] == np.float32(2.5)


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "o.pkl"
    path.write_bytes(pickle.dumps(np.array([1, "a"], dtype=object)))
    with pytest.raises(UnsafePickle, match="dtype"):
        load_numpy_pickle(path)


def test_real_ndf_squeezenet_pickle_reads_26_layers():
    layers = load_numpy_pickle(package_file(*SQUEEZENET))
    assert len(layers) == 26
    assert all(len(pair) == 2 and pair[0].dtype == np.float32 for pair in layers.values())
    assert layers["conv1"][0].shape == (3, 3, 3, 64)
    assert sum(a.size for pair in layers.values() for a in pair) == 1_235_496


# --- Crafted pickles (issue 17): each attack fails fast with a clear error, or, where harmless, is read fast.


def _bytes_op(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data  # BINBYTES


_FLOAT32 = global_op("numpy", "dtype") + b"(" + str_op("f4") + b"\x89\x88tR"  # dtype("f4", False, True)


def _numpy_array(shape_len: int, data_op: bytes) -> bytes:
    """A protocol-2 style ndarray: _reconstruct(ndarray, (0,), b'b') then BUILD (1, shape, dtype, False, data)."""
    head = global_op("numpy.core.multiarray", "_reconstruct") + b"(" + global_op("numpy", "ndarray")
    head += b"(K\x00t" + str_op("b")
    state = b"(K\x01" + b"(" + b"J" + struct.pack("<i", shape_len) + b"t" + _FLOAT32 + b"\x89" + data_op + b"t"
    return head + b"tR" + state + b"b"


def test_a_pickle_cannot_modify_the_allowed_globals(tmp_path):
    from zoo.weights import restricted_pickle

    # BUILD with a slot state on an allowed function: before the fix this set its defaults for the whole process
    path = tmp_path / "mutate.pkl"
    path.write_bytes(
        global_op("_codecs", "encode") + b"N}" + str_op("__defaults__") + b"(" + str_op("utf-8") + b"ts\x86b0N."
    )
    with pytest.raises(UnsafePickle, match=r"refused to modify the global '_codecs\.encode'"):
        load_numpy_pickle(path)
    assert restricted_pickle._latin1_bytes.__defaults__ == ("latin1",)


def test_shared_references_are_walked_once(tmp_path):
    path = tmp_path / "shared.pkl"
    path.write_bytes(shared_nest(24) + b".")  # ~200 bytes; walked path by path: 2**24 leaves
    with call_budget(100_000):
        loaded = load_numpy_pickle(path)
    assert loaded[0] is loaded[1]  # still shared, so still small


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.pkl"
    path.write_bytes(b"N" + b"\x85" * 200 + b".")  # a 1-tuple in a 1-tuple ... 200 deep
    with pytest.raises(UnsafePickle, match="nested deeper than"):
        load_numpy_pickle(path)


def test_frombuffer_of_an_int_is_refused(tmp_path):
    args = (
        b"(J" + struct.pack("<i", 1 << 30) + _FLOAT32 + b"(J" + struct.pack("<i", 1 << 28) + b"t" + str_op("C") + b"t"
    )
    path = tmp_path / "alloc.pkl"
    path.write_bytes(global_op("numpy.core.numeric", "_frombuffer") + args + b"R.")  # bytes(2**30): 1 GiB of zeros
    with pytest.raises(UnsafePickle, match="refused array buffer of type int"):
        load_numpy_pickle(path)


def test_arrays_may_not_outgrow_the_file(tmp_path):
    data = bytes(1 << 16)
    arrays = _numpy_array(1 << 14, _bytes_op(data) + b"q\x01") + b"".join(
        _numpy_array(1 << 14, b"h\x01")
        for _ in range(40)  # the same 64 KiB reused through the memo
    )
    path = tmp_path / "reuse.pkl"
    path.write_bytes(b"(" + arrays + b"l.")
    assert path.stat().st_size < 80_000
    with pytest.raises(UnsafePickle, match="past 4x the file's size"):
        load_numpy_pickle(path)
