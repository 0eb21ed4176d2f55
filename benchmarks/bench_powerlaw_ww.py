"""fit_powerlaw vs WeightWatcher 0.7.7's default alpha (WWFit) on the same eigenvalues.
Runs only where weightwatcher is importable, e.g.
  python3 -m venv /tmp/ww-venv && /tmp/ww-venv/bin/pip install weightwatcher==0.7.7 "powerlaw<2"
  PYTHONPATH=src /tmp/ww-venv/bin/python benchmarks/bench_powerlaw_ww.py"""
import time

import numpy as np

try:
    from weightwatcher.WW_powerlaw import WWFit
except ImportError:
    raise SystemExit("weightwatcher is not importable: skipping")
from htmp.fitting import fit_powerlaw

rng = np.random.default_rng(0)
worst = 0.0
print(f"{'n':>6} {'data':>6} {'alpha WW':>12} {'alpha htmp':>12} {'rel diff':>9} {'same xmin':>9} "
      f"{'t WW':>7} {'t htmp':>7} {'ratio':>6}")
for n, kind in [(15, "gauss"), (100, "t3"), (1000, "gauss"), (1000, "t2.5"), (3000, "t2.5"),
                (5000, "gauss"), (10000, "t3")]:
    m = 2 * n if n <= 1000 else n + 500
    if n >= 5000:     # large spectra: sample HTMP-like eigenvalues directly (no 10k SVD)
        ev = np.sort(rng.standard_t(3, n) ** 2 + rng.chisquare(m, n)) if kind == "t3" else \
            np.sort(rng.chisquare(m, n))
    else:
        W = rng.standard_normal((n, m)) if kind == "gauss" else rng.standard_t(float(kind[1:]), (n, m))
        ev = np.linalg.eigvalsh(W @ W.T)
    t = time.perf_counter(); a = WWFit(ev[ev > 1e-5]); t1 = time.perf_counter() - t
    t = time.perf_counter(); b = fit_powerlaw(ev); t2 = time.perf_counter() - t
    rel = abs(a.alpha - b.alpha) / a.alpha
    worst = max(worst, rel)
    print(f"{n:6} {kind:>6} {a.alpha:12.8f} {b.alpha:12.8f} {rel:9.1e} {str(a.xmin == b.xmin):>9} "
          f"{t1:7.3f} {t2:7.3f} {t1 / max(t2, 1e-9):6.1f}")
print(f"worst relative difference in alpha: {worst:.1e}")
