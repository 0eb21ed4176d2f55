"""MP versus HTMP on one set of eigenvalues: the evidence behind a verdict.

Both laws are fitted by the same principle on the same eigenvalues:

1. **Common set.** The numerically zero eigenvalues (<= the ESD tolerance) are kept as
   censored observations (``<= tol``).  The top ``k = min(k_MP, max(floor(spike_share n),
   3))`` eigenvalues are set aside for *both* laws, where ``k_MP`` is the number of
   Marchenko-Pastur spikes (beyond Johnstone's edge + 3 Tracy-Widom scales,
   :func:`fit_mp`): a bounded spike budget.  Spikes beyond it (``n_excess``) stay in the set, where they count
   against whichever law cannot hold them.  Both laws are truncated at the cut between the
   kept and the set-aside eigenvalues (the midpoint).
2. **Same principle.** HTMP(gamma_eff, kappa, scale) by maximum likelihood with the scale
   profiled (:class:`~htmp.fitting._profile.Profile`, gamma_eff = N/(M+1)); MP is the same
   profile at ``kappa_mp = kappa_mp(n)`` (:func:`~htmp.fitting.htmp_fit.kappa_mp`), the
   largest kappa the n eigenvalues can resolve.  HTMP is nested in it (MP is the kappa -> inf
   limit) and it has no hard edge: exact MP gives log-likelihood -inf to any eigenvalue
   outside its support, which finite-N Wishart spectra have at both edges (2 of 8 draws).
3. **Reported on that set.** ``mp_ks`` and ``htmp_ks`` (KS distance to each law
   conditioned on the set's range), ``loglik_ratio = l(kappa_hat) - l(kappa_mp) >= 0``,
   and ``fit_quality``: "good" when the preferred law's KS is within the 95 % Kolmogorov
   critical value at ``n_used`` (Stephens' form 1.358 / (sqrt n + 0.12 + 0.11 / sqrt n)),
   else "poor".  ``preferred`` is "htmp" when ``loglik_ratio >= llr_min`` and
   ``htmp_ks < mp_ks``, else "mp".

Spectra with fewer than ``min_kappa_evals`` positive eigenvalues get no kappa (status
"too-few"): only the MP stand-in is fitted, for ``mp_ks``.  A common set whose eigenvalues
are all equal (a point mass: :func:`~htmp.fitting._results.degenerate_note`) gets no fit
(status "failed", the message says so) and ``fit_quality`` "poor".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._profile import FINE, Profile
from ._results import FitResult, degenerate_note, ks_critical, ks_statistic
from ._spectrum import resolve
from ._kappa_search import fit_profile, profile_interval
from .htmp_fit import KAPPA_MAX, KAPPA_MIN, kappa_mp
from .mp_fit import MPFit, fit_mp

__all__ = ["Comparison", "compare_mp_htmp", "ks_critical", "LLR_MIN", "SPIKE_SHARE",
           "SPIKE_FLOOR", "MIN_KAPPA_EVALS"]

LLR_MIN = 5.0            # HTMP preferred from this log-likelihood ratio on (docs/phases.md)
SPIKE_SHARE = 0.1        # spike budget: at most this share of the eigenvalues set aside ...
SPIKE_FLOOR = 3          # ... or this many, whichever is larger (small output layers)
MIN_KAPPA_EVALS = 30     # fewer positive eigenvalues: no kappa


@dataclass(frozen=True)
class Comparison(FitResult):
    """MP (kappa -> inf) vs HTMP(kappa) on one common set of eigenvalues; see the module.

    ``kappa``: inf when the likelihood is flat towards MP (``htmp_status`` "mp-like"),
    nan at the lower end of the search ("at-lower-bound") or without a fit ("too-few",
    "failed").  ``kappa_lo``/``kappa_hi``: nominal 95 % profile-likelihood interval.
    ``kappa_fit``: the grid point behind ``htmp_scale``, ``htmp_ks``, ``loglik_htmp``: the
    best point of the search lattice (within half a lattice step of kappa: 0.05 in log kappa
    below kappa = 10, 0.1 up to 30, 0.2 above; the likelihood there is below the maximum
    by a small fraction of the 1.92 of the interval).
    ``gamma_eff``: the laws' aspect ratio N/(M+1).  ``mp_scale``/``htmp_scale``: the ML
    scales of the two laws on the set.  ``n_used`` eigenvalues (> tol, <= cut) plus
    ``n_zero`` censored ones; ``n_set_aside`` above the cut; ``n_excess = k_MP -
    n_set_aside`` MP spikes beyond the budget.
    """

    preferred: str
    fit_quality: str
    kappa: float
    kappa_lo: float
    kappa_hi: float
    kappa_fit: float
    kappa_mp: float
    gamma_eff: float
    mp_scale: float
    htmp_scale: float
    mp_ks: float
    htmp_ks: float
    ks_crit: float
    loglik_mp: float
    loglik_htmp: float
    loglik_ratio: float
    n_used: int
    n_zero: int
    n_set_aside: int
    n_excess: int
    cut: float
    htmp_status: str
    n_loglik_evals: int      # kappa values whose profile log-likelihood was evaluated
    status: str = "ok"
    message: str = ""

    @property
    def mp_law(self):
        """The MP stand-in as fitted: HTMP(gamma_eff, kappa_mp, mp_scale)."""
        from ..laws import HTMP
        return HTMP(gamma=self.gamma_eff, kappa=self.kappa_mp, scale=self.mp_scale)

    @property
    def htmp_law(self):
        """HTMP at ``kappa_fit``, the grid point whose scale, likelihood and KS are reported
        (the search end at a bound); None without a fit."""
        from ..laws import HTMP
        if not math.isfinite(self.kappa_fit):
            return None
        return HTMP(gamma=self.gamma_eff, kappa=self.kappa_fit, scale=self.htmp_scale)


def _preferred(llr, ks_h, ks_mp, llr_min) -> str:
    return "htmp" if llr >= llr_min and ks_h < ks_mp else "mp"


def compare_mp_htmp(eigs, *, gamma=None, N=None, M=None, mp: MPFit | None = None,
                    spike_share: float = SPIKE_SHARE, llr_min: float = LLR_MIN,
                    min_kappa_evals: int = MIN_KAPPA_EVALS, kappa_min: float = KAPPA_MIN,
                    kappa_max: float | None = None, max_iter: int = 25) -> Comparison:
    """Fit MP and HTMP on one common set of eigenvalues and compare them (see the module).

    ``eigs``: :func:`htmp.esd`'s result or an array (then ``gamma``, or ``N`` and ``M``).
    ``mp``: :func:`fit_mp` on the same spectrum, if already computed (its spike count
    sets the common set).  ``spike_share``: the spike budget (at least 3 when > 0; 0 sets
    nothing aside).  ``kappa_max``: the MP stand-in, default ``kappa_mp(n)``.
    """
    if not 0 <= spike_share < 1:
        raise ValueError(f"spike_share must be in [0, 1), got {spike_share!r}")
    sp = resolve(eigs, gamma, N, M, min_size=3)
    mp = mp if mp is not None else fit_mp(eigs, gamma=gamma, N=N, M=M)
    x = sp.positive
    n = len(x)
    k_mp = mp.n_spikes if mp.status != "failed" else 0
    budget = max(int(spike_share * n), SPIKE_FLOOR) if spike_share > 0 else 0
    k = min(k_mp, budget, n - 3)
    y = x[:n - k]
    cut = 0.5 * (float(x[n - k - 1]) + float(x[n - k])) if k > 0 else math.inf
    g = sp.N / (sp.M + 1.0)
    k_top_kappa = kappa_mp(n) if kappa_max is None else float(kappa_max)
    if not kappa_min < k_top_kappa <= KAPPA_MAX:
        raise ValueError(f"kappa_max must be in (kappa_min={kappa_min:g}, {KAPPA_MAX:g}] (the "
                         f"largest kappa of htmp.HTMP), got {kappa_max!r}")
    prof = Profile(False, y, g, cut=cut, n_below=sp.n_zero, tol=sp.tol)
    k_top = round(math.log(k_top_kappa) / FINE)
    ll_mp = prof(k_top)
    base = dict(kappa_mp=math.exp(prof.u(k_top)), gamma_eff=g, n_used=int(len(y)),
                n_zero=sp.n_zero, n_set_aside=int(k), n_excess=int(k_mp - k), cut=sp.scale(cut),
                ks_crit=ks_critical(len(y)))
    u, ll_in = sp.scale, (lambda v: sp.loglik(v, len(y)))   # back from units of 2^sp.unit
    nan = math.nan
    why = "MP log-likelihood is not finite" if not math.isfinite(ll_mp) else degenerate_note(y)
    if why:             # a point mass: no fit, and "poor" (no law describes it)
        return Comparison("", "poor" if math.isfinite(ll_mp) else "", nan, nan, nan, nan,
                          mp_scale=nan, htmp_scale=nan, mp_ks=nan, htmp_ks=nan,
                          loglik_mp=nan, loglik_htmp=nan, loglik_ratio=nan,
                          htmp_status="failed", n_loglik_evals=len(prof.cache), status="failed",
                          message=why, **base)
    mp_scale = u(prof.cache[k_top][1])
    mp_ks = ks_statistic(y, prof.conditional_cdf(k_top, y))
    if n < min_kappa_evals:
        quality = "good" if mp_ks <= base["ks_crit"] else "poor"
        return Comparison("mp", quality, nan, nan, nan, nan, mp_scale=mp_scale, htmp_scale=nan,
                          mp_ks=mp_ks, htmp_ks=nan, loglik_mp=ll_in(ll_mp), loglik_htmp=nan,
                          loglik_ratio=nan, htmp_status="too-few", n_loglik_evals=len(prof.cache),
                          message=f"{n} eigenvalues < {min_kappa_evals}: too few for a kappa "
                                  f"fit", **base)
    res = profile_interval(prof, fit_profile(prof, g, kappa_min, k_top_kappa, max_iter,
                                             refine=False))
    best = res["best"]
    ll_h = prof.cache[best][0]
    htmp_ks = ks_statistic(y, prof.conditional_cdf(best, y))
    llr = max(ll_h - ll_mp, 0.0)
    pref = _preferred(llr, htmp_ks, mp_ks, llr_min)
    ks_pref = htmp_ks if pref == "htmp" else mp_ks
    msg = {"mp-like": "kappa at the MP stand-in: MP-like",
           "at-lower-bound": f"kappa at the lower end of the search ({kappa_min:g}): no "
                             f"point value",
           "max-iter": f"search stopped after {max_iter} kappa evaluations"
           }.get(res["status"], "")
    return Comparison(pref, "good" if ks_pref <= base["ks_crit"] else "poor", res["kappa"],
                      res["lo"], res["hi"], math.exp(prof.u(best)), mp_scale=mp_scale,
                      htmp_scale=u(prof.cache[best][1]), mp_ks=mp_ks, htmp_ks=htmp_ks,
                      loglik_mp=ll_in(ll_mp), loglik_htmp=ll_in(ll_h), loglik_ratio=llr,
                      htmp_status=res["status"], n_loglik_evals=len(prof.cache),
                      message="; ".join(m for m in (msg, sp.zero_note(censored=True)) if m),
                      **base)
