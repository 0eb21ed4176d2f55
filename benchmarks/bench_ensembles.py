"""Benchmark of htmp.ensembles: tridiagonal beta-Wishart sampling vs scikit-rmt and dense.

Setting (as PEERS.md 2c): p = N rows, n = 2N columns (gamma = 0.5); eigenvalues of
G G^* with E|g|^2 = beta; the sanity column is max eigenvalue / n, to compare with
the MP edge beta (1 + sqrt(1/2))^2 = 2.914 beta.  Every ratio is measured in the
same run (best of ``--repeat`` runs for N <= 4000, one run above).

Usage::

    PYTHONPATH=src python benchmarks/bench_ensembles.py            # N = 1000, 4000, 1e5; hist 1e6
    PYTHONPATH=src python benchmarks/bench_ensembles.py --sizes 1000 --hist-sizes 1000000 10000000

scikit-rmt 2.1.1 pins numpy<=1.26.4, scipy<=1.12 and imports ``scipy.misc``
(removed in scipy 1.14), so it cannot be imported next to numpy 2 / scipy 1.17.
Run this script with a separate environment to include it, e.g.::

    python -m venv /tmp/skrmt-venv && /tmp/skrmt-venv/bin/pip install scikit-rmt==2.1.1
    PYTHONPATH=src /tmp/skrmt-venv/bin/python benchmarks/bench_ensembles.py

Without it the scikit-rmt rows are skipped (the script says so).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy

from htmp.ensembles import (
    beta_laguerre_tridiagonal,
    htmp_tridiagonal,
)

try:
    import skrmt
    from skrmt.ensemble import WishartEnsemble
except Exception as exc:                      # noqa: BLE001 - any import failure means "absent"
    WishartEnsemble = None
    SKRMT_STATUS = f"absent ({type(exc).__name__}: {exc})"
else:
    SKRMT_STATUS = f"scikit-rmt {skrmt.__version__}"

EDGE = (1 + np.sqrt(0.5)) ** 2


def best_of(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ours(p, n, beta, rng, full_eig):
    alpha = beta * (n - p + 1) / 2 - 1                 # classical (p, n) -> Laguerre exponent
    t0 = time.perf_counter()
    tri = beta_laguerre_tridiagonal(p, beta=beta, alpha=alpha, rng=rng)
    t_sample = time.perf_counter() - t0
    if not full_eig:
        return t_sample, np.nan, np.nan
    t0 = time.perf_counter()
    ev = 2 * tri.eigvals()                             # eig(G G^*) = 2 x
    return t_sample, time.perf_counter() - t0, ev[-1] / n


def skrmt_run(p, n, beta, tridiagonal, seed):
    t0 = time.perf_counter()
    ens = WishartEnsemble(beta=beta, p=p, n=n, tridiagonal_form=tridiagonal, random_state=seed)
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    ev = ens.eigvals()
    return t_sample, time.perf_counter() - t0, ev.max() / n


def dense(p, n, beta, rng):
    t0 = time.perf_counter()
    g = rng.standard_normal((p, n))
    if beta == 2:
        g = g + 1j * rng.standard_normal((p, n))
    w = g @ g.conj().T
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    ev = np.linalg.eigvalsh(w)
    return t_sample, time.perf_counter() - t0, ev[-1] / n


def row(label, n_, beta, res, ref_total=None):
    t_s, t_e, top = res
    total = t_s + (0.0 if np.isnan(t_e) else t_e)
    ratio = "" if ref_total is None else f"{total / ref_total:8.1f}x"
    eig = "    -   " if np.isnan(t_e) else f"{t_e:8.3f}"
    edge = "   -  " if np.isnan(top) else f"{top:6.3f} / {beta * EDGE:6.3f}"
    print(f"{n_:>8d} {label:<28s} {beta:>6g} {t_s:9.4f} {eig} {total:9.3f} {ratio:>9s}  {edge}")
    return total


def compare(sizes, repeat, full_eig_max, seed):
    print(f"{'N':>8s} {'method':<28s} {'beta':>6s} {'sample s':>9s} {'eig s':>8s} "
          f"{'total s':>9s} {'vs ours':>9s}  max eig/n vs MP edge")
    for N in sizes:
        p, n = N, 2 * N
        rep = repeat if N <= 4000 else 1
        full = N <= full_eig_max
        for beta in (1, 2, 4):
            rng = np.random.default_rng(seed)
            do_full = full and (N <= 4000 or beta == 1)
            res = min((ours(p, n, beta, rng, do_full) for _ in range(rep)),
                      key=lambda r: r[0] + np.nan_to_num(r[1]))
            ref = row("htmp tridiagonal", N, beta, res)
            if WishartEnsemble is None:
                print(f"{N:>8d} {'scikit-rmt tridiagonal':<28s} {beta:>6g}   skipped: {SKRMT_STATUS}")
            elif N > 20_000:
                print(f"{N:>8d} {'scikit-rmt tridiagonal':<28s} {beta:>6g}   skipped: it builds a "
                      f"dense p x p array ({8 * N * N / 2**30:.0f} GiB)")
            else:
                _, res = best_of(lambda: skrmt_run(p, n, beta, True, seed), rep)
                row("scikit-rmt tridiagonal", N, beta, res, ref)
            if N <= 4000 and beta in (1, 2):
                rng = np.random.default_rng(seed)
                _, res = best_of(lambda: dense(p, n, beta, rng), rep)
                row(f"numpy dense {'real' if beta == 1 else 'complex'} G G^*", N, beta, res, ref)
            if N <= 4000 and beta == 1 and WishartEnsemble is not None:
                _, res = best_of(lambda: skrmt_run(p, n, beta, False, seed), 1)
                row("scikit-rmt dense", N, beta, res, ref)
        # high temperature beta = 2/N: only htmp can do it
        rng = np.random.default_rng(seed)
        t_s, t_e, _ = ours(p, n, 2.0 / N, rng, full)
        row("htmp tridiagonal (beta=2/N)", N, 2.0 / N, (t_s, t_e, np.nan))
        if N > 4000 and full:
            print(f"{'':>8s} (at N={N} all eigenvalues only for beta=1 and beta=2/N: O(N^2))")


def histograms(sizes, seed):
    print(f"\n{'N':>9s} {'sample s':>9s} {'hist s (range given)':>21s} "
          f"{'hist s (default range)':>23s} {'counted':>10s}")
    for N in sizes:
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        tri = htmp_tridiagonal(N, gamma=0.5, kappa=2.0, rng=rng)
        t_sample = time.perf_counter() - t0
        t0 = time.perf_counter()
        h = tri.histogram(bins=200, range=(0.0, 8.0))
        t_given = time.perf_counter() - t0
        t0 = time.perf_counter()
        h2 = tri.histogram(bins=200)
        t_default = time.perf_counter() - t0
        counted = h.counts.sum() + h.n_below + h.n_above
        print(f"{N:>9d} {t_sample:9.3f} {t_given:21.3f} {t_default:23.3f} "
              f"{counted:>10d}  (in [0,8): {h.counts.sum()}, default-range total {h2.counts.sum()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 4000, 100_000])
    ap.add_argument("--hist-sizes", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full-eig-max", type=int, default=100_000,
                    help="compute all eigenvalues only up to this N (O(N^2) beyond 1e4)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{SKRMT_STATUS}, {os.cpu_count()} CPUs")
    compare(args.sizes, args.repeat, args.full_eig_max, args.seed)
    histograms(args.hist_sizes, args.seed)


if __name__ == "__main__":
    main()
