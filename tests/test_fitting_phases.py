"""htmp.phase: one clear-cut example per phase, and a seeded held-out accuracy check.

The generators mirror experiments/phase_calibration.py (which calibrated the thresholds
at N = 500-1000) at a smaller size, N = 300, M = 600 (gamma = 0.5), to keep the file fast;
the seeds here (1000+) were not used for calibration.
"""
import math

import numpy as np
import pytest

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


def test_rules_fire_in_order_on_evidence():
    thr = phases._thresholds()
    base = dict(zero_fraction=0.0, kappa=500.0, ks_htmp=0.02, ks_mp=0.01, n_spikes=0,
                max_gap_ratio=0.0, gamma=0.5)
    assert phases._decide(base, thr)[0] == "random-like"
    assert phases._decide(dict(base, n_spikes=2, max_gap_ratio=2.0), thr)[0] == "bleeding-out"
    assert phases._decide(dict(base, n_spikes=2, max_gap_ratio=50.0), thr)[0] == "bulk+spikes"
    assert phases._decide(dict(base, kappa=10.0), thr)[0] == "random-like"   # MP fits better
    assert phases._decide(dict(base, kappa=10.0, ks_htmp=0.005), thr)[0] == "bulk-decay"
    assert phases._decide(dict(base, kappa=0.5), thr)[0] == "heavy-tailed"
    assert phases._decide(dict(base, kappa=0.05), thr)[0] == "rank-collapse"
    assert phases._decide(dict(base, zero_fraction=0.5), thr)[0] == "rank-collapse"
    assert phases._decide(dict(base, kappa=math.nan, n_spikes=1, max_gap_ratio=1.0),
                          thr)[0] == "bleeding-out"


def test_bare_eigenvalues_agree_with_matrix_and_need_gamma():
    W = make("bulk+spikes", seed=3)
    r = htmp.esd(W)
    assert htmp.phase(r.eigenvalues, gamma=r.gamma).phase == htmp.phase(W).phase == "bulk+spikes"
    with pytest.raises(ValueError, match="gamma is required"):
        htmp.phase(r.eigenvalues)
