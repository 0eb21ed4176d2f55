"""htmp.demo_training: a tiny training run gives an analysable fc1, deterministically."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mnist1d")
pytest.importorskip("pandas")

from htmp import demo_training as dt  # noqa: E402

TINY = dt.with_(dt.DEMO_CONFIG, batch_sizes=(32,), max_steps=15, channels=(4, 8),
                hidden=(32, 16))


@pytest.fixture(scope="module")
def data():
    return dt.load_data("mnist1d")


def test_load_data_shapes(data):
    x_tr, y_tr, x_te, y_te = data
    assert x_tr.shape == (4000, 1, 40) and x_te.shape == (1000, 1, 40)
    assert x_tr.dtype == np.float32 and y_tr.dtype == np.int64
    assert set(np.unique(y_tr)) == set(range(10)) and len(y_te) == 1000


def test_ntk_parametrisation(data):
    m = dt.init_model(TINY, data)
    w = m.fc1.weight.detach().numpy()
    assert w.shape == (32, 8 * 10)                      # (out, channels[1] * 40 / 4)
    assert abs(w.std() - 1.0) < 0.1                     # N(0, 1) entries
    assert m.fc1.scale == pytest.approx(1 / np.sqrt(80))


def test_standard_parametrisation(data):
    from torch import nn

    std = dt.with_(TINY, parametrisation="standard")
    m = dt.init_model(std, data)
    assert isinstance(m.fc1, nn.Linear) and isinstance(m.conv1, nn.Conv1d)
    w = m.fc1.weight.detach().numpy()
    assert w.shape == (32, 80)
    assert np.abs(w).max() <= 1 / np.sqrt(80) + 1e-7          # PyTorch default init bound
    assert not np.allclose(w, dt.fc1_weight(dt.init_model(TINY, data)))
    assert m(torch.from_numpy(data[0][:3])).shape == (3, 10)
    for opt in ("sgd", "adam", "adamw"):
        res = dt.train(dt.with_(std, max_steps=3, optimizer=opt), 32, data=data)
        assert res.steps == 3 and not np.array_equal(dt.fc1_weight(res.model), w)
    assert dt.DEMO_CONFIG.parametrisation == "ntk" and dt.TrainConfig().optimizer == "sgd"


def test_parametrisation_and_optimizer_checked():
    with pytest.raises(ValueError, match="parametrisation.*'ntk'.*'standard'.*'mup'"):
        dt.with_(TINY, parametrisation="mup")
    with pytest.raises(ValueError, match="optimizer.*'rmsprop'"):
        dt.TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="parametrisation"):
        dt.MiniAlexNet((1, 40), parametrisation="NTK")


def test_tiny_run_trains_and_is_analysable(data):
    from htmp.analysis import run

    res = dt.train(TINY, 32, data=data)
    assert res.steps == 15 and res.batch_size == 32
    assert 0.0 <= res.test_acc <= 1.0 and np.isfinite(res.train_loss)
    w0 = dt.fc1_weight(dt.init_model(TINY, data))
    assert not np.array_equal(dt.fc1_weight(res.model), w0)      # it moved
    a = run(dt.weights(res.model))
    fc1 = a.table[a.table["name"].str.contains("fc1")]
    assert len(fc1) == 1
    row = fc1.iloc[0]
    assert row["N"] == 32 and row["M"] == 80 and row["status"] in ("ok", "partial")
    assert isinstance(row["phase"], str) and row["phase"]
    assert len(a.spectra[row["name"]]) == 32


def test_deterministic_under_seed(data):
    a = dt.train(TINY, 32, data=data)
    b = dt.train(TINY, 32, data=data)
    np.testing.assert_array_equal(dt.fc1_weight(a.model), dt.fc1_weight(b.model))
    assert (a.train_acc, a.test_acc) == (b.train_acc, b.test_acc)
    c = dt.train(dt.with_(TINY, seed=1), 32, data=data)
    assert not np.array_equal(dt.fc1_weight(a.model), dt.fc1_weight(c.model))


def test_config_checks():
    assert dt.with_(TINY, lr=0.5, lr_scaling="sqrt", lr_ref_batch=4).lr_at(16) == 1.0
    assert dt.with_(TINY, lr=0.5, lr_scaling="linear", lr_ref_batch=4).lr_at(16) == 2.0
    with pytest.raises(ValueError, match="lr_scaling"):
        dt.with_(TINY, lr_scaling="cubic").lr_at(4)
    with pytest.raises(ValueError, match="batch_size"):
        dt.train(TINY, 0)
    with pytest.raises(ValueError, match="dataset"):
        dt.load_data("cifar")


def test_demo_phases_tiny(tmp_path, capsys, data):
    pytest.importorskip("matplotlib")
    from htmp import demo

    path, rows = demo.run_phases(tmp_path, config=dt.with_(TINY, max_steps=5),
                                 batch_sizes=(16,))
    assert path.exists() and path.name == "index.html"
    assert [r["label"] for r in rows] == ["init", "batch 16"]
    html = path.read_text(encoding="utf-8")
    assert "batch 16" in html and "fc1.weight" in html
    out = capsys.readouterr().out
    assert f"report: {path}" in out
    table = [ln for ln in out.splitlines() if ln.startswith("| ")]
    assert table[0].startswith("| batch | steps | train acc") and len(table) == 1 + 2
    assert table[2].startswith("| batch 16 | 5 |")
    assert "it does NOT show the heavy-tailed phases" in out or "better with HTMP than with MP" in out


def test_demo_phases_tiny_feature_section(tmp_path, capsys, data):
    """The report of a tiny demo-like run holds the feature-spectra section (NTK and the last
    hidden layer's activations, fitted), and stdout the measured numbers."""
    pytest.importorskip("matplotlib")
    from htmp import demo

    cfg = dt.with_(TINY, max_steps=5, hidden=(32, 64))   # 64 features: >= 50 eigenvalues
    path, _ = demo.run_phases(tmp_path, config=cfg, batch_sizes=(16,))
    html = path.read_text(encoding="utf-8")
    assert "fc1.weight" in html                          # the weight report is still there
    assert "Feature spectra: NTK and last hidden layer" in html
    i = html.index('<section class="extra"')
    section = html[i:]
    for label in ("init", "batch 16"):
        assert f'<td class="l">{label}</td><td class="l">NTK (40 inputs x 10 outputs' in section
        assert (f'<td class="l">{label}</td><td class="l">activations of relu4 (512 inputs x 64 '
                f"features)") in section
    assert "not fitted" not in section and "Figure not drawn" not in section
    assert section.count("<img ") == 4                   # one figure per spectrum
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("  init |") or
             ln.startswith("  batch 16 |")]
    assert len(lines) == 4 and all(("edge exponent" in ln or "edge: no exponent" in ln)
                                   and "tail α" in ln and " nan" not in ln for ln in lines)
    assert sum("inverse HTMP skipped (no gamma)" in ln for ln in lines) == 2   # the NTK's
    assert sum("κ " in ln for ln in lines) == 2                                  # activations'


def test_demo_phases_without_features(tmp_path, data):
    pytest.importorskip("matplotlib")
    from htmp import demo

    path, _ = demo.run_phases(tmp_path, config=dt.with_(TINY, max_steps=5), batch_sizes=(16,),
                              features=False)
    assert '<section class="extra"' not in path.read_text(encoding="utf-8")


def test_feature_section_reports_unfitted_spectrum():
    pytest.importorskip("matplotlib")
    from htmp.report import feature_section

    html = feature_section([("m", "NTK", "too few <eigenvalues>")], intro="a & b")
    assert "not fitted: too few &lt;eigenvalues&gt;" in html and "a &amp; b" in html
