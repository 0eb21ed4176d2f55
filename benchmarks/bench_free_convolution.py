"""Speed of free_multiplicative: setup (the CDF table) and cdf on 1000 points after it.

Sigma: n eigenvalues spread log-uniformly over [0.5, 5] (n = 1000 and 4000); law:
InverseHTMP(gamma=0.5, kappa=4).  Target (issue 13): cdf on 1000 points in <= 1 s after setup.
Prints one row per case; timings are single runs on this machine.  Then the accuracy figures
quoted in docs/free_convolution.md (against the law itself for Sigma = I, against the cubic of
MP [x] MP, against Haar-rotated random matrices).

Usage: python benchmarks/bench_free_convolution.py
"""
from __future__ import annotations

import time

import numpy as np

from htmp.laws import HTMP, InverseHTMP, MarchenkoPastur
from htmp.theory.free import free_multiplicative


def main() -> None:
    law = InverseHTMP(gamma=0.5, kappa=4.0)
    x = np.geomspace(0.05, 500.0, 1000)
    print(f"{'n':>6} {'setup_s':>8} {'cdf1000_s':>10} {'pdf1000_s':>10} {'panels':>7} "
          f"{'nodes':>6} {'mass_error':>11} {'error_bound':>11}")
    for n in (1000, 4000):
        sigma = np.geomspace(0.5, 5.0, n)
        t0 = time.perf_counter()
        mu = free_multiplicative(sigma, law)
        info = mu.table_info()
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        mu.cdf(x)
        t_cdf = time.perf_counter() - t0
        t0 = time.perf_counter()
        mu.pdf(x)
        t_pdf = time.perf_counter() - t0
        print(f"{n:>6} {setup:>8.2f} {t_cdf:>10.4f} {t_pdf:>10.2f} {info.n_panels:>7} "
              f"{info.n_nodes:>6} {info.mass_error:>11.1e} {info.error_bound:>11.1e}")


def accuracy() -> None:
    print("\naccuracy (Sigma = I: against the law's own pdf/cdf at its 1%..99% quantiles)")
    for law in (InverseHTMP(gamma=0.5, kappa=4.0), HTMP(gamma=0.3, kappa=1.3),
                MarchenkoPastur(gamma=0.4)):
        mu = free_multiplicative(np.ones(7), law)
        x = law.ppf(np.linspace(0.01, 0.99, 199))
        rel = np.max(np.abs(mu.pdf(x) / law.pdf(x) - 1))
        cdf = np.max(np.abs(mu.cdf(x) - law.cdf(x)))
        info = mu.table_info()
        print(f"  {law!r:42} pdf rel {rel:.1e}  cdf abs {cdf:.1e}  mass_error "
              f"{info.mass_error:.1e}  error_bound {info.error_bound:.1e}")
    g1, g2 = 0.3, 0.6
    mu = free_multiplicative(MarchenkoPastur(gamma=g1), MarchenkoPastur(gamma=g2))
    lo, hi = mu.support()
    x = np.linspace(lo, hi, 2002)[1:-1]
    h = np.polymul(np.polymul([g1, 1], [1, 1]), [g2, 1])
    ref = np.array([np.max(np.abs(np.roots(h - [0, 0, v, 0]).imag)) / (np.pi * v) for v in x])
    crit = (np.polyder(np.poly1d(h)) * np.poly1d([1, 0]) - np.poly1d(h)).roots
    crit = crit[np.abs(crit.imag) < 1e-12].real
    edges = np.sort([np.polyval(h, c) / c for c in crit if np.polyval(h, c) / c > 0])
    print(f"  MP(0.3) [x] MP(0.6): pdf max abs err {np.max(np.abs(mu.pdf(x) - ref)):.1e} "
          f"(peak {ref.max():.3f}); edges rel err {abs(lo / edges[0] - 1):.1e}, "
          f"{abs(hi / edges[-1] - 1):.1e}; mass_error {mu.table_info().mass_error:.1e}")
    law = InverseHTMP(gamma=0.5, kappa=4.0)
    print("  random matrices, Sigma = {1, 4} (half each), m at rho's n quantiles, Haar O:")
    for n in (500, 1000, 2000):
        rng = np.random.default_rng(1)
        sig = np.where(np.arange(n) < n // 2, 1.0, 4.0)
        mu = free_multiplicative(sig, law)
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        o, s = q * np.sign(np.diag(r)), np.sqrt(sig)
        m = law.ppf((np.arange(n) + 0.5) / n)
        e = np.sort(np.linalg.eigvalsh((s[:, None] * o) * m @ (o.T * s[None, :])))
        F, i = mu.cdf(e), np.arange(1, n + 1)
        d = max(np.max(i / n - F), np.max(F - (i - 1) / n))
        print(f"    n={n:5d}  KS {d:.4f}  n*KS {n * d:.2f}")


if __name__ == "__main__":
    main()
    accuracy()
