"""Accuracy of fit_htmp over 20 seeds: N = 2000, kappa in {0.5, 2, 8, 32}, gamma in {0.25, 0.5};
and Wishart matrices (MP preferred, phase random-like).  Run: python benchmarks/bench_fit_accuracy.py"""
import time

import numpy as np

import htmp
from htmp.ensembles import htmp_eigvals
from htmp.fitting import compare_mp_htmp

SEEDS = range(20)
print(f"{'gamma':>5} {'kappa':>5} {'median':>8} {'bias%':>7} {'spread%':>8} {'max|err|%':>9} "
      f"{'within10%':>9} {'mom bias%':>9} {'mom spread%':>11}")
for gamma in (0.25, 0.5):
    for kappa in (0.5, 2.0, 8.0, 32.0):
        k, km = [], []
        for s in SEEDS:
            f = htmp.fit_htmp(htmp_eigvals(2000, gamma=gamma, kappa=kappa, rng=s), gamma=gamma)
            k.append(f.kappa); km.append(f.kappa_moments)
        e, em = np.array(k) / kappa - 1, np.array(km) / kappa - 1
        print(f"{gamma:5} {kappa:5} {np.median(k):8.3f} {100*e.mean():7.2f} {100*e.std():8.2f} "
              f"{100*np.abs(e).max():9.2f} {np.mean(np.abs(e) <= 0.1):9.2f} "
              f"{100*em.mean():9.2f} {100*em.std():11.2f}")
t = time.perf_counter()
pref, ph = [], []
for s in range(10):
    r = htmp.esd(np.random.default_rng(s).standard_normal((500, 1000 if s % 2 else 2000)))
    pref.append(compare_mp_htmp(r).preferred); ph.append(str(htmp.phase(r)))
print("Wishart (10 seeds): preferred", {p: pref.count(p) for p in set(pref)},
      "phase", {p: ph.count(p) for p in set(ph)}, f"({time.perf_counter()-t:.1f} s)")
