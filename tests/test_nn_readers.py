"""htmp.nn readers: every source format yields the same weights; bad input gives clear errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

import htmp.nn as hnn

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")
nn = torch.nn


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(32, 24),
                         nn.Embedding(40, 16), nn.Conv1d(4, 6, 3), nn.LayerNorm(16))


@pytest.fixture(scope="module")
def ref(model):
    """Reference: the 2-D/4-D float tensors of the state dict (Conv1d's 3-D weight and
    1-D biases / LayerNorm are not analysable in a raw checkpoint)."""
    return {k: v.numpy() for k, v in model.state_dict().items() if v.ndim in (2, 4)}


def _as_dict(source, **kw):
    return {w.name: w.array for w in hnn.iter_weights(source, **kw)}


def _same(got, ref):
    assert list(got) == list(ref)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])


def test_module_kinds_by_isinstance(model):
    ws = list(hnn.iter_weights(model))
    assert [(w.name, w.kind) for w in ws] == [
        ("0.weight", "conv2d"), ("2.weight", "linear"), ("3.weight", "embedding"),
        ("4.weight", "conv1d")]
    assert ws[3].array.shape == (6, 4, 3)


def test_state_dict_file(model, ref, tmp_path):
    p = tmp_path / "m.pt"
    torch.save(model.state_dict(), p)
    _same(_as_dict(p), ref)
    _same(_as_dict(str(p)), ref)            # str paths too


def test_safetensors_file_and_npz_and_mapping(model, ref, tmp_path):
    st_torch.save_file(model.state_dict(), tmp_path / "model.safetensors")
    _same(_as_dict(tmp_path / "model.safetensors"), ref)
    _same(_as_dict(tmp_path), ref)          # folder with one model.safetensors
    np.savez(tmp_path / "w.npz", **ref)
    _same(_as_dict(tmp_path / "w.npz"), ref)
    _same(_as_dict(model.state_dict()), ref)


def _write_shards(model, folder, order):
    sd = model.state_dict()
    shard_of = {"0.weight": "model-00001-of-00002.safetensors",
                "0.bias": "model-00001-of-00002.safetensors"}
    weight_map = {k: shard_of.get(k, "model-00002-of-00002.safetensors") for k in order}
    for shard in set(weight_map.values()):
        st_torch.save_file({k: sd[k] for k in weight_map if weight_map[k] == shard},
                           folder / shard)
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map}))


def test_sharded_safetensors_in_depth_order(model, ref, tmp_path):
    order = ["3.weight", "2.bias", "0.weight", "0.bias", "2.weight", "4.weight"]
    _write_shards(model, tmp_path, order)
    got = _as_dict(tmp_path)
    assert list(got) == ["0.weight", "2.weight", "3.weight"]    # depth, not the index's order
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    assert list(_as_dict(tmp_path / "model.safetensors.index.json")) == list(got)


def test_alphabetical_headers_are_listed_by_depth(tmp_path):
    # safetensors writes its header sorted by name: layer.10 would come before layer.2
    names = [f"encoder.layer.{i}.dense.weight" for i in (0, 1, 2, 10, 11)] + ["embed.weight"]
    tensors = {n: torch.ones(4, 6) * i for i, n in enumerate(names)}
    st_torch.save_file(tensors, tmp_path / "m.safetensors")
    from htmp.nn._safetensors import read_header
    header_order = list(read_header(tmp_path / "m.safetensors")[0])
    assert header_order.index(names[3]) < header_order.index(names[2])   # 10 before 2
    assert [s.name for s in hnn.weight_specs(tmp_path / "m.safetensors")] == \
        ["embed.weight"] + names[:5]
    assert hnn.depth_key("h.2.w") < hnn.depth_key("h.10.w") < hnn.depth_key("h.10.x")


def test_sharded_bin_checkpoint(model, ref, tmp_path):
    sd = model.state_dict()
    torch.save({"0.weight": sd["0.weight"]}, tmp_path / "pytorch_model-1.bin")
    torch.save({"2.weight": sd["2.weight"], "3.weight": sd["3.weight"]},
               tmp_path / "pytorch_model-2.bin")
    wm = {"2.weight": "pytorch_model-2.bin", "0.weight": "pytorch_model-1.bin",
          "3.weight": "pytorch_model-2.bin"}
    (tmp_path / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": wm}))
    got = _as_dict(tmp_path)
    assert list(got) == ["0.weight", "2.weight", "3.weight"]    # by depth
    for k in wm:
        np.testing.assert_array_equal(got[k], ref[k])


def test_bf16_and_fp16_become_float32(model, tmp_path):
    w = torch.randn(12, 20, generator=torch.Generator().manual_seed(1))
    st_torch.save_file({"a": w.to(torch.bfloat16), "b": w.to(torch.float16)},
                       tmp_path / "half.safetensors")
    got = _as_dict(tmp_path / "half.safetensors")
    assert got["a"].dtype == got["b"].dtype == np.float32
    # bf16 -> float32 is exact, so the bytes-level widening must equal torch's conversion
    np.testing.assert_array_equal(got["a"], w.to(torch.bfloat16).float().numpy())
    np.testing.assert_array_equal(got["b"], w.to(torch.float16).float().numpy())
    bf = nn.Linear(20, 12).to(torch.bfloat16)
    assert next(hnn.iter_weights(bf)).array.dtype == np.float32
    np.save(tmp_path / "h.npy", w.numpy().astype(np.float16))
    assert next(hnn.iter_weights(tmp_path / "h.npy")).array.dtype == np.float32


def test_layers_regex(model, tmp_path):
    assert list(_as_dict(model, layers=r"^(2|3)\.")) == ["2.weight", "3.weight"]
    assert hnn.weight_specs(model, layers="nothing-matches") == []
    with pytest.raises(ValueError, match=r"layers must be a valid regular expression, got '\('"):
        hnn.weight_specs(model, layers="(")


def test_specs_read_no_data_until_load(tmp_path, model):
    st_torch.save_file(model.state_dict(), tmp_path / "m.safetensors")
    specs = hnn.weight_specs(tmp_path / "m.safetensors")
    assert [s.shape for s in specs] == [(8, 3, 3, 3), (24, 32), (40, 16)]
    assert specs[1].load().shape == (24, 32)


@pytest.mark.parametrize("name,content,why", [
    ("m.xyz", b"whatever", "unknown file type '.xyz'"),
    ("m.safetensors", b"\xff" * 64, "not a safetensors file"),
    ("m.npz", b"not a zip", "cannot be read"),
    ("m.pt", b"garbage bytes", "cannot be read as a PyTorch state dict"),
])
def test_bad_files_name_path_and_formats(tmp_path, name, content, why):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(ValueError, match=why) as info:
        hnn.weight_specs(p)
    assert str(p) in str(info.value)
    assert "accepted formats: .safetensors" in str(info.value)


def test_missing_path_and_empty_folder_and_bad_type(tmp_path):
    with pytest.raises(ValueError, match="no such file or folder"):
        hnn.weight_specs(tmp_path / "nope.safetensors")
    with pytest.raises(ValueError, match="the folder holds no model file"):
        hnn.weight_specs(tmp_path)
    with pytest.raises(TypeError, match="source must be a torch nn.Module.*got int"):
        hnn.weight_specs(3)


_NO_TORCH = r"""
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Block())
import numpy as np
import htmp, htmp.nn
assert "torch" not in sys.modules
p, q = sys.argv[1], sys.argv[2]
assert [w.name for w in htmp.nn.iter_weights(p)] == ["a", "b"]
assert [w.name for w in htmp.nn.iter_weights(q)] == ["x"]
try:
    htmp.nn.weight_specs(sys.argv[3])
except ImportError as err:
    assert "pip install 'htmp[torch]'" in str(err), err
else:
    raise AssertionError("no ImportError")
assert "torch" not in sys.modules
print("ok")
"""


def test_import_and_read_without_torch(tmp_path):
    # sys.modules["torch"] = None would break scipy (it probes sys.modules["torch"]), so
    # torch is hidden the way an environment without it behaves: its import fails.
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "w.npz", a=rng.standard_normal((5, 7)), b=rng.standard_normal((6, 4)))
    st_torch.save_file({"x": torch.ones(3, 4).to(torch.bfloat16)}, tmp_path / "w.safetensors")
    (tmp_path / "w.pt").write_bytes(b"x")
    out = subprocess.run([sys.executable, "-W", "error", "-c", _NO_TORCH,
                          str(tmp_path / "w.npz"), str(tmp_path / "w.safetensors"),
                          str(tmp_path / "w.pt")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
