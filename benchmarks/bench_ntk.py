"""Empirical NTK eigenvalues: htmp.features.ntk_eigvals against the dense torch.func recipe.

The recipe is the torch.func NTK tutorial's: the whole Jacobian from
``vmap(jacrev(f_single), (None, 0))`` (per parameter tensor, float32), its Gram
``sum_p J_p J_pᵀ`` in float32 (no concatenation of J), eigenvalues with LAPACK in float64.
ntk_eigvals computes the same Gram in float64 chunk by chunk (default 256 MiB of Jacobian
columns).  Model: MLP 784 -> 2w -> w -> 10 (ReLU), n = 40 inputs, k = 10 outputs (a
400 x 400 Gram).  Each run is a fresh child process; time is the call's wall time
(after a warm-up call on 2 inputs), peak is the child's VmHWM (whole process, torch
included).  The recipe is skipped when its float32 J would exceed 3 GB.

    PYTHONPATH=src python benchmarks/bench_ntk.py        # writes benchmarks/out/ntk.md
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _peak import PEAK_MB

N, K = 40, 10
WIDTHS = (64, 128, 256, 512, 768)
RECIPE_LIMIT = 3e9      # bytes of float32 J

CHILD = PEAK_MB + r'''
import sys, time
import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

which, w, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 2 * w), torch.nn.ReLU(),
                            torch.nn.Linear(2 * w, w), torch.nn.ReLU(), torch.nn.Linear(w, 10))
X = torch.randn(n, 784, generator=torch.Generator().manual_seed(1))

def recipe(X):
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = lambda p, x: functional_call(model, p, (x.unsqueeze(0),)).reshape(-1)
    jac = vmap(jacrev(f), (None, 0))(params, X)
    rows = X.shape[0] * 10
    G = sum(j.reshape(rows, -1) @ j.reshape(rows, -1).T for j in jac.values())
    return np.linalg.eigvalsh(G.double().numpy())

if which == "ntk":
    from htmp.features import ntk_eigvals
    run = lambda X: ntk_eigvals(model, X).eigenvalues
else:
    run = recipe
run(X[:2])
t = time.perf_counter()
ev = run(X)
print(time.perf_counter() - t, peak_mb(), ev[-1], ev[0])
'''


def child(which: str, w: int) -> tuple[float, float, float, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, which, str(w), str(N)],
                         capture_output=True, text=True, check=True)
    return tuple(map(float, out.stdout.split()))


def main() -> None:
    lines = ["| params | dense J (float32) | ntk_eigvals time | ntk_eigvals peak | "
             "recipe time | recipe peak | time ratio ntk/recipe | rel. diff of λ_max |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in WIDTHS:
        P = 784 * 2 * w + 2 * w + 2 * w * w + w + 10 * w + 10
        dense = N * K * P * 4
        t1, m1, top1, _ = child("ntk", w)
        if dense <= RECIPE_LIMIT:
            t2, m2, top2, _ = child("recipe", w)
            rec = (f"{t2:.2f} s", f"{m2:.0f} MiB", f"{t1 / t2:.2f}",
                   f"{abs(top1 - top2) / top2:.1e}")
        else:
            rec = ("skipped (J > 3 GB)", "", "", "")
        lines.append(f"| {P:,} | {dense / 1e9:.2f} GB | {t1:.2f} s | {m1:.0f} MiB | "
                     + " | ".join(rec) + " |")
        print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "ntk.md").write_text(f"n = {N} inputs, k = {K} outputs\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()
