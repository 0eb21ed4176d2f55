"""Prop 5.1 checked by simulation: ridge-loss slopes against the paper's exponent and ours.

For each spectral law (HTMP or inverse HTMP with parameters gamma, kappa), each n on a log grid and
each replicate, ``htmp.theory.scaling.simulate_ridge`` draws p = gamma n feature eigenvalues and an
isotropic target and returns the noise-free ridge test loss at mu = n^-ell for every ell.  The
slope -d log L / d log n is fitted by least squares (on the mean over replicates; its standard
error from the spread of per-replicate slopes) and set beside

* ``paper``: the paper's exponent ell (2 + kappa/(2 gamma) - kappa/2) (``paper_exponent``),
* ``predicted``: ell min(kappa/(2 gamma) - kappa/2, 2), or 2 ell for the inverse law
  (``predicted_exponent``; MATH.md §8),
* ``theory_same_range``: the slope of the exact limiting loss mu^2 m'(-mu) over the same n range
  (``ridge_loss_theory``), which shows how far from the asymptote the finite range is,
* ``theory_n1e12``: the local slope of the exact loss at n = 1e11..1e12.

Writes ``scaling_law.csv``, ``scaling_loss_vs_n.png`` and ``scaling_slopes.png`` to ``--out``
(default experiments/out/scaling_law/).  Full run: about 3 min on one core; ``--quick``: seconds.

Usage: python experiments/scaling_law.py [--quick] [--out DIR]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from htmp.theory.scaling import (
    paper_exponent,
    predicted_exponent,
    ridge_loss_theory,
    simulate_ridge,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "experiments" / "out" / "scaling_law"

# (law, gamma, kappa): alpha + 1 = kappa/(2 gamma) - kappa/2 = 0.5, 0.7, 1.0, 1.5, 3.0 for HTMP
FULL = [("htmp", 0.5, 1.0), ("htmp", 0.3, 0.6), ("htmp", 0.2, 0.5), ("htmp", 0.5, 3.0),
        ("htmp", 0.5, 6.0), ("inverse_htmp", 0.5, 1.0), ("inverse_htmp", 0.5, 3.0)]
QUICK = [("htmp", 0.5, 1.0), ("inverse_htmp", 0.5, 1.0)]
ELLS = np.array([0.25, 0.5, 0.75])


def simulate(law: str, gamma: float, kappa: float, ns: np.ndarray, reps: int) -> np.ndarray:
    """Losses, shape (reps, len(ns), len(ELLS)); replicate r at size n uses seed (r, n, tag)."""
    tag = int(1000 * gamma) * 100000 + int(1000 * kappa) * 10 + (law == "inverse_htmp")
    return np.array([[simulate_ridge(int(n), gamma=gamma, kappa=kappa, ell=ELLS, law=law,
                                     rng=[r, int(n), tag]) for n in ns] for r in range(reps)])


def slope(ns: np.ndarray, loss: np.ndarray) -> float:
    """Least-squares slope of -log loss against log n."""
    return float(-np.polyfit(np.log(ns), np.log(loss), 1)[0])


def rows_for(law, gamma, kappa, ns, losses) -> list[dict]:
    rows = []
    for j, ell in enumerate(ELLS):
        per_rep = [slope(ns, losses[r, :, j]) for r in range(losses.shape[0])]
        theory = ridge_loss_theory(ns ** -ell, gamma=gamma, kappa=kappa, law=law)
        far = ridge_loss_theory(np.array([1e11, 1e12]) ** -ell, gamma=gamma, kappa=kappa, law=law)
        rows.append({
            "law": law, "gamma": gamma, "kappa": kappa,
            "alpha_plus_1": kappa / (2 * gamma) - kappa / 2, "ell": ell,
            "n_min": int(ns[0]), "n_max": int(ns[-1]), "reps": losses.shape[0],
            "slope_sim": slope(ns, losses[:, :, j].mean(axis=0)),
            "slope_sim_se": float(np.std(per_rep, ddof=1) / np.sqrt(len(per_rep))),
            "theory_same_range": slope(ns, theory),
            "theory_n1e12": float(np.log(far[0] / far[1]) / np.log(10.0)),
            "predicted": float(predicted_exponent(gamma, kappa, ell, law=law)),
            "paper": float(paper_exponent(gamma, kappa, ell)),
        })
    return rows


def figures(curves: dict, df: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    j = int(np.flatnonzero(ELLS == 0.5)[0])
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    for (law, g, k), (ns, losses) in curves.items():
        mean = losses[:, :, j].mean(axis=0)
        pts = ax.loglog(ns, mean, "o", ms=4, label=f"{law} gamma={g:g} kappa={k:g}")[0]
        fine = np.logspace(np.log10(ns[0]), np.log10(ns[-1]), 40)
        ax.loglog(fine, ridge_loss_theory(fine ** -0.5, gamma=g, kappa=k, law=law), "-",
                  color=pts.get_color(), lw=1)
    ax.set(xlabel="n (ridge mu = n^-1/2)", ylabel="test loss",
           title="simulated ridge loss (points) and mu^2 m'(-mu) (lines), ell = 0.5")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [out / "scaling_loss_vs_n.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    top = float(max(df.paper.max(), df.slope_sim.max())) * 1.05
    ax.plot([0, top], [0, top], "k-", lw=0.8)
    ax.errorbar(df.predicted, df.slope_sim, yerr=2 * df.slope_sim_se, fmt="o", ms=4,
                label="vs ell min(alpha+1, 2) (reconstruction)")
    ax.errorbar(df.paper, df.slope_sim, yerr=2 * df.slope_sim_se, fmt="s", ms=4, mfc="none",
                label="vs ell (alpha + 3) (paper, Prop 5.1)")
    ax.set(xlabel="predicted exponent", ylabel="simulated slope (2 s.e.)", xlim=(0, top),
           ylim=(0, top), title="simulated -dlog L/dlog n against both predictions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "scaling_slopes.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 laws, n <= 1e4, 2 replicates")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = ap.parse_args(argv)
    configs, ns, reps = ((QUICK, np.array([1000, 3000, 10000]), 2) if args.quick else
                         (FULL, np.round(np.logspace(3, 6, 7)).astype(int), 6))
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, curves = [], {}
    for law, g, k in configs:
        losses = simulate(law, g, k, ns, reps)
        curves[(law, g, k)] = (ns, losses)
        rows += rows_for(law, g, k, ns, losses)
    df = pd.DataFrame(rows)
    df.to_csv(args.out / "scaling_law.csv", index=False, float_format="%.6g")
    paths = figures(curves, df, args.out)
    print(f"{len(df)} rows in {time.perf_counter() - t0:.0f} s; wrote "
          f"{args.out / 'scaling_law.csv'}, " + ", ".join(p.name for p in paths), file=sys.stderr)
    return df


if __name__ == "__main__":
    main()
