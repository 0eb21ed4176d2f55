"""Peak memory of reading a safetensors file layer by layer vs the file's size.

Writes a ~200 MB safetensors file (10 float32 tensors, the largest 40 MB) and a bf16
copy in a temporary folder, then, each in a fresh subprocess so the high-water marks
are independent:

* ``iter``      - ``htmp.nn.iter_weights(path)`` over every tensor (float32 file);
* ``iter-bf16`` - the same on the bf16 file (raw-byte path, widened to float32);
* ``load_file`` - ``safetensors.numpy.load_file(path)`` (everything at once), for contrast;
* ``analyze``   - ``htmp.analyze(path)`` with the default fits: reading, the float64 Gram
  matrix (formed from float32 in 8 MB blocks), eigenvalues, MP/HTMP/alpha fits.

Reported: peak RSS above the baseline after imports (Linux ``VmHWM``; includes
the file pages mapped by safetensors) and the tracemalloc peak (numpy allocations only).
Run: ``.venv/bin/python benchmarks/bench_reader_memory.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from _peak import PEAK_MB  # noqa: E402 - benchmarks/ is sys.path[0] for a script

SHAPES = [(4096, 2560)] + [(2048, 2048)] * 8 + [(2048, 1536)]   # 40 MB + 8 x 16 MB + 12 MB

CHILD = r"""
import json, resource, sys, tracemalloc
import numpy as np
import htmp.nn, safetensors.numpy
mode, path = sys.argv[1], sys.argv[2]
base = peak_mb()
tracemalloc.start()
if mode == "load_file":
    d = safetensors.numpy.load_file(path)
    n, largest = len(d), max(a.nbytes for a in d.values())
elif mode == "analyze":
    import htmp
    specs = htmp.nn.weight_specs(path)
    largest = max(4 * int(np.prod(s.shape)) for s in specs)
    df = htmp.analyze(path)
    n = int((df["status"] == "ok").sum())
else:
    n = largest = 0
    for w in htmp.nn.iter_weights(path):
        n, largest = n + 1, max(largest, w.array.nbytes)
        del w
peak_tm = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps(dict(mode=mode, n=n, largest_mb=largest / 2**20, base_mb=base,
                      rss_above_base_mb=peak_mb() - base, tracemalloc_peak_mb=peak_tm)))
"""


def _write(folder: str) -> tuple[str, str]:
    import torch
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(0)
    tensors = {f"layer{i}.weight": torch.randn(*s, generator=g) for i, s in enumerate(SHAPES)}
    p32, p16 = os.path.join(folder, "f32.safetensors"), os.path.join(folder, "bf16.safetensors")
    save_file(tensors, p32)
    save_file({k: v.to(torch.bfloat16) for k, v in tensors.items()}, p16)
    return p32, p16


def main() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        p32, p16 = _write(folder)
        sizes = {p: os.path.getsize(p) / 2**20 for p in (p32, p16)}
        print(f"float32 file {sizes[p32]:.1f} MB, bf16 file {sizes[p16]:.1f} MB, "
              f"{len(SHAPES)} tensors, largest {4 * np.prod(SHAPES[0]) / 2**20:.1f} MB as float32")
        print(f"{'mode':>10} {'file MB':>8} {'largest MB':>10} {'RSS above base MB':>18} "
              f"{'tracemalloc peak MB':>20}")
        for mode, path in (("iter", p32), ("iter-bf16", p16), ("load_file", p32),
                           ("analyze", p32)):
            out = subprocess.run([sys.executable, "-c", PEAK_MB + CHILD, mode, path], check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out)
            print(f"{mode:>10} {sizes[path]:>8.1f} {r['largest_mb']:>10.1f} "
                  f"{r['rss_above_base_mb']:>18.1f} {r['tracemalloc_peak_mb']:>20.1f}")


if __name__ == "__main__":
    main()
