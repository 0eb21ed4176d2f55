"""WeightWatcher's norm metrics (htmp.fitting.ww_metrics) and correlation traps
(htmp.fitting.traps), alone and through htmp.analyze / run / the CLI."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import htmp
from htmp.analysis import TRAP_COLUMNS, run
from htmp.fitting import esd, fit_mp
from htmp.fitting.traps import correlation_traps, randomize_weights
from htmp.fitting.ww_metrics import WW_METRICS, ww_metrics

DATA = Path(__file__).parent / "data"


def _read(name: str) -> list:
    with open(DATA / name) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@pytest.fixture(scope="module")
def reference_table():
    """htmp.analyze of the layers WeightWatcher 0.7.7 analysed for the reference CSV."""
    w = np.load(DATA / "ww_metrics_weights.npz")
    return run({k: w[k] for k in w.files})


# Reference: WeightWatcher 0.7.7 + powerlaw 1.5, WeightWatcher(model).analyze() on the same
# float32 weights (tests/data/make_ww_metrics_reference.py).  Measured agreement: <= 3e-15
# relative; 1e-12 leaves room for another BLAS / LAPACK (WeightWatcher takes an SVD, htmp
# the eigenvalues of the Gram matrix: the largest eigenvalues agree to a few ulp).
def test_metrics_match_weightwatcher_reference(reference_table):
    table = reference_table.table.set_index("name")
    ref = _read("ww_metrics_reference.csv")
    assert sorted(r["name"] for r in ref) == sorted(table.index)
    for r in ref:
        row = table.loc[r["name"]]
        assert (int(row["M"]), int(row["N"])) == (int(r["N"]), int(r["M"]))  # letters swap
        for m in ("alpha",) + WW_METRICS:
            assert float(row[m]) == pytest.approx(float(r[m]), rel=1e-12), (r["name"], m)


def test_summary_matches_weightwatcher_get_summary(reference_table):
    ref = {r["metric"]: float(r["value"]) for r in _read("ww_metrics_summary_reference.csv")}
    ours = reference_table.summary.ww_summary()
    assert list(ours) == list(ref)                       # same keys, same order
    for k, v in ref.items():
        assert ours[k] == pytest.approx(v, rel=1e-12), k


def test_metrics_equal_singular_value_formulas():
    """An independent computation: WeightWatcher's formulas on numpy's singular values."""
    W = np.random.default_rng(3).standard_normal((70, 30)) * 0.3
    s2 = np.linalg.svd(W, compute_uv=False) ** 2
    m = ww_metrics(esd(W), alpha=2.5)
    assert m.M == 70
    assert m.norm == pytest.approx(np.sum(W ** 2), rel=1e-13)         # ||W||_F^2
    assert m.spectral_norm == pytest.approx(s2.max(), rel=1e-13)      # ||W||_2^2
    assert m.stable_rank == pytest.approx(s2.sum() / s2.max(), rel=1e-13)
    assert m.log_alpha_norm == pytest.approx(np.log10(np.sum(s2 ** 2.5)), rel=1e-13)
    assert m.alpha_weighted == pytest.approx(2.5 * np.log10(s2.max()), rel=1e-13)
    # htmp's ESD is W Wᵀ / M: the same metrics from a bare array need M
    bare = ww_metrics(esd(W).eigenvalues, alpha=2.5, M=70)
    assert bare == m


def test_log_alpha_norm_does_not_overflow():
    """WeightWatcher's sum(evals ** alpha) is inf here; the factored sum is exact."""
    x = np.array([1e10, 5e9, 1.0])
    m = ww_metrics(x, alpha=40.0, M=1)
    assert m.log_alpha_norm == pytest.approx(400 + np.log10(1 + 0.5 ** 40), rel=1e-15)


def test_no_alpha_gives_nan_alpha_metrics():
    m = ww_metrics(np.array([1.0, 2.0, 4.0]), M=2)
    assert math.isnan(m.alpha_weighted) and math.isnan(m.log_alpha_norm)
    assert m.norm == 14.0 and m.stable_rank == 14.0 / 8.0


def test_ww_metrics_errors_name_the_argument():
    with pytest.raises(ValueError, match="M must be given"):
        ww_metrics(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"M must be a finite number > 0 .*got -1.0"):
        ww_metrics(np.array([1.0, 2.0]), M=-1)
    with pytest.raises(ValueError, match="eigs must have a positive eigenvalue"):
        ww_metrics(np.zeros(3), M=1)


# ------------------------------------------------------------------------------ traps
@pytest.mark.parametrize("shape", [(200, 400), (300, 120), (100, 100)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaussian_matrices_have_no_traps(shape, seed):
    # Measured false-positive rate at margin 3: 7 of 400 seeded Gaussian matrices (64x64
    # to 300x120) had one trap; these nine seeds have none.
    W = np.random.default_rng(seed).standard_normal(shape)
    t = correlation_traps(W, rng=seed + 100)
    assert t.num_traps == 0 and t.traps == () and t.status == "ok"
    assert t.mp.sigma2 == pytest.approx(1.0, rel=0.05)   # the shuffled entries' variance


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_large_entries_are_traps(seed):
    W = np.random.default_rng(seed).standard_normal((200, 400))
    W[[3, 50, 120], [7, 90, 300]] = 60.0     # each one: an eigenvalue ~ 60^2 / 400 = 9
    t = correlation_traps(W, rng=seed)
    assert t.num_traps == 3 and len(t.traps) == 3
    assert min(t.traps) > t.mp.threshold > t.mp.bulk_max
    assert t.lambda_max == max(t.traps)


@pytest.mark.parametrize("seed", range(4))
def test_sparse_rank_one_signal_becomes_many_traps(seed):
    """A 4 x 4 block of large entries is one spike of W (rank 1) but, shuffled, 16 isolated
    large entries: up to 16 traps (fewer when two land in one row or column; 14-16
    measured on these seeds)."""
    W = np.random.default_rng(seed).standard_normal((200, 400))
    u, v = np.zeros(200), np.zeros(400)
    u[[10, 20, 30, 40]], v[[5, 15, 25, 35]] = 1.0, 1.0
    W += 40.0 * np.outer(u, v)
    assert fit_mp(esd(W)).n_spikes == 1
    assert 13 <= correlation_traps(W, rng=seed).num_traps <= 16


def test_traps_are_reproducible_and_need_an_rng():
    W = np.random.default_rng(0).standard_normal((50, 80))
    a, b = correlation_traps(W, rng=7), correlation_traps(W, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert not a.eigenvalues.flags.writeable
    with pytest.raises(TypeError, match="rng"):
        correlation_traps(W)                                    # noqa - rng is required
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        correlation_traps(W, rng=0, margin=-1)
    d = a.to_dict()
    assert d["num_traps"] == a.num_traps and d["mp"]["scale"] == a.mp.scale


def test_randomize_weights_permutes_entries_per_slice():
    W = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2) + 1
    flat = randomize_weights(W, rng=0, conv="flatten")
    assert flat.shape == W.shape and sorted(flat.ravel()) == sorted(W.ravel())
    sl = randomize_weights(W, rng=0, conv="slices")
    for i in range(2):
        for j in range(2):                     # each slice keeps its own entries
            assert sorted(sl[:, :, i, j].ravel()) == sorted(W[:, :, i, j].ravel())
    with pytest.raises(ValueError, match="conv must be 'flatten' or 'slices', got 'x'"):
        randomize_weights(W, rng=0, conv="x")


def test_rank_one_randomised_spectrum_fails_in_the_row():
    """A constant W stays constant when shuffled: rank 1, no bulk to fit.  Alone it is
    fit_mp's ValueError; in the table the row says so (rand_mp_status "failed")."""
    with pytest.raises(ValueError, match="eigs must hold at least 2 eigenvalues"):
        correlation_traps(np.ones((20, 30)), rng=0)
    row = htmp.analyze({"c": np.ones((20, 30))}, randomize=True).iloc[0]
    assert row["rand_mp_status"] == "failed" and row["status"] == "partial"
    assert "traps: ValueError" in row["message"] and row["num_traps"] is pd.NA


# ------------------------------------------------------------------- through htmp.analyze
def _model(seed=0):
    rng = np.random.default_rng(seed)
    sd = {"a.weight": rng.standard_normal((100, 300)), "b.weight": rng.standard_normal((64, 80))}
    sd["b.weight"][[1, 5], [3, 9]] = 40.0
    return sd


def test_analyze_randomize_adds_trap_columns_at_the_end():
    plain = htmp.analyze(_model())
    assert list(plain.columns[-len(WW_METRICS):]) == list(WW_METRICS)
    assert not set(TRAP_COLUMNS) & set(plain.columns)
    df = htmp.analyze(_model(), randomize=True)
    assert list(df.columns) == list(plain.columns) + TRAP_COLUMNS
    assert df["num_traps"].tolist() == [0, 2] and str(df["num_traps"].dtype) == "Int64"
    # the rest of the table is unchanged
    same = [c for c in plain.columns if c != "seconds"]
    assert df[same].equals(plain[same])
    # seeded per layer: workers and a repeat give the same rows; another seed may differ
    again = htmp.analyze(_model(), randomize=0, workers=2)
    assert again[TRAP_COLUMNS].equals(df[TRAP_COLUMNS])
    assert run(_model(), randomize=True).table[TRAP_COLUMNS].equals(df[TRAP_COLUMNS])


@pytest.mark.parametrize("bad", [-1, 1.5, "yes"])
def test_analyze_randomize_must_be_a_seed(bad):
    with pytest.raises(ValueError, match=r"randomize must be True, False or a seed \(an int "
                                         r">= 0\), got"):
        htmp.analyze(_model(), randomize=bad)


def test_scale_columns_blank_beyond_float64_but_counts_kept():
    W = np.random.default_rng(0).standard_normal((64, 128)) * 1e200
    row = htmp.analyze({"x": W}, randomize=True).iloc[0]
    ref = htmp.analyze({"x": W / 1e200}, randomize=True).iloc[0]
    for c in ("norm", "log_norm", "spectral_norm", "log_alpha_norm", "rand_mp_scale"):
        assert math.isnan(row[c])
    assert row["stable_rank"] == pytest.approx(ref["stable_rank"], rel=1e-12)
    assert row["num_traps"] == ref["num_traps"] and "num_traps" in row["message"]


def test_cli_randomize(tmp_path):
    from typer.testing import CliRunner

    from htmp.cli.app import app

    npz = tmp_path / "m.npz"
    np.savez(npz, **_model())
    r = CliRunner().invoke(app, ["analyze", str(npz), "--format", "csv", "--randomize"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.output.splitlines()))
    assert [row["num_traps"] for row in rows] == ["0", "2"]
    assert "log_alpha_norm" in rows[0]
    r = CliRunner().invoke(app, ["analyze", str(npz), "--format", "csv"])
    assert "num_traps" not in r.output.splitlines()[0]


def test_checkpoints_with_randomize_keep_trap_columns():
    """Two checkpoints, one lacking a layer: the long table keeps the trap columns (the
    "missing" row has them empty)."""
    a, b = _model(0), _model(1)
    del b["a.weight"]
    long = htmp.analyze([a, b], randomize=True)
    assert list(long.columns[-len(TRAP_COLUMNS):]) == TRAP_COLUMNS
    assert str(long["num_traps"].dtype) == "Int64"
    missing = long[long["status"] == "missing"].iloc[0]
    assert missing["num_traps"] is pd.NA and missing["rand_mp_status"] == ""
    assert long[long["status"] == "ok"]["num_traps"].notna().all()
