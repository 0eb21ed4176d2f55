"""Speed: fit_htmp on 5000 eigenvalues (target <= 0.5 s), and the per-matrix pipeline
(esd + fit_mp + compare_mp_htmp + fit_powerlaw + phase) against LAPACK eigvalsh alone on an
n x n matrix (issue target at n = 4096: pipeline <= 1.2 x eigvalsh).

Protocol: one warm-up of each (BLAS/LAPACK threads, HTMP tables, imports), then
eigvalsh alone and the full pipeline alternately, ``--reps`` times each (default 3);
min and median of each and the ratios min/min and median/median.  eigvalsh alone is
``scipy.linalg.eigvalsh(G, driver="evr")`` on the precomputed Gram matrix G = W Wᵀ
(what ``htmp.esd`` calls); the pipeline starts from W, so it also pays for W Wᵀ.
Run: python benchmarks/bench_fit_speed.py [--n 4096] [--reps 3] [--skip-fit-htmp]"""
import statistics
import sys
import time

import numpy as np
import scipy.linalg

import htmp
from htmp.ensembles import htmp_eigvals
from htmp.fitting import compare_mp_htmp


def _arg(name, default):
    return type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


n, reps = _arg("--n", 4096), _arg("--reps", 3)

if "--skip-fit-htmp" not in sys.argv:
    for gamma, kappa in [(0.5, 2.0), (0.25, 8.0), (0.5, 30.0)]:
        x = htmp_eigvals(5000, gamma=gamma, kappa=kappa, rng=123)
        t = time.perf_counter(); f = htmp.fit_htmp(x, gamma=gamma); dt = time.perf_counter() - t
        print(f"fit_htmp n=5000 gamma={gamma} kappa={kappa}: {dt:.3f} s "
              f"(kappa_hat={f.kappa:.3f}, {f.n_loglik_evals} kappa evaluations, cold tables)")

rng = np.random.default_rng(0)
W = rng.standard_normal((n, n)) * (1 + 0.5 * rng.standard_t(3, (n, n)) ** 2) ** 0.5
G = W @ W.T


def eig_alone():
    scipy.linalg.eigvalsh(G, check_finite=False, driver="evr")


def pipeline():
    """What htmp.analyze does per layer: the MP spike model, MP vs HTMP on one common set
    (square W: gamma_eff = N/(N+1)), the power law, and the phase from that evidence."""
    r = htmp.esd(W)
    mp = htmp.fit_mp(r)
    h = compare_mp_htmp(r, mp=mp)
    pl = htmp.fit_powerlaw(r)
    return r, h, pl, htmp.phase(r, mp_fit=mp, comparison=h)


def timed(f):
    t = time.perf_counter(); out = f(); return time.perf_counter() - t, out


timed(eig_alone); _, (r, h, pl, ph) = timed(pipeline)          # warm-up
t_eig, t_pipe = [], []
for _ in range(reps):
    t_eig.append(timed(eig_alone)[0])
    t_pipe.append(timed(pipeline)[0])
t_esd = timed(lambda: htmp.esd(W))[0]
print(f"{n}x{n}, {reps} alternating repetitions after one warm-up:")
print(f"  eigvalsh alone: min {min(t_eig):.3f} s, median {statistics.median(t_eig):.3f} s "
      f"({', '.join(f'{t:.3f}' for t in t_eig)})")
print(f"  full pipeline:  min {min(t_pipe):.3f} s, median {statistics.median(t_pipe):.3f} s "
      f"({', '.join(f'{t:.3f}' for t in t_pipe)})")
print(f"  ratio pipeline/eigvalsh: min/min {min(t_pipe) / min(t_eig):.3f}, median/median "
      f"{statistics.median(t_pipe) / statistics.median(t_eig):.3f} (target <= 1.2)")
print(f"  one more esd alone (Gram + eigvalsh): {t_esd:.3f} s")
print(f"  phase={ph}, alpha={pl.alpha:.3g}, gamma={r.gamma:g}, HTMP: kappa={h.kappa:.4g} "
      f"[{h.kappa_lo:.3g}, {h.kappa_hi:.3g}] ({h.htmp_status}), {h.n_loglik_evals} kappa evaluations")
