"""Algorithm 1: the stochastic fixed-point iteration for kappa* = F(kappa*) (MATH.md 6.2).

``F(kappa) = Cov_q(log V, T) / Var_q(T)`` under q_kappa (the OLS slope of log V on T, (G.5)).
Each step draws ``n_samples`` spectra from q_{kappa_t} (:func:`sample_q_kappa`), gives each an
independent uniformly random labelling, computes the slope ``F_hat`` and moves
``kappa_{t+1} = (1 - eta) kappa_t + eta F_hat`` (G.6).  The estimate is the mean of ``F_hat_t``
over the second half of the steps.  MATH.md reports the mean of the second-half *iterates*; the
two differ by ``(kappa_end - kappa_mid) / (eta T_half)`` (telescoping (G.6)), i.e. by the
deterministic transient from kappa_0, which the F_hat mean does not carry (for the symmetric
class F_hat = N exactly, and the iterate mean started at kappa_0 = 1 gives 31.9999 at N = 32).
The iterate mean is kept as ``iterate_mean``.

Rao-Blackwell (MATH.md 6.2): averaging log V over labellings of a fixed spectrum gives exactly
``(2|P|/(N-1)) T`` for the product forms, so their only Monte Carlo noise is the labelling.
We average log V over ``n_labellings`` independent labellings per spectrum, which divides that
noise variance by ``n_labellings`` (for diagonal/symmetric V does not depend on the labelling
and one is used).  For (b) and (d) the remaining noise comes from the spectra themselves.

Standard error (Prop G.5): near the fixed point the iterates are a linear AR(1) process
``kappa_{t+1} - kappa* = (1 - eta)(kappa_t - kappa*) + eta (F_hat_t - kappa*)``; summing over
the second half gives ``mean(kappa) = mean(F_hat) + O(1/(eta T))``, and the ``F_hat_t`` are
independent given the path (fresh samples each step).  With ``F`` locally flat (exactly so for
product forms, and |F'| small for (b), (d) in our runs) the variance of the mean is
``mean(s_t^2) / T_half`` where ``s_t`` is the OLS standard error of the slope at step t.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_param
from ..fitting import FitResult
from .closed_form import kappa_closed_form
from .sampling import sample_q_kappa, statistic_t
from .structures import LABEL_INVARIANT, PRODUCT_FORMS, make_structure, normalise_name

__all__ = ["KappaEstimate", "estimate_kappa", "slope_estimate", "check_work", "KAPPA_FLOOR",
           "MAX_N", "MAX_SAMPLES", "MAX_ITER", "MAX_VALUES", "MAX_PAIR_TERMS"]

#: smallest kappa used for sampling q_kappa (beta = kappa/N must be > 0); the iterate itself
#: is not clipped, so kappa* = 0 (diagonal) is reached exactly when started at 0.
KAPPA_FLOOR = 1e-6

# Work limits of estimate_kappa, checked before anything is allocated.  One step holds a
# few arrays of n_samples * n values and one of n_samples * n_labellings * n (the labelled
# copies; n_labellings counts as 1 for the label-invariant classes diagonal and symmetric),
# and costs about n^2 / 2 log-differences per spectrum (the statistic T).  Measured on one
# core: block_diagonal at n = 4096, n_samples = 256, 32 labellings (2^25 values) peaks at
# 1.4 GB resident and takes about 2 minutes a step; symmetric at n = 2048, n_samples = 400
# runs about 2e7 pair terms of T a second (T and log V together), so MAX_PAIR_TERMS is
# about 1.5 hours.  To go further, set these module constants
# (htmp.repulsion.fixed_point.MAX_...) before calling estimate_kappa.
#: largest matrix size n
MAX_N = 4096
#: largest n_samples (spectra per step)
MAX_SAMPLES = 100_000
#: largest n_iter (steps)
MAX_ITER = 10_000
#: largest n * n_samples * n_labellings of one step (8 bytes each; 2^25 values = 256 MiB)
MAX_VALUES = 2 ** 25
#: largest n * (n - 1) / 2 * n_samples * n_iter (pair terms of T over the run)
MAX_PAIR_TERMS = 10 ** 11
#: default n_labellings of estimate_kappa
N_LABELLINGS = 32


@dataclass(frozen=True)
class KappaEstimate(FitResult):
    """Result of :func:`estimate_kappa` (frozen; ``to_dict`` as every htmp result).

    ``kappa`` is the mean of ``slopes`` (F_hat_t) over the second half of the steps,
    ``iterate_mean`` the mean of the second half of ``iterates`` (``iterates[0]`` is kappa_0),
    ``kappa_se`` its CLT standard error (the name HTMPFit uses), ``slopes`` / ``slope_se`` the
    per-step F_hat and their OLS standard errors, ``kappa_closed`` the Prop G.1 / Thm G.3 value (None for (b), (d)),
    ``kappa_count`` the heuristic ``2|P|/(N-1)``.  ``converged`` is True when the means of the
    third and fourth quarters of the iterates agree within 3 standard errors.
    """

    structure: str
    n: int
    params: dict
    alpha_l: float
    kappa: float
    kappa_se: float
    iterate_mean: float
    iterates: np.ndarray
    slopes: np.ndarray
    slope_se: np.ndarray
    n_samples: int
    n_labellings: int
    n_iter: int
    eta: float
    converged: bool
    kappa_closed: float | None
    kappa_count: float

    def __post_init__(self) -> None:
        for name in ("iterates", "slopes", "slope_se"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "params", dict(self.params))

    def to_frame(self):
        """One row per step: ``t, kappa_t, F_hat_t`` and the standard error of F_hat_t (pandas
        DataFrame; the per-step view, where other results give one row)."""
        import pandas as pd

        t = np.arange(self.n_iter)
        return pd.DataFrame({"t": t, "kappa": self.iterates[:-1], "F_hat": self.slopes,
                             "F_hat_se": self.slope_se})


def slope_estimate(t_stat: np.ndarray, log_v: np.ndarray) -> tuple[float, float]:
    """OLS slope of log V on T and its standard error ((G.5)); (0, 0) when log V is constant."""
    tc = t_stat - t_stat.mean()
    vc = log_v - log_v.mean()
    sxx = float(tc @ tc)
    if sxx <= 0.0:
        raise ValueError("Var(T) is zero in the sample; increase n_samples")
    slope = float(tc @ vc) / sxx
    resid = vc - slope * tc
    dof = max(1, t_stat.size - 2)
    se = float(np.sqrt(max(float(resid @ resid), 0.0) / dof / sxx))
    return slope, se


def _mean_log_weyl(spec, lam: np.ndarray, n_labellings: int, rng) -> np.ndarray:
    """log V averaged over ``n_labellings`` independent uniform labellings of each row."""
    rep = np.broadcast_to(lam[:, None, :], (lam.shape[0], n_labellings, lam.shape[1]))
    labelled = rng.permuted(rep, axis=-1)
    return np.asarray(spec.log_weyl(labelled), dtype=float).mean(axis=1)


def _converged(half: np.ndarray, stderr: float) -> bool:
    """Means of the two quarters of the second half agree within 3 s.e. (+ 1e-3 max(1, |kappa|))."""
    if half.size < 2:
        return False
    q = half.size // 2
    gap = abs(half[:q].mean() - half[q:].mean())
    se_gap = stderr * np.sqrt(half.size / q + half.size / (half.size - q))
    return bool(gap <= 3.0 * se_gap + 1e-3 * max(1.0, abs(half.mean())))


def _check_int(name: str, value, low: int, high: int | None = None,
               limit: str = "") -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__") or int(value) < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if high is not None and int(value) > high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}] "
                         f"(htmp.repulsion.fixed_point.{limit}), got {value!r}")
    return int(value)


def check_work(n: int, n_samples: int, n_iter: int, n_labellings: int) -> None:
    """Raise ValueError when one step would hold more than ``MAX_VALUES`` values or the run
    would cost more than ``MAX_PAIR_TERMS`` pair terms (``n_labellings``: the number used,
    1 for diagonal and symmetric)."""
    values = n * n_samples * n_labellings
    if values > MAX_VALUES:
        raise ValueError(f"n * n_samples * n_labellings must be <= {MAX_VALUES} "
                         f"(htmp.repulsion.fixed_point.MAX_VALUES, 8 bytes each), got "
                         f"{n} * {n_samples} * {n_labellings} = {values}")
    pairs = n * (n - 1) // 2 * n_samples * n_iter
    if pairs > MAX_PAIR_TERMS:
        raise ValueError(f"n * (n - 1) / 2 * n_samples * n_iter must be <= "
                         f"{MAX_PAIR_TERMS:.0e} (htmp.repulsion.fixed_point.MAX_PAIR_TERMS), "
                         f"got {pairs:.3g} "
                         f"(n={n}, n_samples={n_samples}, n_iter={n_iter})")


def estimate_kappa(structure, *, n, rng=None, alpha_l: float = 1.0, n_samples: int = 400,
                   n_iter: int = 30, eta: float = 0.5, kappa0: float | None = None,
                   n_labellings: int = N_LABELLINGS, **structure_params) -> KappaEstimate:
    """Variational kappa* of a matrix structure by the stochastic fixed point (Algorithm 1).

    Parameters
    ----------
    structure : one of ``diagonal, commuting_block_diagonal, block_diagonal, kronecker,
        symmetric, free_eigenvectors`` (see :mod:`htmp.repulsion.structures`).
    n : int >= 2, the matrix size N.
    rng : seed or Generator for ``numpy.random.default_rng``.
    alpha_l : Laguerre shape alpha_L > -1 of the weight ``x^alpha_L e^-x`` (default 1, as in
        MATH.md 6.2).
    n_samples : spectra per step (>= 3); n_iter : steps (>= 2); eta : step size in (0, 1].
    kappa0 : starting point >= 0; default the count heuristic ``2|P|/(N-1)``.
    n_labellings : random labellings averaged per spectrum (Rao-Blackwell, >= 1).
    Work limits, checked before any sampling (ValueError naming the argument and the bound):
    ``n <= MAX_N``, ``n_samples <= MAX_SAMPLES``, ``n_iter <= MAX_ITER``,
    ``n * n_samples * n_labellings <= MAX_VALUES`` (memory of one step) and
    ``n(n-1)/2 * n_samples * n_iter <= MAX_PAIR_TERMS`` (time); module constants.
    **structure_params : ``block_size=`` (b, c), ``factor_sizes=(m, d)`` (d), ``k=`` (f).

    q_kappa is sampled at ``max(kappa_t, KAPPA_FLOOR)``; for the diagonal class log V = 0, so
    every F_hat is 0 and the iterates decay geometrically to 0.
    """
    name = normalise_name(structure)
    spec = make_structure(name, n=n, **structure_params)
    n = _check_int("n", n, 2, MAX_N, "MAX_N")
    alpha_l = float(check_param("alpha_l", alpha_l, -1.0))
    eta = float(check_param("eta", eta, 0.0, 1.0, interval="left-open"))
    n_samples = _check_int("n_samples", n_samples, 3, MAX_SAMPLES, "MAX_SAMPLES")
    n_iter = _check_int("n_iter", n_iter, 2, MAX_ITER, "MAX_ITER")
    n_labellings = _check_int("n_labellings", n_labellings, 1)
    check_work(n, n_samples, n_iter, 1 if name in LABEL_INVARIANT else n_labellings)
    count = float(spec.kappa_count(n))
    kappa = count if kappa0 is None else float(check_param("kappa0", kappa0, 0.0, interval="right-open"))
    rng = np.random.default_rng(rng)
    n_lab = 1 if name in LABEL_INVARIANT else n_labellings

    iterates = [kappa]
    slopes, ses = [], []
    for _ in range(n_iter):
        lam = sample_q_kappa(n_samples, n, kappa=max(kappa, KAPPA_FLOOR), alpha_l=alpha_l, rng=rng)
        t_stat = statistic_t(lam)
        log_v = _mean_log_weyl(spec, lam, n_lab, rng)
        slope, se = slope_estimate(t_stat, log_v)
        kappa = (1.0 - eta) * kappa + eta * slope
        iterates.append(kappa)
        slopes.append(slope)
        ses.append(se)

    ses_arr = np.asarray(ses)
    half = np.asarray(iterates[1:])[n_iter // 2:]
    t_half = half.size
    late = np.asarray(slopes)[n_iter // 2:]
    estimate = float(late.mean())
    stderr = float(np.sqrt(np.mean(ses_arr[n_iter // 2:] ** 2) / t_half))
    converged = _converged(half, stderr)
    params = {k: (tuple(v) if isinstance(v, (list, tuple)) else v)
              for k, v in structure_params.items() if v is not None}
    closed = kappa_closed_form(name, n=n, **params) if name in PRODUCT_FORMS else None
    return KappaEstimate(structure=name, n=n, params=params, alpha_l=alpha_l, kappa=estimate,
                         kappa_se=stderr, iterate_mean=float(half.mean()), iterates=np.asarray(iterates), slopes=np.asarray(slopes),
                         slope_se=ses_arr, n_samples=n_samples, n_labellings=n_lab,
                         n_iter=n_iter, eta=eta, converged=converged, kappa_closed=closed,
                         kappa_count=count)
