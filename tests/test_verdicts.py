"""Verdicts on the shapes that broke the earlier rules, built here as labelled controls.

Each control mirrors a failure seen on real layers (../shared/EVIDENCE-2026-12.md): a layer
labelled heavy-tailed from a small kappa while the HTMP curve missed the histogram; a bulk
shrunk ~1000x by weight decay under ~10 spikes (a CNN trained at batch size 2); 10-eigenvalue
output layers called rank-collapse from a kappa at the search bound; MP's log-likelihood -inf
on its own bulk; square layers without kappa; bounds averaged as values.
"""
import math

import numpy as np
import pandas as pd
import pytest

import htmp
from htmp.analysis import summarize
from htmp.analysis._format import kappa_text, weak_reasons
from htmp.ensembles import beta_wishart_eigvals
from htmp.fitting import compare_mp_htmp, ks_critical


def _haar(lam, M, rng):
    N = len(lam)
    U, _ = np.linalg.qr(rng.standard_normal((N, N)))
    V, _ = np.linalg.qr(rng.standard_normal((M, N)))
    return (U * np.sqrt(M * lam)) @ V.T


def test_shrunk_bulk_under_spikes_is_rank_collapse_not_heavy_tailed():
    """fc1 of a CNN at batch size 2: ~10 spikes up to ~3000 sigma^2 over a bulk holding
    ~1.6 % of the trace.  No eigenvalue is near zero (the old zero-share rule missed it) and
    a kappa fitted to all eigenvalues is small (the old rules said heavy-tailed)."""
    rng = np.random.default_rng(0)
    N, M = 256, 640
    bulk = beta_wishart_eigvals(N - 10, M, beta=1.0, rng=rng) / M
    spikes = np.geomspace(300, 3000, 10)
    r = htmp.esd(_haar(np.concatenate([bulk, spikes]), M, rng))
    p = htmp.phase(r)
    assert r.n_zero == 0 and p.zero_fraction == 0
    assert p.phase == "rank-collapse" and p.top_share > 0.9
    assert "of the trace" in p.reason


def test_bulk_with_a_few_huge_spikes_is_bulk_plus_spikes():
    rng = np.random.default_rng(1)
    d = np.ones(300)
    d[:3] = [40.0, 80.0, 120.0]
    p = htmp.phase(np.sqrt(d)[:, None] * rng.standard_normal((300, 900)))
    assert p.phase == "bulk+spikes" and p.top_share < 0.7 and p.fit_quality == "good"
    assert p.n_set_aside == 3 and p.htmp_status == "mp-like"


def test_htmp_that_misses_the_histogram_gets_no_heavy_label():
    """An MP bulk plus 12 % of outliers spread over a decade (position_embeddings-like: a
    kappa fitted to all eigenvalues is ~0.95 with KS 0.35, the old rules said heavy-tailed).
    On the common set HTMP beats MP on likelihood but fits poorly: no phase is claimed."""
    rng = np.random.default_rng(2)
    N, M = 384, 512
    bulk = beta_wishart_eigvals(N, M, beta=1.0, rng=rng) / M
    bulk[-46:] = np.geomspace(8, 80, 46)
    r = htmp.esd(_haar(np.sort(bulk), M, rng))
    old_style = htmp.fit_htmp(r, max_rounds=1, spike_level=1e-300)      # nothing set aside
    assert old_style.kappa < 2 and old_style.ks > 0.3
    p = htmp.phase(r)
    c = compare_mp_htmp(r)
    assert p.phase == "unresolved" and p.fit_quality == "poor"
    assert c.loglik_ratio > 5 and c.htmp_ks > c.ks_crit and "does not fit" in p.reason
    # the evidence printed beside the label is the comparison's
    assert (p.mp_ks, p.htmp_ks, p.loglik_ratio) == (c.mp_ks, c.htmp_ks, c.loglik_ratio)


def test_ten_eigenvalue_output_layer_gets_no_kappa_and_no_collapse_from_a_bound():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((10, 128))
    W[:3] *= 4.0                            # a trained-looking output layer: a few directions
    r = htmp.esd(W)
    c = compare_mp_htmp(r)
    assert c.htmp_status == "too-few" and math.isnan(c.kappa) and math.isnan(c.kappa_lo)
    p = htmp.phase(r)
    assert p.phase != "rank-collapse" and "no kappa fit" in p.reason
    row = htmp.analyze({"out": W}).iloc[0]
    assert kappa_text(row) == "" and "no κ fit" in "; ".join(weak_reasons(row))


def test_mp_loglik_is_finite_on_its_own_bulk():
    """Eigenvalues between the asymptotic MP edge and the TW spike threshold got density 0
    from the exact MP law (log-likelihood -inf on 40 of 49 real layers); the MP stand-in of
    the comparison is finite there."""
    rng = np.random.default_rng(4)
    for N, M in [(200, 400), (300, 300), (256, 2560)]:
        r = htmp.esd(rng.standard_normal((N, M)))
        mp = htmp.fit_mp(r)
        beyond = np.sum((r.eigenvalues > mp.bulk_max) & (r.eigenvalues <= mp.threshold))
        c = compare_mp_htmp(r, mp=mp)
        assert math.isfinite(c.loglik_mp) and math.isfinite(c.mp_ks)
        assert mp.loglik == -math.inf or beyond == 0     # the exact law fails where any lie beyond


def test_ks_critical_value_is_kolmogorovs():
    """Stephens' form against the asymptotic Kolmogorov 95 % point 1.3581/sqrt(n) (large n)
    and scipy's exact one-sample two-sided distribution at n = 10 and 384."""
    from scipy.stats import kstwo
    assert ks_critical(10 ** 6) * 1000 == pytest.approx(1.3581, rel=1e-3)
    for n in (10, 384):
        assert ks_critical(n) == pytest.approx(kstwo.ppf(0.95, n), rel=0.01)


def test_weak_verdicts_are_marked():
    base = dict(phase="bulk-decay", fit_quality="good", htmp_status="ok", n_evals=300,
                kappa=3.0, kappa_lo=2.5, kappa_hi=3.6, loglik_ratio=400.0)
    assert weak_reasons(pd.Series(base)) == []
    assert any("contains 2" in w for w in weak_reasons(pd.Series(dict(base, kappa_lo=1.5))))
    assert any("close to the margin" in w
               for w in weak_reasons(pd.Series(dict(base, loglik_ratio=6.0))))
    assert any("fits poorly" in w
               for w in weak_reasons(pd.Series(dict(base, phase="bulk+spikes",
                                                    fit_quality="poor"))))
    assert weak_reasons(pd.Series(dict(base, phase="unresolved", fit_quality="poor"))) == []


def test_bounds_are_written_as_bounds():
    row = dict(htmp_status="mp-like", kappa=math.inf, kappa_lo=73.4, kappa_hi=math.inf)
    assert kappa_text(row) == "MP-like (≥ 73.4)"
    row = dict(htmp_status="at-lower-bound", kappa=math.nan, kappa_lo=0.0, kappa_hi=0.081)
    assert kappa_text(row) == "≤ 0.081"
    row = dict(htmp_status="ok", kappa=2.31, kappa_lo=1.9, kappa_hi=math.inf)
    assert kappa_text(row) == "2.31 (1.9–∞)"


def test_model_summary_and_report_never_average_a_bound(tmp_path):
    """A model with an MP-like layer and a measured one: the median kappa is the measured
    value, and the report's cards say how many are bounds."""
    pytest.importorskip("matplotlib")
    from htmp.analysis import run
    from htmp.report import write_report
    rng = np.random.default_rng(5)
    lam = beta_wishart_eigvals(200, 400, beta=1.5 / 200, rng=rng)       # HTMP, kappa 1.5
    model = {"wishart": rng.standard_normal((200, 400)),
             "htmp": _haar(lam / lam.mean(), 400, rng)}
    a = run(model)
    t = a.table.set_index("name")
    assert t.loc["wishart", "htmp_status"] == "mp-like"
    assert t.loc["htmp", "htmp_status"] == "ok"
    s = summarize(a.table)
    assert (s.n_kappa, s.n_mp_like) == (1, 1) and s.kappa_median == t.loc["htmp", "kappa"]
    html = write_report(a, tmp_path).read_text(encoding="utf-8")
    assert "median κ of 1 measured" in html and "MP-like (≥" in html


def test_spike_budget():
    """min(k_MP, max(10 % of n, 3)) set aside for both laws; 0 sets nothing aside."""
    rng = np.random.default_rng(6)
    d = np.ones(100)
    d[:20] = np.geomspace(20, 200, 20)                  # 20 spikes in 100 eigenvalues
    r = htmp.esd(np.sqrt(d)[:, None] * rng.standard_normal((100, 400)))
    c = compare_mp_htmp(r)
    assert (c.n_set_aside, c.n_excess) == (10, htmp.fit_mp(r).n_spikes - 10)
    assert compare_mp_htmp(r, spike_share=0.0).n_set_aside == 0
    small = htmp.esd(np.sqrt(d[:20:5].tolist() + [1.0] * 16)[:, None]
                     * rng.standard_normal((20, 200)))
    # 4 MP spikes in 20 eigenvalues: 10 % would be 2, the floor sets 3 aside
    assert htmp.fit_mp(small).n_spikes == 4 and compare_mp_htmp(small).n_set_aside == 3
