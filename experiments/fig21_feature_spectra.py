"""Fig. 2.1 at CPU scale: NTK (and last-hidden-layer) spectra of VGG11 / ResNet9 / ResNet18-style
networks at initialisation and after training, with the inverse-Gamma left edge and the
power-law upper tail fitted (docs/fig21.md).

The paper trains VGG11, ResNet9 and ResNet18 on 1000 CIFAR-10 images (the same images the
NTK is computed on: "the model is only trained on data contained in the matrix"), 200
epochs, cosine-annealed SGD from lr 0.05, batch 64, and plots the NTK Gram spectrum over
those 1000 images (10 000 eigenvalues) at initialisation and after training.  Here:

* networks 1/8 as wide (experiments/_fig21_models.py), on offline data: scikit-learn's
  8x8 digits upsampled to 16x16 (bilinear) and mnist1d (length-40 sequences, 1-D convs)
  when the ``mnist1d`` package is installed; or CIFAR-10 from a folder you supply
  (``--cifar DIR``, the python pickle batches; nothing is downloaded);
* ``n`` (default 128) class-balanced training inputs, which are both the whole training
  set and the NTK batch (n x 10 outputs = 1280 eigenvalues); SGD momentum 0.9, weight
  decay 5e-4 (not stated in the paper), the paper's schedule otherwise;
* NTK: :func:`htmp.features.ntk_eigvals` on the n training inputs (eval mode: BatchNorm
  uses its running statistics); activations: ``last`` (the last hidden feature map, before
  pooling and the classifier) on up to ``n_act`` held-out inputs
  (:func:`htmp.features.activation_eigvals`);
* each spectrum fitted by :func:`htmp.features.fit_feature_spectrum` (inverse-Gamma on the
  lowest 20 %, power law on the upper tail; activations also inverse HTMP with gamma =
  min(n, p)/max(n, p)) and by one inverse-Gamma law on the whole spectrum
  (:func:`htmp.fitting.fit_invgamma`), since the paper does not say which it fitted.

Run: ``python experiments/fig21_feature_spectra.py [--quick] [--out DIR] [--data NAME ...]
[--cifar DIR] [--device cuda]`` (default out: experiments/out/fig21_feature_spectra/).  Writes
``results.csv``, ``results.json``, ``spectra.npz`` and ``fig21_<data>_ntk.png`` /
``fig21_<data>_activations.png``, and prints a markdown table.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fig21_data import OFFLINE, available, balanced_subset, load_dataset  # noqa: E402
from _fig21_models import ARCHITECTURES, make_model, n_params  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "out" / "fig21_feature_spectra"
DATASETS = OFFLINE + ("cifar10",)
DEVICES = ("cpu", "cuda")
N_CLASSES = 10


@dataclass(frozen=True)
class Config:
    """One run's setting; validated at construction (ValueError naming the field)."""

    datasets: tuple = ("digits", "mnist1d")
    archs: tuple = ARCHITECTURES
    n: int = 128            # training inputs = NTK batch
    n_act: int = 512        # held-out inputs for the activation spectra
    width: int = 8          # base channels (the originals have 64)
    epochs: int = 200
    lr: float = 0.05
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    device: str = "cpu"
    cifar: Path | None = None
    mnist1d_samples: int | None = None   # None: the package's 5000 (4000 train, 1000 test)

    def __post_init__(self):
        for name, lo in (("n", N_CLASSES), ("n_act", 2), ("width", 1), ("epochs", 1),
                         ("batch_size", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        for name in ("momentum", "weight_decay"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 <= v < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {v!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        bad = [d for d in self.datasets if d not in DATASETS]
        if bad or not self.datasets:
            raise ValueError(f"datasets must be a non-empty subset of {DATASETS}, "
                             f"got {self.datasets!r}")
        bad = [a for a in self.archs if a not in ARCHITECTURES]
        if bad or not self.archs:
            raise ValueError(f"archs must be a non-empty subset of {ARCHITECTURES}, "
                             f"got {self.archs!r}")
        if ("cifar10" in self.datasets) != (self.cifar is not None):
            raise ValueError(f"cifar10 is read from the folder given by cifar (--cifar DIR) "
                             f"and only then: got datasets {self.datasets!r}, "
                             f"cifar {self.cifar!r}")
        if self.cifar is not None and not Path(self.cifar).is_dir():
            raise ValueError(f"cifar must be a folder holding the CIFAR-10 python batches, "
                             f"got {str(self.cifar)!r} (not a folder)")
        m = self.mnist1d_samples
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 100):
            raise ValueError(f"mnist1d_samples must be None or an integer >= 100, got {m!r}")


QUICK = dict(n=16, n_act=64, width=2, epochs=2, batch_size=8, mnist1d_samples=500)


# -- training ------------------------------------------------------------------------------------
def train(model, x, y, cfg: Config, seed: int) -> list:
    """SGD with cosine-annealed lr over ``cfg.epochs`` epochs; returns the loss per epoch."""
    import torch
    dev = cfg.device
    xt, yt = torch.as_tensor(x, device=dev), torch.as_tensor(y, device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    g = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    for _ in range(cfg.epochs):
        perm, total = torch.randperm(len(xt), generator=g).to(dev), 0.0
        for i in range(0, len(xt), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            if len(idx) < 2:       # BatchNorm needs two samples
                continue
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        losses.append(total / len(xt))
    model.eval()
    return losses


def accuracy(model, x, y, device: str, batch: int = 512) -> float:
    import torch
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.as_tensor(x[i:i + batch], device=device))
            hits += int((out.argmax(1).cpu().numpy() == y[i:i + batch]).sum())
    return hits / len(x)


# -- spectra and fits ----------------------------------------------------------------------------
def spectra(model, x_ntk, x_act, device: str) -> dict:
    """{"ntk": (eigenvalues, gamma None, info), "activations": (..., gamma, info)}."""
    from htmp.features import activation_eigvals, ntk_eigvals
    model.eval()
    t0 = time.perf_counter()
    r = ntk_eigvals(model, x_ntk, device=device)
    out = {"ntk": (np.asarray(r.eigenvalues), None,
                   dict(n=r.n, k=r.k, seconds=time.perf_counter() - t0))}
    t0 = time.perf_counter()
    eigs = np.array(activation_eigvals(model, x_act, layers=r"^last$")["last"])
    p = int(np.prod(_last_shape(model, x_act[:1], device)))
    n = len(x_act)
    # Φ comes from a float32 forward pass: eigenvalues of ΦᵀΦ/n below matrix_rank's
    # tolerance for Φ, (max(n, p) eps_float32)² λ_max, are zeros (dead units), not an edge
    tol = (max(n, p) * np.finfo(np.float32).eps) ** 2 * float(eigs[-1])
    n_zero = int(np.sum(eigs <= tol))
    eigs[eigs <= tol] = 0.0
    out["activations"] = (eigs, min(n, p) / max(n, p),
                          dict(n=n, k=p, n_zero=n_zero, seconds=time.perf_counter() - t0))
    return out


def _last_shape(model, x1, device):
    import torch
    seen = {}
    h = model.last.register_forward_hook(lambda m, i, o: seen.update(s=o.shape[1:]))
    try:
        with torch.no_grad():
            model(torch.as_tensor(x1, device=device))
    finally:
        h.remove()
    return tuple(seen["s"])


FIT_COLUMNS = ("edge_exponent", "edge_rate", "edge_ks", "edge_fit_quality", "edge_status",
               "edge_n", "alpha", "tail_index", "xmin", "n_tail", "powerlaw_ks",
               "powerlaw_status", "kappa", "kappa_lo", "kappa_hi", "inverse_htmp_ks",
               "inverse_htmp_fit_quality", "inverse_htmp_status", "kappa_edge_exponent")


def fit_row(eigs: np.ndarray, gamma) -> tuple:
    """(row of fitted numbers, FeatureFits or the reason there is none)."""
    from htmp.features import fit_feature_spectrum
    from htmp.fitting import fit_invgamma
    row = {"n_eigs": len(eigs), "n_positive": int(np.sum(eigs > 0))}
    try:
        f = fit_feature_spectrum(eigs, gamma=gamma)
    except ValueError as err:
        row["fit_error"] = str(err)
        return row, str(err)
    row.update({c: getattr(f, c) for c in FIT_COLUMNS})
    w = fit_invgamma(f.eigenvalues[f.eigenvalues > 0])
    row.update(whole_invgamma_exponent=w.a + 1.0, whole_invgamma_ks=w.ks,
               whole_invgamma_fit_quality=w.fit_quality, fit_error="")
    return row, f


# -- one network ---------------------------------------------------------------------------------
def run_network(arch, data, idx, cfg: Config, seed: int, label: str) -> tuple:
    """Train ``arch`` on the inputs ``idx``; (rows, {(stage, kind): (eigs, fits)})."""
    xtr, ytr, xte, yte = data
    x, y, x_act = xtr[idx], ytr[idx], xte[:cfg.n_act]
    model = make_model(arch, input_shape=x.shape[1:], n_classes=N_CLASSES, width=cfg.width,
                       seed=seed).to(cfg.device)
    base = dict(dataset=label, arch=arch, n_params=n_params(model), n_train=len(x))
    rows, panels = [], {}
    for stage in ("init", "trained"):
        t0 = time.perf_counter()
        if stage == "trained":
            losses = train(model, x, y, cfg, seed)
            base.update(final_loss=losses[-1], train_seconds=time.perf_counter() - t0)
        acc = dict(train_acc=accuracy(model, x, y, cfg.device),
                   test_acc=accuracy(model, xte, yte, cfg.device))
        for kind, (eigs, gamma, info) in spectra(model, x, x_act, cfg.device).items():
            row, fits = fit_row(eigs, gamma)
            rows.append({**base, "stage": stage, "spectrum": kind, **acc,
                         "n_inputs": info["n"], "k_or_p": info["k"],
                         "n_zero": info.get("n_zero", 0),
                         "gamma": gamma if gamma is not None else math.nan,
                         "spectrum_seconds": info["seconds"], **row})
            panels[(stage, kind)] = (eigs, fits)
    return rows, panels


# -- figures and tables --------------------------------------------------------------------------
def _panel_title(stage, label, arch, fits) -> str:
    if isinstance(fits, str):
        return f"{stage}: {label} & {arch}\nnot fitted"
    edge = (f"edge a+1 = {fits.edge_exponent:.3g} (KS {fits.edge_ks:.3f})"
            if fits.edge_status == "ok" else f"edge: {fits.edge_status}")
    return (f"{stage}: {label} & {arch}\n{edge}; tail α = {fits.alpha:.3g} "
            f"(KS {fits.powerlaw_ks:.3f})")


def plot_grid(panels: dict, label: str, kind: str, archs, path: Path) -> None:
    """Fig. 2.1's layout: initialisation on top, trained below, one column per network;
    log-log ESD with the fitted densities (:func:`htmp.features.plot_feature_fits`)."""
    from htmp.features import plot_feature_fits
    from htmp.report.figures import new_figure
    fig, axes = new_figure(4.2 * len(archs), 7.4, nrows=2, ncols=len(archs),
                           margins=dict(left=0.06, right=0.99, bottom=0.07, top=0.91,
                                        wspace=0.25, hspace=0.42))
    for j, arch in enumerate(archs):
        for i, stage in enumerate(("init", "trained")):
            ax = axes[i * len(archs) + j]
            eigs, fits = panels[(arch, stage, kind)]
            if isinstance(fits, str):
                pos = eigs[eigs > 0]
                ax.hist(pos, bins=np.geomspace(pos.min(), pos.max(), 30), color="0.5")
                ax.set_xscale("log")
                ax.set_yscale("log")
            else:
                plot_feature_fits(fits, ax=ax, loglog=True)
                _plot_whole_invgamma(ax, eigs)
                ax.legend(fontsize=6)
            ax.set_title(_panel_title(stage, label, arch, fits), fontsize=8)
            ax.minorticks_off()         # log axes' minor ticks were half the drawing time
    what = "NTK Gram J Jᵀ" if kind == "ntk" else "last hidden layer ΦᵀΦ/n"
    fig.suptitle(f"{what} spectra, {label}: initialisation (top) and trained (bottom)",
                 fontsize=10)
    fig.savefig(path, dpi=80, facecolor="white")


def _plot_whole_invgamma(ax, eigs) -> None:
    """Dashed: one inverse-Gamma law fitted to every positive eigenvalue, on the ESD's scale."""
    from scipy import stats

    from htmp.fitting import fit_invgamma
    pos = eigs[eigs > 0]
    w = fit_invgamma(pos)
    if w.status != "ok":
        return
    t = np.geomspace(pos[0], pos[-1], 200)
    ax.plot(t, len(pos) / len(eigs) * stats.invgamma.pdf(t, w.a, scale=w.b), "k--", lw=1,
            label=f"inverse-Gamma, whole spectrum (a+1={w.a + 1:.3g}, KS {w.ks:.3f})")


def _fmt(v, spec=".3g") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def markdown_table(rows) -> str:
    head = ("| data | net | P | stage | spectrum | train / test acc | edge a+1 (KS, fit) | "
            "whole inv-Γ a+1 (KS) | tail α (KS, n tail) | κ |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        edge = (f"{_fmt(r.get('edge_exponent'))} ({_fmt(r.get('edge_ks'), '.3f')}, "
                f"{r.get('edge_fit_quality') or r.get('edge_status', '')})"
                if r.get("edge_status") == "ok" else r.get("edge_status") or r["fit_error"])
        lines.append(
            f"| {r['dataset']} | {r['arch']} | {r['n_params']} | {r['stage']} | "
            f"{r['spectrum']} ({r['n_eigs']}) | {r['train_acc']:.2f} / {r['test_acc']:.3f} | "
            f"{edge} | "
            f"{_fmt(r.get('whole_invgamma_exponent'))} "
            f"({_fmt(r.get('whole_invgamma_ks'), '.3f')}) | {_fmt(r.get('alpha'))} "
            f"({_fmt(r.get('powerlaw_ks'), '.3f')}, {_fmt(r.get('n_tail'), 'd')}) | "
            f"{_kappa(r)} |")
    return "\n".join(lines)


def _kappa(r) -> str:
    if r["spectrum"] == "ntk" or "kappa" not in r:
        return "–"
    from htmp.analysis import kappa_text
    return kappa_text({"htmp_status": r["inverse_htmp_status"], "kappa": r["kappa"],
                       "kappa_lo": r["kappa_lo"], "kappa_hi": r["kappa_hi"]}) or "–"


# -- main ----------------------------------------------------------------------------------------
def run(cfg: Config, out: Path) -> list:
    """Every dataset x network; writes results, spectra and figures to ``out``."""
    rows, arrays = [], {}
    for label in cfg.datasets:
        data = load_dataset(label, cfg.cifar, mnist1d_samples=cfg.mnist1d_samples)
        idx = balanced_subset(data[1], cfg.n, rng=cfg.seed)
        panels = {}
        for i, arch in enumerate(cfg.archs):
            r, p = run_network(arch, data, idx, cfg, cfg.seed + i, label)
            rows += r
            for (stage, kind), (eigs, fits) in p.items():
                panels[(arch, stage, kind)] = (eigs, fits)
                arrays[f"{label}/{arch}/{stage}/{kind}"] = eigs
            print(f"  {label} {arch}: test acc {r[-1]['test_acc']:.3f}, "
                  f"{r[-1].get('train_seconds', 0):.0f} s training", flush=True)
        for kind in ("ntk", "activations"):
            plot_grid(panels, label, kind, cfg.archs, out / f"fig21_{label}_{kind}.png")
    import pandas as pd
    pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
    np.savez_compressed(out / "spectra.npz", **arrays)
    conf = {k: (str(v) if isinstance(v, Path) else v)
            for k, v in dataclasses.asdict(cfg).items()}
    js = dict(config=conf, rows=[{k: _jsonable(v) for k, v in r.items()} for r in rows])
    (out / "results.json").write_text(json.dumps(js, indent=1, allow_nan=False))
    return rows


def _jsonable(v):
    """Numbers as JSON takes them: numpy scalars as Python ones, NaN / inf as null."""
    if isinstance(v, (np.integer, np.floating)):
        v = v.item()
    return None if isinstance(v, float) and not math.isfinite(v) else v


def parse(argv=None) -> tuple:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny nets, 16 inputs, 2 epochs, digits only (seconds)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--cifar", type=Path, default=None,
                   help="CIFAR-10 python folder (data_batch_1..5, test_batch): run on it")
    p.add_argument("--data", nargs="+", choices=OFFLINE, default=None,
                   help="offline data sets (default: those installed)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (training and NTK)")
    p.add_argument("--n", type=int, default=None, help="training inputs = NTK batch")
    p.add_argument("--width", type=int, default=None, help="base channels (originals: 64)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    a = p.parse_args(argv)
    kw = dict(QUICK) if a.quick else {}
    have = available()
    if a.cifar is not None:
        kw["datasets"] = ("cifar10",)
    elif a.data:
        kw["datasets"] = tuple(a.data)
    elif not have:
        p.error(f"no offline data set is installed: digits needs scikit-learn, mnist1d the "
                f"mnist1d package; or give --cifar DIR")
    else:       # --quick: one data set, mnist1d first (it needs no scikit-learn)
        kw["datasets"] = tuple(sorted(have, reverse=True)[:1]) if a.quick else have
    kw.update({k: v for k, v in dict(n=a.n, width=a.width, epochs=a.epochs).items()
               if v is not None})
    try:
        if isinstance(a.threads, bool) or a.threads < 1:
            raise ValueError(f"threads must be an integer >= 1, got {a.threads!r}")
        cfg = Config(cifar=a.cifar, device=a.device, **kw)
    except ValueError as err:
        p.error(str(err))
    return cfg, a.out, a.threads


def main(argv=None) -> list:
    cfg, out, threads = parse(argv)
    import torch

    from htmp.analysis import check_device
    check_device(cfg.device)
    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"Fig. 2.1 at small scale: {cfg}", flush=True)
    rows = run(cfg, out)
    print(f"\n{markdown_table(rows)}\n\nwrote {out} in {time.perf_counter() - t0:.0f} s")
    return rows


if __name__ == "__main__":
    main()
