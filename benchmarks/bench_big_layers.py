"""A synthetic 7B-shaped slice: seconds per layer against the LAPACK floor, peak memory, and
1 vs 2 Dask workers side by side.

Writes two sharded Hugging Face checkpoints in a temporary folder (an index JSON plus two
shards each), one with float16 and one with bfloat16 weights, holding the matrix shapes of a
7B transformer block: two 4096 x 11008 MLP matrices (up, gate; down is stored 11008 x 4096)
and two 4096 x 4096 attention projections (``--quick``: 1024 x 2752 and 1024 x 1024).
Entries are Gaussian (seeded), so every layer is a full-rank Wishart-like matrix.

Each measurement is a fresh subprocess with OPENBLAS/OMP/MKL_NUM_THREADS=1 (so that one
worker is one core and the Dask comparison is fair):

* ``floor``   - per layer, the weight read into memory first (not timed), then the float64
  Gram matrix W W^T by BLAS syrk (the conversion to float64 included) and
  ``scipy.linalg.eigvalsh`` of it: what any spectral tool must pay;
* ``analyze`` - ``htmp.analyze(folder)`` with the default fits, serial (``workers=1``):
  reading, Gram matrix, eigenvalues, MP / HTMP / power-law fits, phase; per layer the
  table's ``seconds`` column;
* ``dask1`` / ``dask2`` - ``htmp.analyze(folder, client=Client(LocalCluster(n_workers=k,
  threads_per_worker=1)))``: one task per layer, the workers read their own layer from
  the shard; the wall time of the analyze call (cluster start-up excluded) and of the
  child.  Skipped when dask.distributed is not installed.

Peak memory: the child's VmHWM above its baseline after imports (the file pages mapped by
the reader included); for the Dask modes the client process only (workers are separate
processes).  Run: ``.venv/bin/python benchmarks/bench_big_layers.py [--quick] [--reps 1]``;
the report goes to benchmarks/out/big_layers.md (``_quick`` suffix with --quick) and stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _peak import PEAK_MB  # noqa: E402 - benchmarks/ is sys.path[0] for a script

HERE = Path(__file__).resolve().parent
FULL = {"d": 4096, "ff": 11008}
QUICK = {"d": 1024, "ff": 2752}

CHILD = r"""
import json, os, resource, sys, time
import numpy as np
mode, folder = sys.argv[1], sys.argv[2]

import scipy.linalg, scipy.linalg.blas
import htmp, htmp.nn
base = peak_mb()
out = dict(mode=mode)
if mode == "floor":
    per = {}
    for w in htmp.nn.iter_weights(folder, max_elements=None):
        a = np.asarray(w.array)
        t = time.perf_counter()
        m = a if a.shape[0] <= a.shape[1] else a.T
        blk = np.asfortranarray(m, dtype=np.float64)
        g = scipy.linalg.blas.dsyrk(1.0, blk)
        del blk
        ev = scipy.linalg.eigvalsh(g, lower=False, overwrite_a=True, check_finite=False,
                                   driver="evr")
        per[w.name] = time.perf_counter() - t
        del a, m, g, ev, w
    out["per_layer"] = per
elif mode == "analyze":
    t = time.perf_counter()
    df = htmp.analyze(folder)
    out["wall"] = time.perf_counter() - t
    out["per_layer"] = dict(zip(df["name"], df["seconds"]))
    out["status"] = sorted(set(df["status"]))
    out["table"] = df.drop(columns=["seconds"]).to_json()
else:
    from distributed import Client, LocalCluster
    k = int(mode[-1])
    with LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                      dashboard_address=None,
                      env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                           "MKL_NUM_THREADS": "1"}) as cluster, Client(cluster) as client:
        t = time.perf_counter()
        df = htmp.analyze(folder, client=client)
        out["wall"] = time.perf_counter() - t
    out["per_layer"] = dict(zip(df["name"], df["seconds"]))
    out["status"] = sorted(set(df["status"]))
    out["table"] = df.drop(columns=["seconds"]).to_json()
out["rss_above_base_mb"] = peak_mb() - base
print("RESULT " + json.dumps(out))
"""


def layers(d: int, ff: int) -> dict:
    return {"mlp.up_proj.weight": (ff, d), "mlp.gate_proj.weight": (ff, d),
            "mlp.down_proj.weight": (d, ff), "self_attn.q_proj.weight": (d, d),
            "self_attn.o_proj.weight": (d, d)}


def write_checkpoint(folder: Path, dtype: str, shapes: dict, seed: int = 0) -> int:
    """Two safetensors shards + index in ``folder``; returns the bytes written."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    gen = torch.Generator().manual_seed(seed)
    names = list(shapes)
    half = (len(names) + 1) // 2
    weight_map, total = {}, 0
    for i, part in enumerate((names[:half], names[half:]), 1):
        shard = f"model-{i:05d}-of-00002.safetensors"
        tensors = {n: (torch.randn(*shapes[n], generator=gen) * 0.02).to(getattr(torch, dtype))
                   for n in part}
        save_file(tensors, str(folder / shard))
        total += (folder / shard).stat().st_size
        weight_map.update(dict.fromkeys(part, shard))
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return total


def child(mode: str, folder: Path, src: Path) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(src) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK_MB + CHILD, mode, str(folder)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    res = json.loads(line[len("RESULT "):])
    res["child_wall"] = wall
    return res


def have_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1024-wide layers instead of 4096")
    ap.add_argument("--reps", type=int, default=1, help="repetitions of each mode")
    args = ap.parse_args(argv)
    size = QUICK if args.quick else FULL
    shapes = layers(**size)
    src = HERE.parent / "src"
    dask = have_dask()
    lines = [f"# A 7B-shaped slice: htmp.analyze against the LAPACK floor, and 1 vs 2 Dask "
             f"workers{' (quick)' if args.quick else ''}", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} by `benchmarks/bench_big_layers.py"
             f"{' --quick' if args.quick else ''} --reps {args.reps}`; "
             f"{platform.platform()}, {os.cpu_count()} CPUs, load average "
             f"{os.getloadavg()[0]:.2f} at start; BLAS/OMP threads 1 in every process.", "",
             "Layers: " + ", ".join(f"{n} {a}x{b}" for n, (a, b) in shapes.items()) + ".", ""]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for dtype in ("float16", "bfloat16"):
            folders[dtype] = Path(tmp) / dtype
            nbytes = write_checkpoint(folders[dtype], dtype, shapes)
            lines.append(f"Checkpoint {dtype}: 2 shards + index, {nbytes / 2**20:.0f} MiB.")
        lines.append("")
        modes = [("floor", "float16"), ("analyze", "float16"), ("analyze", "bfloat16")]
        if dask:
            modes += [("dask1", "bfloat16"), ("dask2", "bfloat16")]
        for rep in range(args.reps):
            order = modes if rep % 2 == 0 else modes[::-1]
            for mode, dtype in order:
                print(f"rep {rep}: {mode} on {dtype} ...", file=sys.stderr, flush=True)
                res = child(mode, folders[dtype], src)
                res.update(rep=rep, dtype=dtype)
                results.append(res)
    lines += ["## Seconds per layer (median over repetitions)", "",
              "| layer | shape | LAPACK floor (syrk + eigvalsh), float16 | htmp.analyze, float16 "
              "| ratio | htmp.analyze, bfloat16 |", "|---|---|---|---|---|---|"]

    def med(mode, dtype, name):
        v = [r["per_layer"][name] for r in results if r["mode"] == mode and r["dtype"] == dtype]
        return float(np.median(v)) if v else float("nan")
    for name, (a, b) in shapes.items():
        fl, an, bf = med("floor", "float16", name), med("analyze", "float16", name), \
            med("analyze", "bfloat16", name)
        lines.append(f"| {name} | {a}x{b} | {fl:.2f} | {an:.2f} | {an / fl:.2f} | {bf:.2f} |")
    fl_tot = sum(med("floor", "float16", n) for n in shapes)
    an_tot = sum(med("analyze", "float16", n) for n in shapes)
    lines += [f"| all | | {fl_tot:.2f} | {an_tot:.2f} | {an_tot / fl_tot:.2f} | "
              f"{sum(med('analyze', 'bfloat16', n) for n in shapes):.2f} |", ""]
    lines += ["## Peak memory and whole runs", "",
              "| mode | checkpoint | analyze wall, s | child wall, s | peak RSS above "
              "baseline, MiB | statuses |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['mode']} | {r['dtype']} | {r.get('wall', float('nan')):.2f} | "
                     f"{r['child_wall']:.2f} | {r['rss_above_base_mb']:.0f} | "
                     f"{', '.join(r.get('status', [])) or '-'} |")
    lines.append("")
    if dask:
        w1 = [r["wall"] for r in results if r["mode"] == "dask1"]
        w2 = [r["wall"] for r in results if r["mode"] == "dask2"]
        ser = [r["wall"] for r in results if r["mode"] == "analyze" and r["dtype"] == "bfloat16"]
        t1 = {r["rep"]: r["table"] for r in results if r["mode"] == "dask1"}
        same = all(r["table"] == t1.get(r["rep"]) for r in results
                   if r["mode"] in ("dask2", "analyze") and r["dtype"] == "bfloat16"
                   and r["rep"] in t1)
        lines += ["## Dask: 1 vs 2 workers (bfloat16 checkpoint, cluster start-up excluded)",
                  "", f"- serial analyze: {np.median(ser):.2f} s; Dask 1 worker: "
                  f"{np.median(w1):.2f} s; 2 workers: {np.median(w2):.2f} s; speed-up 1 -> 2 "
                  f"workers: {np.median(w1) / np.median(w2):.2f}x (medians over "
                  f"{len(w1)} repetition(s), measured in the same run).",
                  f"- tables equal to the serial run (all columns but `seconds`): {same}.", ""]
    else:
        lines += ["Dask: dask.distributed is not installed (`pip install 'htmp[dask]'`); the "
                  "1 vs 2 worker comparison was skipped.", ""]
    lines.append("Peak RSS counts the whole child process above its post-import baseline; "
                 "for the Dask modes only the client process (the workers hold the layers).")
    text = "\n".join(lines) + "\n"
    out = HERE / "out" / ("big_layers_quick.md" if args.quick else "big_layers.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"report: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
