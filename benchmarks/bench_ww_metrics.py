"""htmp's WeightWatcher metrics and correlation traps side by side with WeightWatcher 0.7.7.

On the small trained models of bench_small_models_vs_ww.py (state dicts in
benchmarks/out/small_models/, built by that script; ``--models DIR`` to read them
elsewhere), each tool in its own interpreter:

* ``htmp``: ``htmp.analyze(state_dict)`` and ``htmp.analyze(state_dict, randomize=True)``;
* ``ww``: ``WeightWatcher(model=module).analyze()`` and ``.analyze(randomize=True)``
  (the module rebuilt by bench_small_models_vs_ww.build; ``np.random.seed(0)`` first, since
  WeightWatcher shuffles with numpy's global RNG), and ``get_summary()``.

Report (benchmarks/out/ww_metrics.md, also printed): the largest relative difference of
each metric over all layers both tools analysed, of each ``get_summary`` average over the
models, how often ``num_traps`` agrees (the two shuffles differ and the MP rules differ,
see htmp.fitting.traps), and the in-process time of the analyze calls (one run each,
1 BLAS thread, after one untimed warm-up call; WeightWatcher's ``randomize`` runs its KDE
grid-search MP fit per layer)::

    WW_VENV/bin/pip install weightwatcher==0.7.7 "powerlaw<2" torch==2.13.0   # its own venv
    python benchmarks/bench_ww_metrics.py [--models DIR] [--htmp-python PY] [--ww-python PY]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import bench_small_models_vs_ww as small  # noqa: E402  (build, MODELS, model_name)

OUT = ROOT / "benchmarks" / "out"
REPORT = OUT / "ww_metrics.md"
METRICS = ("alpha", "norm", "log_norm", "spectral_norm", "log_spectral_norm", "stable_rank",
           "alpha_weighted", "log_alpha_norm")
SUMMARY = ("log_norm", "alpha", "alpha_weighted", "log_alpha_norm", "log_spectral_norm",
           "stable_rank")


def _child(tool: str, model_dir: Path, result: Path) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    names = [small.model_name(f, v) for f, v in small.MODELS if small.model_name(f, v) in manifest]
    sds = {n: torch.load(model_dir / manifest[n]["file"], weights_only=True) for n in names}
    out = {"models": names, "layers": {}, "summary": {}, "seconds": {}, "seconds_repeat": {},
           "seconds_rand": {}}
    devnull = open(os.devnull, "w")
    if tool == "htmp":
        import htmp
        from htmp.analysis import summarize
        htmp.analyze(sds[names[0]], randomize=True)        # warm-up: imports, law tables
        for n in names:
            t = time.perf_counter()
            df = htmp.analyze(sds[n])
            out["seconds"][n] = time.perf_counter() - t
            t = time.perf_counter()
            htmp.analyze(sds[n])
            out["seconds_repeat"][n] = time.perf_counter() - t
            t = time.perf_counter()
            dr = htmp.analyze(sds[n], randomize=True)
            out["seconds_rand"][n] = time.perf_counter() - t
            ok = df["status"].isin(["ok", "partial"])
            out["layers"][n] = {r["name"]: {**{m: float(r[m]) for m in METRICS},
                                            "num_traps": int(dr.loc[i, "num_traps"])}
                                for i, r in df[ok].iterrows()}
            out["summary"][n] = summarize(df).ww_summary()
    else:
        import logging

        import weightwatcher as ww
        logging.getLogger().setLevel(logging.ERROR)
        logging.getLogger("weightwatcher").setLevel(logging.ERROR)
        with contextlib.redirect_stdout(devnull):          # warm-up: lazy imports
            m = small.build(manifest[names[0]]["spec"]["arch"])
            m.load_state_dict(sds[names[0]])
            ww.WeightWatcher(model=m).analyze(randomize=True)
        np.random.seed(0)
        for n in names:
            m = small.build(manifest[n]["spec"]["arch"])
            m.load_state_dict(sds[n])
            with contextlib.redirect_stdout(devnull):
                t = time.perf_counter()
                w = ww.WeightWatcher(model=m.eval())
                df = w.analyze()
                out["seconds"][n] = time.perf_counter() - t
                summ = w.get_summary()
                t = time.perf_counter()
                ww.WeightWatcher(model=m).analyze()
                out["seconds_repeat"][n] = time.perf_counter() - t
                t = time.perf_counter()
                dr = ww.WeightWatcher(model=m).analyze(randomize=True)
                out["seconds_rand"][n] = time.perf_counter() - t
            traps = {f"{r['longname']}.weight": int(r["num_traps"]) for _, r in dr.iterrows()}
            out["layers"][n] = {f"{r['longname']}.weight":
                                {**{k: float(r[k]) for k in METRICS},
                                 "num_traps": traps[f"{r['longname']}.weight"]}
                                for _, r in df.iterrows()}
            out["summary"][n] = {k: float(v) for k, v in summ.items()}
    result.write_text(json.dumps(out))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def _report(h: dict, w: dict) -> str:
    L = ["# htmp's WeightWatcher metrics vs WeightWatcher 0.7.7 (small models)\n",
         "Made by benchmarks/bench_ww_metrics.py: the small MNIST-1D models of "
         "bench_small_models_vs_ww.py; htmp.analyze(state_dict) vs "
         "WeightWatcher(model=module).analyze() (powerlaw 1.5), one run each, 1 BLAS / "
         "torch thread, in-process time of the analyze calls after one untimed warm-up call "
         "(imports, htmp's law tables).\n"]
    common = [(n, lay) for n in h["models"] for lay in h["layers"][n] if lay in w["layers"][n]]
    only_w = sum(len(set(w["layers"][n]) - set(h["layers"][n])) for n in h["models"])
    only_h = sum(len(set(h["layers"][n]) - set(w["layers"][n])) for n in h["models"])
    L.append(f"{len(h['models'])} models, {len(common)} layers analysed by both (only htmp: "
             f"{only_h}, only WeightWatcher: {only_w}).\n")
    L.append("| metric | max relative difference | layer |")
    L.append("|---|---|---|")
    for m in METRICS:
        d, where = max((_rel(h["layers"][n][lay][m], w["layers"][n][lay][m]), f"{n}/{lay}")
                       for n, lay in common)
        L.append(f"| {m} | {d:.2g} | {where} |")
    L.append("\n| get_summary average | max relative difference over models |")
    L.append("|---|---|")
    for k in SUMMARY:
        d = max(_rel(h["summary"][n][k], w["summary"][n][k]) for n in h["models"])
        L.append(f"| {k} | {d:.2g} |")
    same = sum(h["layers"][n][lay]["num_traps"] == w["layers"][n][lay]["num_traps"]
               for n, lay in common)
    tot_h = sum(h["layers"][n][lay]["num_traps"] for n, lay in common)
    tot_w = sum(w["layers"][n][lay]["num_traps"] for n, lay in common)
    diff = [f"{n}/{lay} {h['layers'][n][lay]['num_traps']} vs {w['layers'][n][lay]['num_traps']}"
            for n, lay in common
            if h["layers"][n][lay]["num_traps"] != w["layers"][n][lay]["num_traps"]]
    L.append(f"\nnum_traps (htmp randomize=True, seed 0, fit_mp edge + 3 TW scales; "
             f"WeightWatcher randomize=True, np.random.seed(0), its KDE MP fit): equal on "
             f"{same} of {len(common)} layers; total traps htmp {tot_h}, WeightWatcher "
             f"{tot_w}." + (f" Differing (htmp vs WW): {'; '.join(diff)}." if diff else "")
             + " The shuffles differ (each tool its own RNG) and so do the MP edges; "
             "WeightWatcher also pools 5 shuffles for layers with fewer than 100 eigenvalues "
             "(e.g. the 10-eigenvalue output layers), htmp takes one.\n")
    L.append("| time, s (all models) | htmp | WeightWatcher | ratio htmp / WW |")
    L.append("|---|---|---|---|")
    for key, label in (("seconds", "analyze(), first call per model"),
                       ("seconds_repeat", "analyze(), again"),
                       ("seconds_rand", "analyze(randomize=True), after those two")):
        a, b = sum(h[key].values()), sum(w[key].values())
        L.append(f"| {label} | {a:.2f} | {b:.2f} | {a / b:.2f} |")
    L.append("\nPer layer the work differs: htmp's analyze fits MP, HTMP (kappa) and the power "
             "law and computes the phase; WeightWatcher's default fits the power law and its "
             "norm metrics. The randomize row adds the shuffle, a second ESD and the MP fit; "
             "htmp's first call per model also builds its HTMP law tables for that model's "
             "aspect ratios (cached for the later calls), hence first vs again.")
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, default=small.MODEL_DIR)
    ap.add_argument("--htmp-python", default=small.HTMP_PYTHON)
    ap.add_argument("--ww-python", default=small.WW_PYTHON)
    args = ap.parse_args()
    if not (args.models / "manifest.json").exists():
        sys.exit(f"--models must hold the small models' manifest.json (build them with "
                 f"benchmarks/bench_small_models_vs_ww.py), got {args.models}")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(x for x in (str(ROOT / "src"),
                                                      os.environ.get("PYTHONPATH")) if x))
    OUT.mkdir(parents=True, exist_ok=True)
    res = {}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for tool, py in (("htmp", args.htmp_python), ("ww", args.ww_python)):
            path = Path(tmp) / f"{tool}.json"
            e = env if tool == "htmp" else {k: v for k, v in env.items() if k != "PYTHONPATH"}
            subprocess.run([py, __file__, "--child", tool, str(args.models), str(path)],
                           check=True, env=e)
            res[tool] = json.loads(path.read_text())
    text = _report(res["htmp"], res["ww"])
    REPORT.write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
