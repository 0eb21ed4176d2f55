"""Model quality: do per-model spectral metrics rank a zoo of small trained networks by test
accuracy?  The poster's "Correlations with model quality" panel (test accuracy against the
average log alpha-norm: R^2 0.86, Kendall tau -0.88) at CPU scale (docs/model_quality.md).

* the zoo (experiments/_model_quality_zoo.py): 64 small networks in four families (three
  on MNIST-1D, one on scikit-learn's digits; nothing downloaded), training settings drawn
  per model with a fixed seed; cached under ``OUT/models`` (state dicts + manifest.json);
* htmp's metrics: ``htmp.analyze(module)`` per model, aggregated over layers
  (:func:`htmp_metrics`; kappa only from measured values or by rank, never a bound as a
  value); WeightWatcher 0.7.7's ``get_summary`` (+ mean entropy) from its own interpreter
  (``--ww-python``), skipped with a note when that interpreter is missing;
* Spearman / Kendall (tau-b) of every metric against test accuracy and against the
  generalisation gap (train accuracy on the clean labels - test accuracy), pooled, per
  family, and within family (Kendall over same-family pairs only), each with a seeded
  percentile bootstrap interval over models (experiments/_model_quality_stats.py); and,
  as a check for confounding, against ``log_lr_steps`` = log10(learning rate x SGD steps),
  how far training moved the weights, and the partial Spearman rho against test accuracy
  given ``log_lr_steps`` (target ``test_acc|log_lr_steps``).

Run: ``python experiments/model_quality.py [--quick] [--out DIR] [--ww-python PATH]
[--n-boot B] [--seed S] [--retrain]`` (default out: experiments/out/model_quality/).
Writes ``models.csv`` (one row per model: settings, accuracies, metrics),
``layers_htmp.csv``, ``layers_ww.csv``, ``correlations.csv``, ``report.md`` and
``model_quality_log_alpha_norm.png`` / ``model_quality_metrics.png``; prints the report.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _model_quality_report import figures, report  # noqa: E402
from _model_quality_stats import correlate, partial_spearman  # noqa: E402
from _model_quality_zoo import build, ensure_zoo, zoo_specs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "out" / "model_quality"
WW_PYTHON = "/tmp/ww-venv/bin/python"
CONFOUND = "log_lr_steps"       # log10(lr x steps): a confound check, not a quality
TARGETS = ("test_acc", "gap", CONFOUND)
PHASES = ("random-like", "bleeding-out", "bulk+spikes", "bulk-decay", "heavy-tailed",
          "rank-collapse")
WW_KEYS = ("alpha", "alpha_weighted", "log_alpha_norm", "log_norm", "log_spectral_norm",
           "stable_rank")


# ---------------------------------------------------------------------------- htmp metrics
def _low_median(v: np.ndarray) -> float:
    """The lower median: an order statistic (one layer's own value), defined with +-inf."""
    if v.size == 0:
        return math.nan
    return float(np.sort(v)[(v.size - 1) // 2])


def htmp_metrics(df) -> dict:
    """Per-model aggregates of one ``htmp.analyze`` table (keys without the ``htmp_``).

    kappa: ``kappa_median`` / ``kappa_log10_mean`` over *measured* kappas only
    (``htmp_status`` "ok"/"max-iter"); ``kappa_rank_median``: the lower median over every
    layer with a kappa fit, an MP-like layer counted as +inf and one below the search range
    as 0 (only its order is used: a rank aggregate, not a value); ``kappa_lo_median``: the
    same with each layer's lower interval end (0 below the range); ``frac_mp_like``.
    Phases: the share of layers (with a phase label) in each group, and
    ``phase_index_mean``: the mean position in the 5+1 order (random-like 0 ...
    rank-collapse 5) over layers with one of the six labels.
    """
    from htmp.analysis import summarize

    s = summarize(df)
    hs = df["htmp_status"].astype(str).to_numpy()
    kappa = df["kappa"].to_numpy(float)
    lo = df["kappa_lo"].to_numpy(float)
    fitted = np.isin(hs, ["ok", "max-iter", "mp-like", "at-lower-bound"])
    measured = np.isin(hs, ["ok", "max-iter"]) & np.isfinite(kappa)
    ranked = np.where(hs == "mp-like", np.inf, np.where(hs == "at-lower-bound", 0.0, kappa))
    lo_ranked = np.where(hs == "at-lower-bound", 0.0, lo)
    phase = df["phase"].astype(str).to_numpy()
    labelled = phase[phase != ""]
    six = labelled[np.isin(labelled, PHASES)]

    def share(*names):
        return float(np.isin(labelled, names).mean()) if labelled.size else math.nan

    ok = df["status"].astype(str).isin(["ok", "partial"]).to_numpy()
    return {
        "n_layers": int(ok.sum()), "n_kappa": int(measured.sum()),
        "kappa_median": float(np.median(kappa[measured])) if measured.any() else math.nan,
        "kappa_log10_mean": (float(np.log10(kappa[measured]).mean()) if measured.any()
                             else math.nan),
        "kappa_rank_median": _low_median(ranked[fitted]),
        "kappa_lo_median": _low_median(lo_ranked[fitted & ~np.isnan(lo_ranked)]),
        "frac_mp_like": float((hs[fitted] == "mp-like").mean()) if fitted.any() else math.nan,
        "alpha_mean": s.alpha_mean, "alpha_median": s.alpha_median,
        "log_norm": s.log_norm_mean, "alpha_weighted": s.alpha_weighted_mean,
        "log_alpha_norm": s.log_alpha_norm_mean, "log_spectral_norm": s.log_spectral_norm_mean,
        "stable_rank": s.stable_rank_mean,
        "mp_ks_mean": float(np.nanmean(df["mp_ks"].to_numpy(float))) if ok.any() else math.nan,
        "htmp_ks_mean": (float(np.nanmean(df["htmp_ks"].to_numpy(float))) if ok.any()
                         else math.nan),
        "loglik_ratio_median": (float(np.nanmedian(df["loglik_ratio"].to_numpy(float)))
                                if ok.any() else math.nan),
        "frac_htmp_preferred": share("bulk-decay", "heavy-tailed"),
        "frac_random_like": share("random-like"),
        "frac_spikes": share("bleeding-out", "bulk+spikes"),
        "frac_rank_collapse": share("rank-collapse"),
        "frac_unresolved": share("unresolved"),
        "phase_index_mean": (float(np.mean([PHASES.index(p) for p in six])) if six.size
                             else math.nan),
    }


def analyze_htmp(manifest: dict, model_dir: Path, log=print):
    """``htmp.analyze`` of every model -> (per-model metrics {name: dict}, layer table)."""
    import pandas as pd
    import torch

    import htmp

    rows, tables = {}, []
    for name, entry in manifest.items():
        module = build(entry["spec"]["arch"])
        module.load_state_dict(torch.load(model_dir / entry["file"], weights_only=True))
        t0 = time.perf_counter()
        df = htmp.analyze(module.eval())
        rows[name] = {f"htmp_{k}": v for k, v in htmp_metrics(df).items()}
        rows[name]["htmp_seconds"] = time.perf_counter() - t0
        tables.append(df.assign(model=name))
        log(f"htmp   {name:14s} {len(df)} layers {rows[name]['htmp_seconds']:5.2f} s")
    return rows, pd.concat(tables, ignore_index=True)


# ---------------------------------------------------------------------------- WeightWatcher
def analyze_ww(names: list[str], model_dir: Path, ww_python: str, out: Path, log=print):
    """WeightWatcher in its own interpreter -> ({name: metrics}, layer rows, note)."""
    if not ww_python or not Path(ww_python).exists():
        return {}, [], (f"WeightWatcher skipped: no interpreter at --ww-python "
                        f"{ww_python!r}")
    result = out / "ww.json"
    cmd = [ww_python, str(Path(__file__).with_name("_model_quality_zoo.py")), "--ww-child",
           str(model_dir), str(result), ",".join(names)]
    t0 = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {}, [], f"WeightWatcher failed (exit {proc.returncode}): {' | '.join(tail)}"
    data = json.loads(result.read_text())
    rows, layers = {}, []
    for name, r in data["models"].items():
        if "error" in r:
            rows[name] = {}
            continue
        rows[name] = {f"ww_{k}": r["summary"].get(k, math.nan) for k in WW_KEYS}
        ent = [lay["entropy"] for lay in r["layers"] if "entropy" in lay]
        rows[name]["ww_entropy"] = float(np.mean(ent)) if ent else math.nan
        rows[name]["ww_n_layers"] = len(r["layers"])
        layers += [{"model": name, **lay} for lay in r["layers"]]
    errors = [n for n, r in data["models"].items() if "error" in r]
    note = (f"WeightWatcher {data['weightwatcher']}: {len(names) - len(errors)} models in "
            f"{time.perf_counter() - t0:.0f} s (its own process)")
    if errors:
        note += f"; failed on {', '.join(errors)}"
    log(note)
    return rows, layers, note


def ww_agreement(htmp_layers, ww_layers) -> dict:
    """Largest relative difference per metric over the layers both tools analysed whose
    matrix is the same (dense layers: WeightWatcher reads conv kernels as slices)."""
    import pandas as pd

    if not ww_layers:
        return {}
    w = pd.DataFrame(ww_layers)
    h = htmp_layers[htmp_layers["type"].astype(str) == "linear"]
    m = h.merge(w, on=["model", "name"], suffixes=("_h", "_w"))
    out = {"n_layers": len(m)}
    for c in ("alpha", "log_norm", "log_spectral_norm", "stable_rank", "alpha_weighted",
              "log_alpha_norm"):
        a, b = m[f"{c}_h"].to_numpy(float), m[f"{c}_w"].to_numpy(float)
        both = np.isfinite(a) & np.isfinite(b)
        out[c] = (float(np.max(np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-300)))
                  if both.any() else math.nan)
    return out


# ------------------------------------------------------------------------------ correlations
def correlations(models, metrics: list[str], *, n_boot: int, seed: int):
    """Long table: metric x target x scope ("all", "within-family", each family)."""
    import pandas as pd

    fams = sorted(models["family"].unique())
    rows = []
    for metric in metrics:
        x = models[metric].to_numpy(float)
        for target in TARGETS:
            y = models[target].to_numpy(float)
            scopes = [("all", None, slice(None))]
            if len(fams) > 1:
                scopes.append(("within-family", models["family"].to_numpy(), slice(None)))
            scopes += [(f, None, (models["family"] == f).to_numpy()) for f in fams]
            for scope, groups, sel in scopes:
                c = correlate(x[sel], y[sel], groups=groups, n_boot=n_boot, seed=seed)
                rows.append({"metric": metric, "target": target, "scope": scope,
                             **c.to_dict()})
        # test accuracy given how far training moved the weights (partial Spearman rho)
        y, z = models["test_acc"].to_numpy(float), models[CONFOUND].to_numpy(float)
        for scope, groups in (("all", None), ("within-family", models["family"].to_numpy())):
            c = partial_spearman(x, y, z, groups=groups, n_boot=n_boot, seed=seed)
            rows.append({"metric": metric, "target": f"test_acc|{CONFOUND}", "scope": scope,
                         **c.to_dict()})
    return pd.DataFrame(rows)


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="six tiny models, 1-2 epochs")
    ap.add_argument("--out", type=Path, default=None, help=f"default {OUT}")
    ap.add_argument("--ww-python", default=WW_PYTHON,
                    help="WeightWatcher's interpreter ('' skips it)")
    ap.add_argument("--n-boot", type=int, default=None,
                    help="bootstrap resamples (default 2000; 200 with --quick)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retrain", action="store_true")
    args = ap.parse_args(argv)
    if args.n_boot is None:
        args.n_boot = 200 if args.quick else 2000
    if args.n_boot < 100:
        ap.error(f"--n-boot must be an integer >= 100, got {args.n_boot}")
    if args.seed < 0:
        ap.error(f"--seed must be an integer >= 0, got {args.seed}")
    if args.out is None:
        args.out = OUT.with_name("model_quality_quick") if args.quick else OUT
    return args


def main(argv=None):
    import pandas as pd

    args = parse(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    specs = zoo_specs(quick=args.quick, seed=args.seed)
    model_dir = out / "models"
    manifest = ensure_zoo(specs, model_dir, retrain=args.retrain, log=print)
    t_train = sum(e["train_s"] for e in manifest.values())
    finite = {n: e for n, e in manifest.items() if e["finite"]}
    h_rows, h_layers = analyze_htmp(finite, model_dir)
    w_rows, w_layers, ww_note = analyze_ww(list(finite), model_dir, args.ww_python, out)
    rows = []
    for s in specs:
        e = manifest[s["name"]]
        rows.append({"model": s["name"], "family": s["family"], **s["train"],
                     "test_acc": e["test_acc"], "train_acc": e["train_acc"],
                     "gap": e["train_acc"] - e["test_acc"], "train_fit_acc": e["train_fit_acc"],
                     "steps": e["steps"], "log_lr_steps": math.log10(s["train"]["lr"] * e["steps"]),
                     "train_s": e["train_s"], "finite": e["finite"],
                     **h_rows.get(s["name"], {}), **w_rows.get(s["name"], {})})
    models = pd.DataFrame(rows)
    models.to_csv(out / "models.csv", index=False)
    h_layers.to_csv(out / "layers_htmp.csv", index=False)
    pd.DataFrame(w_layers).to_csv(out / "layers_ww.csv", index=False)
    skip = {"htmp_seconds", "htmp_n_layers", "htmp_n_kappa", "ww_n_layers"}   # counts
    metrics = [c for c in models.columns if c.startswith(("htmp_", "ww_")) and c not in skip]
    used = models[models["finite"]]
    corr = correlations(used, metrics, n_boot=args.n_boot, seed=args.seed)
    corr.to_csv(out / "correlations.csv", index=False)
    agree = ww_agreement(h_layers, w_layers)
    figures(models, corr, out)
    text = report(models, corr, agree, ww_note=ww_note, n_boot=args.n_boot, seed=args.seed,
                  train_seconds=t_train, total_seconds=time.perf_counter() - t0,
                  quick=args.quick)
    (out / "report.md").write_text(text)
    print(text)
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")
    return models, corr


if __name__ == "__main__":
    main()
