"""Markdown report and figures of experiments/model_quality.py (no computation here beyond
formatting and least-squares lines for the plots)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

# (column, label) of the metrics drawn in model_quality_metrics.png
PANELS = (("htmp_kappa_median", "htmp: median measured κ (log)"),
          ("htmp_kappa_rank_median", "htmp: rank median κ (MP-like at right)"),
          ("htmp_alpha_mean", "mean power-law α"),
          ("htmp_alpha_weighted", "mean α-weighted (α log10 λmax)"),
          ("htmp_log_norm", "mean log10 ‖W‖_F²"),
          ("htmp_stable_rank", "mean stable rank"),
          ("htmp_frac_htmp_preferred", "share of layers: bulk-decay / heavy-tailed"),
          ("htmp_mp_ks_mean", "mean MP KS distance"))


def _fmt(v, d=2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.{d}f}"


def _ci(r, stat) -> str:
    if math.isnan(r[stat]):
        return "—"
    return f"{r[stat]:+.2f} [{_fmt(r[stat + '_lo'])}, {_fmt(r[stat + '_hi'])}]"


def _pick(corr, metric, target, scope):
    m = corr[(corr.metric == metric) & (corr.target == target) & (corr.scope == scope)]
    return None if m.empty else m.iloc[0]


def _marker(r, stat) -> str:
    """'*' when the bootstrap interval excludes 0."""
    if r is None or math.isnan(r[stat + "_lo"]):
        return ""
    return " *" if r[stat + "_lo"] > 0 or r[stat + "_hi"] < 0 else ""


def report(models, corr, agree: dict, *, ww_note: str, n_boot: int, seed: int,
           train_seconds: float, total_seconds: float, quick: bool) -> str:
    fams = sorted(models["family"].unique())
    used = models[models["finite"]]
    L = [f"# Model quality{' (quick run)' if quick else ''}: spectral metrics against test "
         "accuracy\n"]
    L.append(f"{len(models)} models ({len(used)} with finite weights), "
             f"training {train_seconds:.0f} s (one torch thread), whole run "
             f"{total_seconds:.0f} s. {ww_note}.\n")
    L.append("| family | models | test acc min / median / max | gap min / median / max |")
    L.append("|---|---|---|---|")
    for f in fams:
        m = models[models.family == f]
        L.append(f"| {f} | {len(m)} | {m.test_acc.min():.3f} / {m.test_acc.median():.3f} / "
                 f"{m.test_acc.max():.3f} | {m.gap.min():+.3f} / {m.gap.median():+.3f} / "
                 f"{m.gap.max():+.3f} |")
    if agree:
        worst = max(v for k, v in agree.items() if k != "n_layers" and not math.isnan(v))
        L.append(f"\nhtmp's table against WeightWatcher's on the {agree['n_layers']} dense "
                 f"layers both analysed: largest relative difference over alpha, log_norm, "
                 f"log_spectral_norm, stable_rank, alpha_weighted, log_alpha_norm "
                 f"{worst:.1e}.")
    L.append(f"\nIntervals: 95 % percentile bootstrap over models ({n_boot} resamples, seed "
             f"{seed}; within family: resampled within each family). τ is Kendall's tau-b; "
             "'within family' counts only pairs of models of the same family. * marks an "
             "interval that excludes 0. Gap = train accuracy (clean labels) − test "
             "accuracy. log10(lr·steps): how far training moved the weights (a "
             "confound check: a metric that tracks it may rank models by training length, "
             "not quality); the partial ρ (Spearman's on rank residuals, given log10(lr·steps), "
             "ranks and lines within each family) asks whether the metric ranks test "
             "accuracy beyond that.\n")
    L.append("## Pooled and within-family rank correlations\n")
    L.append("| metric | n | Spearman ρ vs test acc | Kendall τ vs test acc | within-family "
             "τ vs test acc | R² (line) | Kendall τ vs gap | within-family τ vs gap | "
             "within-family τ vs log10(lr·steps) | within-family partial ρ vs test acc "
             "given log10(lr·steps) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for metric in corr.metric.unique():
        a = _pick(corr, metric, "test_acc", "all")
        w = _pick(corr, metric, "test_acc", "within-family")
        g = _pick(corr, metric, "gap", "all")
        gw = _pick(corr, metric, "gap", "within-family")
        ew = _pick(corr, metric, "log_lr_steps", "within-family")
        pw = _pick(corr, metric, "test_acc|log_lr_steps", "within-family")
        cells = [_ci(a, "spearman") + _marker(a, "spearman"), _ci(a, "kendall") + _marker(a, "kendall"),
                 (_ci(w, "kendall") + _marker(w, "kendall")) if w is not None else "—",
                 "—" if math.isnan(a["r2"]) else f"{a['r2']:.2f}",
                 _ci(g, "kendall") + _marker(g, "kendall"),
                 (_ci(gw, "kendall") + _marker(gw, "kendall")) if gw is not None else "—",
                 (_ci(ew, "kendall") + _marker(ew, "kendall")) if ew is not None else "—",
                 (_ci(pw, "spearman") + _marker(pw, "spearman")) if pw is not None else "—"]
        L.append(f"| `{metric}` | {int(a['n'])} | " + " | ".join(cells) + " |")
    L.append("\n## Kendall τ vs test accuracy within each family\n")
    L.append("| metric | " + " | ".join(f"{f} (n)" for f in fams) + " |")
    L.append("|---|" + "---|" * len(fams))
    for metric in corr.metric.unique():
        cells = []
        for f in fams:
            r = _pick(corr, metric, "test_acc", f)
            cells.append("—" if r is None or math.isnan(r["kendall"]) else
                         f"{_ci(r, 'kendall')}{_marker(r, 'kendall')} ({int(r['n'])})")
        L.append(f"| `{metric}` | " + " | ".join(cells) + " |")
    key = "ww_log_alpha_norm" if "ww_log_alpha_norm" in corr.metric.values else \
        "htmp_log_alpha_norm"
    a = _pick(corr, key, "test_acc", "all")
    if a is not None:
        L.append(f"\nThe poster's panel (test accuracy vs avg. log α-norm: R² 0.86, RMSE 2.0, "
                 f"τ −0.88) here, `{key}` pooled: R² {a['r2']:.2f}, RMSE "
                 f"{100 * a['rmse']:.1f} percentage points, τ {_ci(a, 'kendall')}.")
    return "\n".join(L) + "\n"


def _scatter(ax, models, col, label, colors, *, logx=False):
    y = 100 * models["test_acc"].to_numpy(float)
    x = models[col].to_numpy(float)
    finite = np.isfinite(x)
    right = np.isposinf(x)
    if right.any() and finite.any():          # MP-like ranks: drawn at the right edge
        lo, hi = np.nanmin(x[finite]), np.nanmax(x[finite])
        edge = hi * 3 if logx else hi + 0.15 * (hi - lo + 1e-12)
        x = np.where(right, edge, x)
        ax.axvline(edge, color="0.8", lw=0.8, ls=":")
        ax.annotate("MP-like", (edge, 1.0), xycoords=("data", "axes fraction"), fontsize=6,
                    ha="right", va="top", rotation=90, color="0.4")
    for fam, c in colors.items():
        sel = (models["family"] == fam).to_numpy() & (np.isfinite(x))
        if logx:
            sel &= x > 0
        ax.scatter(x[sel], y[sel], s=18, color=c, label=fam, alpha=0.85)
    if logx:
        from matplotlib.ticker import NullFormatter
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(label, fontsize=8)
    ax.set_ylabel("test accuracy (%)", fontsize=8)
    ax.tick_params(which="both", labelsize=7)
    return ax


def figures(models, corr, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used = models[models["finite"]]
    fams = sorted(used["family"].unique())
    cmap = plt.get_cmap("tab10")
    colors = {f: cmap(i) for i, f in enumerate(fams)}
    paths = []
    key = "ww_log_alpha_norm" if "ww_log_alpha_norm" in used.columns else "htmp_log_alpha_norm"
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    _scatter(ax, used, key, f"average log α-norm ({'WeightWatcher' if key[:2] == 'ww' else 'htmp'})",
             colors)
    x, y = used[key].to_numpy(float), 100 * used["test_acc"].to_numpy(float)
    ok = np.isfinite(x)
    if ok.sum() >= 3:
        slope, icpt = np.polyfit(x[ok], y[ok], 1)
        xs = np.linspace(x[ok].min(), x[ok].max(), 2)
        ax.plot(xs, slope * xs + icpt, color="0.3", lw=1, ls="--")
    a = _pick(corr, key, "test_acc", "all")
    w = _pick(corr, key, "test_acc", "within-family")
    title = "Test accuracy vs avg. log α-norm"
    if a is not None:
        title += f"\npooled R² {a['r2']:.2f}, τ {a['kendall']:+.2f}"
        if w is not None:
            title += f"; within family τ {w['kendall']:+.2f}"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    paths.append(out / "model_quality_log_alpha_norm.png")
    fig.savefig(paths[-1], dpi=130)
    plt.close(fig)

    panels = [(c, lab) for c, lab in PANELS if c in used.columns
              and np.isfinite(used[c].to_numpy(float)).any()]
    ncol = 4
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.1 * ncol, 2.8 * nrow), squeeze=False)
    for ax, (col, lab) in zip(axes.ravel(), panels):
        _scatter(ax, used, col, lab, colors, logx=col.startswith("htmp_kappa"))
        a = _pick(corr, col, "test_acc", "all")
        w = _pick(corr, col, "test_acc", "within-family")
        t = (f"τ {_fmt(a['kendall'])} (n {int(a['n'])})" if a is not None else "")
        if w is not None:
            t += f", within family {_fmt(w['kendall'])}"
        ax.set_title(t, fontsize=8)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    paths.append(out / "model_quality_metrics.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
