"""Benchmark of htmp.repulsion.estimate_kappa: wall time and relative standard error at N = 64.

Target (issue 4): N = 64 to +/-1% (relative standard error <= 1%) in <= 30 s on 2 cores.
Run: ``python benchmarks/bench_kappa.py`` (defaults: 400 samples x 30 iterations, 32 labellings).
"""
from __future__ import annotations

import os
import time

from htmp.repulsion import estimate_kappa

CASES = [
    ("diagonal", {}),
    ("commuting_block_diagonal", {"block_size": 8}),
    ("block_diagonal", {"block_size": 8}),
    ("kronecker", {"factor_sizes": (8, 8)}),
    ("symmetric", {}),
    ("free_eigenvectors", {"k": 16}),
]


def main(n: int = 64) -> None:
    print(f"estimate_kappa at N={n}, defaults; cores available: {os.cpu_count()}")
    print(f"{'structure':<26} {'params':<22} {'kappa':>9} {'s.e.':>8} {'rel s.e.':>9} "
          f"{'closed':>9} {'seconds':>8}")
    for structure, params in CASES:
        t0 = time.perf_counter()
        res = estimate_kappa(structure, n=n, rng=2025, **params)
        dt = time.perf_counter() - t0
        rel = res.stderr / res.kappa if res.kappa else 0.0
        closed = "-" if res.kappa_closed is None else f"{res.kappa_closed:.4f}"
        print(f"{structure:<26} {str(params):<22} {res.kappa:>9.4f} {res.stderr:>8.4f} "
              f"{100 * rel:>8.2f}% {closed:>9} {dt:>8.2f}")


if __name__ == "__main__":
    main()
