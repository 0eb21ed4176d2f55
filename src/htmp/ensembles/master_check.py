"""Numerical check of the Master Model (paper Prop 3.1 and eq. (3.3)) on entropic ridge regression.

The paper's activation-matrix example (Section 3.2, proof in App. C.2; the typeset formulas
are lost from our copy, so the constants below are our reconstruction, MATH.md section 5 [U]):

* coefficients Theta (p x m), features Phi (n x p), labels Y (n x m);
* loss ``L(Theta, Phi) = ||Y - Phi Theta||_F^2 + ridge ||Theta||_F^2``;
* coefficient prior ``pi_Theta = N(0, theta_scale^2)`` entrywise (``inf``: Lebesgue measure);
* feature prior ``pi_Phi = N(0, prior_scale^2)`` entrywise (``inf``: flat).

The Gaussian integral over Theta gives, with ``r = ridge + tau / (2 theta_scale^2)`` and
``M = r I_n + Phi Phi^T``,

    log Z_tau(Phi) = -(m/2) log det M - (r/tau) tr(Y^T M^{-1} Y) + const,

so Prop 3.1, ``q(Phi) ∝ Z_tau(Phi)^(tau/eta) pi_Phi(Phi)``, is the Master Model (3.2) in M with
``a = m tau / (2 eta)``, ``b = r / eta`` and ``Sigma = Y Y^T``.  The density of M *before*
training (the paper's pi(M)) is the push-forward of pi_Phi: for p >= n + 1 and a flat
pi_Phi it is ``det(M - r I)^((p-n-1)/2)``, which moves the exponent to
``a_flat = a - (p-n-1)/2``; the ensemble (4.1) with ``kappa = n`` (beta = 1) is then exact
up to the shift r.  :func:`exact_master_eigvals` samples the exact law of M (isotropic
labels) by rejection from that inverse-Wishart ensemble.

Also here: a plain HMC sampler with dual-averaging step size (:func:`hmc_chain`), split
R-hat (:func:`split_rhat`) and the multi-chain effective sample size (:func:`ess`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_param, check_positive_int

__all__ = [
    "RidgeFeatureModel",
    "isotropic_labels",
    "log_marginal_likelihood",
    "log_feature_density",
    "inverse_wishart_eigvals_dense",
    "exact_master_eigvals",
    "HMCChain",
    "hmc_chain",
    "split_rhat",
    "ess",
]


@dataclass(frozen=True)
class RidgeFeatureModel:
    """Entropic ridge regression on features (sizes, temperatures, priors); see module doc."""

    n: int
    p: int
    m: int
    ridge: float
    tau: float
    eta: float
    theta_scale: float = np.inf
    prior_scale: float = np.inf

    def __post_init__(self):
        for name in ("n", "p", "m"):
            check_positive_int(name, getattr(self, name))
        if self.p < self.n + 1:
            raise ValueError(f"p must be >= n + 1 = {self.n + 1} (full-rank Gram matrix with a "
                             f"push-forward density), got {self.p}")
        check_param("ridge", self.ridge, 0.0, np.inf, "right-open")
        check_param("tau", self.tau, 0.0)
        check_param("eta", self.eta, 0.0)
        for name in ("theta_scale", "prior_scale"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be in (0, inf] (inf: flat prior), got {value!r}")
        if not self.ridge_eff > 0:
            raise ValueError("ridge must be > 0 when theta_scale is inf (flat coefficient "
                             f"prior), got {self.ridge!r}")

    @property
    def ridge_eff(self) -> float:
        """``r = ridge + tau / (2 theta_scale^2)``: the shift in ``M = r I + Phi Phi^T``."""
        return float(self.ridge + self.tau / (2.0 * self.theta_scale ** 2))

    def master_parameters(self) -> dict[str, float]:
        """Master-Model constants: ``a``, ``b``, ``ridge_eff`` and, for a flat pi_Phi,
        ``jacobian_power = (p-n-1)/2``, ``a_flat = a - jacobian_power`` and the aspect ratio
        ``gamma = n / (2 a_flat - n)`` at which (4.1) with kappa = n targets InverseHTMP."""
        a = self.m * self.tau / (2.0 * self.eta)
        k = (self.p - self.n - 1) / 2.0
        a_flat = a - k
        return {"a": a, "b": self.ridge_eff / self.eta, "ridge_eff": self.ridge_eff,
                "jacobian_power": k, "a_flat": a_flat,
                "gamma": self.n / (2.0 * a_flat - self.n) if a_flat > self.n else np.nan}


def isotropic_labels(n: int, m: int, *, rng=None) -> np.ndarray:
    """Labels Y (n x m, m >= n) with ``Y Y^T = m I_n`` exactly: rows of a Haar matrix times sqrt(m)."""
    n, m = check_positive_int("n", n), check_positive_int("m", m)
    if m < n:
        raise ValueError(f"m must be >= n = {n} for Y Y^T = m I_n, got {m}")
    q, r = np.linalg.qr(np.random.default_rng(rng).standard_normal((m, m)))
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    return np.sqrt(m) * q[:n]


def _check_phi(model: RidgeFeatureModel, phi, y):
    phi, y = np.asarray(phi, float), np.asarray(y, float)
    if phi.shape != (model.n, model.p):
        raise ValueError(f"phi must have shape (n, p) = {(model.n, model.p)}, got {phi.shape}")
    if y.shape != (model.n, model.m):
        raise ValueError(f"y must have shape (n, m) = {(model.n, model.m)}, got {y.shape}")
    return phi, y


def log_marginal_likelihood(model: RidgeFeatureModel, phi, y) -> float:
    """Exact ``log Z_tau(Phi) = log E_{Theta ~ pi_Theta} exp(-L(Theta, Phi)/tau)``.

    With ``theta_scale = inf`` the expectation is the Lebesgue integral over Theta.
    Closed form (Gaussian integral, per output column, Sylvester's determinant identity):
    ``m [p/2 log(pi tau) - (p-n)/2 log r - p/2 log(2 pi theta_scale^2)]
    - m/2 log det M - (r/tau) tr(Y^T M^{-1} Y)``.
    """
    phi, y = _check_phi(model, phi, y)
    n, p, m, tau, r = model.n, model.p, model.m, model.tau, model.ridge_eff
    big_m = r * np.eye(n) + phi @ phi.T
    chol = np.linalg.cholesky(big_m)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    z = np.linalg.solve(chol, y)
    const = 0.5 * p * np.log(np.pi * tau) - 0.5 * (p - n) * np.log(r)
    if np.isfinite(model.theta_scale):
        const -= 0.5 * p * np.log(2.0 * np.pi * model.theta_scale ** 2)
    return float(m * const - 0.5 * m * logdet - (r / tau) * np.sum(z * z))


def log_feature_density(model: RidgeFeatureModel, phi, y) -> tuple[float, np.ndarray]:
    """Unnormalised ``log q(Phi) = (tau/eta) log Z_tau(Phi) + log pi_Phi(Phi)`` and its gradient.

    The value drops Phi-independent constants.  Gradient:
    ``-(m tau/eta) M^{-1} Phi + (2 r/eta) M^{-1} Y Y^T M^{-1} Phi - Phi / prior_scale^2``.
    """
    phi, y = _check_phi(model, phi, y)
    r, w = model.ridge_eff, model.tau / model.eta
    chol = np.linalg.cholesky(r * np.eye(model.n) + phi @ phi.T)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    chol_inv = np.linalg.inv(chol)              # n is small: one inverse beats two solves
    minv = chol_inv.T @ chol_inv
    minv_y, minv_phi = minv @ y, minv @ phi
    value = -0.5 * model.m * w * logdet - (r / model.eta) * np.sum(y * minv_y)
    grad = -model.m * w * minv_phi + (2.0 * r / model.eta) * (minv_y @ (minv_y.T @ phi))
    if np.isfinite(model.prior_scale):
        value -= 0.5 * np.sum(phi * phi) / model.prior_scale ** 2
        grad = grad - phi / model.prior_scale ** 2
    return float(value), grad


def inverse_wishart_eigvals_dense(n: int, *, a: float, b: float, size: int, rng=None) -> np.ndarray:
    """Eigenvalues (``size x n``, ascending) of dense inverse-Wishart matrices with density
    ``∝ det(M)^-a exp(-b tr M^-1)``, i.e. ``M = 2b W^-1``, W ~ Wishart(nu = 2a - n - 1, I) drawn
    by the Bartlett decomposition (any real nu > n - 1, i.e. a > n).  The reference that
    :func:`htmp.ensembles.inverse_wishart_eigvals` (kappa = n) must agree with."""
    n, size = check_positive_int("n", n), check_positive_int("size", size)
    check_param(f"a (a > n = {n})", a, float(n))
    check_param("b", b, 0.0)
    rng = np.random.default_rng(rng)
    nu = 2.0 * a - n - 1.0
    lower = np.tril(rng.standard_normal((size, n, n)), -1)
    idx = np.arange(n)
    lower[:, idx, idx] = np.sqrt(rng.chisquare(nu - idx, size=(size, n)))
    x = np.linalg.eigvalsh(lower @ np.swapaxes(lower, 1, 2))
    return (2.0 * b / x)[:, ::-1]


def exact_master_eigvals(model: RidgeFeatureModel, n_draws: int, *, label_scale: float,
                         rng=None, batch: int = 4096, max_proposals: int = 10 ** 8):
    """Exact draws of the eigenvalues of M under q, for isotropic labels ``Y Y^T = label_scale I``.

    Target density of M (``M > r I``): ``det(M)^-a exp(-b label_scale tr M^-1)
    det(M - r I)^k exp(-tr(M - r I)/(2 prior_scale^2))``, k = (p-n-1)/2.  Proposals: the
    inverse-Wishart ensemble with exponent ``a_flat = a - k`` (:func:`inverse_wishart_eigvals_dense`);
    acceptance probability ``prod_i (1 - r/mu_i)_+^k exp(-sum_i (mu_i - r)/(2 prior_scale^2)) <= 1``.
    Returns ``(eigvals (n_draws x n), acceptance rate)``.
    """
    n_draws = check_positive_int("n_draws", n_draws)
    check_param("label_scale", label_scale, 0.0)
    par = model.master_parameters()
    if not par["a_flat"] > model.n:
        raise ValueError(f"a - (p-n-1)/2 must be > n = {model.n} for a normalisable Master Model, "
                         f"got {par['a_flat']!r} (raise tau/eta or m, or lower p)")
    rng = np.random.default_rng(rng)
    r, k, out, tried = par["ridge_eff"], par["jacobian_power"], [], 0
    while sum(len(o) for o in out) < n_draws:
        if tried >= max_proposals:
            raise ValueError(f"max_proposals={max_proposals} reached with "
                             f"{sum(len(o) for o in out)} of n_draws={n_draws} accepted")
        mu = inverse_wishart_eigvals_dense(model.n, a=par["a_flat"], b=par["b"] * label_scale,
                                           size=batch, rng=rng)
        tried += batch
        inside = np.all(mu > r, axis=1)                 # support: M - r I positive definite
        with np.errstate(divide="ignore", invalid="ignore"):
            logw = np.where(inside, k * np.sum(np.log1p(-np.where(mu > r, r / mu, 0.0)), axis=1),
                            -np.inf)
        if np.isfinite(model.prior_scale):
            logw -= np.sum(mu - r, axis=1) / (2.0 * model.prior_scale ** 2)
        out.append(mu[np.log(rng.random(batch)) < logw])
    draws = np.concatenate(out)
    return draws[:n_draws], len(draws) / tried


@dataclass(frozen=True)
class HMCChain:
    """One HMC chain: ``records`` (n_samples x d), acceptance rate after warm-up, final step."""

    records: np.ndarray
    accept_rate: float
    step: float


def _leapfrog(logp_grad, x, g, mom, step, n_leapfrog):
    mom = mom + 0.5 * step * g
    for i in range(n_leapfrog):
        x = x + step * mom
        lp, g = logp_grad(x)
        if not np.isfinite(lp):
            return x, g, mom, -np.inf
        mom = mom + (step if i < n_leapfrog - 1 else 0.5 * step) * g
    return x, g, mom, lp


def hmc_chain(logp_grad, x0, *, n_warmup: int, n_samples: int, n_leapfrog: int, record,
              rng=None, step0: float = 0.01, target_accept: float = 0.8) -> HMCChain:
    """Hamiltonian Monte Carlo with unit mass matrix; each iteration draws its number of
    leapfrog steps uniformly from ``ceil(n_leapfrog/2) .. n_leapfrog`` and jitters the step
    by +-10 % (a fixed trajectory length can resonate with a Gaussian direction and flip it
    instead of mixing it: seen with 5 steps on a 2-D Gaussian, variance 1.57 for 2.0).

    During the ``n_warmup`` iterations the step follows Nesterov dual averaging (Hoffman &
    Gelman 2014, constants gamma = 0.05, t0 = 10, kappa = 0.75) towards ``target_accept``;
    then it is frozen at the averaged value.  ``logp_grad(x) -> (log density, gradient)``
    (``-inf`` or a ``LinAlgError`` rejects); ``record(x)`` maps a state to the vector kept.
    """
    check_positive_int("n_samples", n_samples)
    check_positive_int("n_leapfrog", n_leapfrog)
    check_param("target_accept", target_accept, 0.0, 1.0)
    rng = np.random.default_rng(rng)
    x = np.array(x0, float)
    lp, g = logp_grad(x)
    log_step, log_bar, hbar, mu = np.log(step0), 0.0, 0.0, np.log(10.0 * step0)
    recs, accepted = [], 0
    for it in range(n_warmup + n_samples):
        step = np.exp(log_step if it < n_warmup else log_bar) * rng.uniform(0.9, 1.1)
        mom = rng.standard_normal(x.shape)
        h0 = lp - 0.5 * np.sum(mom * mom)
        try:
            n_steps = int(rng.integers((n_leapfrog + 1) // 2, n_leapfrog + 1))
            x1, g1, mom1, lp1 = _leapfrog(logp_grad, x, g, mom, step, n_steps)
        except np.linalg.LinAlgError:
            lp1 = -np.inf
        log_ratio = lp1 - 0.5 * np.sum(mom1 * mom1) - h0 if np.isfinite(lp1) else -np.inf
        acc = float(np.exp(min(0.0, log_ratio))) if np.isfinite(log_ratio) else 0.0
        if np.log(rng.random()) < log_ratio:
            x, lp, g = x1, lp1, g1
            accepted += it >= n_warmup
        if it < n_warmup:
            t = it + 1
            hbar = (1 - 1 / (t + 10)) * hbar + (target_accept - acc) / (t + 10)
            log_step = mu - np.sqrt(t) / 0.05 * hbar
            w = t ** -0.75
            log_bar = w * log_step + (1 - w) * log_bar
        else:
            recs.append(record(x))
    return HMCChain(np.array(recs), accepted / n_samples, float(np.exp(log_bar)))


def _chains(x, name="chains", min_len=4):
    x = np.asarray(x, float)
    if x.ndim != 2 or x.shape[1] < min_len:
        raise ValueError(f"{name} must be a 2-D array (n_chains, n_draws) with n_draws >= "
                         f"{min_len}, got shape {x.shape}")
    return x


def split_rhat(chains) -> float:
    """Split R-hat (Gelman et al., BDA3 section 11.4) of a scalar: chains (n_chains, n_draws)."""
    x = _chains(chains)
    half = x.shape[1] // 2
    x = np.concatenate([x[:, :half], x[:, half:2 * half]])
    w = np.mean(np.var(x, axis=1, ddof=1))
    b = half * np.var(np.mean(x, axis=1), ddof=1)
    return float(np.sqrt(((half - 1) / half * w + b / half) / w))


def ess(chains) -> float:
    """Multi-chain effective sample size (BDA3 section 11.5; Geyer's initial monotone
    sequence on the combined autocorrelation).  chains: (n_chains, n_draws)."""
    x = _chains(chains)
    c, s = x.shape
    xc = x - x.mean(axis=1, keepdims=True)
    f = np.fft.rfft(xc, n=2 * s, axis=1)
    acov = np.fft.irfft(f * np.conj(f), axis=1)[:, :s] / s
    w = np.mean(acov[:, 0] * s / (s - 1))
    var_plus = (s - 1) / s * w + np.var(x.mean(axis=1), ddof=1)
    rho = 1.0 - (w - acov.mean(axis=0)) / var_plus
    pairs = rho[: s - s % 2].reshape(-1, 2).sum(axis=1)
    keep = np.argmax(pairs <= 0) if np.any(pairs <= 0) else len(pairs)
    pairs = np.minimum.accumulate(pairs[:keep])
    tau = -1.0 + 2.0 * np.sum(pairs)
    return float(c * s / max(tau, 1.0 / np.log10(c * s)))
