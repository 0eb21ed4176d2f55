"""LoRA / PEFT adapters (one row per adapted module, dW = scale * B A) and fine-tune deltas
(``base=``: W - W_base), through htmp.nn, htmp.analyze, htmp.analysis.run and the CLI.

Adapters are written here in PEFT's saved layout (``base_model.model.<module>.lora_A.weight``
r x in, ``lora_B.weight`` out x r, ``adapter_config.json``); nothing is downloaded."""
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import htmp
import htmp.nn as hnn
from htmp.cli import app

st = pytest.importorskip("safetensors.numpy")

P = "base_model.model."


def _rng():
    return np.random.default_rng(0)


@pytest.fixture
def base():
    """Base weights by name (a state dict of numpy arrays)."""
    rng = _rng()
    return {"model.layers.0.q_proj.weight": rng.standard_normal((48, 32)).astype(np.float32),
            "model.layers.0.v_proj.weight": rng.standard_normal((40, 32)).astype(np.float32),
            "model.embed.weight": rng.standard_normal((60, 32)).astype(np.float32),
            "lm_head.weight": rng.standard_normal((60, 32)).astype(np.float32)}


def _adapter(folder, tensors, **config):
    folder.mkdir(exist_ok=True)
    st.save_file(tensors, str(folder / "adapter_model.safetensors"))
    cfg = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
           "base_model_name_or_path": "tiny", **config}
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    return folder


def _ab(rng, r, n_in, n_out):
    return (rng.standard_normal((r, n_in)).astype(np.float32),
            rng.standard_normal((n_out, r)).astype(np.float32))


@pytest.fixture
def lora(tmp_path):
    """q_proj (r=4), v_proj (r=2 via rank_pattern, alpha 6 via alpha_pattern)."""
    rng = _rng()
    qa, qb = _ab(rng, 4, 32, 48)
    va, vb = _ab(rng, 2, 32, 40)
    q, v = P + "model.layers.0.q_proj.", P + "model.layers.0.v_proj."
    folder = _adapter(tmp_path / "adapter", {
        q + "lora_A.weight": qa, q + "lora_B.weight": qb,
        v + "lora_A.weight": va, v + "lora_B.weight": vb},
        rank_pattern={"v_proj": 2}, alpha_pattern={"layers.0.v_proj": 6})
    dw = {"model.layers.0.q_proj.weight": 8 / 4 * qb @ qa,
          "model.layers.0.v_proj.weight": 6 / 2 * vb @ va}
    return folder, dw


def test_lora_folder_one_row_per_module_for_scaled_BA(lora):
    folder, dw = lora
    specs = hnn.weight_specs(folder)
    assert [(s.name, s.kind, s.shape) for s in specs] == [
        ("model.layers.0.q_proj.weight", "lora", (48, 32)),
        ("model.layers.0.v_proj.weight", "lora", (40, 32))]
    for s in specs:    # closed form: (lora_alpha / r) B A, alpha/r from the patterns for v_proj
        np.testing.assert_allclose(s.load(), dw[s.name], rtol=1e-6, atol=1e-6)
    direct = hnn.weight_specs(folder / "adapter_model.safetensors")
    assert [s.name for s in direct] == [s.name for s in specs]


def test_lora_rows_say_rank_r(lora):
    folder, _ = lora
    df = htmp.analyze(folder)
    assert list(df["type"]) == ["lora", "lora"]
    assert list(df["rank"]) == [4, 2] and list(df["n_zero"]) == [32 - 4, 32 - 2]
    assert set(df["phase"]) == {"rank-collapse"}   # N - r zero eigenvalues, by construction


def test_rslora_old_keys_embedding_and_fan_in_fan_out(tmp_path):
    rng = _rng()
    qa, qb = _ab(rng, 4, 32, 48)
    ea, eb = rng.standard_normal((4, 60)).astype(np.float32), \
        rng.standard_normal((32, 4)).astype(np.float32)
    folder = _adapter(tmp_path / "a", {
        P + "h.0.attn.c_attn.lora_A.default.weight": qa,      # older saves: adapter name
        P + "h.0.attn.c_attn.lora_B.default.weight": qb,
        P + "wte.lora_embedding_A": ea, P + "wte.lora_embedding_B": eb},
        use_rslora=True, fan_in_fan_out=True, lora_alpha=16)
    got = {s.name: s for s in hnn.weight_specs(folder)}
    scale = 16 / math.sqrt(4)                                  # rsLoRA: alpha / sqrt(r)
    assert got["h.0.attn.c_attn.weight"].shape == (32, 48)     # Conv1D layout (in, out)
    np.testing.assert_allclose(got["h.0.attn.c_attn.weight"].load(), scale * (qb @ qa).T,
                               rtol=1e-6, atol=1e-5)
    assert got["wte.weight"].shape == (60, 32)                 # embedding: (B A)^T
    np.testing.assert_allclose(got["wte.weight"].load(), scale * (eb @ ea).T, rtol=1e-6,
                               atol=1e-5)


def test_conv2d_adapter(tmp_path):
    rng = _rng()
    a = rng.standard_normal((3, 5, 3, 3)).astype(np.float32)     # (r, in, kh, kw)
    b = rng.standard_normal((7, 3, 1, 1)).astype(np.float32)     # (out, r, 1, 1)
    folder = _adapter(tmp_path / "c", {P + "conv.lora_A.weight": a, P + "conv.lora_B.weight": b},
                      r=3, lora_alpha=3)
    (s,) = hnn.weight_specs(folder)
    assert s.shape == (7, 5, 3, 3)
    ref = np.einsum("or,rikl->oikl", b[:, :, 0, 0], a)          # scale 3 / 3 = 1
    np.testing.assert_allclose(s.load(), ref, rtol=1e-5, atol=1e-5)


def test_lora_with_base_is_w_plus_dw(lora, base, tmp_path):
    folder, dw = lora
    del base["model.layers.0.v_proj.weight"]
    st.save_file(base, str(tmp_path / "base.safetensors"))
    for b in (base, tmp_path / "base.safetensors"):
        specs = hnn.weight_specs(folder, base=b)
        assert [(s.name, s.kind) for s in specs] == [
            ("model.layers.0.q_proj.weight", "lora_merged"),
            ("model.layers.0.v_proj.weight", "lora_merged")]
        name = "model.layers.0.q_proj.weight"
        np.testing.assert_allclose(specs[0].load(), base[name] + dw[name], rtol=1e-6)
        assert "no weight named 'model.layers.0.v_proj.weight' in the base" in specs[1].skip
    df = htmp.analyze(folder, base=base)
    assert list(df["status"]) == ["ok", "skipped"] and df["rank"][0] == 32


def test_lora_config_missing_or_bad(lora, tmp_path):
    folder, _ = lora
    (folder / "adapter_config.json").unlink()
    with pytest.raises(ValueError, match="needs adapter_config.json beside it"):
        hnn.weight_specs(folder)
    (folder / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": -1}))
    with pytest.raises(ValueError, match=r"lora_alpha must be a number > 0, got -1"):
        htmp.analyze(folder)


def test_lora_half_pair_and_modules_to_save(tmp_path):
    rng = _rng()
    qa, _ = _ab(rng, 4, 32, 48)
    head = rng.standard_normal((10, 32)).astype(np.float32)
    folder = _adapter(tmp_path / "a", {P + "q.lora_A.weight": qa,
                                       P + "score.modules_to_save.default.weight": head})
    df = htmp.analyze(folder, fits=("mp",))
    assert list(df["name"]) == ["q.weight", "score.weight"]
    assert df["status"][0] == "failed" and "has lora_A but no lora_B" in df["message"][0]
    assert df["status"][1] == "ok" and df["type"][1] == "tensor"


def test_delta_rows(base):
    rng = _rng()
    model = {k: v + 0.1 * rng.standard_normal(v.shape).astype(np.float32)
             for k, v in base.items() if k != "lm_head.weight"}
    model["model.embed.weight"] = rng.standard_normal((64, 32)).astype(np.float32)  # resized
    model["extra.weight"] = rng.standard_normal((20, 32)).astype(np.float32)
    df = htmp.analyze(model, base=base, fits=("mp",))
    assert list(df["name"]) == ["model.layers.0.q_proj.weight", "model.layers.0.v_proj.weight",
                                "model.embed.weight", "extra.weight", "lm_head.weight"]
    assert list(df["status"]) == ["ok", "ok", "skipped", "skipped", "skipped"]
    assert df["message"][2] == ("shape (64, 32) differs from the base's (60, 32) (no delta)")
    assert "no weight named 'extra.weight' in the base" in df["message"][3]
    assert "only in the base" in df["message"][4]
    # numbers: those of the differences analysed directly
    diffs = {k: model[k] - base[k] for k in list(model)[:2]}
    ref = htmp.analyze(diffs, fits=("mp",))
    cols = ["N", "M", "rank", "mp_scale", "mp_bulk_max", "n_spikes"]
    np.testing.assert_allclose(df[cols][:2].to_numpy(float), ref[cols].to_numpy(float),
                               rtol=1e-12)


def test_delta_of_modules_and_run(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    m0 = torch.nn.Sequential(torch.nn.Linear(16, 24), torch.nn.Linear(24, 8))
    m1 = torch.nn.Sequential(torch.nn.Linear(16, 24), torch.nn.Linear(24, 8))
    a = htmp.analyze(m1, base=m0, fits=("mp",))
    assert list(a["type"]) == ["linear", "linear"]
    sd = {k: (v - m0.state_dict()[k]).numpy() for k, v in m1.state_dict().items()}
    ref = htmp.analyze(sd, fits=("mp",))
    np.testing.assert_allclose(a["mp_scale"], ref["mp_scale"], rtol=1e-12)
    r = htmp.analysis.run(m1, base=m0, fits=("mp",))
    assert list(r.table["mp_scale"]) == list(a["mp_scale"]) and "base" in r.options
    same = htmp.analyze(m1, base=m1, fits=("mp",), min_evals=1)
    assert list(same["status"]) == ["failed"] * 2          # W - W = 0: no spectrum
    assert "W - W_base is all zero: '0.weight' equals the base's weight" in same["message"][0]


def test_cli_base(lora, base, tmp_path):
    folder, dw = lora
    st.save_file(base, str(tmp_path / "base.safetensors"))
    res = CliRunner().invoke(app, ["analyze", str(folder), "--base",
                                   str(tmp_path / "base.safetensors"), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["layers"]
    assert [(r["name"], r["type"], r["rank"]) for r in rows] == [
        ("model.layers.0.q_proj.weight", "lora_merged", 32),
        ("model.layers.0.v_proj.weight", "lora_merged", 32)]
    res = CliRunner().invoke(app, ["analyze", str(tmp_path / "base.safetensors"), "--base",
                                   str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "no such file or folder" in res.output


def test_lora_pattern_keys_are_never_run_as_regular_expressions(tmp_path):
    """A regular expression from a model file is not evaluated: ``(a+)+$`` against a long run
    of a's would backtrack exponentially.  Such keys refuse the adapter, naming the field."""
    rng = _rng()
    qa, qb = _ab(rng, 4, 32, 48)
    name = P + "model." + "a" * 40 + "!.q_proj."
    folder = _adapter(tmp_path / "evil", {name + "lora_A.weight": qa, name + "lora_B.weight": qb},
                      rank_pattern={"(a+)+$": 4})
    with pytest.raises(ValueError, match=r"rank_pattern key '\(a\+\)\+\$' is a regular "
                                         r"expression"):
        hnn.weight_specs(folder)
