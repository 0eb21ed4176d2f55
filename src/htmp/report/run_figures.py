"""Figures of a training run (the long table of :func:`htmp.analyze` on several checkpoints).

* :func:`plot_run_layer` - one layer's κ (with its 95 % interval) and α against step.
* :func:`plot_run_phases` - the layer × checkpoint map of phases.

Each takes ``ax=``/``axes=`` and returns it (matplotlib object API, as
:mod:`htmp.report.figures`).  The x axis is the training step when every checkpoint has
one (``step`` column), else the checkpoint's position, labelled with its name.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..fitting import LABELS
from ..nn import depth_key
from .figures import PHASE_COLORS, PHASE_MARKERS, PowerOfTenFormatter, _label, _no_plot

__all__ = ["run_axis", "plot_run_layer", "plot_run_phases", "MISSING_COLOR"]

MISSING_COLOR = "#FFFFFF"


def run_axis(table) -> tuple[list, np.ndarray, str]:
    """(checkpoint labels in table order, their x positions, the x-axis label)."""
    labels = list(dict.fromkeys(table["model"].astype(str)))
    first = table.drop_duplicates("model").set_index("model")["step"]
    steps = [first.loc[lab] for lab in labels]
    if not any(pd.isna(s) for s in steps):
        return labels, np.array([float(s) for s in steps]), "training step"
    return labels, np.arange(len(labels), dtype=float), "checkpoint (in the order given)"


def _column(rows, col) -> np.ndarray:
    return np.array([math.nan if pd.isna(v) else float(v) for v in rows[col]], dtype=float)


def plot_run_layer(table, name, *, axes):
    """κ (top, log) and α (bottom) of layer ``name`` at each checkpoint; returns ``axes``.

    Colour and marker show the phase.  A measured κ (``htmp_status`` "ok"/"max-iter") is
    drawn with its 95 % interval (an interval open above runs to the top of the panel); a
    bound is drawn hollow at the bound, never as a value: MP-like (κ = ∞) as ▲ at its lower
    limit, κ below the search range as ▼ at its upper limit.  A checkpoint without the
    layer, or without a fit, has no point.
    """
    ax_k, ax_a = axes
    labels, xs, xlabel = run_axis(table)
    rows = table[table["name"].astype(str) == str(name)].drop_duplicates("model")
    rows = rows.set_index(rows["model"].astype(str)).reindex(labels)
    kappa, lo, hi = _column(rows, "kappa"), _column(rows, "kappa_lo"), _column(rows, "kappa_hi")
    alpha = _column(rows, "alpha")
    st = np.array([str(v) if isinstance(v, str) else "" for v in rows["htmp_status"]])
    phases = [p if isinstance(p, str) and p in PHASE_COLORS else "" for p in rows["phase"]]
    measured = np.isin(st, ("ok", "max-iter")) & np.isfinite(kappa)
    mp_like = (st == "mp-like") & np.isfinite(lo) & (lo > 0)
    below = (st == "at-lower-bound") & np.isfinite(hi)
    shown = np.where(measured, kappa, np.where(mp_like, lo, np.where(below, hi, np.nan)))
    good = np.isfinite(shown) & (shown > 0)
    if np.any(good):
        top = np.where(measured & np.isfinite(hi), hi, shown)
        k_lo, k_hi = min(shown[good].min(), 1.0) / 2, max(np.nanmax(top[good]), 10.0) * 2
        ax_k.set_yscale("log")
        ax_k.yaxis.set_major_formatter(PowerOfTenFormatter())
        ax_k.yaxis.set_minor_formatter(PowerOfTenFormatter(labelOnlyBase=False))
        ax_k.set_ylim(k_lo, k_hi)
        ax_k.axhspan(k_lo, 2.0, color=PHASE_COLORS["heavy-tailed"], alpha=0.07, zorder=0)
        ax_k.plot(xs[good], shown[good], color="0.75", lw=0.8, zorder=1)
        for i in np.flatnonzero(measured):
            c = PHASE_COLORS[phases[i]]
            b = lo[i] if np.isfinite(lo[i]) else kappa[i]
            t = hi[i] if np.isfinite(hi[i]) else k_hi
            ax_k.vlines(xs[i], b, t, color=c, lw=0.9, alpha=0.6, zorder=2)
            ax_k.scatter(xs[i], kappa[i], marker=PHASE_MARKERS[phases[i]], color=c, s=36,
                         zorder=3)
        for sel, y, m in ((mp_like, lo, "^"), (below, hi, "v")):
            for i in np.flatnonzero(sel):
                ax_k.scatter(xs[i], y[i], marker=m, facecolors="none",
                             edgecolors=PHASE_COLORS[phases[i]], s=36, zorder=3)
    else:
        _no_plot(ax_k, "no κ fitted at any checkpoint")
    ok = np.isfinite(alpha)
    ax_a.plot(xs[ok], alpha[ok], color="0.75", lw=0.8, zorder=1)
    for i in np.flatnonzero(ok):
        ax_a.scatter(xs[i], alpha[i], marker=PHASE_MARKERS[phases[i]],
                     color=PHASE_COLORS[phases[i]], s=36, zorder=3)
    ax_a.axhspan(2.0, 6.0, color="0.5", alpha=0.06, zorder=0)
    for ax in (ax_k, ax_a):
        ax.grid(True, color="0.92")
        ax.set_xlabel(xlabel)
        if xlabel.startswith("checkpoint"):
            ax.set_xticks(xs, [_label(lab) for lab in labels], rotation=20, ha="right",
                          fontsize=7)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax_k.set_ylabel("HTMP κ (log)\n▲ MP-like ≥, ▼ ≤")
    ax_a.set_ylabel("power-law α\n(WeightWatcher)")
    return axes


def _thin(n: int, most: int) -> list:
    """At most ``most`` evenly spaced indices of range(n), the first and last included."""
    if n <= most:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, most).round().astype(int).tolist()))


def plot_run_phases(table, *, ax):
    """Phase of each layer (rows, depth order) at each checkpoint (columns); returns ``ax``.

    Colours are the phases (legend); grey: analysed without a phase (skipped, failed, or no
    MP/HTMP fit); white with ×: the checkpoint has no such layer (status "missing").
    """
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    labels, _, xlabel = run_axis(table)
    names = sorted(dict.fromkeys(table["name"].astype(str)), key=depth_key)
    col = {lab: j for j, lab in enumerate(labels)}
    row = {n: i for i, n in enumerate(names)}
    grid = np.ones((len(names), len(labels), 3))
    seen, missing = set(), []
    for r in table[["model", "name", "phase", "status"]].itertuples(index=False):
        i, j = row[str(r.name)], col[str(r.model)]
        if r.status == "missing":
            grid[i, j] = to_rgb(MISSING_COLOR)
            missing.append((i, j))
            continue
        p = r.phase if isinstance(r.phase, str) and r.phase in PHASE_COLORS else ""
        grid[i, j] = to_rgb(PHASE_COLORS[p])
        seen.add(p)
    ax.imshow(grid, aspect="auto", interpolation="nearest")
    for i, j in missing:
        ax.text(j, i, "×", ha="center", va="center", fontsize=8, color="0.45")
    xt = _thin(len(labels), 12)
    ax.set_xticks(xt, [_label(labels[j]) for j in xt], rotation=30, ha="right", fontsize=7)
    yt = _thin(len(names), 40)
    ax.set_yticks(yt, [_label(names[i]) for i in yt], fontsize=7)
    ax.set_xlabel("checkpoint" + (" (by training step)" if xlabel == "training step" else
                                  " (in the order given)"))
    ax.set_ylabel("layer (depth order)")
    if len(labels) * len(names) <= 2000:
        ax.set_xticks(np.arange(len(labels) + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(len(names) + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", lw=1.5)
    ax.tick_params(which="both", length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    handles = [Patch(facecolor=PHASE_COLORS[p], label=p) for p in LABELS if p in seen]
    if "" in seen:
        handles.append(Patch(facecolor=PHASE_COLORS[""], label="no phase"))
    if missing:
        handles.append(Patch(facecolor=MISSING_COLOR, edgecolor="0.6", label="missing (×)"))
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0), title="phase", title_fontsize=8)
    return ax
