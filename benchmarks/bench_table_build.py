"""Kummer table builds: the pure-Python walk against the compiled one (numba), side by side.

    python benchmarks/bench_table_build.py [--reps 5]

For a set of (gamma, kappa) typical of likelihood fits (the fits' partial "bulk" tables) and
of the laws (full tables), builds each table with ``HTMP_NO_JIT`` off and on, alternating,
and prints the median time per build and the ratio.  Also prints the one-time costs of the
compiled path in a fresh process: ``import numba`` and the first build (loading the
compiled code from numba's on-disk cache; the very first process compiles, ~10 s).
Without numba installed only the Python column is printed.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from htmp.laws import _kummer, _kummer_jit  # noqa: E402
from htmp.laws.tables import raw_params  # noqa: E402

CASES = [(0.25, 0.5), (0.25, 4.0), (0.5, 1.0), (0.5, 20.0), (0.1, 2.0), (0.9, 8.0),
         (0.75, 150.0), (0.02, 3.0)]
BULK = dict(log_tail=30.0, log_underflow=80.0, phase_cap=2.5)


def _time(alpha, c, kw, jit: bool, reps: int) -> float:
    if jit:
        os.environ.pop("HTMP_NO_JIT", None)
    else:
        os.environ["HTMP_NO_JIT"] = "1"
    ts = []
    for r in range(reps):
        t = time.perf_counter()
        _kummer.build_table(alpha * (1 + 1e-9 * r), c, **kw)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def _fresh_process_costs() -> str:
    code = ("import time,sys; sys.path.insert(0, %r); t=time.perf_counter(); import numba; "
            "t1=time.perf_counter(); from htmp.laws import _kummer; t2=time.perf_counter(); "
            "_kummer.build_table(0.5, 2.0); t3=time.perf_counter(); "
            "print(f'{t1-t:.3f} {t3-t2:.3f}')") % str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "HTMP_NO_JIT": ""}).stdout.split()
    return f"fresh process: import numba {out[0]} s, first compiled build {out[1]} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    has_jit = _kummer_jit.load() is not None
    if has_jit:
        _kummer.build_table(0.5, 2.0)          # load the compiled code before timing
    print(f"load average {os.getloadavg()[0]:.2f}; numba {'present' if has_jit else 'absent'}")
    print("| gamma | kappa | alpha | c | table | Python ms | compiled ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for gamma, kappa in CASES:
        alpha, c, _ = raw_params(gamma, kappa)
        for name, kw in (("bulk", BULK), ("full", {})):
            tp = _time(alpha, c, kw, False, args.reps)
            if has_jit:
                tj = _time(alpha, c, kw, True, args.reps)
                ratios.append(tp / tj)
                print(f"| {gamma} | {kappa} | {alpha:.3g} | {c:.3g} | {name} | {tp * 1e3:.2f} "
                      f"| {tj * 1e3:.2f} | {tp / tj:.1f} |")
            else:
                print(f"| {gamma} | {kappa} | {alpha:.3g} | {c:.3g} | {name} | {tp * 1e3:.2f} "
                      f"| - | - |")
    if has_jit:
        print(f"speed-up: median {np.median(ratios):.1f}x, range {min(ratios):.1f}-"
              f"{max(ratios):.1f}x")
        print(_fresh_process_costs())


if __name__ == "__main__":
    main()
