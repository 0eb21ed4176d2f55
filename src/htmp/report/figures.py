"""Report figures: a layer's ESD with the fitted densities, a model's kappa/alpha overview.

Each ``plot_*`` takes ``ax=`` and returns it; :func:`new_figure` makes a figure with
matplotlib's object API (``Figure`` + ``FigureCanvasAgg``, no pyplot state, no display)
and :func:`to_data_uri` turns it into an embeddable PNG.  matplotlib is imported here
only, so ``import htmp`` never imports it.
"""
from __future__ import annotations

import base64
import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, NullLocator

from ..fitting import LABELS
from ..laws import HTMP, MarchenkoPastur
from ..nn import depth_key
from ._safe import printable

__all__ = ["PHASE_COLORS", "new_figure", "to_data_uri", "plot_esd", "plot_overview",
           "plot_models", "plot_phase_grid", "PowerOfTenFormatter", "layer_fit",
           "short_names"]

# one colour per phase (shared with the HTML badges); grey for "no phase"
PHASE_COLORS = {"random-like": "#4C78A8", "bleeding-out": "#72B7B2", "bulk+spikes": "#54A24B",
                "bulk-decay": "#F58518", "heavy-tailed": "#E45756",
                "rank-collapse": "#B279A2", "unresolved": "#5F5F5F", "": "#9D9D9D"}
PHASE_MARKERS = {"random-like": "o", "bleeding-out": "s", "bulk+spikes": "D",
                 "bulk-decay": "P", "heavy-tailed": "*", "rank-collapse": "X",
                 "unresolved": "h", "": "."}
MP_COLOR, HTMP_COLOR, HIST_COLOR = "#1f1f1f", "#D62728", "#9ecae1"
PL_COLOR = "#6a3d9a"

# the table columns plot_esd reads (layer_fit)
_FIT_COLUMNS = ("gamma_eff", "mp_bulk_max", "kappa", "htmp_scale", "mp_limit_scale", "alpha",
                "xmin", "htmp_status", "n_tail")


def layer_fit(row) -> dict:
    """The ``fit`` dict :func:`plot_esd` takes, from one row of the analysis table."""
    fit = {k: row[k] for k in _FIT_COLUMNS if k in row}
    n_used = row.get("n_used") if hasattr(row, "get") else row["n_used"]
    try:
        fit["n_used"] = 0 if n_used is None or math.isnan(float(n_used)) else int(n_used)
    except (TypeError, ValueError):
        fit["n_used"] = 0
    return fit


def short_names(names, width: int = 28) -> tuple[list, str, str]:
    """(tick labels, common prefix, common suffix) of layer names: the prefix and suffix
    all names share (cut at a ``.``) dropped, then at most ``width`` characters (a middle
    ``…`` when longer).  The full names stay in the report's table."""
    names = [str(n) for n in names]
    pre = suf = ""
    if len(names) > 1:
        import os.path

        pre = os.path.commonprefix(names)
        pre = pre[:pre.rfind(".") + 1]
        rev = os.path.commonprefix([n[len(pre):][::-1] for n in names])[::-1]
        suf = rev[rev.find("."):] if "." in rev else ""
    out = []
    for n in names:
        core = n[len(pre):len(n) - len(suf)] or n
        if len(core) > width:
            half = (width - 1) // 2
            core = core[:half] + "…" + core[len(core) - (width - 1 - half):]
        out.append(_label(core))
    return out, pre, suf


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class PowerOfTenFormatter(LogFormatter):
    """Log-axis labels as plain text: "10⁻³", "2×10⁻⁵", "0.02".

    Matplotlib's default log formatter writes mathtext ($10^{-3}$), and parsing it was about
    a quarter of the report's drawing time (13 MiniLM layers: 2.15 s -> 1.6 s).  Which
    ticks get a label is still LogFormatter's decision; only the text differs.
    """

    def __call__(self, x, pos=None):
        return power_of_ten_text(x) if super().__call__(x, pos) else ""


def power_of_ten_text(x: float) -> str:
    """1e-3 -> "10⁻³", 2e-5 -> "2×10⁻⁵", 0.02 -> "0.02" (plain decimals from 0.01 to 9999)."""
    e = math.floor(math.log10(x) + 1e-9)
    m = x / 10.0 ** e
    if abs(m - round(m)) < 1e-6 * m:
        m = round(m)
    if m == 1:
        return "1" if e == 0 else ("10" if e == 1 else "10" + str(e).translate(_SUPERSCRIPT))
    if -2 <= e <= 3:
        return f"{x:.4g}"
    return f"{m:.3g}×10" + str(e).translate(_SUPERSCRIPT)


def new_figure(width: float, height: float, *, nrows: int = 1, ncols: int = 1,
               margins: dict | None = None):
    """(figure, axes list, row-major) drawn with the Agg canvas (no pyplot, no display).

    ``margins`` (``subplots_adjust`` keywords) fixes the layout; without it the layout is
    "constrained" (about 2x slower to save: it measures every label).
    """
    fig = Figure(figsize=(width, height), layout=None if margins else "constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(nrows * ncols)]
    if margins:
        fig.subplots_adjust(**margins)
    return fig, axes


def to_data_uri(fig, *, dpi: int = 96) -> str:
    """``data:image/png;base64,...`` of ``fig``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _curves(fit: dict, n: int):
    """[(label, law, weight, style)] of the fits that can be drawn.

    The two laws of the same-data comparison: MP at its ML scale on the common set (the
    comparison uses its kappa -> inf stand-in, indistinguishable at this n) and HTMP at the
    fitted kappa.  ``weight`` is the share of the eigenvalues in that set (spikes set aside
    and numerically zero ones excluded), so a curve is comparable with a histogram of all
    eigenvalues.
    """
    out = []
    g = fit.get("gamma_eff", math.nan)
    if not (_finite(g) and 0 < g < 1):
        return out
    w = int(fit.get("n_used") or 0) / n
    if _finite(fit.get("mp_limit_scale")) and fit["mp_limit_scale"] > 0:
        out.append((f"MP  σ²={fit['mp_limit_scale']:.3g}",
                    MarchenkoPastur(gamma=g, scale=fit["mp_limit_scale"]), w,
                    dict(color=MP_COLOR, lw=1.6, ls="--")))
    ok = fit.get("htmp_status") in ("ok", "max-iter")
    if ok and _finite(fit.get("kappa")) and _finite(fit.get("htmp_scale")):
        out.append((f"HTMP  κ={fit['kappa']:.3g}",
                    HTMP(gamma=g, kappa=fit["kappa"], scale=fit["htmp_scale"]), w,
                    dict(color=HTMP_COLOR, lw=1.8)))
    return out


def _no_plot(ax, why: str):
    """An empty panel that says why nothing is drawn; returns ``ax``."""
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True, transform=ax.transAxes,
            color="0.35")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _label(text) -> str:
    """A name as plain tick text: control characters escaped, ``$`` not read as mathtext."""
    return printable(text).replace("$", r"\$")


def plot_esd(eigs, fit: dict, *, ax, loglog: bool = False, legend: bool | str = True):
    """Histogram (density) of ``eigs`` with the fitted MP / HTMP densities; returns ``ax``.

    ``fit``: the layer's fitted values (:func:`layer_fit` of its table row: ``gamma_eff``,
    ``mp_limit_scale``, ``kappa``, ``htmp_scale``, ``htmp_status``, ``n_used``, ``alpha``,
    ``xmin``, ``n_tail``).  Linear axes show the bulk (up to 3x the MP edge); ``loglog``
    shows all positive eigenvalues on log-spaced bins, where a power-law tail is a straight
    line: the fitted power law (density ``(α-1)/xmin (λ/xmin)^-α`` above ``xmin``, times the
    tail's share ``n_tail/n``) is drawn there.  The power-law ``xmin`` is marked on both.
    ``legend``: True, False, or "tail" (only the power-law entries: the log–log panel
    beside a linear one that already names the rest).
    """
    ev = np.asarray(eigs, dtype=float).ravel()
    n = len(ev)
    pos = ev[np.isfinite(ev) & (ev > max(float(fit.get("tol", 0.0) or 0.0), 0.0))]
    if pos.size < 2:
        return _no_plot(ax, "fewer than 2 positive finite eigenvalues")
    lo, hi = float(pos.min()), float(pos.max())
    # bins narrower than the smallest normal double give infinite densities
    if hi < 1e3 * np.finfo(float).tiny or hi * 1.2 > np.finfo(float).max:
        return _no_plot(ax, f"eigenvalues from {lo:.3g} to {hi:.3g}: beyond the range "
                            "that double precision can bin")
    edge = float(fit.get("mp_bulk_max", math.nan))
    if loglog:
        bins = np.geomspace(lo, hi * 1.0001, 60) if hi > lo else 10
        ax.set_xscale("log")
        ax.set_yscale("log")
        # minor log ticks cost ~40% of the render time; keep them (labelled) only on an
        # axis spanning under 2 decades, where they are the only labels
        if hi / lo > 100:
            ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_minor_locator(NullLocator())
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(PowerOfTenFormatter())
            axis.set_minor_formatter(PowerOfTenFormatter(labelOnlyBase=False))
        x = np.geomspace(lo, hi * 1.2, 400)
        x_hi = hi * 1.2
    else:
        # the bulk must stay readable: cut the axis at 3x the MP edge when the tail runs
        # further, and say how many eigenvalues lie beyond (all are on the log-log panel)
        x_hi = 3.0 * edge if math.isfinite(edge) and hi > 3.0 * edge else hi * 1.05
        bins = np.linspace(0.0, x_hi, min(80, max(20, n // 8)))
        x = np.linspace(x_hi * 1e-4, x_hi, 500)
        beyond = int(np.sum(pos > x_hi))
    weights = np.full(pos.size, 1.0 / n)              # the histogram integrates to share > 0
    counts, edges = np.histogram(pos, bins=bins, weights=weights)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        dens = counts / np.diff(edges)
    if not np.all(np.isfinite(dens)):
        return _no_plot(ax, f"eigenvalues from {lo:.3g} to {hi:.3g}: bins too narrow for "
                            "double precision")
    ax.stairs(dens, edges, fill=True, color=HIST_COLOR, alpha=0.9,
              label=f"ESD ({n} eigenvalues)")
    peak = float(dens.max()) if dens.size else 1.0
    for label, law, w, style in _curves(fit, n):
        with np.errstate(all="ignore"):
            y = w * np.asarray(law.pdf(x), dtype=float)
        ax.plot(x, np.where(y > 0, y, np.nan), label=label, **style)
    xmin, alpha = fit.get("xmin"), fit.get("alpha", math.nan)
    tail = []
    if _finite(xmin) and xmin > 0:
        tail.append(ax.axvline(xmin, color=PL_COLOR, lw=1, ls=":",
                               label=f"power-law xmin = {xmin:.3g}"))
        n_tail = fit.get("n_tail")
        if loglog and _finite(alpha) and alpha > 1 and _finite(n_tail) and n_tail > 0:
            xt = np.geomspace(xmin, hi * 1.2, 100)
            yt = (float(n_tail) / n) * (alpha - 1) / xmin * (xt / xmin) ** -alpha
            tail += ax.plot(xt, yt, color=PL_COLOR, lw=1.6,
                            label=f"power law α = {alpha:.3g} ({int(n_tail)} tail eigs)")
    if not loglog and beyond:
        ax.plot([], [], ls="", label=f"{beyond} eigenvalue{'s' if beyond > 1 else ''} > "
                f"{x_hi:.3g} (max {hi:.3g}): see log–log")
    if loglog:
        floor = float(dens[dens > 0].min()) if np.any(dens > 0) else peak * 1e-6
        ax.set_ylim(floor / 3, peak * 3)
        ax.set_title("log–log", fontsize=10, loc="left")
    else:
        ax.set_xlim(0, x_hi)
        ax.set_ylim(0, peak * 1.15)
        ax.set_title("linear", fontsize=10, loc="left")
    ax.set_xlabel("eigenvalue λ of WWᵀ/M")
    ax.set_ylabel("density")
    if legend == "tail":
        if tail:
            ax.legend(handles=tail, fontsize=8, frameon=False, loc="lower left")
    elif legend:
        ax.legend(fontsize=8, frameon=False, loc="upper right" if not loglog else "lower left")
    return ax


def _phase_legend(ax, phases):
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker=PHASE_MARKERS[p], color=PHASE_COLORS[p],
                      markersize=7, label=p or "no phase") for p in phases]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0), title="phase", title_fontsize=8)


MAX_NAME_TICKS = 60     # more layers: every k-th name is written (the table has them all)


def _layer_ticks(ax, ax_top, names) -> None:
    """Layer names (shortened, vertical) as the x tick labels, the x-axis label saying what
    was left out; at most MAX_NAME_TICKS of them, evenly spaced."""
    labels, pre, suf = short_names(names)
    n = len(names)
    step = max(1, math.ceil(n / MAX_NAME_TICKS))
    idx = list(range(0, n, step))
    ax.set_xticks(idx, [labels[i] for i in idx], rotation=90, fontsize=7)
    ax_top.set_xticks(idx)
    dropped = " and ".join(f"“{_label(x)}”" for x in (pre, suf) if x)
    ax.set_xlabel("layer, in depth order (natural name order"
                  + (f"; every {step}th written" if step > 1 else "")
                  + (f"; {dropped} left out" if dropped else "") + "; full names: the table)",
                  fontsize=9)


def plot_overview(table, *, axes):
    """kappa (top) and WeightWatcher alpha (bottom) against layer depth; returns ``axes``.

    Depth is the layer's position in natural name order.  Colour and marker show the
    phase.  A measured kappa is drawn with its 95 % interval; a bound is drawn hollow at the
    bound, never as a value: MP-like (kappa = inf) as ▲ at its lower limit, a kappa below
    the search range as ▼ at its upper limit.
    """
    ax_k, ax_a = axes
    t = table.iloc[sorted(range(len(table)), key=lambda i: depth_key(str(table["name"].iloc[i])))]
    depth = np.arange(len(t))
    phases = [p if p in PHASE_COLORS else "" for p in t["phase"].astype(str)]
    kappa = t["kappa"].to_numpy(float)
    lo, hi = t["kappa_lo"].to_numpy(float), t["kappa_hi"].to_numpy(float)
    alpha = t["alpha"].to_numpy(float)
    st = t["htmp_status"].astype(str).to_numpy()
    measured = np.isin(st, ("ok", "max-iter")) & np.isfinite(kappa)
    mp_like = (st == "mp-like") & np.isfinite(lo) & (lo > 0)
    below = (st == "at-lower-bound") & np.isfinite(hi)
    for p in dict.fromkeys(phases):
        sel = np.array([q == p for q in phases])
        c = PHASE_COLORS[p]
        kw = dict(s=36, zorder=3)
        m = sel & measured
        if np.any(m):
            err = np.vstack([kappa[m] - np.nan_to_num(lo[m], nan=kappa[m].min()),
                             np.minimum(np.nan_to_num(hi[m], nan=0, posinf=0), 1e6) - kappa[m]])
            ax_k.errorbar(depth[m], kappa[m], yerr=np.clip(err, 0, None), fmt="none",
                          ecolor=c, elinewidth=0.8, alpha=0.6, zorder=2)
            ax_k.scatter(depth[m], kappa[m], marker=PHASE_MARKERS[p], color=c, **kw)
        ax_k.scatter(depth[sel & mp_like], lo[sel & mp_like], marker="^", facecolors="none",
                     edgecolors=c, **kw)
        ax_k.scatter(depth[sel & below], hi[sel & below], marker="v", facecolors="none",
                     edgecolors=c, **kw)
        ax_a.scatter(depth[sel], alpha[sel], marker=PHASE_MARKERS[p], color=c, **kw)
    shown = np.where(measured, kappa, np.where(mp_like, lo, np.where(below, hi, np.nan)))
    for ax, vals in ((ax_k, shown), (ax_a, alpha)):
        ok = np.isfinite(vals)
        ax.plot(depth[ok], vals[ok], color="0.75", lw=0.8, zorder=1)
        ax.grid(True, color="0.92")
        ax.set_xlim(-0.5, max(len(t) - 0.5, 0.5))
    good = np.isfinite(shown) & (shown > 0)
    if np.any(good):
        ax_k.set_yscale("log")
        ax_k.yaxis.set_major_formatter(PowerOfTenFormatter())
        ax_k.yaxis.set_minor_formatter(PowerOfTenFormatter(labelOnlyBase=False))
        k_lo, k_hi = min(shown[good].min(), 1.0) / 2, max(shown[good].max(), 10.0) * 2
        ax_k.set_ylim(k_lo, k_hi)
        ax_k.axhspan(k_lo, 2.0, color=PHASE_COLORS["heavy-tailed"], alpha=0.07, zorder=0)
    else:
        ax_k.text(0.5, 0.5, "no κ fitted (too few eigenvalues, skipped or failed)",
                  ha="center", va="center", transform=ax_k.transAxes, color="0.4")
    ax_k.set_ylabel("HTMP κ (log)\n▲ MP-like ≥, ▼ ≤")
    ax_a.axhspan(2.0, 6.0, color="0.5", alpha=0.06, zorder=0)
    ax_a.set_ylabel("power-law α\n(WeightWatcher)")
    _layer_ticks(ax_a, ax_k, t["name"].tolist())
    ax_k.tick_params(labelbottom=False)
    _phase_legend(ax_k, [p for p in LABELS if p in phases] + ([""] if "" in phases else []))
    return axes


def plot_models(labels, summaries, *, axes):
    """Median kappa and alpha per model, and its phase counts (several models); returns axes."""
    ax_m, ax_p = axes
    x = np.arange(len(labels))
    km = np.array([s.kappa_median for s in summaries], dtype=float)
    am = np.array([s.alpha_median for s in summaries], dtype=float)
    ax_m.plot(x, km, "o-", color=HTMP_COLOR, label="median measured κ (left)")
    if np.any(np.isfinite(km) & (km > 0)):
        ax_m.set_yscale("log")
        ax_m.yaxis.set_major_formatter(PowerOfTenFormatter())
        ax_m.yaxis.set_minor_formatter(PowerOfTenFormatter(labelOnlyBase=False))
    ax_m.set_ylabel("median HTMP κ")
    ax2 = ax_m.twinx()
    ax2.plot(x, am, "s--", color="#6a3d9a", label="median α (right)")
    ax2.set_ylabel("median power-law α")
    ticks = [_label(lab) for lab in labels]
    ax_m.set_xticks(x, ticks, rotation=20, ha="right", fontsize=8)
    h1, l1 = ax_m.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax_m.legend(h1 + h2, l1 + l2, fontsize=8, frameon=False)
    bottom = np.zeros(len(labels))
    for p in LABELS:
        c = np.array([s.phase_counts.get(p, 0) for s in summaries], dtype=float)
        if c.any():
            ax_p.bar(x, c, bottom=bottom, color=PHASE_COLORS[p], label=p)
            bottom += c
    ax_p.set_xticks(x, ticks, rotation=20, ha="right", fontsize=8)
    ax_p.set_ylabel("layers per phase")
    ax_p.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return axes


def plot_phase_grid(labels, tables, *, ax):
    """Phase of each layer (rows) in each model (columns), κ written in the cell; returns ax.

    Rows are the layer names present in every table, in natural order.  The cell text is
    the measured κ, "MP" (MP-like, κ = ∞), "≤x" (below the search range) or empty (no κ).
    """
    from matplotlib.colors import to_rgb

    names = sorted(set.intersection(*[set(t["name"]) for t in tables]), key=lambda n: depth_key(str(n)))
    grid = np.ones((len(names), len(tables), 3))
    for j, t in enumerate(tables):
        rows = t.set_index("name")
        for i, name in enumerate(names):
            r = rows.loc[name]
            p = str(r["phase"]) if str(r["phase"]) in PHASE_COLORS else ""
            grid[i, j] = to_rgb(PHASE_COLORS[p])
            st = str(r["htmp_status"])
            k = float(r["kappa"]) if _finite(r["kappa"]) else math.nan
            text = ("MP" if st == "mp-like" else
                    f"≤{float(r['kappa_hi']):.2g}" if st == "at-lower-bound" and _finite(r["kappa_hi"])
                    else "" if math.isnan(k) else f"{k:.3g}")
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white")
    ax.imshow(grid, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(labels)), [_label(lab) for lab in labels], fontsize=8)
    ax.set_yticks(range(len(names)), [_label(name) for name in names], fontsize=8)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_xticks(np.arange(len(labels) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(names) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    present = [p for p in LABELS if any(np.allclose(to_rgb(PHASE_COLORS[p]), c)
                                          for c in grid.reshape(-1, 3))]
    _phase_legend(ax, present)
    return ax
