"""Empirical NTK: htmp.features.ntk_eigvals beside neural-tangents' ``empirical_ntk_fn``, on the
same MLP weights and inputs.

neural-tangents is no dependency of htmp: it runs in its own virtual environment (plain
``pip install neural-tangents`` pulls a jax it cannot import; ../shared/PEERS.md gives the
pins), and this script runs in two steps that share one ``.npz`` file:

    # 1. in htmp's environment (torch): build the MLPs, time ntk_eigvals, save weights,
    #    inputs and eigenvalues
    PYTHONPATH=src python benchmarks/bench_ntk_neural_tangents.py export benchmarks/out/nt.npz
    # 2. in the neural-tangents environment (no torch, no htmp):
    python3 -m venv venv_jax
    venv_jax/bin/pip install neural-tangents "jax==0.4.23" "jaxlib==0.4.23" \\
        "tf2jax==0.3.5" "numpy<2" "scipy<1.13"
    venv_jax/bin/python benchmarks/bench_ntk_neural_tangents.py run benchmarks/out/nt.npz

Step 2 builds the same MLP with ``stax`` (``Dense(..., parameterization="standard")``, which
computes ``x W + b`` as ``nn.Linear`` does, with W the transpose of torch's weight), puts
torch's weights in, and times ``nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
implementation=i)`` jitted, for the three implementations (1 Jacobian contraction, 2 NTK-vector
products, 3 structured derivatives), float32 as the torch model.  The kernel
``(n, n, k, k)`` is laid out as htmp's ``(n k) x (n k)`` Gram (row ``i k + c``) and its
eigenvalues (numpy ``eigvalsh`` in float64) are compared with htmp's.  Times: compile = the
first call (tracing and XLA compilation included), then the best of 5 calls (of 2 where the
first took over 5 s)
(``block_until_ready``); htmp: best of 5 after a warm-up call.  htmp's time includes its
eigenvalue solve, nt's does not: the ratio adds the time of numpy's ``eigvalsh`` on the
Gram (measured once, after the last implementation).  One thread for both
(``torch.set_num_threads(1)``; XLA's CPU client told to use one intra-op thread).
Model: MLP 784 -> 2w -> w -> 10 (ReLU), n = 40 inputs, k = 10 outputs, as bench_ntk.py.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

N, K = 40, 10
WIDTHS = (64, 128, 256, 512)
REPEATS = 5


def export(path: str) -> None:
    import torch

    from htmp.features import ntk_eigvals

    torch.set_num_threads(1)
    out = {}
    for w in WIDTHS:
        torch.manual_seed(0)
        nn = torch.nn
        model = nn.Sequential(nn.Linear(784, 2 * w), nn.ReLU(), nn.Linear(2 * w, w), nn.ReLU(),
                              nn.Linear(w, K)).eval()
        X = torch.randn(N, 784, generator=torch.Generator().manual_seed(1))
        ntk_eigvals(model, X[:2])
        best = float("inf")
        for _ in range(REPEATS):
            t = time.perf_counter()
            ev = ntk_eigvals(model, X).eigenvalues
            best = min(best, time.perf_counter() - t)
        out[f"w{w}_X"] = X.numpy()
        out[f"w{w}_eig"] = ev
        out[f"w{w}_time"] = np.array(best)
        for name, p in model.named_parameters():
            out[f"w{w}_{name}"] = p.detach().numpy()
        print(f"w={w}: htmp ntk_eigvals {best:.3f} s, lambda_max {ev[-1]:.6g}", flush=True)
    np.savez(path, **out)


def run(path: str) -> None:
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")
    import jax
    import neural_tangents as nt
    from neural_tangents import stax

    data = np.load(path)
    lines = ["| params | htmp ntk_eigvals | nt impl. 1 (Jacobian contraction) | nt impl. 2 "
             "(NTK-vector products) | nt impl. 3 (structured derivatives) | nt compile "
             "(impl. 1, 2, 3) | eigvalsh | htmp / (best nt + eigvalsh) | "
             "max abs. diff of eigenvalues / λ_max (impl. 1, 2, 3) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in WIDTHS:
        X = data[f"w{w}_X"]
        init_fn, apply_fn, _ = stax.serial(
            stax.Dense(2 * w, b_std=1.0, parameterization="standard"), stax.Relu(),
            stax.Dense(w, b_std=1.0, parameterization="standard"), stax.Relu(),
            stax.Dense(K, b_std=1.0, parameterization="standard"))
        params = [(data[f"w{w}_{i}.weight"].T, data[f"w{w}_{i}.bias"]) if i % 2 == 0 else ()
                  for i in range(5)]
        params = [tuple(jax.numpy.asarray(a) for a in p) for p in params]
        P = sum(a.size for p in params for a in p)
        times, compiles, diffs = [], [], []
        ref = data[f"w{w}_eig"]
        for impl in (1, 2, 3):
            fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
                                             implementation=impl))
            t = time.perf_counter()
            kern = fn(X, None, params).block_until_ready()
            compiles.append(time.perf_counter() - t)
            best = float("inf")
            for _ in range(REPEATS if compiles[-1] < 5 else 2):   # slow ones: best of 2
                t = time.perf_counter()
                kern = fn(X, None, params).block_until_ready()
                best = min(best, time.perf_counter() - t)
            times.append(best)
            t = time.perf_counter()
            G = np.asarray(kern, dtype=np.float64).transpose(0, 2, 1, 3).reshape(N * K, N * K)
            ev = np.linalg.eigvalsh((G + G.T) / 2)
            t_eig = time.perf_counter() - t
            diffs.append(np.max(np.abs(ev - ref)) / ref[-1])
        t_htmp = float(data[f"w{w}_time"])
        lines.append(f"| {P:,} | {t_htmp:.3f} s | " + " | ".join(f"{t:.3f} s" for t in times)
                     + " | " + ", ".join(f"{c:.1f}" for c in compiles) + " s | "
                     + f"{t_eig:.3f} s | {t_htmp / (min(times) + t_eig):.2f} | "
                     + ", ".join(f"{d:.1e}" for d in diffs)
                     + " |")
        print(lines[-1], flush=True)
    print(f"\nn = {N} inputs, k = {K} outputs; jax {jax.__version__}, neural-tangents "
          f"{nt.__version__}\n\n" + "\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "run"):
        sys.exit("usage: bench_ntk_neural_tangents.py export|run FILE.npz")
    (export if sys.argv[1] == "export" else run)(sys.argv[2])
