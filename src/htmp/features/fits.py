"""Fits for feature spectra: inverse-Gamma edge, inverse HTMP, power-law tail, side by side.

A trained feature matrix (activations, an NTK, a Hessian block) has a spectrum with two
heavy ends (MATH.md section 4): a power-law upper tail and an inverse-Gamma edge at 0,
``rho(t) ~ t^-(a+1) exp(-b/t)``.  :func:`fit_feature_spectrum` fits, on one spectrum:

* **edge** - the inverse-Gamma law on the lower window: the smallest ``edge`` fraction
  (default 0.2) of the positive eigenvalues, by maximum likelihood *conditional on the
  window* (the law truncated at the cut, halfway between the last kept and the first
  left-out eigenvalue), and the KS distance of the window against that conditional law.
  Why 0.2: the edge law is only an asymptote at t -> 0 and a window holds few points.
  On InverseHTMP samples ((gamma, kappa) = (0.5, 2), (0.5, 4), (0.25, 1), (0.5, 8), seeds
  0-5; tests/test_features_fits.py) the fitted exponent ``a + 1`` over the known
  ``edge_exponent`` is 0.75-1.26 at q = 0.2 (n = 2000; 0.87-1.32 at n = 8000), against
  0.62-2.01 at q = 0.1 (too few points) and 0.55-1.22 at q = 0.3 (the window reaches into
  the bulk, median 0.82); the median |log ratio| is 0.15 / 0.21 / 0.20 (n = 2000) and
  0.10 / 0.32 / 0.13 (n = 8000) for q = 0.2 / 0.1 / 0.3.  A window below an estimated
  density mode (~11-14 % of the points here) was noisier still (one seed gave a = 0).
  The whole spectrum is far off (0.18-0.65): one inverse-Gamma cannot follow both ends,
  its exponent follows the power-law tail.
* **inverse HTMP** on the whole spectrum (:func:`htmp.fitting.fit_inverse_htmp`): kappa,
  its 95 % interval, KS; and the tail index and edge exponent that kappa implies.
* **power law** on the upper tail (:func:`htmp.fitting.fit_powerlaw`, WeightWatcher's
  ``alpha``: the *density* exponent, so the survival index is ``alpha - 1``).

Every part keeps its own status; a part that cannot be fitted is NaN with a message.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..fitting import (
    FitResult,
    HTMPFit,
    PowerLawFit,
    as_eigenvalues,
    degenerate_note,
    fit_inverse_htmp,
    fit_powerlaw,
    fit_quality,
    ks_statistic,
)

__all__ = ["EdgeFit", "FeatureFits", "fit_feature_spectrum", "fit_invgamma_edge",
           "MIN_EIGENVALUES", "EDGE_FRACTION"]

MIN_EIGENVALUES = 50     # below this a tail fit and a 20 % window (10 points) say nothing
EDGE_FRACTION = 0.2


@dataclass(frozen=True)
class EdgeFit(FitResult):
    """Inverse-Gamma law ``x^-(a+1) exp(-b/x)`` fitted to the window ``x <= cut``,
    conditional on the window.  ``exponent = a + 1`` (compare ``InverseHTMP.edge_exponent``),
    ``b`` the rate (compare ``InverseHTMP.edge_rate``); ``ks``: the window against the
    truncated law; ``fit_quality``: ks against its 95 % critical value at ``n_window``."""

    a: float
    b: float
    exponent: float
    cut: float
    fraction: float
    n_window: int
    loglik: float
    ks: float
    status: str = "ok"
    message: str = ""
    fit_quality: str = ""

    def law(self):
        from scipy import stats
        return stats.invgamma(self.a, scale=self.b)

    def cdf(self, x):
        """The law's CDF conditional on ``x <= cut`` (1 above the cut)."""
        from scipy import special
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            g = special.gammaincc(self.a, self.b / x)
        return np.minimum(g / special.gammaincc(self.a, self.b / self.cut), 1.0)


def _trunc_nll(p, x, cut):
    from scipy import special
    a, b = math.exp(p[0]), math.exp(p[1])
    mass = special.gammaincc(a, b / cut)
    if not mass > 0:
        return math.inf
    ll = (len(x) * (a * math.log(b) - special.gammaln(a) - math.log(mass))
          - (a + 1) * np.sum(np.log(x)) - b * np.sum(1.0 / x))
    return -float(ll)


_A_FLOOR = 1e-3     # a shape below this is the optimiser running to the a -> 0 boundary


def fit_invgamma_edge(eigs, *, edge: float = EDGE_FRACTION) -> EdgeFit:
    """Inverse-Gamma fit of the smallest ``edge`` fraction of the positive eigenvalues,
    conditional on the window (see the module docstring for the window and why)."""
    from scipy import optimize

    from ..fitting import fit_invgamma
    if not (isinstance(edge, (int, float)) and 0 < edge < 1):
        raise ValueError(f"edge must be a fraction in (0, 1) of the positive eigenvalues, "
                         f"got {edge!r}")
    x = as_eigenvalues(eigs)
    x = x[x > len(x) * np.finfo(float).eps * x[-1]]
    m = int(math.floor(edge * len(x)))
    nan = math.nan
    if m < 5 or m >= len(x):
        return EdgeFit(nan, nan, nan, nan, edge, m, nan, nan, "failed",
                       f"the edge window holds {m} eigenvalues (fraction {edge:g} of "
                       f"{len(x)}), need at least 5")
    w, cut = x[:m], 0.5 * (float(x[m - 1]) + float(x[m]))
    if degenerate_note(w):
        return EdgeFit(nan, nan, nan, cut, edge, m, nan, nan, "failed", degenerate_note(w))
    s = 1.0 / cut                      # fit in units of the cut: scale-free numbers
    ws = w * s
    start = fit_invgamma(ws)           # the untruncated MLE of the window: a start only
    best = None
    for a0 in (start.a, max(start.a / 4.0, 0.5)):
        p0 = np.log([a0, a0 / float(np.mean(1.0 / ws))])
        r = optimize.minimize(_trunc_nll, p0, args=(ws, 1.0), method="Nelder-Mead",
                              options=dict(xatol=1e-7, fatol=1e-9, maxiter=4000))
        if best is None or r.fun < best.fun:
            best = r
    a, b = (float(v) for v in np.exp(best.x))
    if a < _A_FLOOR:    # the shape ran to 0: no inverse-Gamma edge, the exponent is no value
        return EdgeFit(nan, nan, nan, cut, edge, m, nan, nan, "at-bound",
                       f"the inverse-Gamma shape ran to 0 (a = {a:.2g}): the window's density "
                       f"does not fall to 0 at the edge like x^-(a+1) e^(-b/x); no exponent")
    status = "ok" if best.success and math.isfinite(best.fun) else "failed"
    fit = EdgeFit(a, b / s, a + 1.0, cut, edge, m, -float(best.fun) + m * math.log(s), nan,
                  status, "" if status == "ok" else f"optimiser: {best.message}")
    ks = ks_statistic(w, fit.cdf(w))
    return dataclasses.replace(fit, ks=ks, fit_quality=fit_quality(ks, m))


@dataclass(frozen=True)
class FeatureFits(FitResult):
    """Result of :func:`fit_feature_spectrum`: the three fits side by side.

    Flat fields (one row of :meth:`to_frame`): ``edge_*`` (inverse-Gamma on the lower
    window), ``kappa*`` / ``inverse_htmp_*`` (whole spectrum), ``alpha`` / ``xmin`` /
    ``powerlaw_*`` (upper tail; ``tail_index = alpha - 1``).  ``kappa_tail_index`` and
    ``kappa_edge_exponent``: what the fitted kappa implies for the two ends (NaN unless
    kappa is finite), to set beside the direct fits.  The full sub-results are ``edge``,
    ``inverse_htmp`` and ``powerlaw``; ``eigenvalues`` is the sorted spectrum.  ``status``:
    "ok" when every part is "ok" (inverse HTMP may be "mp-like"), else "partial" with each
    part's reason in ``message``.
    """

    n: int
    gamma: float
    edge_fraction: float
    edge_n: int
    edge_cut: float
    edge_exponent: float
    edge_rate: float
    edge_ks: float
    edge_fit_quality: str
    edge_status: str
    kappa: float
    kappa_lo: float
    kappa_hi: float
    inverse_htmp_scale: float
    inverse_htmp_ks: float
    inverse_htmp_fit_quality: str
    inverse_htmp_status: str
    kappa_tail_index: float
    kappa_edge_exponent: float
    alpha: float
    tail_index: float
    xmin: float
    n_tail: int
    powerlaw_ks: float
    powerlaw_status: str
    edge: EdgeFit
    inverse_htmp: HTMPFit | None
    powerlaw: PowerLawFit
    eigenvalues: np.ndarray = dataclasses.field(repr=False)
    status: str = "ok"
    message: str = ""

    def to_dict(self) -> dict:
        out = super().to_dict()
        for k in ("edge", "inverse_htmp", "powerlaw"):
            v = getattr(self, k)
            out[k] = v.to_dict() if v is not None else {}
        return out


def _check(eigs) -> np.ndarray:
    arr = np.asarray(getattr(eigs, "eigenvalues", eigs))
    if arr.dtype.kind in "biuf" and arr.ndim == 1 and np.any(np.isnan(arr)):
        raise ValueError(f"eigs must not contain NaN, got {int(np.isnan(arr).sum())} NaN "
                         f"value(s) among {arr.size}")
    x = as_eigenvalues(eigs)
    n_pos = int(np.sum(x > len(x) * np.finfo(float).eps * x[-1])) if x[-1] > 0 else 0
    if n_pos < MIN_EIGENVALUES:
        raise ValueError(f"eigs must hold at least {MIN_EIGENVALUES} positive eigenvalues for "
                         f"the edge, whole-spectrum and tail fits, got {n_pos}")
    return x


def fit_feature_spectrum(eigs, *, gamma=None, N=None, M=None,
                         edge: float = EDGE_FRACTION, **htmp_kwargs) -> FeatureFits:
    """Fit a feature spectrum three ways, side by side (module docstring).

    ``eigs``: an array of eigenvalues (>= 0, finite, at least 50 positive) or
    :func:`htmp.esd`'s result.  ``gamma`` (or ``N`` and ``M``): the aspect ratio that
    inverse HTMP needs; without it that part is skipped (status "skipped").  ``edge``: the
    fraction of the positive eigenvalues in the inverse-Gamma window.  Further keyword
    arguments go to :func:`htmp.fitting.fit_inverse_htmp`.
    """
    x = _check(eigs)
    e = fit_invgamma_edge(x, edge=edge)
    pl = fit_powerlaw(x)
    has_gamma = gamma is not None or (N is not None and M is not None) or \
        getattr(eigs, "gamma", None) is not None
    nan = math.nan
    if has_gamma:
        ih = fit_inverse_htmp(eigs, gamma=gamma, N=N, M=M, **htmp_kwargs)
        law = ih.law if math.isfinite(ih.kappa) else None
        ih_fields = (ih.kappa, ih.kappa_lo, ih.kappa_hi, ih.scale, ih.ks, ih.fit_quality,
                     ih.status, float(law.tail_index) if law else nan,
                     float(law.edge_exponent) if law else nan)
        g = ih.gamma
    else:
        ih, g = None, nan
        ih_fields = (nan, nan, nan, nan, nan, "", "skipped", nan, nan)
    msgs = [f"edge: {e.message}" if e.message else "",
            f"inverse-htmp: {ih.message}" if ih is not None and ih.message else "",
            "" if has_gamma else "inverse-htmp: skipped, it needs gamma (or N and M)",
            f"powerlaw: {pl.message}" if pl.message else ""]
    parts = (e.status, pl.status, ih.status if ih is not None else "skipped")
    status = "ok" if all(s in ("ok", "mp-like") for s in parts) else "partial"
    return FeatureFits(
        len(x), g, edge, e.n_window, e.cut, e.exponent, e.b, e.ks, e.fit_quality, e.status,
        *ih_fields, pl.alpha, pl.alpha - 1.0, pl.xmin, pl.n_tail, pl.ks, pl.status,
        e, ih, pl, _frozen(x), status, "; ".join(m for m in msgs if m))


def _frozen(x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=float)
    x.flags.writeable = False
    return x
