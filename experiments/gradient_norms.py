"""Lower and upper power laws of SGD gradient norms (the paper's (5.2a)/(5.2b), Prop 5.2).

A one-hidden-layer ReLU MLP (d -> 128 -> 10, weights N(0, 1/fan_in)) is trained on the training
split of scikit-learn's digits (about 1440 images of 64 pixels, standardised per image) or of MNIST-1D
(4000 sequences of length 40), both from ``htmp.demo_training.load_data`` and offline, by SGD
(learning rate 0.05, weight decay 1e-3, cross-entropy) for several batch sizes.  After a burn-in, every step records

* ``minibatch``: the norm of the stochastic gradient that the step uses,
* ``full``: the norm of the full-data gradient at the same point (every 5th step).

Each series is fitted with ``htmp.fitting.lower_powerlaw.fit_lower_powerlaw`` (P(X <= e) ~ e^a)
and ``htmp.fit_powerlaw`` (density ~ x^-alpha above xmin; survival index alpha - 1).  ``drift`` is
the ratio of the medians of the second and first halves of the record (1 for a stationary run).

HTMP prediction (a reconstruction; the statement of Prop 5.2 did not survive in our copy of the
paper): at the end of training the hidden features Phi (n x p) give eigenvalues of Phi^T Phi / n,
fitted by ``htmp.fit_inverse_htmp`` (gamma = p/n), and ``alpha+1 = kappa/(2 gamma) - kappa/2``.
If the squared gradient norm behaves at 0 like an HTMP variable (density ~ y^alpha, MATH.md §2.7;
equivalently like 1/(v^T M^-1 v), chi-square with beta (M - N + 1) degrees of freedom for a
Wishart M, -> alpha + 1 when beta = kappa/N) then P(||g|| <= e) ~ e^(2 (alpha + 1));
``pred_lower`` is that exponent.  docs/gradient_norms.md says why this cannot be pinned down.

Writes ``gradient_norms.csv`` (one row per batch size and series), ``gradient_norms_series.csv``
(the recorded norms), ``gradnorm_tails.png`` and ``gradnorm_trace.png`` to ``--out`` (default
experiments/out/gradient_norms/).  Full run: a few minutes on one core; ``--quick``: seconds.

Usage: python experiments/gradient_norms.py [--quick] [--out DIR] [--data auto|digits|mnist1d]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from htmp import fit_inverse_htmp, fit_powerlaw
from htmp.fitting.lower_powerlaw import fit_lower_powerlaw

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "experiments" / "out" / "gradient_norms"
HIDDEN, LR, WEIGHT_DECAY = 128, 0.05, 1e-3
FULL_EVERY = 5          # the full-data gradient is recorded every 5th step (it costs ~20 steps)


def resolve_data(name: str) -> str:
    """"auto": scikit-learn's digits when scikit-learn is installed, else MNIST-1D."""
    if name != "auto":
        return name
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return "mnist1d"
    return "digits"


def load_tensors(torch, name: str):
    """Training inputs (n x d, flattened) and labels of ``htmp.demo_training.load_data``."""
    from htmp.demo_training import load_data

    x, y = load_data(name)[:2]
    return torch.tensor(x.reshape(len(x), -1)), torch.tensor(y)


def make_model(torch, d_in: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(d_in, HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, 10))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen)
                               / math.sqrt(layer.in_features))
            layer.bias.zero_()
    return model


def grad_norm(torch, model, loss) -> float:
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return float(torch.sqrt(sum((g ** 2).sum() for g in grads)))


def train(torch, X, y, batch: int, burn: int, steps: int, seed: int) -> dict:
    """SGD run; returns the recorded norms, the final accuracy and the hidden features."""
    model = make_model(torch, X.shape[1], seed)
    opt = torch.optim.SGD(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    mini, full = np.empty(steps), np.empty(steps // FULL_EVERY)
    for t in range(burn + steps):
        idx = torch.as_tensor(rng.choice(len(X), size=batch, replace=False))
        if t >= burn and (t - burn) % FULL_EVERY == 0 and (t - burn) // FULL_EVERY < len(full):
            full[(t - burn) // FULL_EVERY] = grad_norm(torch, model, loss_fn(model(X), y))
        opt.zero_grad()
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        if t >= burn:
            mini[t - burn] = float(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())))
        opt.step()
    with torch.no_grad():
        phi = model[1](model[0](X)).numpy().astype(float)
        acc = float((model(X).argmax(1) == y).float().mean())
    return {"minibatch": mini, "full": full, "phi": phi, "train_acc": acc}


def htmp_prediction(phi: np.ndarray) -> dict:
    """kappa of the inverse-HTMP fit to the feature spectrum and the lower exponent it implies."""
    n, p = phi.shape
    eigs = np.linalg.eigvalsh(phi.T @ phi / n)
    fit = fit_inverse_htmp(eigs, N=p, M=n)
    a1 = fit.kappa / (2 * fit.gamma) - fit.kappa / 2 if math.isfinite(fit.kappa) else math.nan
    return {"feature_kappa": fit.kappa, "feature_kappa_status": fit.status,
            "feature_gamma": fit.gamma, "feature_ks": fit.ks, "n_zero_features": fit.n_zero,
            "pred_lower": 2 * a1}


def row(batch: int, series: str, x: np.ndarray, pred: dict, acc: float) -> dict:
    lo = fit_lower_powerlaw(x)
    up = fit_powerlaw(x, min_value=0.0)
    half = len(x) // 2
    return {"batch": batch, "series": series, "n": len(x), "train_acc": acc,
            "median": float(np.median(x)),
            "drift": float(np.median(x[half:]) / np.median(x[:half])),
            "lower_exponent": lo.exponent, "lower_se": lo.exponent_se, "lower_xmax": lo.xmax,
            "lower_n_tail": lo.n_tail, "lower_ks": lo.ks, "lower_status": lo.status,
            "upper_index": up.alpha - 1.0, "upper_se": up.alpha_se, "upper_xmin": up.xmin,
            "upper_n_tail": up.n_tail, "upper_ks": up.ks, "upper_status": up.status, **pred}


def figures(series: dict, df: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    for ax, name in zip(axes, ["minibatch", "full"]):
        for batch, runs in series.items():
            x = np.sort(runs[name])
            cdf = np.arange(1, len(x) + 1) / len(x)
            line = ax.loglog(x, cdf, lw=1, label=f"batch {batch}")[0]
            r = df[(df.batch == batch) & (df.series == name)].iloc[0]
            if math.isfinite(r.lower_exponent):
                xs = x[x <= r.lower_xmax]
                frac = r.lower_n_tail / len(x)
                ax.loglog(xs, frac * (xs / r.lower_xmax) ** r.lower_exponent, "--",
                          color=line.get_color(), lw=1.5)
        ax.set(xlabel="gradient norm", ylabel="P(norm <= x)",
               title=f"{name}: empirical CDF, lower power-law fit (dashed)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [out / "gradnorm_tails.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for batch, runs in series.items():
        ax.semilogy(runs["minibatch"], lw=0.3, label=f"batch {batch}")
    ax.set(xlabel="recorded step", ylabel="minibatch gradient norm", title="gradient-norm traces")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "gradnorm_trace.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 batch sizes, 100 + 300 steps")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument("--data", choices=["auto", "digits", "mnist1d"], default="auto",
                    help="training set (auto: digits if scikit-learn is installed, else mnist1d)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    batches, burn, steps = ((8, 64), 100, 300) if args.quick else ((4, 16, 64, 256), 2000, 10000)
    args.out.mkdir(parents=True, exist_ok=True)
    data = resolve_data(args.data)
    X, y = load_tensors(torch, data)
    t0 = time.perf_counter()
    rows, series = [], {}
    for batch in batches:
        run = train(torch, X, y, batch, burn, steps, seed=batch)
        pred = htmp_prediction(run["phi"])
        series[batch] = run
        rows += [row(batch, name, run[name], pred, run["train_acc"]) for name in ("minibatch", "full")]
    df = pd.DataFrame(rows)
    df.insert(0, "data", data)
    df.to_csv(args.out / "gradient_norms.csv", index=False, float_format="%.6g")
    pd.concat([pd.DataFrame({"batch": b, "series": name, "step": np.arange(len(r[name])) *
                             (FULL_EVERY if name == "full" else 1), "norm": r[name]})
               for b, r in series.items() for name in ("minibatch", "full")]).to_csv(
        args.out / "gradient_norms_series.csv", index=False, float_format="%.6g")
    paths = figures(series, df, args.out)
    print(f"{len(df)} rows in {time.perf_counter() - t0:.0f} s; wrote "
          f"{args.out / 'gradient_norms.csv'}, " + ", ".join(p.name for p in paths), file=sys.stderr)
    return df


if __name__ == "__main__":
    main()
