"""Master-model check (htmp.ensembles.master_check) and experiments/master_model.py --quick."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from htmp.ensembles import inverse_wishart_eigvals
from htmp.ensembles.master_check import (RidgeFeatureModel, ess, exact_master_eigvals, hmc_chain,
                                         inverse_wishart_eigvals_dense, isotropic_labels,
                                         log_feature_density, log_marginal_likelihood, split_rhat)

EXP = Path(__file__).resolve().parents[1] / "experiments"


def _model(**kw):
    base = dict(n=4, p=7, m=5, ridge=0.3, tau=0.7, eta=0.5, theta_scale=1.3, prior_scale=2.0)
    return RidgeFeatureModel(**{**base, **kw})


@pytest.mark.parametrize("theta_scale", [1.3, np.inf])
def test_log_marginal_likelihood_matches_quadrature(theta_scale):
    # reference: scipy dblquad of E_{Theta ~ N(0, s^2)} exp(-L/tau) (or the Lebesgue integral)
    rng = np.random.default_rng(0)
    model = RidgeFeatureModel(n=1, p=2, m=1, ridge=0.3, tau=0.7, eta=0.5, theta_scale=theta_scale)
    phi, y = rng.standard_normal((1, 2)), rng.standard_normal((1, 1))

    def integrand(t2, t1):
        th = np.array([t1, t2])
        loss = (y[0, 0] - phi[0] @ th) ** 2 + 0.3 * th @ th
        if np.isinf(theta_scale):
            return np.exp(-loss / 0.7)
        return np.exp(-loss / 0.7 - th @ th / (2 * 1.3 ** 2)) / (2 * np.pi * 1.3 ** 2)

    value, _ = integrate.dblquad(integrand, -30, 30, -30, 30, epsabs=1e-13, epsrel=1e-11)
    assert log_marginal_likelihood(model, phi, y) == pytest.approx(np.log(value), abs=1e-9)


def test_feature_density_is_prop_3_1_and_gradient_matches_differences():
    rng = np.random.default_rng(1)
    model = _model()
    phi, phi2, y = rng.standard_normal((4, 7)), rng.standard_normal((4, 7)), rng.standard_normal((4, 5))
    # log q = (tau/eta) log Z - |Phi|^2 / (2 prior_scale^2) + const
    lhs = log_feature_density(model, phi, y)[0] - log_feature_density(model, phi2, y)[0]
    rhs = (0.7 / 0.5 * (log_marginal_likelihood(model, phi, y) - log_marginal_likelihood(model, phi2, y))
           - (np.sum(phi ** 2) - np.sum(phi2 ** 2)) / 8.0)
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-10)
    grad = log_feature_density(model, phi, y)[1]
    h, fd = 1e-6, np.zeros_like(phi)
    for idx in np.ndindex(phi.shape):
        e = np.zeros_like(phi)
        e[idx] = h
        fd[idx] = (log_feature_density(model, phi + e, y)[0]
                   - log_feature_density(model, phi - e, y)[0]) / (2 * h)
    assert np.max(np.abs(fd - grad)) < 1e-7 * np.max(np.abs(grad))


def test_prop_3_1_on_finite_spaces():
    # Prop 3.1 by direct minimisation (scipy, softmax logits) on 6 coefficient x 5 feature values:
    # smin_Theta = -tau log Z_tau, and argsmin_Phi of it is proportional to Z_tau^(tau/eta) pi_Phi
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax
    rng = np.random.default_rng(10)
    loss = rng.uniform(0, 3, (6, 5))
    pi_t, pi_f, tau, eta = softmax(rng.standard_normal(6)), softmax(rng.standard_normal(5)), 0.7, 0.3

    def smin(f, prior, temp):
        obj = lambda z: softmax(z) @ f + temp * softmax(z) @ np.log(softmax(z) / prior)
        res = minimize(obj, np.zeros(len(f)), method="BFGS", options={"gtol": 1e-12})
        return res.fun, softmax(res.x)

    inner = np.array([smin(loss[:, j], pi_t, tau)[0] for j in range(5)])
    log_z = logsumexp(-loss / tau, b=pi_t[:, None], axis=0)
    np.testing.assert_allclose(inner, -tau * log_z, atol=1e-7)
    q = smin(inner, pi_f, eta)[1]
    np.testing.assert_allclose(q, softmax(tau / eta * log_z + np.log(pi_f)), atol=1e-5)


def test_master_parameters():
    par = RidgeFeatureModel(n=20, p=40, m=40, ridge=1.0, tau=0.05, eta=0.025,
                            theta_scale=1.0).master_parameters()
    # a = m tau/(2 eta), b = (ridge + tau/(2 theta^2))/eta, a_flat = a - (p-n-1)/2
    assert par["a"] == pytest.approx(40.0) and par["b"] == pytest.approx(1.025 / 0.025)
    assert par["a_flat"] == pytest.approx(30.5) and par["gamma"] == pytest.approx(20 / 41)


def test_isotropic_labels():
    y = isotropic_labels(5, 9, rng=3)
    np.testing.assert_allclose(y @ y.T, 9 * np.eye(5), atol=1e-12)


def test_dense_inverse_wishart_agrees_with_library_sampler():
    # largest eigenvalues are independent across draws: a valid two-sample KS
    dense = inverse_wishart_eigvals_dense(6, a=9.5, b=3.0, size=3000, rng=4)
    lib = np.array([inverse_wishart_eigvals(6, a=9.5, b=3.0, kappa=6, rng=r)
                    for r in np.random.default_rng(5).spawn(3000)])
    assert stats.ks_2samp(dense[:, -1], lib[:, -1]).pvalue > 1e-3
    # E tr M^-1 = n nu / (2b), nu = 2a - n - 1 (Wishart mean); 5 standard errors
    tr = np.sum(1.0 / dense, axis=1)
    assert abs(tr.mean() - 6 * 12 / 6.0) < 5 * tr.std() / np.sqrt(tr.size)


def test_exact_sampler_one_by_one_matches_quadrature():
    # n = 1: density of mu on (r, inf) is mu^-a e^{-b c/mu} (mu - r)^k e^{-(mu - r)/(2 s^2)}
    model = RidgeFeatureModel(n=1, p=4, m=8, ridge=0.5, tau=0.5, eta=0.5, theta_scale=np.inf,
                              prior_scale=3.0)
    par = model.master_parameters()
    a, bc, k, r = par["a"], par["b"] * 8, par["jacobian_power"], par["ridge_eff"]
    mu, acc = exact_master_eigvals(model, 3000, label_scale=8, rng=6)
    assert 0 < acc < 1
    dens = lambda t: t ** -a * np.exp(-bc / t) * (t - r) ** k * np.exp(-(t - r) / 18.0)
    total = integrate.quad(dens, r, np.inf, limit=200)[0]
    cdf = np.vectorize(lambda t: integrate.quad(dens, r, t, limit=200)[0] / total)
    assert stats.kstest(mu[:, 0], cdf).pvalue > 1e-3


def test_exact_sampler_without_jacobian_or_prior_is_the_truncated_inverse_wishart():
    # p = n + 1 and a flat prior: the target is the inverse-Wishart restricted to M > r I, so
    # the acceptance rate is P(mu_min > r) under the proposal, estimated here independently
    model = RidgeFeatureModel(n=3, p=4, m=10, ridge=0.05, tau=1.0, eta=1.0, theta_scale=np.inf)
    par = model.master_parameters()
    mu, acc = exact_master_eigvals(model, 2000, label_scale=10, rng=7)
    assert np.all(mu > par["ridge_eff"])
    prop = inverse_wishart_eigvals_dense(3, a=par["a_flat"], b=par["b"] * 10, size=20000, rng=8)
    p_in = np.mean(prop[:, 0] > par["ridge_eff"])
    assert 0.5 < p_in < 0.99
    assert abs(acc - p_in) < 5 * np.sqrt(p_in * (1 - p_in) / 2000)


def test_hmc_on_a_gaussian_and_diagnostics():
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    prec = np.linalg.inv(cov)
    rng = np.random.default_rng(8)
    chains = [hmc_chain(lambda x: (-0.5 * x @ prec @ x, -prec @ x), x0, n_warmup=200,
                        n_samples=1500, n_leapfrog=5, record=lambda x: x.copy(), rng=r)
              for x0, r in zip([[-5, 5], [5, -5], [0, 8], [3, 3]], rng.spawn(4))]
    x = np.concatenate([c.records for c in chains])
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.25)
    first = np.array([c.records[:, 0] for c in chains])
    assert split_rhat(first) < 1.02 and ess(first) > 1000
    assert all(0.6 < c.accept_rate < 0.98 for c in chains)


def test_rhat_and_ess_on_known_processes():
    rng = np.random.default_rng(9)
    iid = rng.standard_normal((4, 4000))
    assert ess(iid) == pytest.approx(16000, rel=0.1) and split_rhat(iid) < 1.01
    ar = np.zeros((4, 4000))
    for t in range(1, 4000):
        ar[:, t] = 0.9 * ar[:, t - 1] + rng.standard_normal(4)
    assert ess(ar) == pytest.approx(16000 * 0.1 / 1.9, rel=0.25)   # AR(1): N (1-phi)/(1+phi)
    shifted = iid + np.array([0.0, 0.0, 0.0, 2.0])[:, None]
    assert split_rhat(shifted) > 1.2


@pytest.mark.parametrize("kwargs, match", [
    (dict(p=4), r"p must be >= n \+ 1 = 5.*got 4"),
    (dict(prior_scale=0.0), r"prior_scale must be in \(0, inf\].*got 0.0"),
    (dict(tau=-1.0), r"tau must be finite and in \(0, inf\), got -1.0"),
    (dict(ridge=0.0, theta_scale=np.inf), r"ridge must be > 0 when theta_scale is inf"),
])
def test_model_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _model(**kwargs)


def test_other_errors():
    model = _model()
    with pytest.raises(ValueError, match=r"m must be >= n = 5 for Y Y\^T = m I_n, got 3"):
        isotropic_labels(5, 3)
    with pytest.raises(ValueError, match=r"phi must have shape \(n, p\) = \(4, 7\), got \(7, 4\)"):
        log_feature_density(model, np.ones((7, 4)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"chains must be a 2-D array .* got shape \(10,\)"):
        split_rhat(np.ones(10))
    with pytest.raises(ValueError, match=r"a - \(p-n-1\)/2 must be > n = 4 .* got 0.0"):
        exact_master_eigvals(_model(m=2, tau=0.5), 10, label_scale=1.0)


def _load():
    spec = importlib.util.spec_from_file_location("master_model", EXP / "master_model.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["master_model"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_quick_experiment_runs_and_mcmc_matches_exact(tmp_path):
    _load().main(["--quick", "--out", str(tmp_path)])
    ks = pd.read_csv(tmp_path / "ks.csv")
    diag = pd.read_csv(tmp_path / "diagnostics.csv")
    summary = json.loads((tmp_path / "results.json").read_text())
    assert summary["mode"] == "quick" and len(summary["cases"]) == 2
    assert (diag.rhat < 1.1).all() and (diag.ess > 30).all()
    row = lambda case, ref: ks[(ks.case == case) & (ks["sample"] == "mcmc")
                               & (ks.reference == ref)].iloc[0]
    for case in ("flat", "gaussian"):
        # HMC on q(Phi) and the exact master model: within the 95% noise floor (x 1.5 margin)
        assert row(case, "exact").ks < 1.5 * row(case, "exact").floor95
        # the exponent without the Jacobian (p-n-1)/2 is far off
        assert row(case, "iw_naive").ks > 2 * row(case, "iw_naive").floor95
    for name in ("master_spectrum", "master_law", "master_traces"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
