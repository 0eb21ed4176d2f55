"""End-to-end showcase: the HTMP family against Marchenko-Pastur, and its inverse.

Run ``python -m htmp.demo --out DIR``.  It draws HTMP(gamma, kappa) for several kappa
against MP(gamma) on linear and log-log axes, the InverseHTMP family with its power-law
tail asymptotes, overlays a histogram of eigenvalues sampled from the tridiagonal
beta-Laguerre ensemble (when :func:`htmp.ensembles.htmp_eigvals` is available), saves
``DIR/htmp_family.png`` and prints a table of the laws' parameters and moments.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import ensembles
from .laws import HTMP, InverseHTMP, MarchenkoPastur

__all__ = ["main", "summary_rows", "make_figure"]

KAPPAS = (0.5, 2.0, 8.0, 32.0)


def summary_rows(gamma, kappas):
    """One dict per kappa (then the MP limit): parameters, moments, tail exponents, time."""
    rows = []
    for k in kappas:
        t0 = time.perf_counter()
        law, inv = HTMP(gamma=gamma, kappa=k), InverseHTMP(gamma=gamma, kappa=k)
        law.pdf(law.mean())                      # builds the table of nu_{alpha,c} once
        rows.append({"kappa": k, "alpha": float(law.alpha), "c": float(law.c),
                     "mean": float(law.mean()), "var": float(law.var()),
                     "var_closed": gamma * (1 + 2 / k), "tail_index": float(inv.tail_index),
                     "edge_exponent": float(inv.edge_exponent),
                     "seconds": time.perf_counter() - t0})
    t0 = time.perf_counter()
    mp = MarchenkoPastur(gamma=gamma)
    rows.append({"kappa": np.inf, "alpha": np.inf, "c": np.inf, "mean": float(mp.mean()),
                 "var": float(mp.var()), "var_closed": gamma, "tail_index": np.inf,
                 "edge_exponent": np.inf, "seconds": time.perf_counter() - t0})
    return rows


def format_table(rows):
    """A Markdown table of :func:`summary_rows`."""
    head = ("| kappa | Laguerre alpha | c | mean | variance | gamma(1+2/kappa) "
            "| inverse tail index | edge exponent | time [s] |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append("| " + " | ".join([
            "inf (MP)" if np.isinf(r["kappa"]) else f"{r['kappa']:g}",
            f"{r['alpha']:.6g}", f"{r['c']:.6g}", f"{r['mean']:.6f}", f"{r['var']:.6f}",
            f"{r['var_closed']:.6f}", f"{r['tail_index']:.6g}", f"{r['edge_exponent']:.6g}",
            f"{r['seconds']:.2f}"]) + " |")
    return "\n".join(lines)


def make_figure(gamma, kappas, *, eigvals=None, kappa_sample=None):
    """The three-panel showcase figure; returns the matplotlib Figure."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.size": 11}):
        return _draw(Figure(figsize=(18, 5.6), layout="constrained"), gamma, kappas,
                     eigvals, kappa_sample)


def _draw(fig, gamma, kappas, eigvals, kappa_sample):
    from . import plotting

    ax_lin, ax_log, ax_inv = fig.subplots(1, 3)
    plotting.plot_family(gamma, kappas, ax=ax_lin)
    if eigvals is not None:
        hi = ax_lin.get_xlim()[1]
        bins = np.linspace(0.0, hi, 61)
        color = "tab:red"
        for line in ax_lin.get_lines():     # the colour of the curve of the sampled kappa
            if line.get_label() == rf"$\kappa = {kappa_sample:g}$":
                color = line.get_color()
        ax_lin.hist(eigvals, bins=bins, density=True, histtype="step", color=color, lw=1,
                    zorder=0)
        ax_lin.hist(eigvals, bins=bins, density=True, histtype="stepfilled", alpha=0.2,
                    color=color, zorder=0,
                    label=rf"$\beta$-Laguerre sample, $N = {eigvals.size}$, "
                          rf"$\kappa = {kappa_sample:g}$")
        ax_lin.legend(title=r"repulsion $\kappa$", frameon=False)
    plotting.plot_family(gamma, kappas, ax=ax_log, loglog=True)
    plotting.plot_inverse_family(gamma, kappas, ax=ax_inv)
    fig.suptitle("High-temperature Marchenko–Pastur laws HTMP$_{\\gamma,\\kappa}$ and their "
                 "inverses (Hodgkinson, Wang & Mahoney, ICML 2025)", fontsize="large")
    for ax, tag in zip((ax_lin, ax_log, ax_inv), "abc"):
        ax.text(0.01, 1.01, f"({tag})", transform=ax.transAxes, fontweight="bold",
                va="bottom", ha="left")
    return fig


def _parser():
    p = argparse.ArgumentParser(prog="python -m htmp.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("."),
                   help="directory for htmp_family.png (created if missing; default: .)")
    p.add_argument("--gamma", type=float, default=0.5,
                   help="aspect ratio N/M in (0, 1) (default 0.5)")
    p.add_argument("--n", type=int, default=4000,
                   help="number of ensemble eigenvalues to sample (default 4000; 0 to skip)")
    p.add_argument("--kappa-sample", type=float, default=2.0,
                   help="kappa of the sampled ensemble (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    t_start = time.perf_counter()
    if not 0 < args.gamma < 1:
        _parser().error(f"--gamma must be in (0, 1), got {args.gamma}")
    if args.n < 0:
        _parser().error(f"--n must be >= 0, got {args.n}")
    if not args.kappa_sample > 0:
        _parser().error(f"--kappa-sample must be > 0, got {args.kappa_sample}")
    rows = summary_rows(args.gamma, KAPPAS)
    eigvals = None
    if args.n > 0 and hasattr(ensembles, "htmp_eigvals"):
        t0 = time.perf_counter()
        eigvals = ensembles.htmp_eigvals(args.n, gamma=args.gamma, kappa=args.kappa_sample,
                                         rng=np.random.default_rng(args.seed))
        t_sample = time.perf_counter() - t0
    fig = make_figure(args.gamma, list(KAPPAS) + [np.inf], eigvals=eigvals,
                      kappa_sample=args.kappa_sample)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "htmp_family.png"
    fig.savefig(path, dpi=130)

    print(f"HTMP(gamma={args.gamma:g}, kappa) and its kappa -> inf limit MP(gamma); "
          f"variance = gamma (1 + 2/kappa)\n")
    print(format_table(rows))
    print()
    if eigvals is not None:
        law = HTMP(gamma=args.gamma, kappa=args.kappa_sample)
        print(f"ensemble: {args.n} eigenvalues of the beta-Laguerre tridiagonal model "
              f"(kappa={args.kappa_sample:g}) in {t_sample:.2f} s; "
              f"sample mean {eigvals.mean():.4f} "
              f"(law {float(law.mean()):.4f}), sample variance {eigvals.var():.4f} "
              f"(law {float(law.var()):.4f})")
    else:
        print("ensemble: skipped (htmp.ensembles.htmp_eigvals not available or --n 0)")
    print(f"figure: {path}")
    print(f"total time: {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
