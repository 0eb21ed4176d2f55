"""htmp.phase: one clear-cut example per phase, and a seeded held-out accuracy check.

The generators mirror experiments/phase_calibration.py (which calibrated the thresholds
at N = 500-1000) at a smaller size, N = 300, M = 600 (gamma = 0.5), to keep the file fast;
the seeds here (1000+) were not used for calibration.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import htmp
from htmp.ensembles import htmp_eigvals
from htmp.fitting import phases
from htmp.fitting.mp_fit import tw_edge

N, M, GAMMA = 300, 600, 0.5


def _haar(lam, rng):
    U, _ = np.linalg.qr(rng.standard_normal((N, N)))
    V, _ = np.linalg.qr(rng.standard_normal((M, N)))
    return (U * np.sqrt(M * lam)) @ V.T


def _spiked(ells, rng):
    d = np.ones(N)
    d[:len(ells)] = ells
    return np.sqrt(d)[:, None] * rng.standard_normal((N, M))


def _bbp_spike(excess):
    s = math.sqrt(GAMMA)
    b = 2 * s + excess
    return 1 + (b + math.sqrt(b * b - 4 * GAMMA)) / 2


def make(cls: str, seed: int, strength: float = 0.5) -> np.ndarray:
    """A weight matrix of class `cls`; strength in [0, 1] moves within the class's range."""
    rng = np.random.default_rng(seed)
    if cls == "random-like":
        return rng.standard_normal((N, M))
    if cls == "bleeding-out":       # outliers 6-20 TW scales beyond the MP edge
        s_tw = tw_edge(1.0, N, M)[1]
        return _spiked([_bbp_spike((6 + 14 * strength) * s_tw)] * 2, rng)
    if cls == "bulk+spikes":
        return _spiked([3 + 12 * strength, 4 + 12 * strength], rng)
    if cls == "bulk-decay":         # kappa in [3, 30]
        return _haar(htmp_eigvals(N, gamma=GAMMA, kappa=30 * 0.1 ** strength, rng=rng), rng)
    if cls == "heavy-tailed":       # kappa in [0.3, 1] (fits at kappa < 0.3 cost 1-3 s each)
        return _haar(htmp_eigvals(N, gamma=GAMMA, kappa=0.3 * (1 / 0.3) ** strength, rng=rng), rng)
    r = int((0.1 + 0.35 * strength) * N)         # rank-collapse: rank 10-45 % of N + noise
    W = rng.standard_normal((N, r)) @ rng.standard_normal((r, M)) / math.sqrt(r)
    return W + 1e-4 * rng.standard_normal((N, M))


@pytest.mark.parametrize("cls", phases.PHASES)
def test_clear_cut_example_of_each_phase(cls):
    r = htmp.phase(make(cls, seed=1000, strength=0.5))
    assert r.phase == cls, r.reason
    assert str(r) == cls and r.reason


def _accuracy(n):
    got = {cls: [htmp.phase(make(cls, seed=2000 + i, strength=(i + 0.5) / n)).phase
                 for i in range(n)] for cls in phases.PHASES}
    return {cls: np.mean([p == cls for p in v]) for cls, v in got.items()}, got


def test_held_out_accuracy_at_least_80_percent_per_class():
    # 5 seeded examples per class spread over each class's range (fits of heavy-tailed
    # spectra cost ~1 s each, so 10 per class is the slow test below)
    acc, got = _accuracy(5)
    assert all(a >= 0.8 for a in acc.values()), got


@pytest.mark.slow
def test_held_out_accuracy_10_per_class():
    acc, got = _accuracy(10)
    assert all(a >= 0.8 for a in acc.values()), got


BASE = dict(zero_fraction=0.0, top_share=0.1, n=300, n_pos=300, n_used=300, kappa=math.inf,
            kappa_lo=80.0, kappa_hi=math.inf, htmp_status="mp-like", mp_ks=0.01,
            htmp_ks=0.01, ks_crit=0.078, loglik_ratio=0.0, n_spikes=0, n_set_aside=0,
            max_gap_ratio=0.0, gamma=0.5)


def test_rules_fire_in_order_on_evidence():
    thr = phases._thresholds()
    decide = lambda **kw: phases._decide(dict(BASE, **kw), thr)[0]     # noqa: E731
    htmp_better = dict(kappa=10.0, kappa_lo=6.0, kappa_hi=15.0, htmp_status="ok",
                       loglik_ratio=thr["LLR_MIN"] + 1, htmp_ks=0.02, mp_ks=0.05)
    assert decide() == "random-like"
    assert decide(n_spikes=2, max_gap_ratio=2.0) == "bleeding-out"
    assert decide(n_spikes=2, max_gap_ratio=50.0) == "bulk+spikes"
    assert decide(**htmp_better) == "bulk-decay"
    assert decide(**dict(htmp_better, kappa=0.5, kappa_lo=0.4, kappa_hi=0.6)) == "heavy-tailed"
    assert decide(**dict(htmp_better, kappa=math.nan, htmp_status="at-lower-bound",
                         kappa_lo=0.0, kappa_hi=0.08)) == "heavy-tailed"
    # HTMP better but its KS above the critical value: no phase is claimed
    assert decide(**dict(htmp_better, htmp_ks=0.2, mp_ks=0.3)) == "unresolved"
    # likelihood better by the margin but KS worse: MP stands
    assert decide(**dict(htmp_better, htmp_ks=0.03, mp_ks=0.02)) == "random-like"
    # MP stands but does not fit: unresolved, whatever the spikes say
    assert decide(mp_ks=0.2, htmp_ks=0.2, n_spikes=3, max_gap_ratio=50) == "unresolved"
    # too few eigenvalues: the kappa evidence is ignored, MP rules only
    assert decide(**dict(htmp_better, n=12, n_pos=12, n_used=12)) == "random-like"
    assert decide(zero_fraction=0.5) == "rank-collapse"
    assert decide(top_share=0.99) == "rank-collapse"
    assert decide(top_share=0.99, n=40) == "random-like"        # the trace rule needs 50


@settings(max_examples=300, deadline=None)
@given(llr=st.floats(0, 1e4), ks_h=st.floats(0.001, 0.5), ks_mp=st.floats(0.001, 0.5),
       crit=st.floats(0.01, 0.4), kappa=st.floats(0.01, 1e3), spikes=st.integers(0, 20),
       gap=st.floats(0, 100), n=st.integers(3, 5000))
def test_a_label_never_contradicts_its_evidence(llr, ks_h, ks_mp, crit, kappa, spikes, gap, n):
    """Whatever the numbers: an HTMP label has HTMP better by the margin on likelihood and
    KS and within its critical KS; an MP label has MP within its critical KS and HTMP not
    better; the label that needs kappa is never given without a kappa fit."""
    thr = phases._thresholds()
    ev = dict(BASE, loglik_ratio=llr, htmp_ks=ks_h, mp_ks=ks_mp, ks_crit=crit, kappa=kappa,
              kappa_lo=kappa / 2, kappa_hi=kappa * 2, htmp_status="ok", n_spikes=spikes,
              max_gap_ratio=gap, n=n, n_pos=n, n_used=n)
    label, reason, quality = phases._decide(ev, thr)
    if label in ("bulk-decay", "heavy-tailed"):
        assert n >= thr["MIN_KAPPA_EVALS"] and llr >= thr["LLR_MIN"]
        assert ks_h < ks_mp and ks_h <= crit and quality == "good"
        assert (kappa < thr["KAPPA_HEAVY"]) == (label == "heavy-tailed")
    elif label in ("random-like", "bleeding-out", "bulk+spikes"):
        assert ks_mp <= crit and quality == "good"
        assert n < thr["MIN_KAPPA_EVALS"] or llr < thr["LLR_MIN"] or ks_h >= ks_mp
    else:
        assert label == "unresolved" and quality == "poor"
    assert reason


def test_bare_eigenvalues_agree_with_matrix_and_need_gamma():
    W = make("bulk+spikes", seed=3)
    r = htmp.esd(W)
    assert htmp.phase(r.eigenvalues, gamma=r.gamma).phase == htmp.phase(W).phase == "bulk+spikes"
    with pytest.raises(ValueError, match="gamma is required"):
        htmp.phase(r.eigenvalues)
