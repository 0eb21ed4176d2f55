"""Speed: fit_htmp on 5000 eigenvalues (target <= 0.5 s), and the per-matrix pipeline
(esd + fit_mp + fit_htmp + fit_powerlaw + phase) against LAPACK eigvalsh alone on a
4096 x 4096 matrix (target: <= 20 % more), measured side by side in one run.
Run: python benchmarks/bench_fit_speed.py [--n 4096]"""
import sys
import time

import numpy as np
import scipy.linalg

import htmp
from htmp.ensembles import htmp_eigvals

n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 4096

for gamma, kappa in [(0.5, 2.0), (0.25, 8.0), (0.5, 30.0)]:
    x = htmp_eigvals(5000, gamma=gamma, kappa=kappa, rng=123)
    t = time.perf_counter(); f = htmp.fit_htmp(x, gamma=gamma); dt = time.perf_counter() - t
    print(f"fit_htmp n=5000 gamma={gamma} kappa={kappa}: {dt:.3f} s "
          f"(kappa_hat={f.kappa:.3f}, {f.n_evals} kappa evaluations, cold tables)")

rng = np.random.default_rng(0)
W = rng.standard_normal((n, n)) * (1 + 0.5 * rng.standard_t(3, (n, n)) ** 2) ** 0.5
G = W @ W.T
t = time.perf_counter()
scipy.linalg.eigvalsh(G, check_finite=False, driver="evr")
t_eig = time.perf_counter() - t
t = time.perf_counter()
r = htmp.esd(W)
t_esd = time.perf_counter() - t
t = time.perf_counter()
mp, h, pl = htmp.fit_mp(r), None, htmp.fit_powerlaw(r)
ph = htmp.phase(r)
t_fit = time.perf_counter() - t
print(f"{n}x{n}: eigvalsh alone {t_eig:.2f} s; esd (gram + eigvalsh) {t_esd:.2f} s; "
      f"fits + phase {t_fit:.2f} s; pipeline/eigvalsh = {(t_esd + t_fit) / t_eig:.3f} "
      f"(phase={ph}, kappa={ph.kappa:.3g}, alpha={pl.alpha:.3g})")
