"""Stochastic Lanczos quadrature: accuracy of htmp.features.hessian_density against its cost.

Model: MLP 16 -> 48 -> 48 -> 4 (tanh), d = 3,364 parameters, float64, briefly trained (300
Adam steps, lr 1e-2) on 256 synthetic samples (y = a fixed random tanh network of X plus
noise) so that the Hessian has a trained network's outliers and negative eigenvalues;
loss MSE.  The exact spectrum is hessian_eigvals (all d eigenvalues).  For each number of
probes x Lanczos steps, hessian_density runs with 3 seeds (rng = 0, 1, 2) and we print

* W1 (quadrature): the Wasserstein-1 distance between the SLQ measure (nodes, weights / n_probes)
  and the exact spectral measure (1/d) sum delta(t - lambda_i), over the spectral width
  lambda_max - lambda_min (mean and worst of the 3 seeds);
* W1 (smoothed): the same for the Gaussian-smoothed density ``density(grid)`` (default sigma =
  range / 100) on a 4000-point grid, as a discrete measure;
* the mean time of one hessian_density call (one torch thread; the machine is shared).

The figure (docs/img/slq_accuracy.png) plots W1 (quadrature) against the number of
Hessian-vector products (probes x steps) and, beside it, the exact histogram with two smoothed
densities.

    PYTHONPATH=src python benchmarks/bench_slq.py     # prints the table, writes the figure
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy.stats import wasserstein_distance

PROBES = (1, 4, 16, 64)
STEPS = (10, 20, 40, 80)
SEEDS = (0, 1, 2)
FIG = Path(__file__).resolve().parent.parent / "docs" / "img" / "slq_accuracy.png"


def problem():
    import torch

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    nn = torch.nn
    X = torch.randn(256, 16, generator=g, dtype=torch.float64)
    teacher = torch.randn(16, 4, generator=g, dtype=torch.float64)
    y = torch.tanh(X @ teacher) + 0.1 * torch.randn(256, 4, generator=g, dtype=torch.float64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 48), nn.Tanh(), nn.Linear(48, 48), nn.Tanh(),
                          nn.Linear(48, 4)).double()
    loss = nn.MSELoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss(model(X), y).backward()
        opt.step()
    return model, loss, X, y


def measure(model, loss, X, y, exact):
    from htmp.features import hessian_density

    width = exact[-1] - exact[0]
    grid = np.linspace(exact[0] - 0.05 * width, exact[-1] + 0.05 * width, 4000)
    rows = []
    for p in PROBES:
        for m in STEPS:
            w_q, w_s, times = [], [], []
            for seed in SEEDS:
                t = time.perf_counter()
                res = hessian_density(model, loss, X, y, n_probes=p, n_steps=m, rng=seed)
                times.append(time.perf_counter() - t)
                w_q.append(wasserstein_distance(res.nodes.ravel(), exact,
                                                u_weights=res.weights.ravel()) / width)
                rho = res.density(grid)
                w_s.append(wasserstein_distance(grid, exact, u_weights=rho) / width)
            rows.append((p, m, np.mean(w_q), np.max(w_q), np.mean(w_s), np.max(w_s),
                         np.mean(times)))
            print("| {} | {} | {} | {:.4f} | {:.4f} | {:.4f} | {:.4f} | {:.2f} s |".format(
                p, m, p * m, *rows[-1][2:]), flush=True)
    return rows, grid


def figure(rows, exact, model, loss, X, y, grid) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from htmp.features import hessian_density

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for p in PROBES:
        sel = [r for r in rows if r[0] == p]
        ax1.loglog([p * r[1] for r in sel], [r[2] for r in sel], "o-", label=f"{p} probes")
    ax1.set_xlabel("Hessian-vector products (probes x Lanczos steps)")
    ax1.set_ylabel("W1(SLQ measure, exact) / spectral width")
    ax1.set_title(f"SLQ accuracy, d = {len(exact)} (mean of {len(SEEDS)} seeds)")
    ax1.legend()
    ax2.hist(exact, bins=200, density=True, color="0.8", label="exact (hessian_eigvals)")
    for p, m in ((4, 20), (16, 80)):
        res = hessian_density(model, loss, X, y, n_probes=p, n_steps=m, rng=0)
        ax2.plot(grid, res.density(grid), label=f"SLQ {p} probes x {m} steps")
    ax2.set_yscale("log")
    ax2.set_ylim(1e-3, None)
    ax2.set_xlabel("eigenvalue")
    ax2.set_ylabel("density")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIG, dpi=110)


def main() -> None:
    from htmp.features import hessian_eigvals

    model, loss, X, y = problem()
    t = time.perf_counter()
    exact = hessian_eigvals(model, loss, X, y)
    t_exact = time.perf_counter() - t
    print(f"d = {len(exact)}; exact spectrum in [{exact[0]:.4g}, {exact[-1]:.4g}] "
          f"(hessian_eigvals {t_exact:.1f} s)\n")
    print("| probes | steps | products | W1 quadrature (mean) | W1 quadrature (worst) | "
          "W1 smoothed (mean) | W1 smoothed (worst) | time |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows, grid = measure(model, loss, X, y, exact)
    figure(rows, exact, model, loss, X, y, grid)
    print(f"\nfigure: {FIG.relative_to(FIG.parent.parent.parent)}")


if __name__ == "__main__":
    main()
