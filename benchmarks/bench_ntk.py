"""Empirical NTK eigenvalues: htmp.features.ntk_eigvals against the dense torch.func recipe.

The recipe is the torch.func NTK tutorial's: the whole Jacobian from
``vmap(jacrev(f_single), (None, 0))`` (per parameter tensor, float32), its Gram
``sum_p J_p J_pᵀ`` in float32 (no concatenation of J), eigenvalues with LAPACK in float64;
timed a second time with the Gram in float64 as ntk_eigvals forms it (the
precision-matched comparison; the peak is that of the whole child, both Grams).
ntk_eigvals computes the same Gram in float64 chunk by chunk (default 256 MiB of Jacobian
columns), except that ``nn.Linear`` layers (all of this model's parameters) take its
fast path: their Gram blocks come from the layer inputs and output gradients (one forward,
k backward passes), with no Jacobian columns.  Models: MLP 784 -> 2w -> w -> 10 (ReLU),
and CNNs conv3x3(3 -> c) -> ReLU -> maxpool 2 -> conv3x3(c -> 2c) -> ReLU -> maxpool 2 ->
Linear(-> 10) on 3 x H x H inputs (padding 1), whose convolutions take the convolution fast
path (per-sample gradients from unfolded patches); for those, ntk_eigvals is also timed with
``conv_fast=False`` (the chunked Jacobian path for the convolutions); ``ntk_eigvals`` with its defaults takes
one jacrev chunk for the smallest CNN (its whole Jacobian is under ``DENSE_BYTES``).
n = 40 inputs, k = 10 outputs (a 400 x 400 Gram).  Each run is a fresh child process with
one torch thread; time is the best of 5 (MLP) or 3 (CNN) calls' wall times (after a warm-up
call on 2 inputs; the machine is shared), peak is the child's VmHWM (whole process, torch
included).  The recipe is skipped when its float32 J would exceed 3 GB.

    PYTHONPATH=src python benchmarks/bench_ntk.py        # writes benchmarks/out/ntk.md
    PYTHONPATH=src python benchmarks/bench_ntk.py cnn    # the CNN table only
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _peak import PEAK_MB

N, K = 40, 10
WIDTHS = (64, 128, 256, 512, 768)
CNNS = ((8, 16), (16, 32), (32, 32), (64, 32))   # (c, H)
RECIPE_LIMIT = 3e9      # bytes of float32 J
REPEATS = 5             # timed calls per child; the best is reported

CHILD = PEAK_MB + r'''
import sys, time
import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

which, arch, n, REPEATS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
torch.manual_seed(0)
nn = torch.nn
if arch.startswith("mlp"):
    w = int(arch[3:])
    model = nn.Sequential(nn.Linear(784, 2 * w), nn.ReLU(), nn.Linear(2 * w, w), nn.ReLU(),
                          nn.Linear(w, 10))
    X = torch.randn(n, 784, generator=torch.Generator().manual_seed(1))
else:
    c, H = map(int, arch[3:].split("x"))
    model = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(2 * c * (H // 4) ** 2, 10))
    X = torch.randn(n, 3, H, H, generator=torch.Generator().manual_seed(1))
model.eval()

def recipe(X, timing=None):
    t0 = time.perf_counter()
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = lambda p, x: functional_call(model, p, (x.unsqueeze(0),)).reshape(-1)
    jac = vmap(jacrev(f), (None, 0))(params, X)
    rows = X.shape[0] * 10
    Js = [j.reshape(rows, -1) for j in jac.values()]
    t1 = time.perf_counter()
    G = sum(j @ j.T for j in Js)
    ev = np.linalg.eigvalsh(G.double().numpy())
    t2 = time.perf_counter()
    G64 = torch.zeros(rows, rows, dtype=torch.float64)   # the same Gram in float64
    for j in Js:
        for blk in j.split(max(1, 2**23 // rows), dim=1):
            b = blk.double()
            G64.addmm_(b, b.T)
    ev64 = np.linalg.eigvalsh(G64.numpy())
    t3 = time.perf_counter()
    if timing is not None:
        timing += [t1 - t0 + (t2 - t1), t1 - t0 + (t3 - t2)]
    return ev64

if which.startswith("ntk"):
    from htmp.features import ntk_eigvals
    run = lambda X: ntk_eigvals(model, X, conv_fast=None if which == "ntk" else False).eigenvalues
else:
    run = recipe
run(X[:2])
best = [float("inf")] * 2
for _ in range(REPEATS):      # best of REPEATS: the machine is shared
    t = time.perf_counter()
    if which.startswith("ntk"):
        ev = run(X)
        t = time.perf_counter() - t
        times = [t, t]
    else:
        times = []
        ev = recipe(X, times)
    best = [min(a, b) for a, b in zip(best, times)]
print(*best, peak_mb(), ev[-1])
'''


def child(which: str, arch: str, repeats: int = REPEATS) -> tuple[float, float, float, float]:
    """(time with the float32 Gram, time with the float64 Gram, peak MiB, lambda_max)."""
    out = subprocess.run([sys.executable, "-c", CHILD, which, arch, str(N), str(repeats)],
                         capture_output=True, text=True, check=True)
    return tuple(map(float, out.stdout.split()))


def cnn_params(c: int, H: int) -> int:
    return 3 * c * 9 + c + c * 2 * c * 9 + 2 * c + 2 * c * (H // 4) ** 2 * 10 + 10


def cnn_table() -> str:
    lines = ["| c, H | params | dense J (float32) | ntk_eigvals time | ntk_eigvals peak | "
             "conv_fast=False time | conv_fast=False peak | recipe time (f32 Gram) | "
             "recipe time (f64 Gram) | recipe peak | ntk / recipe f32 | ntk / recipe f64 | "
             "rel. diff of λ_max |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c, H in CNNS:
        arch, P = f"cnn{c}x{H}", cnn_params(c, H)
        dense = N * K * P * 4
        t1, _, m1, top1 = child("ntk", arch, 3)
        t0, _, m0, _ = child("ntk_noconv", arch, 3)
        t32, t64, m2, top2 = child("recipe", arch, 3)
        lines.append(f"| {c}, {H} | {P:,} | {dense / 1e9:.2f} GB | {t1:.2f} s | {m1:.0f} MiB | "
                     f"{t0:.2f} s | {m0:.0f} MiB | {t32:.2f} s | {t64:.2f} s | {m2:.0f} MiB | "
                     f"{t1 / t32:.2f} | {t1 / t64:.2f} | {abs(top1 - top2) / top2:.1e} |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def main() -> None:
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    if sys.argv[1:] == ["cnn"]:
        table = cnn_table()
        (out / "ntk_cnn.md").write_text(f"n = {N} inputs, k = {K} outputs\n\n" + table)
        print(table)
        return
    mlp = mlp_table()
    cnn = cnn_table()
    (out / "ntk.md").write_text(f"n = {N} inputs, k = {K} outputs\n\n" + mlp + "\n" + cnn)
    print(mlp + "\n" + cnn)


def mlp_table() -> str:
    lines = ["| params | dense J (float32) | ntk_eigvals time | ntk_eigvals peak | "
             "recipe time (f32 Gram) | recipe time (f64 Gram) | recipe peak | "
             "ntk / recipe f32 | ntk / recipe f64 | rel. diff of λ_max |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in WIDTHS:
        P = 784 * 2 * w + 2 * w + 2 * w * w + w + 10 * w + 10
        dense = N * K * P * 4
        t1, _, m1, top1 = child("ntk", f"mlp{w}")
        if dense <= RECIPE_LIMIT:
            t32, t64, m2, top2 = child("recipe", f"mlp{w}")
            rec = (f"{t32:.2f} s", f"{t64:.2f} s", f"{m2:.0f} MiB", f"{t1 / t32:.2f}",
                   f"{t1 / t64:.2f}", f"{abs(top1 - top2) / top2:.1e}")
        else:
            rec = ("skipped (J > 3 GB)", "", "", "", "", "")
        lines.append(f"| {P:,} | {dense / 1e9:.2f} GB | {t1:.2f} s | {m1:.0f} MiB | "
                     + " | ".join(rec) + " |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
