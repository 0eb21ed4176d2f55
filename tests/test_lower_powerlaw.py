"""fit_lower_powerlaw: P(X <= eps) ~ eps^a, the cut chosen by KS (Clauset mirrored to the lower tail).

References: samples with known exponents (X = U^(1/a) has P(X <= e) = e^a exactly on (0, 1];
mixtures with that law below 1 and a bulk on [2, 10]), and a plain loop over candidate cuts
written in this file (the textbook scan) for the vectorised search.
"""
import math

import numpy as np
import pytest

from htmp.fitting.lower_powerlaw import LowerPowerLawFit, fit_lower_powerlaw


def _reference(x, min_tail=10):
    """Plain loop: every value x_(k) (k >= min_tail, 1-based) as the cut, conditional MLE on the
    k - 1 values below, two-sided KS; smallest D wins (largest tail on ties)."""
    x = np.sort(x)
    best = (np.inf, None, None)
    for k in range(min_tail, len(x) + 1):
        cut, below = x[k - 1], x[:k - 1]
        a = (k - 1) / np.sum(np.log(cut / below))
        F = (below / cut) ** a
        i = np.arange(1, k)
        D = max(np.max(i / (k - 1) - F), np.max(F - (i - 1) / (k - 1)))
        if D <= best[0]:
            best = (D, a, cut)
    return best


def test_vectorised_scan_matches_the_plain_loop():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.random(300) ** (1 / 1.5), rng.uniform(2, 5, 200)])
    D, a, cut = _reference(x)
    f = fit_lower_powerlaw(x, block=37, max_candidates=None)
    assert (f.exponent, f.xmax, f.ks) == (pytest.approx(a, rel=1e-12), cut, pytest.approx(D, rel=1e-12))
    assert f.exponent_se == pytest.approx(f.exponent / math.sqrt(f.n_tail - 1))
    assert f.n_tail == int(np.sum(x <= f.xmax)) and f.n_used == 500 and f.status == "ok"


def test_pure_lower_power_law_round_trip():
    # X = U^(1/a): P(X <= e) = e^a.  Each seed within 4 standard errors (se ~ 0.033 a); the mean
    # of 5 seeds within 5 % (3 standard errors of the mean; these seeds give 1.033 a)
    est = []
    for seed in range(5):
        u = np.random.default_rng(seed).random(1000)
        f = fit_lower_powerlaw(u)
        assert f.status == "ok" and abs(f.exponent - 1.0) < 4 * f.exponent_se
        est.append(f.exponent)
        for a in (0.5, 4.0):     # log X = log(U)/a: the fit is equivariant, exponent exactly a x
            g = fit_lower_powerlaw(u ** (1 / a))
            assert g.exponent == pytest.approx(a * f.exponent, rel=1e-10) and g.n_tail == f.n_tail
    assert np.mean(est) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("a", [1.0, 2.0])
def test_mixture_with_a_bulk_above_the_cut(a):
    # 30 % from U^(1/a) on (0, 1], 70 % uniform on [2, 10]: P(X <= e) = 0.3 e^a for e <= 1
    for seed in range(5):
        rng = np.random.default_rng(seed)
        w = rng.random(1500) < 0.3
        x = np.where(w, rng.random(1500) ** (1 / a), rng.uniform(2, 10, 1500))
        f = fit_lower_powerlaw(x)
        assert f.xmax <= 1.0                            # the cut stays below the bulk
        assert abs(f.exponent - a) < 4 * f.exponent_se  # se ~ 0.05 a here
        fixed = fit_lower_powerlaw(x, xmax=1.0)          # the true cut: all of the law's values
        assert fixed.n_tail == int(np.sum(w)) and abs(fixed.exponent - a) < 4 * fixed.exponent_se


def test_scale_invariance_and_result_type():
    x = np.random.default_rng(7).random(400) ** 0.5
    f, g = fit_lower_powerlaw(x), fit_lower_powerlaw(x * 1e-9)
    assert isinstance(f, LowerPowerLawFit)
    assert g.exponent == pytest.approx(f.exponent, rel=1e-12)
    assert g.xmax == pytest.approx(f.xmax * 1e-9, rel=1e-12) and g.ks == pytest.approx(f.ks, rel=1e-9)
    # the density gains a factor 1e9 per fitted value: log-likelihood shifts by (n_tail - 1) log 1e9
    assert g.loglik - f.loglik == pytest.approx((f.n_tail - 1) * math.log(1e9), rel=1e-9)
    row = f.to_frame()
    assert list(row.columns)[:3] == ["exponent", "exponent_se", "xmin"] and len(row) == 1
    with pytest.raises(AttributeError):
        f.exponent = 1.0                                  # frozen


def test_loglik_is_the_models_log_density():
    x = np.random.default_rng(1).random(200) ** 0.5
    f = fit_lower_powerlaw(x, xmax=0.8)
    t = x[x <= 0.8]
    a = f.exponent
    assert a == pytest.approx(len(t) / np.sum(np.log(0.8 / t)), rel=1e-12)   # MLE, cut known
    assert f.loglik == pytest.approx(np.sum(np.log(a * t ** (a - 1) / 0.8 ** a)), rel=1e-10)


def test_candidate_subset_stays_close_to_the_full_scan():
    x = np.random.default_rng(11).random(3000) ** (1 / 2.0)
    full = fit_lower_powerlaw(x, max_candidates=None)
    sub = fit_lower_powerlaw(x, max_candidates=300)
    assert sub.ks >= full.ks                       # a subset cannot beat the full minimum
    assert sub.exponent == pytest.approx(full.exponent, abs=2 * full.exponent_se)


def test_degenerate_and_bound_statuses():
    f = fit_lower_powerlaw(np.full(60, 3.0))
    assert f.status == "failed" and math.isnan(f.exponent) and "degenerate" in f.message
    # 200 values of U^(1/2) below 1, then a spike of 300 values on [1.2, 1.21]: every cut inside
    # the spike fits worse than the cut at the 200th value, the smallest allowed
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.random(200) ** 0.5, rng.uniform(1.2, 1.21, 300)])
    g = fit_lower_powerlaw(x, min_tail=200)
    assert g.status == "at-bound" and g.n_tail == 200 and "min_tail=200" in g.message
    assert abs(g.exponent - 2.0) < 4 * g.exponent_se
    assert fit_lower_powerlaw(x, min_tail=10).status == "ok"
    assert fit_lower_powerlaw(np.linspace(1.0, 2.0, 60), xmax=1.0).status == "failed"


@pytest.mark.parametrize("x, match", [
    (np.ones(49), r"x must hold at least 50 values, got 49"),
    (np.r_[np.ones(60), np.nan], r"x must be finite, got non-finite entries \[nan\]"),
    (np.r_[np.ones(60), np.inf], r"x must be finite"),
    (np.r_[np.ones(60), 0.0], r"x must be > 0 \(accepted: \(0, inf\)\), got minimum 0.0"),
    (np.r_[np.ones(60), -2.0], r"x must be > 0 .* got minimum -2.0"),
    (np.ones((10, 10)), r"x must be a 1-D array, got shape \(10, 10\)"),
])
def test_bad_samples_raise(x, match):
    with pytest.raises(ValueError, match=match):
        fit_lower_powerlaw(x)


def test_bad_options_raise():
    x = np.random.default_rng(0).random(100)
    with pytest.raises(ValueError, match=r"xmax must be a finite number > 0 .* got -1.0"):
        fit_lower_powerlaw(x, xmax=-1.0)
    with pytest.raises(ValueError, match=r"min_tail must be an integer >= 3, got 2"):
        fit_lower_powerlaw(x, min_tail=2)
    with pytest.raises(ValueError, match=r"max_candidates must be an integer >= 2, got 1"):
        fit_lower_powerlaw(x, max_candidates=1)
    with pytest.raises(TypeError, match=r"x must be a real numeric array"):
        fit_lower_powerlaw(np.array(["a"] * 60))


def test_gradient_norms_experiment_quick_mode(tmp_path):   # ~4 s: CI runs every --quick
    pytest.importorskip("torch")
    import importlib.util
    import sys
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[1] / "experiments" / "gradient_norms.py"
    spec = importlib.util.spec_from_file_location("gradient_norms", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gradient_norms"] = mod
    spec.loader.exec_module(mod)
    mod.main(["--quick", "--out", str(tmp_path)])
    df = pd.read_csv(tmp_path / "gradient_norms.csv")
    assert len(df) == 4 and set(df.series) == {"minibatch", "full"}
    assert (df.lower_exponent[df.lower_status != "failed"] > 0).all()
    series = pd.read_csv(tmp_path / "gradient_norms_series.csv")
    assert (series.norm > 0).all() and len(series) == 2 * (300 + 60)
    assert (tmp_path / "gradnorm_tails.png").stat().st_size > 10_000
