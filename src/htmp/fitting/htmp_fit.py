"""Maximum-likelihood fits of HTMP(gamma, kappa, scale) and InverseHTMP to a spectrum.

The eigenvalues are treated as an iid sample (a pseudo-likelihood: eigenvalues of one
matrix repel each other, so intervals from this likelihood are nominal; measured, the
spread of kappa-hat sits at or below the iid Cramer-Rao bound, docs/fitting.md).

* gamma: the finite-N value ``gamma_eff = N / (M + 1)`` (``finite_n=True``, the default):
  the beta-Laguerre weight has exponent (beta/2)(M - N + 1) - 1 with beta = kappa/N, which
  is HTMP's alpha = kappa (1 - gamma)/(2 gamma) - 1 at gamma = N/(M+1).  It is defined for
  square matrices (N = M), where gamma = N/M = 1 is not.  ``finite_n=False`` uses N/M.
* The scale is profiled out (:class:`~htmp.fitting._profile.Profile`); numerically zero
  eigenvalues are censored at the zero tolerance, set-aside spikes truncate the law.
* kappa: the maximum of the profile likelihood on a lattice in u = log kappa, started at
  the moment estimate, then one point on the fine grid (0.02) at the parabola's vertex
  (:mod:`._kappa_search`, which also finds the interval).
  The search runs on [kappa_min, kappa_max]; kappa_max defaults to :func:`kappa_mp`, the
  largest kappa an n-eigenvalue spectrum can tell from Marchenko-Pastur.
* Result at a search end: at kappa_max the likelihood is flat towards MP (the kappa -> inf
  limit): ``kappa = inf``, status "mp-like", ``kappa_lo`` its lower 95 % limit.  At
  kappa_min: ``kappa = nan``, status "at-lower-bound", ``kappa_hi`` its upper limit.
* Interval: the nominal 95 % profile-likelihood interval {kappa : l(kappa) >= l_max - 1.92}
  (``kappa_hi = inf`` when it reaches kappa_max: MP is not excluded).
* Spikes (:func:`fit_htmp` alone): after a fit, eigenvalues beyond the law's
  ``isf(spike_level / n)`` are set aside, the law is truncated between the kept and the
  set-aside eigenvalues and the fit is repeated (at most ``max_rounds`` rounds, at most 5 %
  of n).  :func:`htmp.fitting.compare_mp_htmp` instead fits MP and HTMP on one common set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..laws import HTMP, InverseHTMP
from ..laws.tables import KAPPA_MAX
from ._kappa_search import LR95, fit_profile, profile_interval
from ._profile import FINE, Profile
from ._results import FitResult, degenerate_note, fit_quality, ks_statistic
from ._spectrum import resolve

__all__ = ["HTMPFit", "fit_htmp", "fit_inverse_htmp", "kappa_mp", "KAPPA_MIN", "LR95"]

KAPPA_MIN = 0.05
_MP_FLOOR, _MP_CAP = 50.0, 1000.0


def kappa_mp(n: int) -> float:
    """The kappa that stands for Marchenko-Pastur (kappa -> inf) with n eigenvalues: n,
    clipped to [50, 1000] and put on the fit's log-kappa grid.

    On Wishart spectra the log-likelihood of HTMP(kappa) falls short of MP's by about
    0.6-0.9 n / kappa (measured at n = 256-1000, docs/phases.md), so at kappa = n the two
    differ by < 1 nat, below the 1.92 of a 95 % likelihood-ratio test: no n-eigenvalue
    spectrum can tell them apart.  Above 1000 (n > 1000) the table of the law costs
    ~0.1 ms per unit of kappa to build; there the comparison is with HTMP(1000).
    """
    k = min(max(float(n), _MP_FLOOR), _MP_CAP)
    return math.exp(round(math.log(k) / FINE) * FINE)


@dataclass(frozen=True)
class HTMPFit(FitResult):
    """Result of :func:`fit_htmp` / :func:`fit_inverse_htmp`.

    ``kappa``: the estimate; ``inf`` when the likelihood keeps rising to ``kappa_max``
    (status "mp-like"), ``nan`` at ``kappa_min`` (status "at-lower-bound") or when the
    fit failed.  ``kappa_lo``/``kappa_hi``: nominal 95 % profile-likelihood interval
    (``kappa_hi = inf``: MP is not excluded).  ``kappa_fit``: the grid point whose
    ``scale``, ``loglik`` and ``ks`` are reported (within 1 % of kappa when finite).
    ``loglik_mp``: the profile log-likelihood at ``kappa_max``.  ``gamma``: the law's
    aspect ratio (``gamma_eff = N/(M+1)`` unless ``finite_n=False``).
    ``status``: "ok", "mp-like", "at-lower-bound", "max-iter" (the search stopped at
    its cap; the values are the best point found) or "failed" (``message`` says why: a
    likelihood that is not finite, or a degenerate spectrum, all eigenvalues equal).
    """

    law_name: str
    kappa: float
    kappa_lo: float
    kappa_hi: float
    kappa_se: float          # from the curvature of the profile (rough; nan at a bound)
    kappa_fit: float
    scale: float
    gamma: float
    kappa_moments: float     # the moment estimate used as a start (inf: variance <= MP's)
    loglik: float
    loglik_mp: float
    ks: float
    n_used: int
    n_spikes: int
    spikes: tuple
    n_zero: int              # numerically zero eigenvalues, censored at the zero tolerance
    kappa_max: float
    n_loglik_evals: int      # kappa values evaluated (profile points, summed over rounds)
    status: str = "ok"
    message: str = ""
    fit_quality: str = ""    # "good" / "poor": ks against its 95 % critical value at n_used

    @property
    def law(self):
        """The fitted law at ``kappa_fit`` (the MP stand-in ``kappa_max`` when "mp-like")."""
        cls = HTMP if self.law_name == "htmp" else InverseHTMP
        return cls(gamma=self.gamma, kappa=self.kappa_fit, scale=self.scale)


def resolve_gamma(sp, finite_n: bool) -> float:
    """The law's gamma for a resolved spectrum: N/(M+1) (finite_n) or N/M."""
    if finite_n:
        return sp.N / (sp.M + 1.0)
    if sp.gamma >= 1.0:
        raise ValueError(f"gamma must be in (0, 1) for HTMP with finite_n=False (alpha > -1 "
                         f"needs gamma < 1), got {sp.gamma!r}; finite_n=True uses "
                         f"gamma_eff = N/(M+1), defined for square matrices")
    return sp.gamma


def _fit_kappa(name, eigs, gamma, N, M, kappa_min, kappa_max, spike_level, max_rounds,
               max_iter, finite_n):
    sp = resolve(eigs, gamma, N, M, min_size=3)
    n = len(sp.positive)
    kappa_max = kappa_mp(n) if kappa_max is None else float(kappa_max)
    if not 0 < kappa_min < kappa_max <= KAPPA_MAX:
        raise ValueError(f"kappa_min, kappa_max must satisfy 0 < kappa_min < kappa_max <= "
                         f"{KAPPA_MAX:g} (the largest kappa of htmp.HTMP), "
                         f"got {kappa_min!r}, {kappa_max!r}")
    g = resolve_gamma(sp, finite_n)
    if degenerate_note(sp.positive):       # a point mass: the search would call it "MP-like"
        nan = math.nan
        return HTMPFit(name, nan, nan, nan, nan, nan, nan, g, nan, nan, nan, nan, n, 0, (),
                       sp.n_zero, kappa_max, 0, "failed", degenerate_note(sp.positive))
    inverse = name == "inverse-htmp"
    y, spikes, cut = sp.positive, np.empty(0), None
    n_prev, u_est = 0, None
    for rnd in range(max_rounds):
        prof = Profile(inverse, y, g, cut=cut, n_below=sp.n_zero, tol=sp.tol)
        res = fit_profile(prof, g, kappa_min, kappa_max, max_iter, u_est)
        best, u_est = res["best"], res["u"]
        if not math.isfinite(prof.cache[best][0]):
            break
        # the spike cut is that of the best grid point (within 1 % in kappa of the estimate)
        new = y > prof.upper_cut(best, spike_level / n)
        if not np.any(new) or len(spikes) + int(new.sum()) > 0.05 * n or \
                rnd == max_rounds - 1:      # the last round's fit is the one reported
            break
        n_prev += len(prof.cache)
        spikes, y = np.concatenate([spikes, y[new]]), y[~new]
        cut = 0.5 * (float(y[-1]) + float(spikes.min()))
    ll = prof.cache[best][0]
    spikes = np.ldexp(spikes, sp.unit)     # the fit ran in units of 2^sp.unit (exact)
    if not math.isfinite(ll):
        nan = math.nan
        return HTMPFit(name, nan, nan, nan, nan, nan, nan, g, res["k0"], nan, nan, nan, len(y),
                       len(spikes), tuple(spikes.tolist()), sp.n_zero, kappa_max,
                       n_prev + len(prof.cache), "failed",
                       "log-likelihood is not finite at the optimum")
    res = profile_interval(prof, res)
    ks = ks_statistic(y, prof.conditional_cdf(best, y))
    k_top = round(math.log(kappa_max) / FINE)
    prof(k_top)
    status = res["status"]
    msg = {"mp-like": f"kappa reached kappa_max={kappa_max:.4g} (the MP limit): MP-like, "
                      f"kappa >= {res['lo']:.3g} (95 %)",
           "at-lower-bound": f"kappa reached kappa_min={kappa_min:g}: kappa <= "
                             f"{res['hi']:.3g} (95 %), no point value",
           "max-iter": f"stopped after {max_iter} kappa evaluations"}.get(status, "")
    return HTMPFit(law_name=name, kappa=res["kappa"], kappa_lo=res["lo"], kappa_hi=res["hi"],
                   kappa_se=res["se"], kappa_fit=math.exp(prof.u(best)),
                   scale=sp.scale(prof.cache[best][1]), gamma=g, kappa_moments=res["k0"],
                   loglik=sp.loglik(ll, len(y)), loglik_mp=sp.loglik(prof.cache[k_top][0], len(y)),
                   ks=ks, n_used=int(len(y)), fit_quality=fit_quality(ks, len(y)),
                   n_spikes=int(len(spikes)), spikes=tuple(float(s) for s in np.sort(spikes)),
                   n_zero=sp.n_zero, kappa_max=kappa_max, n_loglik_evals=n_prev + len(prof.cache),
                   status=status,
                   message="; ".join(m for m in (msg, sp.zero_note(censored=True)) if m))


def fit_htmp(eigs, *, gamma=None, N=None, M=None, kappa_min: float = KAPPA_MIN,
             kappa_max: float | None = None, spike_level: float = 0.01, max_rounds: int = 3,
             max_iter: int = 25, finite_n: bool = True) -> HTMPFit:
    """Fit HTMP(gamma, kappa, scale) by maximum likelihood on the bulk (spikes set aside).

    ``eigs``: an array (then ``gamma``, or ``N`` and ``M``, is required) or
    :func:`htmp.esd`'s result.  ``kappa_max``: top of the search, default
    :func:`kappa_mp` (n) (the MP stand-in).  ``spike_level``: expected number of bulk
    eigenvalues wrongly flagged as spikes.  ``finite_n``: use ``gamma_eff = N/(M+1)``.
    """
    return _fit_kappa("htmp", eigs, gamma, N, M, kappa_min, kappa_max, spike_level,
                      max_rounds, max_iter, finite_n)


def fit_inverse_htmp(eigs, *, gamma=None, N=None, M=None, kappa_min: float = KAPPA_MIN,
                     kappa_max: float | None = None, spike_level: float = 0.01,
                     max_rounds: int = 3, max_iter: int = 25,
                     finite_n: bool = True) -> HTMPFit:
    """Fit InverseHTMP(gamma, kappa, scale) (law of scale/Y, Y ~ HTMP) to a feature-matrix
    spectrum; arguments as :func:`fit_htmp`."""
    return _fit_kappa("inverse-htmp", eigs, gamma, N, M, kappa_min, kappa_max, spike_level,
                      max_rounds, max_iter, finite_n)
