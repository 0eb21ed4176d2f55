"""Plots of the spectral laws: one density, the HTMP family against MP, the inverse family.

Every function takes ``ax=None`` (a new figure and axes are made when it is None) and
returns the axes it drew on.  Nothing here calls ``plt.show()``, sets a backend or
prints.  matplotlib is imported only when a plot is drawn, so ``import htmp`` and
``from htmp import plotting`` work without it (install it with ``pip install htmp[plot]``).

>>> from htmp import HTMP, plotting                              # doctest: +SKIP
>>> ax = plotting.plot_family(0.5, [0.5, 2, 8, 32])              # doctest: +SKIP
>>> ax.figure.savefig("htmp_family.png")                         # doctest: +SKIP
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from ._validation import check_param
from .laws import HTMP, InverseHTMP, MarchenkoPastur

__all__ = ["density_grid", "plot_density", "plot_family", "plot_inverse_family",
           "inverse_tail_asymptote", "plot_layer"]

_N_GRID = 400


# -- helpers ----------------------------------------------------------------------------------
def axes_or_new(ax):
    """``ax`` itself, or new axes on a new figure (matplotlib imported lazily)."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in the test extra
        raise ImportError("htmp.plotting needs matplotlib; install it with "
                          "`pip install htmp[plot]`") from exc
    _, ax = plt.subplots()
    return ax


def _check_law(law):
    for attr in ("pdf", "ppf", "support"):
        if not callable(getattr(law, attr, None)):
            raise TypeError(f"law must be a law object with pdf/ppf/support methods "
                            f"(e.g. htmp.HTMP), got {type(law).__name__}")
    lo, hi = law.support()
    if np.ndim(lo) or np.ndim(hi):
        raise ValueError(f"law must have scalar parameters (one curve per law), got a batch "
                         f"of shape {np.shape(lo)}")


def _check_kappas(kappas):
    """Sorted finite kappas (each > 0) and whether inf (the MP limit) was asked for."""
    arr = np.atleast_1d(np.asarray(kappas, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"kappas must be a non-empty 1-D sequence of numbers in (0, inf], "
                         f"got {kappas!r}")
    if np.any(np.isnan(arr) | (arr <= 0)):
        raise ValueError(f"kappas must be in (0, inf] (inf means Marchenko-Pastur), "
                         f"got {arr[np.isnan(arr) | (arr <= 0)].tolist()}")
    finite = np.unique(arr[np.isfinite(arr)])
    return [float(k) for k in finite]


def _colors(n):
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.05, 0.85, max(n, 1))][:n]


def _fmt_kappa(k):
    return f"{k:g}"


def density_grid(law, *, n=_N_GRID, q=(1e-3, 1 - 1e-3), log=False):
    """A 1-D grid for plotting ``law``: its ``q[0]``..``q[1]`` quantiles (from ``law.ppf``).

    A finite support (Marchenko-Pastur) is used whole, so the curve reaches the edges.
    When the range spans more than a decade, or ``log=True``, a geometric grid is merged in
    so that a singular edge at 0 and a long tail are resolved as well as the bulk.
    """
    _check_law(law)
    n = int(n)
    if n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    q = np.asarray(q, dtype=float)
    if q.shape != (2,) or not (0 < q[0] < q[1] < 1):
        raise ValueError(f"q must be two quantile levels with 0 < q[0] < q[1] < 1, "
                         f"got {q.tolist()}")
    s_lo, s_hi = (float(v) for v in law.support())
    if np.isfinite(s_lo) and np.isfinite(s_hi):
        lo, hi = s_lo, s_hi
    else:
        lo, hi = (float(v) for v in law.ppf(q))
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"could not build a grid for {law!r}: quantiles {q.tolist()} "
                         f"gave [{lo!r}, {hi!r}]")
    grid = np.linspace(lo, hi, n)
    if lo > 0 and (log or hi / lo > 10):
        geo = np.geomspace(lo, hi, n)
        grid = geo if log else np.union1d(grid, geo)
    return grid


def inverse_tail_asymptote(gamma, kappa, scale=1.0):
    """(C, p) with rho(t) ~ C t^-p as t -> inf for InverseHTMP(gamma, kappa, scale) (MATH.md §4).

    ``p = tail_index + 1 = alpha + 2`` and
    ``C = scale^(alpha+1) s^-(alpha+1) Gamma(c+alpha+1) / (Gamma(c+1) Gamma(alpha+1)^2)``
    with ``alpha = kappa (1-gamma)/(2 gamma) - 1``, ``c = kappa/2``, ``s = 2 gamma/kappa``.
    """
    gamma = float(check_param("gamma", gamma, 0.0, 1.0))
    kappa = float(check_param("kappa", kappa, 0.0))
    scale = float(check_param("scale", scale, 0.0))
    alpha, c, s = kappa * (1 - gamma) / (2 * gamma) - 1.0, kappa / 2.0, 2 * gamma / kappa
    log_c = ((alpha + 1) * (math.log(scale) - math.log(s)) + gammaln(c + alpha + 1)
             - gammaln(c + 1) - 2 * gammaln(alpha + 1))
    return math.exp(log_c), alpha + 2.0


def _plot_guide(ax, law, t, asymptote, color):
    """Dotted C t^-p over the upper tail, from where the density is within 2x of it."""
    c_inf, p = asymptote
    t = t[t >= float(law.isf(0.5))]
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        guide = c_inf * t ** -p
        log_ratio = np.log(law.pdf(t)) - np.log(guide)
    close = np.flatnonzero(np.abs(log_ratio) < math.log(2.0))
    if close.size:
        ax.plot(t[close[0]:], guide[close[0]:], color=color, lw=1.5, ls=":")


# -- public plots -------------------------------------------------------------------------------
def plot_density(law, *, ax=None, x=None, logy=False, label=None, **kwargs):
    """Draw ``law.pdf`` as one line and return the axes.

    Parameters
    ----------
    law : a law of :mod:`htmp.laws` (or anything with scalar ``pdf``/``ppf``/``support``).
    ax : matplotlib axes, optional; new ones are made when None.
    x : 1-D array, optional.  Default: :func:`density_grid` over the 0.001-0.999 quantiles
        (geometric when the axes already have a log x-scale).
    logy : bool, put the y-axis on a log scale.
    label : legend label of the line (default ``repr(law)``).
    **kwargs : passed to ``ax.plot`` (color, linestyle, lw, ...).
    """
    _check_law(law)
    ax = axes_or_new(ax)
    if x is None:
        x = density_grid(law, log=ax.get_xscale() == "log")
    else:
        x = np.asarray(x, dtype=float)
        if x.ndim != 1 or x.size < 2:
            raise ValueError(f"x must be a 1-D array of at least 2 points, got shape {x.shape}")
    y = law.pdf(x)
    ax.plot(x, y, label=repr(law) if label is None else label, **kwargs)
    if logy:
        ax.set_yscale("log")
    if not ax.get_xlabel():
        ax.set_xlabel("x")
    if not ax.get_ylabel():
        ax.set_ylabel("density")
    return ax


def plot_family(gamma, kappas, *, ax=None, scale=1.0, loglog=False):
    """HTMP(gamma, kappa) for each kappa against its kappa -> inf limit MP(gamma); returns ax.

    One line per distinct finite kappa (coloured from small to large kappa) plus one dashed
    black line for MP_gamma (``inf`` in ``kappas`` is allowed and means that line).
    ``loglog=True`` shows the power law x^alpha at 0 and the exponential upper tail.
    """
    gamma = float(check_param("gamma", gamma, 0.0, 1.0))
    scale = float(check_param("scale", scale, 0.0))
    ks = _check_kappas(kappas)
    ax = axes_or_new(ax)
    mp = MarchenkoPastur(gamma=gamma, scale=scale)
    mp_hi = float(mp.support()[1])
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
        laws = [HTMP(gamma=gamma, kappa=k, scale=scale) for k in ks]
        x_hi = max([mp_hi] + [float(law.isf(1e-6)) for law in laws])
        x = np.geomspace(1e-4 * scale, x_hi, _N_GRID)
    else:
        x_hi = 1.7 * mp_hi
        x = np.union1d(np.linspace(0.0, x_hi, _N_GRID), np.geomspace(1e-4 * scale, x_hi, _N_GRID))
    peak = 0.0
    for k, color in zip(ks, _colors(len(ks))):
        law = HTMP(gamma=gamma, kappa=k, scale=scale)
        plot_density(law, ax=ax, x=x, label=rf"$\kappa = {_fmt_kappa(k)}$", color=color, lw=2)
        # the bulk sets the y-range; a density singular at 0 (alpha < 0) leaves the top
        peak = max(peak, float(np.max(law.pdf(x[x > 0.05 * mp_hi]))))
    xm = density_grid(mp, n=_N_GRID)
    ym = mp.pdf(xm)
    plot_density(mp, ax=ax, x=xm, label=r"$\kappa = \infty$ (MP)", color="k", lw=2, ls="--")
    peak = max(peak, float(np.max(ym)))
    if loglog:
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(1e-6 * peak, 1e3 * peak)    # room for the legend above the curves
    else:
        ax.set_xlim(0.0, x_hi)
        ax.set_ylim(0.0, 1.25 * peak)
    ax.set_xlabel(r"eigenvalue $x$" + (rf"  (mean $\sigma^2 = {scale:g}$)" if scale != 1 else ""))
    ax.set_ylabel(r"density $p_{\gamma,\kappa}(x)$")
    ax.set_title(rf"HTMP$_{{\gamma,\kappa}}$ vs Marchenko–Pastur, $\gamma = {gamma:g}$"
                 + (" (log–log)" if loglog else ""))
    ax.legend(title=r"repulsion $\kappa$", frameon=False,
              **({"loc": "upper right", "ncols": 2} if loglog else {}))
    return ax


def plot_inverse_family(gamma, kappas, *, ax=None, scale=1.0, guides=True):
    """InverseHTMP(gamma, kappa) for each kappa on log-log axes, with tail guides; returns ax.

    Each density is drawn with, when ``guides``, its exact power-law asymptote
    C t^-(tail_index + 1) (:func:`inverse_tail_asymptote`) dotted in the same colour over
    the upper tail (from where the density is within a factor 2 of it), so the slope
    -(tail_index + 1) can be read off.  The law of
    scale / Y, Y ~ MP(gamma) (the kappa -> inf limit, compactly supported) is dashed black.
    """
    gamma = float(check_param("gamma", gamma, 0.0, 1.0))
    scale = float(check_param("scale", scale, 0.0))
    ks = _check_kappas(kappas)
    ax = axes_or_new(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    laws = [InverseHTMP(gamma=gamma, kappa=k, scale=scale) for k in ks]
    mp = MarchenkoPastur(gamma=gamma)
    m_lo, m_hi = (float(v) for v in mp.support())
    t_lo = min([scale / m_hi] + [float(law.ppf(1e-3)) for law in laws]) / 1.5
    t_hi = 1e4 * scale
    t = np.geomspace(t_lo, t_hi, _N_GRID)
    peak = 0.0
    for k, law, color in zip(ks, laws, _colors(len(ks))):
        idx = float(law.tail_index)
        plot_density(law, ax=ax, x=t, color=color, lw=2,
                     label=rf"$\kappa = {_fmt_kappa(k)}$: tail index ${idx:.3g}$, "
                           rf"slope $-{idx + 1:.3g}$")
        peak = max(peak, float(np.max(law.pdf(t))))
        if guides:
            _plot_guide(ax, law, t, inverse_tail_asymptote(gamma, k, scale), color)
    # kappa = inf: T = scale / Y, Y ~ MP(gamma): rho(t) = p_MP(scale/t) scale / t^2
    tm = np.sort(scale / density_grid(mp, n=_N_GRID))
    ym = mp.pdf(scale / tm) * scale / tm ** 2
    ax.plot(tm, ym, color="k", lw=2, ls="--", label=r"$\kappa = \infty$ (inverse MP)")
    peak = max(peak, float(np.max(ym)))
    if guides:
        ax.plot([], [], color="0.4", lw=1.2, ls=":",
                label=r"asymptote $C\,t^{-(\mathrm{tail\ index}+1)}$")
    ax.set_xlim(t_lo, t_hi)
    ax.set_ylim(1e-10 * peak, 10 * peak)
    ax.set_xlabel(r"eigenvalue $t$" + (rf"  ($\sigma^2 = {scale:g}$)" if scale != 1 else ""))
    ax.set_ylabel(r"density $\rho_{\gamma,\kappa}(t)$")
    ax.set_title(rf"Inverse HTMP: power-law tails, $\gamma = {gamma:g}$")
    ax.legend(frameon=False, fontsize="small")
    return ax


# -- one analysed layer -------------------------------------------------------------------------
def plot_layer(result, name, ax=None):
    """One layer's ESD with its fits, as the report's layer card draws it; returns the axes.

    ``result``: an :class:`htmp.analysis.Analysis` (:func:`htmp.analysis.run`; for a run of
    several checkpoints pass one of ``RunAnalysis.checkpoints``).  ``name``: a layer of it
    (``result.names``) whose eigenvalues were computed (not "skipped"/"failed").

    ``ax``:

    * ``None``: a new figure with two panels, linear and log–log; returns that array of
      two axes (``axes[0].figure.savefig(...)``);
    * two axes (a list, tuple or array): the same two panels drawn on them; returns ``ax``;
    * one axes: the log–log panel only (histogram, MP and HTMP densities, the fitted power
      law above ``xmin``, full legend); returns ``ax``.

    The linear panel shows the bulk with the MP (dashed) and HTMP (red) densities scaled by
    the share of eigenvalues they were fitted to; the log–log panel adds the power law
    ``(alpha-1)/xmin (x/xmin)^-alpha`` times the tail share (``alpha``, ``xmin``,
    ``n_tail`` from the table).  Nothing is shown or saved here.

    >>> a = htmp.analysis.run(model)                                  # doctest: +SKIP
    >>> axes = htmp.plot_layer(a, a.names[0])                         # doctest: +SKIP
    """
    from .analysis import Analysis, RunAnalysis

    if isinstance(result, RunAnalysis):
        raise TypeError("result must be one model's htmp.analysis.Analysis; for a run of "
                        "several checkpoints pass one of result.checkpoints "
                        f"({len(result.checkpoints)} of them), got a RunAnalysis")
    if not isinstance(result, Analysis):
        raise TypeError(f"result must be an htmp.analysis.Analysis (htmp.analysis.run(...)), "
                        f"got {type(result).__name__}")
    rows = result.table[result.table["name"] == name]
    if rows.empty:
        shown = ", ".join(repr(n) for n in result.names[:5])
        more = f", ... ({len(result.names)} in all)" if len(result.names) > 5 else ""
        raise ValueError(f"name must be a layer of this analysis (result.names: {shown}"
                         f"{more}), got {name!r}")
    row = rows.iloc[0]
    eigs = result.spectra.get(name)
    if eigs is None:
        raise ValueError(f"name must be a layer whose eigenvalues were computed; {name!r} "
                         f"has status {row['status']!r}: {row['message']}")
    try:
        from .report.figures import layer_fit, plot_esd
    except ImportError as exc:  # pragma: no cover - matplotlib is in the test extra
        raise ImportError("htmp.plot_layer needs matplotlib; install it with "
                          "`pip install htmp[plot]`") from exc
    fit = layer_fit(row)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(1, 2, figsize=(10.0, 3.4), layout="constrained")
    if isinstance(ax, (list, tuple, np.ndarray)):
        axes = list(np.ravel(ax))
        if len(axes) != 2:
            raise ValueError(f"ax must be None, one Axes or two (linear, log-log), got "
                             f"{len(axes)}")
        plot_esd(eigs, fit, ax=axes[0], loglog=False)
        plot_esd(eigs, fit, ax=axes[1], loglog=True, legend="tail")
        return ax
    return plot_esd(eigs, fit, ax=ax, loglog=True)
