"""Plot a feature spectrum with its three fits (:func:`~htmp.features.fit_feature_spectrum`).

:func:`plot_feature_fits` draws the ESD as a density histogram and, on the same scale
(each fit weighted by the share of eigenvalues it describes), the inverse-Gamma edge on its
window, inverse HTMP on the whole range and the power law above ``xmin``: linear axes, or
log-log axes (log-spaced bins) with ``loglog=True``.  It takes ``ax=None`` and returns the
axes; nothing here calls ``plt.show()``.
"""
from __future__ import annotations

import math

import numpy as np

from .fits import FeatureFits, fit_feature_spectrum

__all__ = ["plot_feature_fits", "fit_densities"]

_N_GRID = 300


def fit_densities(result: FeatureFits, grid=None) -> dict:
    """The three fitted densities on the ESD's scale: ``{label: (x, density)}`` (a fit that
    failed or was skipped is left out).  Each density is weighted by the fraction of the
    ``n`` eigenvalues it describes, so it sits on the normalised histogram."""
    from scipy import special
    x = result.eigenvalues
    pos = x[x > 0]
    lo, hi = float(pos[0]), float(pos[-1])
    t = np.geomspace(lo, hi, _N_GRID) if grid is None else np.asarray(grid, dtype=float)
    n, out = result.n, {}
    e = result.edge
    if e.status == "ok":
        te = t[t <= e.cut]
        with np.errstate(divide="ignore", over="ignore"):
            logg = (e.a * math.log(e.b) - special.gammaln(e.a) - (e.a + 1) * np.log(te)
                    - e.b / te)
        out[f"inverse-Gamma edge (a+1={e.exponent:.3g})"] = (
            te, e.n_window / n * np.exp(logg) / special.gammaincc(e.a, e.b / e.cut))
    ih = result.inverse_htmp
    if ih is not None and np.isfinite(ih.kappa_fit) and ih.status != "failed":
        kap = "MP-like" if ih.status == "mp-like" else f"{ih.kappa:.3g}"
        out[f"inverse HTMP (kappa={kap})"] = (t, ih.n_used / n * ih.law.pdf(t))
    p = result.powerlaw
    if p.status == "ok":
        tp = t[t >= p.xmin]
        out[f"power law (alpha={p.alpha:.3g})"] = (
            tp, p.n_tail / n * (p.alpha - 1.0) / p.xmin * (tp / p.xmin) ** -p.alpha)
    return out


def plot_feature_fits(result_or_eigs, ax=None, *, loglog: bool = False, bins: int | None = None,
                      **fit_kwargs):
    """ESD histogram with the fitted densities; returns ``ax``.

    ``result_or_eigs``: a :class:`~htmp.features.FeatureFits` or eigenvalues (then fitted
    with :func:`~htmp.features.fit_feature_spectrum` and ``fit_kwargs``, e.g. ``gamma=``).
    ``loglog``: log-log axes and log-spaced bins.  ``bins``: default sqrt(n), at most 200.  Linear axes show
    eigenvalues up to their 95th percentile.
    """
    from ..plotting import axes_or_new
    if fit_kwargs and isinstance(result_or_eigs, FeatureFits):
        raise TypeError(f"fit keyword arguments {sorted(fit_kwargs)} apply to eigenvalues, "
                        f"not to an already fitted FeatureFits")
    r = result_or_eigs if isinstance(result_or_eigs, FeatureFits) else \
        fit_feature_spectrum(result_or_eigs, **fit_kwargs)
    ax = axes_or_new(ax)
    x = r.eigenvalues
    pos = x[x > 0]
    nb = bins if bins is not None else int(min(200, max(10, math.sqrt(len(x)))))
    top = float(np.quantile(pos, 0.95))      # linear axes: a heavy tail would squash the bulk
    edges = np.geomspace(pos[0], pos[-1], nb + 1) if loglog else np.linspace(0, top, nb + 1)
    h, be = np.histogram(pos, bins=edges)
    dens = h / (len(x) * np.diff(be))
    ax.stairs(dens, be, fill=True, alpha=0.35, color="0.5", label=f"ESD (n={r.n})")
    for label, (t, d) in fit_densities(r).items():
        ax.plot(t, d, label=label)
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
        if np.any(dens > 0):
            ax.set_ylim(bottom=0.3 * float(dens[dens > 0].min()))
    else:
        ax.set_xlim(0, top)
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.set_title("feature spectrum and fits" + (" (log-log)" if loglog else ""))
    ax.legend(fontsize="small")
    return ax
