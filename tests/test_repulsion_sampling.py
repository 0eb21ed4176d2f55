"""Batched q_kappa sampler and T against plain reference implementations."""
import numpy as np
import pytest
from scipy import stats

from htmp.ensembles import beta_laguerre_eigvals
from htmp.repulsion import log_pair_sum, sample_q_kappa, statistic_t


def test_log_pair_sum_matches_double_loop():
    rng = np.random.default_rng(3)
    lam = rng.gamma(2.0, size=(4, 9))
    ref = [sum(np.log(abs(x[i] - x[j])) for i in range(9) for j in range(i + 1, 9)) for x in lam]
    np.testing.assert_allclose(log_pair_sum(lam), ref, rtol=1e-13)
    np.testing.assert_allclose(statistic_t(lam), np.asarray(ref) / 9, rtol=1e-13)
    # order of the entries does not matter (T is symmetric)
    np.testing.assert_allclose(log_pair_sum(rng.permuted(lam, axis=1)), ref, rtol=1e-13)


@pytest.mark.parametrize("kappa", [0.5, 8.0])
def test_batched_sampler_matches_ensembles_reference(kappa):
    """Same law as htmp.ensembles.beta_laguerre_eigvals (beta = kappa/N): KS on T and on lambda_max."""
    n, m = 16, 600
    fast = sample_q_kappa(m, n, kappa=kappa, alpha_l=1.0, rng=np.random.default_rng(1))
    rng = np.random.default_rng(2)
    ref = np.array([beta_laguerre_eigvals(n, beta=kappa / n, alpha=1.0, rng=rng) for _ in range(m)])
    assert np.all(np.diff(fast, axis=1) > 0)
    for f, r in [(statistic_t(fast), statistic_t(ref)), (fast[:, -1], ref[:, -1]), (fast[:, 0], ref[:, 0])]:
        assert stats.ks_2samp(f, r).pvalue > 1e-3


def test_sampler_mean_is_laguerre_trace():
    # E tr = sum_i E G_i + E H_i = N (alpha+1) + beta N (N-1)/2 (Dumitriu-Edelman model, exact)
    n, kappa, alpha = 20, 10.0, 1.0
    lam = sample_q_kappa(4000, n, kappa=kappa, alpha_l=alpha, rng=np.random.default_rng(0))
    expected = n * (alpha + 1) + (kappa / n) * n * (n - 1) / 2
    tr = lam.sum(axis=1)
    assert abs(tr.mean() - expected) < 4 * tr.std() / np.sqrt(tr.size)
