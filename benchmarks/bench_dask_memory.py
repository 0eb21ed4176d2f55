"""Memory a Dask worker needs for one layer of ``htmp.analyze(..., client=)``.

For each shape, writes a one-tensor float32 safetensors file in a temporary folder and,
in a fresh subprocess, runs exactly what a worker runs for that layer
(``htmp.analysis._dask._task``: read the layer from the file, the float64 Gram matrix,
eigenvalues, MP/HTMP/power-law fits, the phase).  The baseline is taken after the imports
and after analysing a tiny layer (so lazily imported modules are in the baseline).

Reported: peak RSS above the baseline (Linux ``VmHWM``), the formula of docs/dask.md and
the seconds the layer took.  Run: ``.venv/bin/python benchmarks/bench_dask_memory.py
[AxB ...]`` (default 1024x4096 4096x4096 4096x11008).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from _peak import PEAK_MB  # noqa: E402 - benchmarks/ is sys.path[0] for a script

SHAPES = [(1024, 4096), (4096, 4096), (4096, 11008)]

CHILD = r"""
import json, sys, time
import numpy as np
import htmp, htmp.nn
from htmp.analysis._dask import _task, wire_specs
path, tiny = sys.argv[1], sys.argv[2]
kw = dict(min_evals=8, max_evals=None, steps=("mp", "htmp", "powerlaw", "phase"),
          conv="flatten", device="cpu")
_task(wire_specs(htmp.nn.weight_specs(tiny), tiny)[0], False, kw)     # warm-up
base = peak_mb()
spec, = wire_specs(htmp.nn.weight_specs(path), path)
t0 = time.perf_counter()
row, _ = _task(spec, False, kw)
print(json.dumps(dict(shape=row["shape"], status=row["status"], base_mb=base,
                      peak_above_base_mb=peak_mb() - base,
                      seconds=time.perf_counter() - t0)))
"""


def formula_mb(a: int, b: int) -> float:
    """docs/dask.md: the float32 weight + the float64 N x N Gram matrix (eigvalsh works in
    place, overwrite_a=True) + one 8 MiB float64 block of columns; the finiteness mask
    (1 byte per entry) is freed before the Gram matrix is formed."""
    n = min(a, b)
    return (4 * a * b + 8 * n * n + 8 * 2**20) / 2**20


def main(shapes) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tiny = os.path.join(tmp, "tiny.safetensors")
        save_file({"w": rng.standard_normal((64, 128)).astype(np.float32)}, tiny)
        print("| layer (float32) | weight MB | formula MB | peak RSS above baseline MB | seconds |")
        print("|---|---|---|---|---|")
        for a, b in shapes:
            path = os.path.join(tmp, f"w{a}x{b}.safetensors")
            save_file({"w": rng.standard_normal((a, b)).astype(np.float32)}, path)
            out = subprocess.run([sys.executable, "-c", PEAK_MB + CHILD, path, tiny], check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out.splitlines()[-1])
            os.remove(path)
            print(f"| {a}x{b} | {4 * a * b / 2**20:.0f} | {formula_mb(a, b):.0f} | "
                  f"{r['peak_above_base_mb']:.0f} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main([tuple(int(x) for x in s.split("x")) for s in sys.argv[1:]] or SHAPES)
