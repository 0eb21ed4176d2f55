"""fit_powerlaw's choice of xmin: the full O(n^2) KS scan (``_ks_all``, every candidate's D)
against the pruned scan that ``fit_powerlaw`` uses (``_ks_min``: a lower bound per
candidate from 32 points of its tail, exact D only where a bound can beat the minimum),
side by side in one process on the same eigenvalues.  Both must pick the same xmin with the
same D (checked here; tests/test_fitting_powerlaw.py checks it on 300 spectra).

Eigenvalues: MP(gamma = 0.5) plus a Pareto(2) tail of n/20 values above the bulk.
Run: python benchmarks/bench_powerlaw_scan.py [--reps 20]"""
import sys
import time

import numpy as np

import htmp
from htmp.fitting.powerlaw_fit import _candidates, _ks_all, _ks_min

reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 20
rng = np.random.default_rng(0)
print(f"{'n':>6} {'full scan ms':>13} {'pruned ms':>10} {'speed-up':>9}  (min over {reps})")
for n in (40, 128, 256, 512, 1536, 4000):
    x = htmp.MarchenkoPastur(gamma=0.5).rvs(size=n, rng=rng)
    x = np.sort(np.r_[x, rng.pareto(2.0, n // 20) + x.max()])
    alpha, ni, logx = _candidates(x, False)
    usable = np.isfinite(alpha) & (alpha > 1.0)

    def full():
        D = _ks_all(alpha, logx)
        D[~usable] = 1.0
        i = int(np.argmin(D))
        return i, float(D[i])

    def pruned():
        return _ks_min(alpha, logx, usable)

    assert full() == pruned(), "the pruned scan must pick the full scan's minimiser"
    t = {"full": [], "pruned": []}
    for _ in range(reps):
        for name, f in (("full", full), ("pruned", pruned)):
            s = time.perf_counter()
            f()
            t[name].append(time.perf_counter() - s)
    a, b = min(t["full"]), min(t["pruned"])
    print(f"{len(x):6d} {1e3 * a:13.3f} {1e3 * b:10.3f} {a / b:8.1f}x")
