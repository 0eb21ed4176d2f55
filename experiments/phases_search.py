"""Search for a CPU-scale setting of the demo that reaches the heavy-tailed phases.

    python experiments/phases_search.py NAME [NAME ...]   (names: SETTINGS, or PROBE_SETS:
                                                          "probes", "probes-std";
                                                          or "dead-units")

Trains htmp.demo_training's MiniAlexNet at each batch size of a setting (1 thread) and
prints one Markdown row per batch size: phase of fc1, kappa of the bulk (HTMP fit with the
spikes set aside) with its fit status and KS, KS of MP, spikes, near-zero fraction,
power-law alpha, train/test accuracy, time.  Results go into docs/demo_phases.md.
"""
from __future__ import annotations

import sys
import time

import numpy as np

import htmp
from htmp.demo_training import (DEMO_CONFIG, TrainConfig, fc1_weight, init_model, load_data,
                                near_zero_fraction, train, with_)

B5 = (1024, 256, 64, 16, 4)
THREADS = 1   # the shared machine was loaded; 2 threads contended (see docs/demo_phases.md)
SETTINGS = {
    # name: TrainConfig
    "chosen": DEMO_CONFIG,
    "sqrt0.1": with_(DEMO_CONFIG, batch_sizes=B5, epochs=10, lr=0.1, lr_scaling="sqrt"),
    "const0.5": with_(DEMO_CONFIG, batch_sizes=B5, epochs=10, lr=0.5, lr_scaling="constant"),
    "const2": with_(DEMO_CONFIG, batch_sizes=B5, epochs=10, lr=2.0, lr_scaling="constant"),
    "wd1e-4": with_(DEMO_CONFIG, batch_sizes=B5, epochs=6, lr=1.0, lr_scaling="constant",
                    weight_decay=1e-4),
    "wd3e-5": with_(DEMO_CONFIG, batch_sizes=B5, epochs=6, lr=1.0, lr_scaling="constant",
                    weight_decay=3e-5),
    "wd1e-4-lr0.5": with_(DEMO_CONFIG, batch_sizes=B5, epochs=6, lr=0.5,
                          lr_scaling="constant", weight_decay=1e-4),
    "noise0.3": with_(DEMO_CONFIG, batch_sizes=B5, epochs=10, lr=1.0, lr_scaling="constant",
                      label_noise=0.3),
    # standard (PyTorch default) parametrisation: the feature-learning regime
    "std-sgd0.02": with_(DEMO_CONFIG, batch_sizes=B5, epochs=6, lr=0.02, lr_scaling="constant",
                         weight_decay=0.0, parametrisation="standard"),
    "std-adam-l2": with_(DEMO_CONFIG, batch_sizes=B5, epochs=6, lr=3e-3, lr_scaling="constant",
                         weight_decay=1e-4, parametrisation="standard", optimizer="adam"),
}


# Single-batch-size probes (docs/demo_phases.md): (batch size, TrainConfig changes).
_NOWD = dict(lr_scaling="constant", weight_decay=0.0, epochs=6)
PROBES = [
    (16, dict(_NOWD, lr=4.0)), (16, dict(_NOWD, lr=16.0)),
    (16, dict(_NOWD, lr=4.0, label_noise=0.3)), (16, dict(_NOWD, lr=1.5)),
    (16, dict(_NOWD, lr=5.0, momentum=0.0)), (4, dict(_NOWD, lr=1.5, epochs=3)),
    (4, dict(_NOWD, lr=2.0, momentum=0.0, epochs=3)),
    (16, dict(_NOWD, lr=1.0, epochs=10, label_noise=0.5)),
    (16, dict(_NOWD, lr=1.0, weight_decay=1e-3)),
    (8, dict(_NOWD, lr=0.5, weight_decay=1e-4)), (4, dict(_NOWD, lr=0.25, weight_decay=1e-4)),
]


# Standard (PyTorch default) parametrisation, no weight decay unless stated; B = 16 or 4.
_STD = dict(parametrisation="standard", lr_scaling="constant", weight_decay=0.0)
_ADAM = dict(_STD, optimizer="adam")
PROBES_STD = [
    (0, dict(_STD)),                                           # 0 = the untrained network
    (16, dict(_STD, lr=0.05, epochs=6)), (16, dict(_STD, lr=0.1, epochs=6)),
    (16, dict(_STD, lr=0.01, epochs=6)), (16, dict(_STD, lr=0.02, epochs=6)),
    (4, dict(_STD, lr=0.01, epochs=3)), (4, dict(_STD, lr=0.005, epochs=3)),
    (16, dict(_STD, lr=0.02, epochs=6, hidden=(128, 64))),
    (16, dict(_STD, lr=0.02, epochs=20)),
    (4, dict(_STD, lr=0.1, momentum=0.0, epochs=3)),
    (16, dict(_STD, lr=0.02, epochs=10, label_noise=0.3)),
    (16, dict(_STD, lr=0.02, epochs=6, weight_decay=1e-3)),
    (16, dict(_STD, lr=0.02, epochs=6, weight_decay=5e-3)),
    (16, dict(_STD, lr=0.02, epochs=6, weight_decay=2e-2)),
    (4, dict(_STD, lr=0.01, epochs=3, weight_decay=5e-3)),
    (16, dict(_ADAM, lr=1e-3, epochs=6)), (16, dict(_ADAM, lr=1e-2, epochs=6)),
    (4, dict(_ADAM, lr=3e-3, epochs=3)), (4, dict(_ADAM, lr=3e-3, epochs=6)),
    (4, dict(_ADAM, lr=1e-2, epochs=3)), (16, dict(_ADAM, lr=3e-3, epochs=20)),
    (64, dict(_ADAM, lr=1e-2, epochs=20)),
    (16, dict(_ADAM, lr=1e-3, epochs=6, hidden=(512, 128))),
    (16, dict(_ADAM, lr=1e-3, epochs=6, hidden=(512, 128), weight_decay=1e-4)),
    (16, dict(_ADAM, lr=1e-3, epochs=6, weight_decay=3e-5)),
    (16, dict(_ADAM, lr=1e-3, epochs=6, weight_decay=1e-4)),
    (16, dict(_ADAM, lr=1e-3, epochs=6, weight_decay=3e-4)),
    (16, dict(_ADAM, lr=3e-3, epochs=6, weight_decay=1e-5)),
    (16, dict(_ADAM, lr=3e-3, epochs=6, weight_decay=1e-4)),
    (16, dict(_STD, optimizer="adamw", lr=3e-3, epochs=6, weight_decay=0.1)),
    (16, dict(_STD, optimizer="adamw", lr=3e-3, epochs=6, weight_decay=1.0)),
]
PROBE_SETS = {"probes": PROBES, "probes-std": PROBES_STD}


def probes(name="probes"):
    data = load_data("mnist1d")
    print(HEAD)
    for b, kw in PROBE_SETS[name]:
        if b == 0:
            f = fc1_row(fc1_weight(init_model(with_(DEMO_CONFIG, **kw), data)))
            print(fmt(f"init {kw}", f, "– | – | – | – | – | – |"), flush=True)
            continue
        res = train(with_(DEMO_CONFIG, **kw), b, data=data, threads=THREADS)
        f = fc1_row(fc1_weight(res.model))
        print(fmt(f"{b} {kw}", f, f"{res.lr:.3g} | {res.steps} | {res.train_acc:.3f} | "
                                  f"{res.test_acc:.3f} | {res.train_loss:.3g} | "
                                  f"{res.seconds:.1f} |"), flush=True)


_ADAM_NOWD = with_(DEMO_CONFIG, parametrisation="standard", optimizer="adam", lr=3e-3,
                   lr_scaling="constant", weight_decay=0.0)
DEAD_UNIT_CHECKS = [   # (label, config, batch size); docs/demo_phases.md, "dead-units"
    ("std-adam-l2", SETTINGS["std-adam-l2"], 1024), ("std-adam-l2", SETTINGS["std-adam-l2"], 256),
    ("adam no L2", with_(_ADAM_NOWD, epochs=6), 1024),
    ("adam no L2", with_(_ADAM_NOWD, epochs=6), 256),
    ("adam no L2 12 ep", with_(_ADAM_NOWD, epochs=12), 4),
    ("adam no L2 lr 1e-3 12 ep", with_(_ADAM_NOWD, epochs=12, lr=1e-3), 4),
    ("adam no L2 40 ep", with_(_ADAM_NOWD, epochs=40), 16),
    ("adam no L2 24 ep", with_(_ADAM_NOWD, epochs=24), 4),
    ("adam no L2 48 ep", with_(_ADAM_NOWD, epochs=48), 4),
    ("adam no L2 96 ep", with_(_ADAM_NOWD, epochs=96), 4),
]


def dead_units(checks=DEAD_UNIT_CHECKS):
    """fc1 ReLU units dead on every training input, and fc1's fits on the live rows only."""
    import torch

    for name, cfg, b in checks:
        data = load_data(cfg.dataset, seed=cfg.seed)
        res = train(cfg, b, data=data, threads=THREADS)
        W, m = fc1_weight(res.model), res.model
        with torch.no_grad():
            h = m[:list(m._modules).index("relu3") + 1](torch.from_numpy(data[0]))
        dead = (h.max(0).values <= 0).numpy()
        rn = np.linalg.norm(W, axis=1)
        for label, M in (("all rows", W), ("live rows", W[~dead])):
            f = fc1_row(M)
            print(fmt(f"{name} B={b} {label} {M.shape}", f,
                      f"dead {dead.sum()}/{len(dead)}, median row norm dead "
                      f"{np.median(rn[dead]):.3g} / live {np.median(rn[~dead]):.3g} | "
                      f"test acc {res.test_acc:.3f} |"), flush=True)


def fc1_row(W):
    r = htmp.esd(W)
    mp, h = htmp.fit_mp(r), htmp.fit_htmp(r)
    p = htmp.phase(r)
    pl = htmp.fit_powerlaw(r, min_value=1e-5 / r.M)
    return dict(phase=p.phase, kappa=h.kappa, kstat=h.status, ks=h.ks, ks_mp=mp.ks,
                h_spikes=h.n_spikes, spikes=mp.n_spikes, nz=near_zero_fraction(r.eigenvalues),
                zf=p.zero_fraction, alpha=pl.alpha, sigma2=mp.sigma2)


def fmt(label, f, extra=""):
    return (f"| {label} | {f['phase']} | {f['kappa']:.3g} ({f['kstat']}) | {f['ks']:.3f} | "
            f"{f['ks_mp']:.3f} | {f['spikes']} / {f['h_spikes']} | {f['nz']:.2f} | "
            f"{f['alpha']:.2f} | {f['sigma2']:.3g} | {extra}")


HEAD = ("| batch | phase | κ bulk (status) | KS HTMP | KS MP | spikes MP / set aside by HTMP "
        "| near-zero (<1e-3·mean) | alpha | σ² MP | lr | steps | train acc | test acc | "
        "train loss | s |\n|" + "---|" * 15)


def run(name, cfg: TrainConfig):
    data = load_data(cfg.dataset, seed=cfg.seed)
    print(f"\n### {name}: {cfg}\n")
    print(HEAD)
    t_all = time.perf_counter()
    f = fc1_row(fc1_weight(init_model(cfg, data)))
    print(fmt("init", f, "– | – | – | – | – | – |"), flush=True)
    for b in cfg.batch_sizes:
        res = train(cfg, b, data=data, threads=THREADS)
        f = fc1_row(fc1_weight(res.model))
        print(fmt(b, f, f"{res.lr:.3g} | {res.steps} | {res.train_acc:.3f} | "
                        f"{res.test_acc:.3f} | {res.train_loss:.3g} | {res.seconds:.1f} |"),
              flush=True)
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["chosen"]:
        if name in PROBE_SETS:
            probes(name)
        elif name == "dead-units":
            dead_units()
        else:
            run(name, SETTINGS[name])
