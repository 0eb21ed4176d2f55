"""Small trained models side by side with WeightWatcher 0.7.7: in-process time of one
``analyze`` call per model (cold first call, warm, repeat pass) and whole-process time.
Report: benchmarks/out/small_models_vs_ww.md (also printed).

Needs a separate virtual environment for WeightWatcher (weightwatcher is not an htmp
dependency; it must use powerlaw<2, see ../shared/PEERS.md section 0)::

    python3 -m venv /tmp/ww-venv
    /tmp/ww-venv/bin/pip install weightwatcher==0.7.7 "powerlaw<2" torch==2.13.0 mnist1d -e .
    python benchmarks/bench_small_models_vs_ww.py [--reps 3] [--blas-threads 1]
        [--htmp-python .venv/bin/python] [--ww-python /tmp/ww-venv/bin/python]
        [--quick] [--retrain] [--live-src] [--profile MODEL]

The model set (built by this script, nothing downloaded): four families trained briefly on
MNIST-1D (``htmp.demo_training.load_data``, generated offline by the ``mnist1d`` package),
one torch thread, SGD with momentum, fixed seeds: ``mlp256`` (40-256-256-10),
``mlp512`` (40-512-512-10), ``cnn`` (the demo's MiniAlexNet with PyTorch's standard
layers: conv1d 1->32->64, fc 640-256-128-10) and ``cnn_narrow`` (conv1d 1->16->32, fc
320-128-64-10); per family a base run and four variants out of batch size 2 / 256,
learning rate 0.2, weight decay 1e-3, 30 % label noise, 2 epochs (``MODELS``).  They are
cached in benchmarks/out/small_models/ (one state dict ``.pt`` per model and
``manifest.json`` with settings, layer shapes and test accuracy) and trained again only
when missing or when their settings change (``--retrain`` forces it).  The modules are
defined here (``build``) with plain ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Sequential``, so
the WeightWatcher child never imports htmp.

Protocol (that of bench_minilm_vs_ww.py): every measurement is a fresh subprocess, the
modes alternate within each repetition (ABBA: the order is reversed on odd repetitions);
whole-process wall time is measured by this parent, in-process time (the analyze call
alone) by the child, and the child's CPU time (user + sys, ``getrusage``).
``--blas-threads K`` sets OPENBLAS/OMP/MKL_NUM_THREADS=K in the children and
``torch.set_num_threads(K)`` (default 1; 0 leaves the libraries' own).  The htmp children
import a snapshot of src/htmp copied (and byte-compiled) at the start of the run, put first
on PYTHONPATH, so that edits to src/ during a run cannot mix code versions (``--live-src``
imports the live tree); each child records a fingerprint of the code it imported.  With
numba installed (htmp's ``fast`` extra) one untimed process first compiles the snapshot's
Kummer walk into numba's on-disk cache, as the first use of an installation does, so the
timed children load compiled code (their "cold" call includes that load).
Children:

* ``htmp`` / ``ww`` (in-process): load every state dict (and, for WeightWatcher, rebuild
  each ``nn.Module`` and load its state dict) before any timing, then time, per model,
  ``htmp.analyze(state_dict)`` / ``WeightWatcher(model=module).analyze()`` (constructor
  included) with ``perf_counter``; then a second pass over all models in the same process
  ("repeat").  The first call of the process is "cold" (imports inside the libraries, law
  tables); "warm" is the mean / median per model over the other models of pass 1.
  The library's own import (``import htmp`` / ``import weightwatcher``, torch already
  imported) is timed too: WeightWatcher imports pandas, powerlaw and the rest up front,
  htmp imports pandas and numba at its first call, so "import + cold first call" is the
  like-for-like cost of a single analysis.
* ``htmp_once`` / ``ww_once`` (whole process): imports, loading and one analyze call per
  model; the parent's wall time of the child.

Both modes redirect stdout to /dev/null around each timed call (WeightWatcher prints;
same cost for both) and set WeightWatcher's and the root logger to ERROR.  Layer
coverage differs and the report says how: htmp skips layers with fewer than 8
eigenvalues and, given a state dict, cannot tell a Conv1d kernel from a 3-D tensor, so it
skips Conv1d weights; WeightWatcher skips layers with fewer than 8 eigenvalues (its
``min_evals``) and counts a Conv1d weight (out, in, k) as M = min(out, in, k) = k
eigenvalues, so it skips these kernel-3 Conv1d layers too (both tools analyse the same
Linear layers here; ``htmp.analyze(module)`` would also analyse conv2 as out x in*k).

``--profile MODEL`` instead prints cProfile's top functions (cumulative) of the first
``htmp.analyze`` call on MODEL after a cold call on another model ("warm") and of a
second call on MODEL ("repeat").  ``--quick`` (2 models, 1 repetition) writes
benchmarks/out/small_models_vs_ww_quick.md.
"""
from __future__ import annotations

import argparse
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
OUT = ROOT / "benchmarks" / "out"
MODEL_DIR = OUT / "small_models"
REPORT = OUT / "small_models_vs_ww.md"
HTMP_PYTHON = str(ROOT / ".venv" / "bin" / "python")
WW_PYTHON = "/tmp/ww-venv/bin/python"
MODES = ("htmp", "ww", "htmp_once", "ww_once")
SET_VERSION = 1          # bump to retrain every model

FAMILIES = {
    "mlp256": {"kind": "mlp", "widths": [40, 256, 256, 10]},
    "mlp512": {"kind": "mlp", "widths": [40, 512, 512, 10]},
    "cnn": {"kind": "cnn", "channels": [32, 64], "hidden": [256, 128]},
    "cnn_narrow": {"kind": "cnn", "channels": [16, 32], "hidden": [128, 64]},
}
BASE = {"batch_size": 64, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0,
        "label_noise": 0.0, "epochs": 15, "seed": 0}
VARIANTS = {
    "base": {},
    "bs2": {"batch_size": 2, "lr": 0.01, "epochs": 3},    # 2000 steps an epoch
    "bs256": {"batch_size": 256},
    "lr0.2": {"lr": 0.2},
    "wd1e-3": {"weight_decay": 1e-3},
    "noise30": {"label_noise": 0.3},
    "ep2": {"epochs": 2},
}
MODELS = [  # (family, variant), in the order every child analyses them
    ("mlp256", "base"), ("mlp256", "bs2"), ("mlp256", "bs256"), ("mlp256", "lr0.2"),
    ("mlp256", "noise30"),
    ("mlp512", "base"), ("mlp512", "bs2"), ("mlp512", "wd1e-3"), ("mlp512", "noise30"),
    ("mlp512", "ep2"),
    ("cnn", "base"), ("cnn", "bs2"), ("cnn", "bs256"), ("cnn", "lr0.2"), ("cnn", "noise30"),
    ("cnn_narrow", "base"), ("cnn_narrow", "bs256"), ("cnn_narrow", "wd1e-3"),
    ("cnn_narrow", "ep2"), ("cnn_narrow", "noise30"),
]
QUICK = [("mlp256", "base"), ("cnn", "base")]


def model_name(family: str, variant: str) -> str:
    return f"{family}_{variant}"


def model_spec(family: str, variant: str) -> dict:
    return {"version": SET_VERSION, "family": family, "variant": variant,
            "arch": FAMILIES[family], "train": {**BASE, **VARIANTS[variant]}}


# ---------------------------------------------------------------------------------- models
def build(arch: dict):
    """The untrained ``nn.Sequential`` of ``arch`` (PyTorch's default init)."""
    from collections import OrderedDict

    from torch import nn

    if arch["kind"] == "mlp":
        w = arch["widths"]
        layers = [("flatten", nn.Flatten())]
        for i in range(len(w) - 1):
            layers.append((f"fc{i + 1}", nn.Linear(w[i], w[i + 1])))
            if i < len(w) - 2:
                layers.append((f"relu{i + 1}", nn.ReLU()))
        return nn.Sequential(OrderedDict(layers))
    # htmp.demo_training.MiniAlexNet((1, 40), parametrisation="standard"), same layer names
    c, h = arch["channels"], arch["hidden"]
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv1d(1, c[0], 3, padding="same")), ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool1d(2)),
        ("conv2", nn.Conv1d(c[0], c[1], 3, padding="same")), ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool1d(2)), ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(c[1] * 10, h[0])), ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(h[0], h[1])), ("relu4", nn.ReLU()),
        ("out", nn.Linear(h[1], 10)),
    ]))


def _n_evals(shape) -> int:
    """min(rows, cols) of the matrix whose ESD is taken (conv kernels flattened)."""
    rows, cols = shape[0], 1
    for s in shape[1:]:
        cols *= s
    return min(rows, cols)


def _train_one(spec: dict, data) -> tuple:
    import torch
    import torch.nn.functional as F

    cfg = spec["train"]
    x_tr, y_tr, x_te, y_te = (torch.from_numpy(a) for a in data)
    gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    y_fit = y_tr.clone()
    if cfg["label_noise"] > 0:
        flip = torch.rand(len(y_fit), generator=gen) < cfg["label_noise"]
        y_fit[flip] = torch.randint(0, 10, (int(flip.sum()),), generator=gen)
    torch.manual_seed(cfg["seed"])
    model = build(spec["arch"])
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                          weight_decay=cfg["weight_decay"])
    n, b = len(y_fit), cfg["batch_size"]
    steps_per_epoch = n // b
    t0 = time.perf_counter()
    model.train()
    for _ in range(cfg["epochs"]):
        perm = torch.randperm(n, generator=gen)
        for i in range(steps_per_epoch):
            idx = perm[i * b:(i + 1) * b]
            loss = F.cross_entropy(model(x_tr[idx]), y_fit[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        test_acc = float((model(x_te).argmax(1) == y_te).float().mean())
        train_acc = float((model(x_tr).argmax(1) == y_tr).float().mean())
    return model, {"test_acc": test_acc, "train_acc": train_acc, "train_s": seconds,
                   "steps": cfg["epochs"] * steps_per_epoch}


def _build_models(names: list[str], retrain: bool) -> None:
    """Child (htmp interpreter): train what the manifest lacks, one torch thread."""
    import torch

    from htmp.demo_training import MiniAlexNet, load_data

    torch.set_num_threads(1)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    manifest_path = MODEL_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    data = None
    for family, variant in MODELS:
        name = model_name(family, variant)
        if name not in names:
            continue
        spec = model_spec(family, variant)
        path = MODEL_DIR / f"{name}.pt"
        entry = manifest.get(name)
        if (not retrain and entry and entry["spec"] == spec and path.exists()
                and entry.get("torch") == torch.__version__):
            continue
        data = data or load_data("mnist1d")
        if spec["arch"]["kind"] == "cnn":    # same layout as the demo's network
            ref = MiniAlexNet((1, 40), channels=tuple(spec["arch"]["channels"]),
                              hidden=tuple(spec["arch"]["hidden"]), parametrisation="standard")
            ours = build(spec["arch"])
            assert ({k: tuple(v.shape) for k, v in ref.state_dict().items()}
                    == {k: tuple(v.shape) for k, v in ours.state_dict().items()})
        model, stats = _train_one(spec, data)
        sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save(sd, path)
        layers = [{"name": k, "shape": list(v.shape), "n_evals": _n_evals(v.shape)}
                  for k, v in sd.items() if k.endswith(".weight")]
        manifest[name] = {"spec": spec, "file": path.name, "layers": layers,
                          "torch": torch.__version__, **stats}
        manifest_path.write_text(json.dumps(manifest, indent=1))
        print(f"trained {name:20s} test acc {stats['test_acc']:.3f}  train acc "
              f"{stats['train_acc']:.3f}  {stats['steps']:6d} steps  {stats['train_s']:.1f} s",
              flush=True)


# ----------------------------------------------------------------------------------- child
def fingerprint(package_dir) -> str:
    """sha256 (12 hex digits) of every .py file under ``package_dir``, paths included."""
    import hashlib
    h = hashlib.sha256()
    root = Path(package_dir)
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _versions(mode: str) -> dict:
    import numpy
    import scipy
    import torch
    v = {"python": platform.python_version(), "numpy": numpy.__version__,
         "scipy": scipy.__version__, "torch": torch.__version__,
         "torch_threads": torch.get_num_threads()}
    if mode.startswith("htmp"):
        import htmp
        v["htmp"] = htmp.__version__
        v["htmp_dir"] = str(Path(htmp.__file__).parent)
        v["htmp_fingerprint"] = fingerprint(Path(htmp.__file__).parent)
    else:
        import powerlaw
        import weightwatcher
        v["weightwatcher"] = weightwatcher.__version__
        v["powerlaw"] = powerlaw.__version__
    return v


def _cache_info(mode: str) -> dict:
    """htmp's law-table lru_caches (hits, misses, maxsize, currsize) after a pass, where
    this version of htmp has them (read after the timed calls; private, may move)."""
    if not mode.startswith("htmp"):
        return {}
    try:
        from htmp.laws import _kummer
        return {f: list(getattr(_kummer, f).cache_info())
                for f in ("bulk_table", "kummer_table") if hasattr(getattr(_kummer, f, None),
                                                               "cache_info")}
    except Exception:                                   # noqa: BLE001 - informational only
        return {}


def _child(mode: str, result: Path, names: list[str], threads: int) -> None:
    import contextlib

    import torch
    if threads:
        torch.set_num_threads(threads)
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    sds = {n: torch.load(MODEL_DIR / manifest[n]["file"], weights_only=True) for n in names}
    devnull = open(os.devnull, "w")
    t_import = time.perf_counter()
    if mode.startswith("htmp"):
        import htmp
        t_import = time.perf_counter() - t_import

        def call(name):
            return htmp.analyze(sds[name])

        def rows(df):
            return [{"name": r["name"], "N": int(r["N"]), "M": int(r["M"]),
                     "status": r["status"],
                     "alpha": None if r["alpha"] != r["alpha"] else float(r["alpha"])}
                    for _, r in df.iterrows()]
    else:
        import logging

        import weightwatcher as ww
        t_import = time.perf_counter() - t_import
        logging.getLogger().setLevel(logging.ERROR)        # ww calls basicConfig at import
        logging.getLogger("weightwatcher").setLevel(logging.ERROR)
        modules = {}
        for n in names:
            m = build(manifest[n]["spec"]["arch"])
            m.load_state_dict(sds[n])
            modules[n] = m.eval()

        def call(name):
            return ww.WeightWatcher(model=modules[name]).analyze()

        def rows(df):
            key = "longname" if "longname" in df.columns else "name"
            return [{"name": f"{r[key]}.weight", "N": int(r["N"]), "M": int(r["M"]),
                     "alpha": float(r["alpha"])} for _, r in df.iterrows()]

    out = {"mode": mode, "models": names, "pass1": {}, "pass2": {}, "layers": {},
           "import_s": t_import}
    passes = ("pass1",) if mode.endswith("_once") else ("pass1", "pass2")
    for p in passes:
        for n in names:
            with contextlib.redirect_stdout(devnull):
                t = time.perf_counter()
                df = call(n)
                out[p][n] = time.perf_counter() - t
            if p == "pass1":
                out["layers"][n] = rows(df)
        out.setdefault("cache", {})[p] = _cache_info(mode)
    out["versions"] = _versions(mode)
    result.write_text(json.dumps(out))


def _profile(name: str, warm_with: str, top: int) -> None:
    """Child (htmp interpreter): cProfile the first htmp.analyze call on ``name`` after a
    cold call on ``warm_with`` (the benchmark's "warm"), then a second call ("repeat")."""
    import cProfile
    import pstats

    import torch

    import htmp
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    sd = {n: torch.load(MODEL_DIR / manifest[n]["file"], weights_only=True)
          for n in {name, warm_with}}
    t = time.perf_counter()
    htmp.analyze(sd[warm_with])                   # the cold call, on another model
    print(f"cold htmp.analyze({warm_with}): {1e3 * (time.perf_counter() - t):.1f} ms")
    for what in ("warm (first call on this model)", "repeat (second call on this model)"):
        pr = cProfile.Profile()
        t = time.perf_counter()
        pr.enable()
        df = htmp.analyze(sd[name])
        pr.disable()
        print(f"\n=== {what}: htmp.analyze({name}) {1e3 * (time.perf_counter() - t):.1f} ms "
              "under cProfile")
        print(df[["name", "N", "M", "status", "alpha", "kappa", "phase", "seconds",
                  "message"]].to_string())
        pstats.Stats(pr).sort_stats("cumulative").print_stats(top)


# ---------------------------------------------------------------------------------- parent
def _env(blas_threads: int) -> dict:
    env = dict(os.environ)
    if blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(blas_threads)
    return env


def _run(mode: str, python: str, tmp: Path, rep: int, names: list[str], env: dict,
         threads: int) -> dict:
    result = tmp / f"{mode}_{rep}.json"
    cmd = [python, __file__, "--child", mode, str(result), ",".join(names), str(threads)]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=env)
    wall = time.perf_counter() - t
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    out = json.loads(result.read_text())
    out["wall_s"] = wall
    out["cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    out["stderr_tail"] = proc.stderr[-2000:]
    return out


def _mm(xs) -> tuple:
    return min(xs), statistics.median(xs)


def _f(x: float, scale: float = 1.0) -> str:
    v = x * scale
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _row(label: str, ours: list, theirs: list, scale: float) -> str:
    a, b = _mm(ours), _mm(theirs)
    return (f"| {label} | {_f(a[0], scale)} | {_f(a[1], scale)} | {_f(b[0], scale)} | "
            f"{_f(b[1], scale)} | {a[0] / b[0]:.2f} | {a[1] / b[1]:.2f} |")


def _report(args, names, manifest, runs, load0, load1, info) -> str:
    L = []
    H, W = runs["htmp"], runs["ww"]
    n = len(names)
    first, rest = names[0], names[1:]
    vh, vw = H[0]["versions"], W[0]["versions"]
    L.append("# Small trained models: htmp.analyze vs WeightWatcher 0.7.7 analyze()\n")
    L.append(f"Run {time.strftime('%Y-%m-%d %H:%M')} by `benchmarks/bench_small_models_vs_ww.py"
             f"{' --quick' if args.quick else ''} --reps {args.reps} --blas-threads "
             f"{args.blas_threads}{' --live-src' if args.live_src else ''}`; git "
             f"{info['git']}.\n")
    L.append(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, load average "
             f"{load0[0]:.2f} at start, {load1[0]:.2f} at end (1 min). BLAS/OMP threads and "
             f"torch threads in the children: {args.blas_threads or 'libraries default'}.")
    L.append(f"htmp child: `{args.htmp_python}` (python {vh['python']}, numpy {vh['numpy']}, "
             f"scipy {vh['scipy']}, torch {vh['torch']}, htmp {vh['htmp']}). WeightWatcher child: "
             f"`{args.ww_python}` (python {vw['python']}, numpy {vw['numpy']}, scipy "
             f"{vw['scipy']}, torch {vw['torch']}, weightwatcher {vw['weightwatcher']}, powerlaw "
             f"{vw['powerlaw']}).")
    fps = sorted({r["versions"]["htmp_fingerprint"] for m in ("htmp", "htmp_once")
                  for r in runs[m]})
    dirs = sorted({r["versions"]["htmp_dir"] for m in ("htmp", "htmp_once") for r in runs[m]})
    if info["snapshot"]:
        L.append(f"htmp code: a snapshot of src/htmp copied at the start of the run "
                 f"(fingerprint {info['snapshot']}; the children imported {', '.join(dirs)}, "
                 f"fingerprint {', '.join(fps)}); git {info['git']} is the tree it came from.")
    else:
        L.append(f"htmp code: the live {', '.join(dirs)} (fingerprints seen: {', '.join(fps)}).")
    if len(fps) > 1 or (info["snapshot"] and fps != [info["snapshot"]]):
        L.append("**WARNING: the htmp children did not all run the same htmp code; the "
                 "htmp numbers mix versions.**")
    L.append("")
    L.append("Protocol: each measurement a fresh subprocess; per repetition the children "
             "htmp, ww, htmp_once, ww_once (order reversed on odd repetitions). In-process = "
             "the analyze call alone (`htmp.analyze(state_dict)` / "
             "`WeightWatcher(model=module).analyze()`, constructor included), perf_counter "
             "in the child, stdout redirected to /dev/null for both. Whole process = the "
             "parent's wall time of a child that imports, loads the state dicts (torch.load; "
             "WeightWatcher also rebuilds the modules) and analyses every model once; CPU = "
             "the child's user + sys time. min and median are over repetitions; ratios are "
             "htmp / WeightWatcher (min/min, median/median), < 1 means htmp is faster.\n")

    L.append("## Models\n")
    L.append("MNIST-1D (4000 train / 1000 test), SGD momentum 0.9, one torch thread; base "
             f"setting {BASE}. Eigenvalue counts are min(rows, cols) of the weight matrix "
             "(conv kernels flattened to out x in*k).\n")
    L.append("| model | family | variant (changes from base) | weight shapes | n eigenvalues "
             "| test acc | train acc | train s |")
    L.append("|---|---|---|---|---|---|---|---|")
    for nm in names:
        e = manifest[nm]
        sp = e["spec"]
        ch = VARIANTS[sp["variant"]] or "-"
        L.append(f"| {nm} | {sp['family']} | {sp['variant']} {ch} | "
                 + ", ".join("x".join(map(str, la["shape"])) for la in e["layers"])
                 + " | " + ", ".join(str(la["n_evals"]) for la in e["layers"])
                 + f" | {e['test_acc']:.3f} | {e['train_acc']:.3f} | {e['train_s']:.1f} |")

    L.append("\n## Layers analysed per model\n")
    L.append("htmp: rows with status ok/partial (skipped = fewer than 8 eigenvalues, "
             "`min_evals=8`; given a state dict htmp does not list 3-D Conv1d kernels at all). "
             "WeightWatcher: rows of its details table (Linear and Conv1d modules with at least "
             "`min_evals=8` eigenvalues; 0.7.7 takes a Conv1d weight (out, in, k) as one "
             "matrix with M = min(out, in, k) = k eigenvalues, so kernel-3 Conv1d layers are "
             "skipped).\n")
    L.append("| model | weights | htmp analysed | htmp skipped | htmp failed | htmp not listed "
             "| WW analysed | common | max abs(alpha htmp - alpha WW), common layers |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    tot = {"w": 0, "h": 0, "ww": 0}
    for nm in names:
        hl, wl = H[-1]["layers"][nm], W[-1]["layers"][nm]
        weights = [la["name"] for la in manifest[nm]["layers"]]
        ok = [r for r in hl if r["status"] in ("ok", "partial")]
        sk = [r["name"] for r in hl if r["status"] == "skipped"]
        fl = [r["name"] for r in hl if r["status"] == "failed"]
        listed = {r["name"] for r in hl}
        nl = [w for w in weights if w not in listed]
        wa = {r["name"]: r["alpha"] for r in wl}
        common = [r for r in ok if r["name"] in wa and r["alpha"] is not None]
        d = max((abs(r["alpha"] - wa[r["name"]]) for r in common), default=float("nan"))
        tot["w"] += len(weights)
        tot["h"] += len(ok)
        tot["ww"] += len(wl)
        L.append(f"| {nm} | {len(weights)} | {len(ok)} | {', '.join(sk) or '-'} | "
                 f"{', '.join(fl) or '-'} | {', '.join(nl) or '-'} | {len(wl)} "
                 f"({', '.join(wa)}) | {len(common)} | {d:.3g} |")
    L.append(f"\nIn all: {tot['w']} weight tensors; htmp analysed {tot['h']}, WeightWatcher "
             f"{tot['ww']}.\n")
    bad = sorted({r["status"] for nm in names for r in H[-1]["layers"][nm]}
                 - {"ok", "skipped"})
    if bad:
        L.append(f"htmp statuses other than ok/skipped seen: {bad}.\n")

    L.append("## In-process time per model (first pass), ms\n")
    L.append(f"{first} is the first call of each process (cold). 'repeat' = the second pass "
             "over all models in the same process.\n")
    L.append("| model | htmp min | htmp median | WW min | WW median | ratio min | ratio median "
             "| htmp repeat median | WW repeat median | ratio repeat median |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for nm in names:
        a = [r["pass1"][nm] for r in H]
        b = [r["pass1"][nm] for r in W]
        c = [r["pass2"][nm] for r in H]
        d = [r["pass2"][nm] for r in W]
        ma, mb = _mm(a), _mm(b)
        mc, md = statistics.median(c), statistics.median(d)
        L.append(f"| {nm}{' (cold)' if nm == first else ''} | {_f(ma[0], 1e3)} | "
                 f"{_f(ma[1], 1e3)} | {_f(mb[0], 1e3)} | {_f(mb[1], 1e3)} | "
                 f"{ma[0] / mb[0]:.2f} | {ma[1] / mb[1]:.2f} | {_f(mc, 1e3)} | {_f(md, 1e3)} | "
                 f"{mc / md:.2f} |")

    def per_rep(R, f):
        return [f(r) for r in R]

    S = []
    S.append("| measure | htmp min | htmp median | WW min | WW median | ratio min | "
             "ratio median |")
    S.append("|---|---|---|---|---|---|---|")
    S.append(_row(f"cold first call ({first}), ms", per_rep(H, lambda r: r["pass1"][first]),
                  per_rep(W, lambda r: r["pass1"][first]), 1e3))
    if all("import_s" in r for r in H + W):
        S.append(_row("library import (torch already imported), ms",
                      per_rep(H, lambda r: r["import_s"]), per_rep(W, lambda r: r["import_s"]),
                      1e3))
        S.append(_row(f"import + cold first call ({first}), ms",
                      per_rep(H, lambda r: r["import_s"] + r["pass1"][first]),
                      per_rep(W, lambda r: r["import_s"] + r["pass1"][first]), 1e3))
    if rest:
        S.append(_row(f"warm per model, mean over the other {len(rest)} models, ms",
                      per_rep(H, lambda r: statistics.mean(r["pass1"][x] for x in rest)),
                      per_rep(W, lambda r: statistics.mean(r["pass1"][x] for x in rest)), 1e3))
        S.append(_row(f"warm per model, median over the other {len(rest)} models, ms",
                      per_rep(H, lambda r: statistics.median(r["pass1"][x] for x in rest)),
                      per_rep(W, lambda r: statistics.median(r["pass1"][x] for x in rest)),
                      1e3))
    S.append(_row(f"repeat pass, mean per model over all {n}, ms",
                  per_rep(H, lambda r: statistics.mean(r["pass2"].values())),
                  per_rep(W, lambda r: statistics.mean(r["pass2"].values())), 1e3))
    S.append(_row(f"first pass total ({n} models), s",
                  per_rep(H, lambda r: sum(r["pass1"].values())),
                  per_rep(W, lambda r: sum(r["pass1"].values())), 1))
    S.append(_row(f"repeat pass total ({n} models), s",
                  per_rep(H, lambda r: sum(r["pass2"].values())),
                  per_rep(W, lambda r: sum(r["pass2"].values())), 1))
    S.append(_row(f"whole process, wall ({n} models once, imports included), s",
                  per_rep(runs["htmp_once"], lambda r: r["wall_s"]),
                  per_rep(runs["ww_once"], lambda r: r["wall_s"]), 1))
    S.append(_row("whole process minus its analyze calls (start-up, imports, loading), s",
                  per_rep(runs["htmp_once"], lambda r: r["wall_s"] - sum(r["pass1"].values())),
                  per_rep(runs["ww_once"], lambda r: r["wall_s"] - sum(r["pass1"].values())),
                  1))
    S.append(_row("whole process, CPU user+sys, s",
                  per_rep(runs["htmp_once"], lambda r: r["cpu_s"]),
                  per_rep(runs["ww_once"], lambda r: r["cpu_s"]), 1))
    S.append(_row("whole process: in-process analyze total, s",
                  per_rep(runs["htmp_once"], lambda r: sum(r["pass1"].values())),
                  per_rep(runs["ww_once"], lambda r: sum(r["pass1"].values())), 1))
    L.append("\n## Summary\n")
    L.extend(S)
    c = H[-1].get("cache", {})
    if c.get("pass1", {}).get("bulk_table") and c.get("pass2", {}).get("bulk_table"):
        b1, b2 = c["pass1"]["bulk_table"], c["pass2"]["bulk_table"]
        rebuilt = b2[1] - b1[1]
        L.append(f"\nhtmp's law tables (`htmp.laws._kummer.bulk_table`, lru_cache maxsize "
                 f"{b1[2]}), last repetition: pass 1 built {b1[1]} tables ({b1[0]} cache hits); "
                 f"the repeat pass built {rebuilt} more ({b2[0] - b1[0]} hits)"
                 + (": the model set needs more tables than the cache holds, so the repeat "
                    "pass is NOT fully cached." if rebuilt else ": fully cached."))
    same = all({r["name"] for r in H[-1]["layers"][nm] if r["status"] in ("ok", "partial")}
               == {r["name"] for r in W[-1]["layers"][nm]} for nm in names)
    L.append(f"\nLayers analysed in all: htmp {tot['h']}, WeightWatcher {tot['ww']}; "
             + ("the same layers in every model. " if same else
                "NOT the same layers in every model (see above). ")
             + "Per layer the work differs: htmp computes the ESD and fits MP, HTMP (kappa, "
             "with a profile-likelihood interval) and the power-law tail, then the phase; "
             "WeightWatcher's default takes the SVD, fits the power-law tail (WWFit) and "
             "computes its norm / rank metrics.\n")
    L.append("## Raw per-run wall / CPU, s\n")
    L.append("| rep | mode | wall | CPU | in-process pass 1 total | pass 2 total |")
    L.append("|---|---|---|---|---|---|")
    for rep, r in info["order"]:
        p2 = sum(r["pass2"].values()) if r["pass2"] else float("nan")
        L.append(f"| {rep} | {r['mode']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
                 f"{sum(r['pass1'].values()):.2f} | {p2:.2f} |")
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--blas-threads", type=int, default=1)
    ap.add_argument("--htmp-python", default=HTMP_PYTHON)
    ap.add_argument("--ww-python", default=WW_PYTHON)
    ap.add_argument("--quick", action="store_true", help="2 models, 1 repetition")
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--live-src", action="store_true",
                    help="htmp children import the live src/ (default: a snapshot of "
                         "src/htmp taken at start, so concurrent edits cannot mix versions)")
    ap.add_argument("--profile", metavar="MODEL", default=None,
                    help="cProfile one warm htmp.analyze call on MODEL and stop")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    models = QUICK if args.quick else MODELS
    if args.quick:
        args.reps = 1
    names = [model_name(f, v) for f, v in models]
    env = _env(args.blas_threads)

    manifest_path = MODEL_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    cached = all(nm in manifest and manifest[nm]["spec"] == model_spec(f, v)
                 and (MODEL_DIR / manifest[nm]["file"]).exists()
                 for nm, (f, v) in zip(names, models))
    if args.retrain or not cached:      # the child also retrains on another torch version
        build_cmd = [args.htmp_python, __file__, "--build", ",".join(names)]
        if args.retrain:
            build_cmd.append("--retrain")
        subprocess.run(build_cmd, check=True, env=_env(1))
        manifest = json.loads(manifest_path.read_text())

    if args.profile:
        warm = names[0] if args.profile != names[0] else names[1]
        subprocess.run([args.htmp_python, __file__, "--profile-child", args.profile, warm,
                        str(args.top)], check=True, env=env)
        return

    python = {"htmp": args.htmp_python, "htmp_once": args.htmp_python,
              "ww": args.ww_python, "ww_once": args.ww_python}
    tmp = Path(tempfile.mkdtemp(prefix="small_vs_ww_", dir=OUT))
    envs = {m: env for m in MODES}
    snapshot = None
    if not args.live_src:      # src/ changes under us: every htmp child imports one copy
        snapshot = tmp / "src"
        shutil.copytree(ROOT / "src" / "htmp", snapshot / "htmp",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([args.htmp_python, "-m", "compileall", "-q", str(snapshot)],
                       check=True)                   # no bytecode compiling in rep 0
        pp = os.pathsep.join(x for x in (str(snapshot), env.get("PYTHONPATH")) if x)
        envs["htmp"] = envs["htmp_once"] = dict(env, PYTHONPATH=pp)
        # numba caches compiled code per source path: compile the snapshot's once, as the
        # first use of an installation does, so that no timed child compiles
        subprocess.run([args.htmp_python, "-c",
                        "from htmp.laws import _kummer_jit; _kummer_jit.warm_up()"],
                       check=True, env=envs["htmp"])
    load0 = os.getloadavg()
    runs = {m: [] for m in MODES}
    order = []
    for rep in range(args.reps):
        for mode in (MODES if rep % 2 == 0 else MODES[::-1]):      # ABBA
            r = _run(mode, python[mode], tmp, rep, names, envs[mode], args.blas_threads)
            runs[mode].append(r)
            order.append((rep, r))
            p2 = sum(r["pass2"].values()) if r["pass2"] else float("nan")
            print(f"rep {rep} {mode:9s} wall {r['wall_s']:6.2f} s  CPU {r['cpu_s']:6.2f} s  "
                  f"analyze pass 1 {sum(r['pass1'].values()):6.2f} s (first "
                  f"{1e3 * r['pass1'][names[0]]:.0f} ms)  pass 2 {p2:6.2f} s  load "
                  f"{os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    load1 = os.getloadavg()
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    info = {"git": git, "order": order,
            "snapshot": fingerprint(snapshot / "htmp") if snapshot else None}
    text = _report(args, names, manifest, runs, load0, load1, info)
    print(text)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    path = REPORT.with_name("small_models_vs_ww_quick.md") if args.quick else REPORT
    path.write_text(text)
    (tmp / "runs.json").write_text(json.dumps(runs, indent=1))
    print(f"report: {path}; raw child results: {tmp}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), sys.argv[4].split(","), int(sys.argv[5]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "--build":
        _build_models(sys.argv[2].split(","), "--retrain" in sys.argv)
    elif len(sys.argv) >= 2 and sys.argv[1] == "--profile-child":
        _profile(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
