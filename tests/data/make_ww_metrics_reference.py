"""Reference values of WeightWatcher 0.7.7's norm metrics on a few seeded dense layers.

Run once, in a separate virtual environment holding weightwatcher 0.7.7, powerlaw 1.5 and
torch (weightwatcher is not an htmp dependency; PEERS.md section 0 for why powerlaw<2)::

    python tests/data/make_ww_metrics_reference.py            # writes the CSVs beside it
    python tests/data/make_ww_metrics_reference.py --weights  # regenerate the .npz first

It does not import htmp.  Files (beside this script):

* ``ww_metrics_weights.npz``: the layers (float32, so the stored values are the weights
  exactly), drawn with numpy's ``default_rng(SEED)``: ``gauss`` 64 x 32 standard normal,
  ``student`` 48 x 120 Student-t with 3 degrees of freedom, ``spiked`` 100 x 50 standard
  normal plus a rank-2 signal (5 u1 v1ᵀ + 3 u2 v2ᵀ, unit vectors), ``wide`` 30 x 200
  normal with standard deviation 0.02 (torch's Linear layout (out, in) for all).
* ``ww_metrics_reference.csv``: one row per layer of ``WeightWatcher(model).analyze()``
  (defaults; the model an ``nn.Sequential`` of ``nn.Linear`` layers holding those weights):
  N, M (WeightWatcher's: N the larger dimension), alpha and its norm metrics, written with
  ``repr`` (17 significant digits).
* ``ww_metrics_summary_reference.csv``: ``WeightWatcher.get_summary()`` of that analysis.
"""
from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "ww_metrics_weights.npz"
TABLE = HERE / "ww_metrics_reference.csv"
SUMMARY = HERE / "ww_metrics_summary_reference.csv"
SEED = 20261122
LAYERS = ("gauss", "student", "spiked", "wide")
METRICS = ("alpha", "norm", "log_norm", "spectral_norm", "log_spectral_norm", "stable_rank",
           "alpha_weighted", "log_alpha_norm")


def make_weights() -> dict:
    rng = np.random.default_rng(SEED)
    w = {"gauss": rng.standard_normal((64, 32)),
         "student": rng.standard_t(3, size=(48, 120))}
    u = rng.standard_normal((100, 2))
    v = rng.standard_normal((50, 2))
    u /= np.linalg.norm(u, axis=0)
    v /= np.linalg.norm(v, axis=0)
    w["spiked"] = rng.standard_normal((100, 50)) + 5 * np.outer(u[:, 0], v[:, 0]) \
        + 3 * np.outer(u[:, 1], v[:, 1])
    w["wide"] = 0.02 * rng.standard_normal((30, 200))
    return {k: v.astype(np.float32) for k, v in w.items()}


def header(what: str) -> list:
    import powerlaw
    import torch
    import weightwatcher

    return [f"# {what}, made by WeightWatcher {weightwatcher.__version__} + powerlaw "
            f"{powerlaw.__version__} (torch {torch.__version__}, numpy {np.__version__}) via "
            f"tests/data/make_ww_metrics_reference.py from ww_metrics_weights.npz.",
            "# WeightWatcher's conventions: eigenvalues of W^T W (not divided by M); N is the "
            "larger dimension, M the smaller."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", action="store_true", help="regenerate the .npz first")
    args = ap.parse_args()
    if args.weights or not WEIGHTS.exists():
        np.savez(WEIGHTS, **make_weights())
    import torch
    import weightwatcher as ww
    from torch import nn

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    stored = np.load(WEIGHTS)
    mods = []
    for name in LAYERS:
        W = torch.from_numpy(stored[name])
        lin = nn.Linear(W.shape[1], W.shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(W)
        mods.append(lin)
    watcher = ww.WeightWatcher(model=nn.Sequential(*mods))
    details = watcher.analyze()
    assert len(details) == len(LAYERS), details
    with TABLE.open("w", newline="") as f:
        f.write("\n".join(header("Per-layer metrics of WeightWatcher(model).analyze()")) + "\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "N", "M", *METRICS])
        for name, (_, r) in zip(LAYERS, details.iterrows()):
            w.writerow([name, int(r["N"]), int(r["M"]), *(repr(float(r[m])) for m in METRICS)])
    summary = watcher.get_summary()
    with SUMMARY.open("w", newline="") as f:
        f.write("\n".join(header("WeightWatcher.get_summary() of that analysis")) + "\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["metric", "value"])
        for k, v in summary.items():
            w.writerow([k, repr(float(v))])
    print(TABLE.read_text() + SUMMARY.read_text())


if __name__ == "__main__":
    main()
