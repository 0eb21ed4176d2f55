"""htmp.analyze: sources agree, rows match the fitting functions, bad layers do not abort."""
import math

import numpy as np
import pandas as pd
import pytest

import htmp
from htmp.analysis import COLUMNS, summarize
from htmp.fitting import compare_mp_htmp

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")
nn = torch.nn

REQUIRED = ["name", "type", "shape", "N", "M", "gamma", "n_evals", "rank", "mp_scale",
            "mp_bulk_max", "n_spikes", "kappa", "kappa_lo", "kappa_hi", "mp_ks", "htmp_ks",
            "loglik_ratio", "fit_quality", "alpha", "xmin", "phase", "status", "message"]
# columns that depend on the source (layer kind) or on the clock
VOLATILE = ["type", "seconds"]


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(4, 20, 3), nn.Flatten(), nn.Linear(60, 150),
                         nn.Embedding(200, 30), nn.Linear(3, 2))


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def table(model):
    return htmp.analyze(model)


def test_columns_and_rows(table):
    assert list(table.columns) == COLUMNS and COLUMNS[:len(REQUIRED)] == REQUIRED
    assert table["name"].tolist() == ["0.weight", "2.weight", "3.weight", "4.weight"]
    assert table["type"].tolist() == ["conv2d", "linear", "embedding", "linear"]
    assert table["status"].tolist() == ["ok", "ok", "ok", "skipped"]
    assert table.loc[3, "message"] == "2 eigenvalue(s) < min_evals=8"
    r = table.loc[1]
    assert (r["shape"], r.N, r.M, r.gamma, r.n_evals, r["rank"]) == ("150x60", 60, 150, 0.4, 60, 60)


def test_rows_equal_the_fitting_functions(model, table):
    """Pipeline vs direct calls of htmp.esd / fit_mp / compare_mp_htmp / fit_powerlaw / phase."""
    for i, w in enumerate(list(model.parameters())[::2][:3]):
        r = htmp.esd(w.detach().numpy())
        row = table.loc[i]
        mp = htmp.fit_mp(r)
        c = compare_mp_htmp(r, mp=mp)
        pl = htmp.fit_powerlaw(r, min_value=1e-5 / r.M)
        assert row.mp_scale == mp.sigma2 and row.mp_bulk_max == mp.bulk_max
        assert row.n_spikes == mp.n_spikes
        for col in ("kappa", "kappa_lo", "kappa_hi", "mp_ks", "htmp_ks", "loglik_ratio",
                    "gamma_eff", "kappa_mp", "htmp_scale"):
            a, b = row[col], getattr(c, col)
            assert a == b or (math.isnan(a) and math.isnan(b)), col
        assert (row.fit_quality, row.htmp_status, row.n_used) == (c.fit_quality, c.htmp_status,
                                                                  c.n_used)
        assert row.alpha == pl.alpha and row.xmin == pl.xmin
        p = htmp.phase(r)
        assert (row.phase, row.phase_reason) == (p.phase, p.reason)
        if c.htmp_status == "ok":     # nominal 95 % profile-likelihood interval brackets kappa
            assert row.kappa_lo < row.kappa < row.kappa_hi


def _numeric_equal(a, b):
    pd.testing.assert_frame_equal(a.drop(columns=VOLATILE), b.drop(columns=VOLATILE))


def test_all_sources_agree(model, table, tmp_path):
    sd = {k: v for k, v in model.state_dict().items() if v.ndim in (2, 4)}
    torch.save(model.state_dict(), tmp_path / "m.pt")
    st_torch.save_file(model.state_dict(), tmp_path / "m.safetensors")
    np.savez(tmp_path / "m.npz", **{k: v.numpy() for k, v in sd.items()})
    for src in (tmp_path / "m.pt", tmp_path / "m.safetensors", tmp_path / "m.npz",
                model.state_dict()):
        other = htmp.analyze(src)
        assert set(other["type"]) == {"tensor"}
        _numeric_equal(other, table)


def test_nan_layer_fails_alone():
    m = _model()
    with torch.no_grad():
        m[2].weight[3, 4] = float("nan")
    df = htmp.analyze(m)
    assert df["status"].tolist() == ["ok", "failed", "ok", "skipped"]
    assert "W must be finite, got 1 NaN/Inf entries" in df.loc[1, "message"]
    assert math.isnan(df.loc[1, "mp_ks"]) and not math.isnan(df.loc[0, "mp_ks"])


def test_unreadable_layer_fails_alone(tmp_path, model):
    st_torch.save_file(model.state_dict(), tmp_path / "m.safetensors")
    data = bytearray((tmp_path / "m.safetensors").read_bytes())
    (tmp_path / "cut.safetensors").write_bytes(data[:-200])     # last tensor truncated
    df = htmp.analyze(tmp_path / "cut.safetensors")       # reported per layer, never raised
    # the cut hits the data of 3.weight (4.weight is skipped by min_evals before reading)
    assert df["status"].tolist() == ["ok", "ok", "failed", "skipped"]
    assert "truncated tensor data (5958 of 6000 values)" in df.loc[2, "message"]


def test_max_evals_skips_large_layers_without_reading_them(tmp_path, model):
    st_torch.save_file(model.state_dict(), tmp_path / "m.safetensors")
    data = bytearray((tmp_path / "m.safetensors").read_bytes())
    (tmp_path / "cut.safetensors").write_bytes(data[:-200])     # 3.weight's data truncated
    df = htmp.analyze(tmp_path / "cut.safetensors", max_evals=25)
    # N = 20, 60, 30, 2: the two large layers are skipped before their data is read (the
    # truncated 3.weight would otherwise fail, see test_unreadable_layer_fails_alone)
    assert df["status"].tolist() == ["ok", "skipped", "skipped", "skipped"]
    assert df.loc[1, "message"] == "60 eigenvalues > max_evals=25 (raise max_evals to analyse it)"
    assert df.loc[2, "message"].startswith("30 eigenvalues > max_evals=25")
    full = htmp.analyze(model, max_evals=None)
    assert full["status"].tolist() == ["ok", "ok", "ok", "skipped"]
    with pytest.raises(ValueError, match="max_evals must be >= min_evals=8"):
        htmp.analyze(model, max_evals=4)
    with pytest.raises(ValueError, match="max_evals must be an integer >= 1, got 0"):
        htmp.analyze(model, max_evals=0)


def test_square_matrix_gets_a_kappa_with_gamma_eff():
    W = np.random.default_rng(0).standard_normal((40, 40))
    row = htmp.analyze({"sq": W}).loc[0]
    assert row.status == "ok" and row.gamma == 1 and row.gamma_eff == 40 / 41
    # a Wishart matrix: the likelihood is flat towards MP, kappa = inf with a lower limit
    assert row.htmp_status == "mp-like" and row.kappa == math.inf and 0 < row.kappa_lo < 50
    assert row.phase == "random-like" and row.fit_quality == "good"


def test_empty_model_and_no_match(model):
    with pytest.raises(ValueError, match="no analysable layers"):
        htmp.analyze(nn.Sequential(nn.ReLU(), nn.LayerNorm(4)))
    with pytest.raises(ValueError, match="no analysable layers matching layers='zzz'"):
        htmp.analyze(model, layers="zzz")


def test_layers_regex_workers_progress(model, table):
    seen = []
    df = htmp.analyze(model, layers=r"^[23]\.", workers=2,
                      progress=lambda i, n, name: seen.append((i, n, name)))
    assert seen == [(1, 2, "2.weight"), (2, 2, "3.weight")]
    _numeric_equal(df.reset_index(drop=True), table.iloc[1:3].reset_index(drop=True))


def test_fits_subset_and_bad_arguments(model):
    df = htmp.analyze(model, fits=("powerlaw",), layers="^2")
    assert np.isfinite(df.loc[0, "alpha"]) and math.isnan(df.loc[0, "kappa"])
    assert df.loc[0, "phase"] == ""
    with pytest.raises(ValueError, match=r"fits must be a non-empty subset of .*got \('pl',\)"):
        htmp.analyze(model, fits=("pl",))
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        htmp.analyze(model, workers=0)
    with pytest.raises(ValueError, match="min_evals must be an integer >= 1, got 0"):
        htmp.analyze(model, min_evals=0)
    with pytest.raises(ValueError, match="conv must be 'flatten' or 'slices', got 'x'"):
        htmp.analyze(model, conv="x")


def test_conv_slices_convention(model):
    row = htmp.analyze(model, layers="^0", conv="slices").loc[0]
    assert (row.N, row.M, row.n_evals) == (4, 20, 36)   # 3*3 slices of 20x4


def test_summarize(table):
    s = summarize(table)
    assert (s.n_layers, s.n_ok, s.n_skipped, s.n_failed, s.n_partial) == (4, 3, 1, 0, 0)
    ok = table[table.status == "ok"]
    assert s.alpha_median == pytest.approx(float(np.median(ok.alpha)), rel=1e-15)
    assert sum(s.phase_counts.values()) == 3
    assert s.to_frame().shape[0] == 1
    with pytest.raises(ValueError, match="df must be the table returned by htmp.analyze"):
        summarize(pd.DataFrame({"a": [1]}))


def test_summarize_never_averages_a_bound():
    df = pd.DataFrame({"status": ["ok"] * 5, "alpha": [3.0] * 5, "phase": ["random-like"] * 5,
                       "kappa": [2.0, 4.0, math.inf, math.nan, 8.0],
                       "htmp_status": ["ok", "ok", "mp-like", "at-lower-bound", "max-iter"],
                       "fit_quality": ["good", "poor", "good", "good", "good"]})
    s = summarize(df)
    assert (s.n_kappa, s.kappa_median, s.kappa_mean) == (3, 4.0, pytest.approx(14 / 3))
    assert (s.n_mp_like, s.n_kappa_below, s.n_poor_fit) == (1, 1, 1)


def test_table_columns_are_what_pandas_infers():
    """analyze's columns are built typed (float64 arrays, Int64 with <NA>); the frame is the
    one pandas builds from the plain lists (counts through pd.array(..., "Int64")), for
    rows with missing counts, a count beyond int64, NaN floats and a mixed column."""
    import math

    import pandas as pd

    from htmp.analysis._pipeline import _columns, _int64_or_na

    rows = [dict(name="a", N=3, M=5, kappa=1.5, alpha=math.nan, phase="x", rank=2.0, mix=1.0),
            dict(name="b", N=math.nan, M=2 ** 70, kappa=math.inf, alpha=2.0, phase="",
                 rank=math.nan, mix="text"),
            dict(name="c", N=7, M=9, kappa=-0.0, alpha=3.0, phase="y", rank=7, mix=2)]
    names = ["name", "N", "M", "kappa", "alpha", "phase", "rank", "mix", "absent"]
    plain = {c: [r.get(c, math.nan) for r in rows] for c in names}
    for c in ("N", "M", "rank"):
        plain[c] = pd.array([_int64_or_na(v) for v in plain[c]], dtype="Int64")
    pd.testing.assert_frame_equal(pd.DataFrame(_columns(rows, names), columns=names),
                                  pd.DataFrame(plain, columns=names))
