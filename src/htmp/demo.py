"""End-to-end showcase: a CNN trained at several batch sizes, analysed layer by layer.

Run ``python -m htmp.demo --out DIR`` (``make demo``).  Main job (the paper's Fig. 5.1 at CPU
scale): train :data:`htmp.demo_training.DEMO_CONFIG` (a small MiniAlexNet-style CNN on
MNIST-1D, generated offline) at batch sizes from large to small, run
:func:`htmp.analysis.run` on the untrained network and on each trained one, write ONE
report ``DIR/report/index.html`` with :func:`htmp.report.write_report`, and print a short
table for ``fc1`` (phase, kappa of the bulk with its fit status, alpha, spikes, near-zero
share, accuracies) and one sentence saying what the progression shows and what it does not.
``docs/demo_phases.md`` records the settings searched.  The same report gains a "Feature
spectra" section (:func:`feature_fits`: the NTK and the last hidden layer's activations of
the untrained network and of the largest and smallest batch size's, fitted with
:func:`htmp.features.fit_feature_spectrum`; docs/features.md), summarised on stdout too.
About 45 s on 2 CPU cores (35 s without the feature spectra, ``features=False``).

Secondary output (also the whole of ``main(argv)`` when called as a function, unless
``--phases`` is given; ``python -m htmp.demo`` adds ``--phases`` by default, ``--no-phases``
turns it off): the HTMP law family.  It draws HTMP(gamma, kappa) for several kappa
against MP(gamma) on linear and log-log axes, the InverseHTMP family with its power-law
tail asymptotes, overlays a histogram of eigenvalues sampled from the tridiagonal
beta-Laguerre ensemble (when :func:`htmp.ensembles.htmp_eigvals` is available), saves
``DIR/htmp_family.png`` and prints a table of the laws' parameters and moments.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import ensembles
from .analysis import kappa_text, weak_reasons
from .demo_features import (
    FEATURE_INTRO,
    FEATURE_LAYER,
    N_ACT,
    N_NTK,
    feature_fits,
    format_feature_lines,
)
from .laws import HTMP, InverseHTMP, MarchenkoPastur

__all__ = ["main", "summary_rows", "make_figure", "run_phases", "format_phase_table",
           "feature_fits", "format_feature_lines"]

KAPPAS = (0.5, 2.0, 8.0, 32.0)


def summary_rows(gamma, kappas):
    """One dict per kappa (then the MP limit): parameters, moments, tail exponents, time."""
    rows = []
    for k in kappas:
        t0 = time.perf_counter()
        law, inv = HTMP(gamma=gamma, kappa=k), InverseHTMP(gamma=gamma, kappa=k)
        law.pdf(law.mean())                      # builds the table of nu_{alpha,c} once
        rows.append({"kappa": k, "alpha": float(law.alpha), "c": float(law.c),
                     "mean": float(law.mean()), "var": float(law.var()),
                     "var_closed": gamma * (1 + 2 / k), "tail_index": float(inv.tail_index),
                     "edge_exponent": float(inv.edge_exponent),
                     "seconds": time.perf_counter() - t0})
    t0 = time.perf_counter()
    mp = MarchenkoPastur(gamma=gamma)
    rows.append({"kappa": np.inf, "alpha": np.inf, "c": np.inf, "mean": float(mp.mean()),
                 "var": float(mp.var()), "var_closed": gamma, "tail_index": np.inf,
                 "edge_exponent": np.inf, "seconds": time.perf_counter() - t0})
    return rows


def format_table(rows):
    """A Markdown table of :func:`summary_rows`."""
    head = ("| kappa | Laguerre alpha | c | mean | variance | gamma(1+2/kappa) "
            "| inverse tail index | edge exponent | time [s] |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append("| " + " | ".join([
            "inf (MP)" if np.isinf(r["kappa"]) else f"{r['kappa']:g}",
            f"{r['alpha']:.6g}", f"{r['c']:.6g}", f"{r['mean']:.6f}", f"{r['var']:.6f}",
            f"{r['var_closed']:.6f}", f"{r['tail_index']:.6g}", f"{r['edge_exponent']:.6g}",
            f"{r['seconds']:.2f}"]) + " |")
    return "\n".join(lines)


def make_figure(gamma, kappas, *, eigvals=None, kappa_sample=None):
    """The three-panel showcase figure; returns the matplotlib Figure."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.size": 11}):
        return _draw(Figure(figsize=(18, 5.6), layout="constrained"), gamma, kappas,
                     eigvals, kappa_sample)


def _draw(fig, gamma, kappas, eigvals, kappa_sample):
    from . import plotting

    ax_lin, ax_log, ax_inv = fig.subplots(1, 3)
    plotting.plot_family(gamma, kappas, ax=ax_lin)
    if eigvals is not None:
        hi = ax_lin.get_xlim()[1]
        bins = np.linspace(0.0, hi, 61)
        color = "tab:red"
        for line in ax_lin.get_lines():     # the colour of the curve of the sampled kappa
            if line.get_label() == rf"$\kappa = {kappa_sample:g}$":
                color = line.get_color()
        ax_lin.hist(eigvals, bins=bins, density=True, histtype="step", color=color, lw=1,
                    zorder=0)
        ax_lin.hist(eigvals, bins=bins, density=True, histtype="stepfilled", alpha=0.2,
                    color=color, zorder=0,
                    label=rf"$\beta$-Laguerre sample, $N = {eigvals.size}$, "
                          rf"$\kappa = {kappa_sample:g}$")
        ax_lin.legend(title=r"repulsion $\kappa$", frameon=False)
    plotting.plot_family(gamma, kappas, ax=ax_log, loglog=True)
    plotting.plot_inverse_family(gamma, kappas, ax=ax_inv)
    fig.suptitle("High-temperature Marchenko–Pastur laws HTMP$_{\\gamma,\\kappa}$ and their "
                 "inverses (Hodgkinson, Wang & Mahoney, ICML 2025)", fontsize="large")
    for ax, tag in zip((ax_lin, ax_log, ax_inv), "abc"):
        ax.text(0.01, 1.01, f"({tag})", transform=ax.transAxes, fontweight="bold",
                va="bottom", ha="left")
    return fig


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def fc1_summary(label, analysis, result=None) -> dict:
    """The printed row for fc1 of one analysis (``result``: its TrainResult, or None at init)."""
    t = analysis.table
    r = t[t["name"].str.contains("fc1")].iloc[0]
    n_evals = _num(r["n_evals"])
    return {"label": label,
            "train_acc": result.train_acc if result is not None else float("nan"),
            "test_acc": result.test_acc if result is not None else float("nan"),
            "steps": result.steps if result is not None else 0,
            "phase": r["phase"], "weak": weak_reasons(r), "kappa": _num(r["kappa"]),
            "kappa_text": kappa_text(r), "kappa_status": r["htmp_status"],
            "htmp_ks": _num(r["htmp_ks"]), "mp_ks": _num(r["mp_ks"]),
            "loglik_ratio": _num(r["loglik_ratio"]), "fit_quality": r["fit_quality"],
            "top_share": _num(r["top_share"]),
            "alpha": _num(r["alpha"]), "n_spikes": int(_num(r["n_spikes"])),
            "n_set_aside": int(_num(r["n_set_aside"])),
            "near_zero": _num(r["n_zero"]) / n_evals, "mp_scale": _num(r["mp_scale"]),
            "small": result_small(analysis, r["name"])}


def result_small(analysis, name) -> float:
    from .demo_training import near_zero_fraction

    return near_zero_fraction(analysis.spectra[name])


def format_phase_table(rows) -> str:
    """Markdown table of :func:`fc1_summary` rows."""
    head = ("| batch | steps | train acc | test acc | phase (fc1) | κ (95 %) | KS HTMP / MP "
            "| log LR | fit | alpha | spikes | top 5 % share | zero / <1e-3·mean |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        acc = (lambda a: "–" if a != a else f"{a:.3f}")
        phase = r["phase"] + (" (weak)" if r["weak"] else "")
        lines.append(
            f"| {r['label']} | {r['steps']} | {acc(r['train_acc'])} | {acc(r['test_acc'])} | "
            f"{phase} | {r['kappa_text']} | {r['htmp_ks']:.3f} / {r['mp_ks']:.3f} | "
            f"{r['loglik_ratio']:.3g} | {r['fit_quality']} | {r['alpha']:.2f} | "
            f"{r['n_spikes']} | {r['top_share']:.2f} | {r['near_zero']:.2f} / {r['small']:.2f} |")
    return "\n".join(lines)


def conclusion(rows, config=None) -> str:
    """One plain sentence: what the progression shows and what it does not."""
    seen = list(dict.fromkeys(r["phase"] for r in rows))
    trained = rows[1:]
    text = (f"From init and batch {trained[0]['label'].split()[-1]} down to batch "
            f"{trained[-1]['label'].split()[-1]}, fc1's label goes " + " -> ".join(seen))
    heavy = [r for r in rows if r["phase"] in ("bulk-decay", "heavy-tailed")]
    if heavy:
        text += ("; " + ", ".join(f"{r['label']}: κ = {r['kappa_text']} (log-likelihood ratio "
                                  f"{r['loglik_ratio']:.3g}, KS {r['htmp_ks']:.3f} vs MP "
                                  f"{r['mp_ks']:.3f})" for r in heavy)
                 + " fit the same eigenvalues better with HTMP than with MP")
    else:
        text += ("; it does NOT show the heavy-tailed phases (bulk-decay, heavy-tailed): in no "
                 "run did HTMP fit fc1's eigenvalues better than MP by the margin")
    unresolved = [r["label"] for r in rows if r["phase"] == "unresolved"]
    if unresolved:
        text += f"; at {', '.join(unresolved)} neither law fits (unresolved)"
    collapsed = [r for r in rows if r["phase"] == "rank-collapse"]
    if collapsed:
        text += ("; rank collapse at " + ", ".join(
            f"{r['label']} (top 5 % of eigenvalues hold {r['top_share']:.0%} of the trace)"
            for r in collapsed))
    if config is not None and config.weight_decay > 0:
        text += (f"; the bulk shrinks (MP scale {rows[0]['mp_scale']:.2g} -> "
                 f"{trained[-1]['mp_scale']:.2g}) under weight decay x steps (equal epochs "
                 f"give small batches more steps), not because of batch size as such")
    return text + "."


def run_phases(out_dir, *, config=None, batch_sizes=None, epochs=None, threads: int = 1,
               features: bool = True):
    """Train, analyse, report and print (the main job); returns (report path, rows).

    ``features``: also the NTK and last-hidden-layer activation spectra
    (:func:`feature_fits`) of the untrained network and of the largest and smallest batch
    size's, in a "Feature spectra" section of the report and a few printed lines."""
    from . import demo_training as dt
    from .analysis import run as analysis_run

    cfg = config or dt.DEMO_CONFIG
    if batch_sizes is not None:
        cfg = dt.with_(cfg, batch_sizes=tuple(batch_sizes))
    if epochs is not None:
        cfg = dt.with_(cfg, epochs=float(epochs))
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    print(f"training {cfg.dataset} MiniAlexNet (NTK parametrisation) at batch sizes "
          f"{', '.join(map(str, cfg.batch_sizes))}: {cfg.epochs:g} epochs each, SGD lr "
          f"{cfg.lr:g} ({cfg.lr_scaling}), momentum {cfg.momentum:g}, weight decay "
          f"{cfg.weight_decay:g}, seed {cfg.seed}", flush=True)
    data = dt.load_data(cfg.dataset, seed=cfg.seed)
    pairs, rows, feats = [], [], []
    t_feat = 0.0
    x_feat = data[2]                 # test inputs, fixed: the first N_NTK / N_ACT of them
    with_features = set((cfg.batch_sizes[0], cfg.batch_sizes[-1])) if features else set()

    def add_features(label, model):
        nonlocal t_feat
        t1 = time.perf_counter()
        feats.extend((label, kind, f) for kind, f, _ in feature_fits(model, x_feat))
        t_feat += time.perf_counter() - t1

    model0 = dt.init_model(cfg, data)
    a = analysis_run(dt.weights(model0))
    if features:
        add_features("init", model0)
    pairs.append(("init", a))
    rows.append(fc1_summary("init", a))
    t_train = t_fit = 0.0
    for b in cfg.batch_sizes:
        res = dt.train(cfg, b, data=data, threads=threads)
        t_train += res.seconds
        t1 = time.perf_counter()
        a = analysis_run(dt.weights(res.model))
        t_fit += time.perf_counter() - t1
        pairs.append((f"batch {b}", a))
        rows.append(fc1_summary(f"batch {b}", a, res))
        if b in with_features:
            add_features(f"batch {b}", res.model)
        print(f"  batch {b}: {res.steps} steps in {res.seconds:.1f} s, test acc "
              f"{res.test_acc:.3f}, fc1 {rows[-1]['phase']}", flush=True)
    from .report import write_report

    title = (f"htmp demo: MiniAlexNet on {cfg.dataset} at batch sizes "
             f"{', '.join(map(str, cfg.batch_sizes))}")
    extra = None
    if features:
        from .report import feature_section
        extra = [("Feature spectra: NTK and last hidden layer",
                  feature_section(feats, intro=FEATURE_INTRO))]
    path = write_report(pairs, out_dir / "report", title=title, extra_sections=extra)
    print(f"\nreport: {path}\n")
    print(format_phase_table(rows))
    print("\nκ: HTMP fit of fc1's ESD with its 95 % interval (MP-like: κ = ∞, the likelihood "
          "flat towards MP; a bound is never shown as a value); KS HTMP / MP and log LR: both "
          "laws fitted the same way on the same eigenvalues; fit: quality of the preferred law; "
          "spikes: eigenvalues beyond the MP edge + TW margin; zero: numerically zero share, "
          "<1e-3·mean: near-zero share.")
    print("\n" + conclusion(rows, cfg))
    if features:
        print(f"\nfeature spectra (NTK on {N_NTK} test inputs, {FEATURE_LAYER} activations on "
              f"{N_ACT}; edge: inverse-Gamma on the lowest 20 %, tail: power law):")
        print("\n".join(format_feature_lines(feats)))
    print(f"\ntraining {t_train:.0f} s, analysis {t_fit:.0f} s, feature spectra "
          f"{t_feat:.1f} s (report figures not included), main job "
          f"{time.perf_counter() - t0:.0f} s")
    return path, rows


def _parser():
    p = argparse.ArgumentParser(prog="python -m htmp.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("."),
                   help="output directory: report/index.html (with --phases) and "
                        "htmp_family.png (created if missing; default: .)")
    p.add_argument("--gamma", type=float, default=0.5,
                   help="aspect ratio N/M in (0, 1) (default 0.5)")
    p.add_argument("--n", type=int, default=4000,
                   help="number of ensemble eigenvalues to sample (default 4000; 0 to skip)")
    p.add_argument("--kappa-sample", type=float, default=2.0,
                   help="kappa of the sampled ensemble (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--phases", dest="phases", action="store_true", default=None,
                   help="train the CNN at several batch sizes and write the report "
                        "(default for python -m htmp.demo)")
    g.add_argument("--no-phases", dest="phases", action="store_false",
                   help="only the HTMP law-family figure")
    p.add_argument("--batch-sizes", type=str, default=None,
                   help="comma-separated batch sizes, large to small (default: the demo's)")
    p.add_argument("--epochs", type=float, default=None,
                   help="epochs per batch size (default: the demo's)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads while training (default 1)")
    return p


def main(argv=None, *, phases: bool = False) -> int:
    """The CLI.  ``phases``: default of ``--phases`` (``python -m htmp.demo`` passes True)."""
    args = _parser().parse_args(argv)
    if args.phases is None:
        args.phases = phases
    t_start = time.perf_counter()
    if args.phases:
        bs = None
        if args.batch_sizes is not None:
            try:
                bs = tuple(int(b) for b in args.batch_sizes.split(","))
            except ValueError:
                bs = ()
            if not bs or min(bs) < 1:
                _parser().error(f"--batch-sizes must be positive integers, got "
                                f"{args.batch_sizes!r}")
        if args.epochs is not None and not args.epochs > 0:
            _parser().error(f"--epochs must be > 0, got {args.epochs}")
        if args.threads < 1:
            _parser().error(f"--threads must be >= 1, got {args.threads}")
        run_phases(args.out, batch_sizes=bs, epochs=args.epochs, threads=args.threads)
        print("\n-- secondary output: the HTMP law family --\n")
    if not 0 < args.gamma < 1:
        _parser().error(f"--gamma must be in (0, 1), got {args.gamma}")
    if args.n < 0:
        _parser().error(f"--n must be >= 0, got {args.n}")
    if not args.kappa_sample > 0:
        _parser().error(f"--kappa-sample must be > 0, got {args.kappa_sample}")
    rows = summary_rows(args.gamma, KAPPAS)
    eigvals = None
    if args.n > 0 and hasattr(ensembles, "htmp_eigvals"):
        t0 = time.perf_counter()
        eigvals = ensembles.htmp_eigvals(args.n, gamma=args.gamma, kappa=args.kappa_sample,
                                         rng=np.random.default_rng(args.seed))
        t_sample = time.perf_counter() - t0
    fig = make_figure(args.gamma, list(KAPPAS) + [np.inf], eigvals=eigvals,
                      kappa_sample=args.kappa_sample)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "htmp_family.png"
    fig.savefig(path, dpi=130)

    print(f"HTMP(gamma={args.gamma:g}, kappa) and its kappa -> inf limit MP(gamma); "
          f"variance = gamma (1 + 2/kappa)\n")
    print(format_table(rows))
    print()
    if eigvals is not None:
        law = HTMP(gamma=args.gamma, kappa=args.kappa_sample)
        print(f"ensemble: {args.n} eigenvalues of the beta-Laguerre tridiagonal model "
              f"(kappa={args.kappa_sample:g}) in {t_sample:.2f} s; "
              f"sample mean {eigvals.mean():.4f} "
              f"(law {float(law.mean()):.4f}), sample variance {eigvals.var():.4f} "
              f"(law {float(law.var()):.4f})")
    else:
        print("ensemble: skipped (htmp.ensembles.htmp_eigvals not available or --n 0)")
    print(f"figure: {path}")
    print(f"total time: {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(phases=True))
