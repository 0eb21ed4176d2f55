"""The model zoo of experiments/model_quality.py: small networks on offline data, seeded.

* :data:`FAMILIES` - one architecture on one data set each: three on MNIST-1D (generated
  offline by the ``mnist1d`` package through :func:`htmp.demo_training.load_data`): MLPs
  40-128-128-10 and 40-512-512-10 and the demo's CNN (MiniAlexNet with PyTorch's standard
  layers: conv1d 1->32->64, fc 640-256-128-10); one on scikit-learn's 8x8 digits (MLP
  64-256-256-10).
* :func:`zoo_specs` - per family a seeded random draw of training settings (batch size,
  learning rate, weight decay, label noise, epochs, init seed) from :data:`GRID`;
  ``quick=True`` gives six tiny models (1-2 epochs) for the test.
* :func:`build` - the untrained ``nn.Sequential`` of an architecture (plain ``nn.Linear``
  / ``nn.Conv1d``, so WeightWatcher recognises every layer and its child never imports
  htmp).
* :func:`ensure_zoo` - train what the cache lacks (one state dict ``.pt`` per model and
  ``manifest.json`` with the spec, accuracies and seconds), one torch thread, SGD with
  momentum 0.9.  A model is trained again when its spec or the torch version changes.
* ``python _model_quality_zoo.py --ww-child MODEL_DIR OUT_JSON`` (run with WeightWatcher's
  interpreter): ``WeightWatcher(model=module).analyze()`` and ``get_summary`` per model.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ZOO_VERSION = 1          # bump to retrain every model

FAMILIES = {
    "mlp128": {"dataset": "mnist1d", "kind": "mlp", "widths": [40, 128, 128, 10]},
    "mlp512": {"dataset": "mnist1d", "kind": "mlp", "widths": [40, 512, 512, 10]},
    "cnn": {"dataset": "mnist1d", "kind": "cnn", "channels": [32, 64], "hidden": [256, 128]},
    "digits_mlp": {"dataset": "digits", "kind": "mlp", "widths": [64, 256, 256, 10]},
}
N_MODELS = {"mlp128": 16, "mlp512": 16, "cnn": 16, "digits_mlp": 16}
GRID = {                 # each model draws every factor independently, uniformly
    "batch_size": [16, 32, 64, 128, 256],
    "lr": [0.005, 0.01, 0.02, 0.05, 0.1],
    "weight_decay": [0.0, 1e-4, 1e-3, 5e-3],
    "label_noise": [0.0, 0.0, 0.1, 0.3],
    "epochs": [2, 5, 10, 20],
}
MOMENTUM = 0.9
QUICK_FAMILIES = {
    "mlp_tiny": {"dataset": "mnist1d", "kind": "mlp", "widths": [40, 32, 32, 10]},
    "digits_tiny": {"dataset": "digits", "kind": "mlp", "widths": [64, 32, 32, 10]},
}


def zoo_specs(*, quick: bool = False, seed: int = 0) -> list[dict]:
    """The model specs, in training order; names ``<family>_<index>``.

    Full zoo: ``N_MODELS[family]`` draws per family from :data:`GRID` with
    ``np.random.default_rng([seed, family index])``; the init / data-order seed of model i
    is ``1000 * family index + i``.  ``quick``: three tiny models per family of
    :data:`QUICK_FAMILIES` (batch 64 or 128, 1-2 epochs).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    specs = []
    if quick:
        settings = [(64, 0.05, 1), (128, 0.02, 1), (64, 0.1, 2)]
        for f, fam in enumerate(QUICK_FAMILIES):
            for i, (b, lr, ep) in enumerate(settings):
                train = {"batch_size": b, "lr": lr, "weight_decay": 0.0, "label_noise": 0.0,
                         "epochs": ep, "momentum": MOMENTUM, "seed": 1000 * f + i}
                specs.append({"name": f"{fam}_{i}", "family": fam,
                              "arch": QUICK_FAMILIES[fam], "train": train,
                              "version": ZOO_VERSION})
        return specs
    for f, fam in enumerate(FAMILIES):
        rng = np.random.default_rng([seed, f])
        for i in range(N_MODELS[fam]):
            train = {k: v[int(rng.integers(len(v)))] for k, v in GRID.items()}
            train = {k: (float(v) if k in ("lr", "weight_decay", "label_noise") else int(v))
                     for k, v in train.items()}
            train.update(momentum=MOMENTUM, seed=1000 * f + i)
            specs.append({"name": f"{fam}_{i:02d}", "family": fam, "arch": FAMILIES[fam],
                          "train": train, "version": ZOO_VERSION})
    return specs


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
    if arch["kind"] != "cnn":
        raise ValueError(f"arch kind must be 'mlp' or 'cnn', got {arch['kind']!r}")
    # htmp.demo_training.MiniAlexNet((1, 40), parametrisation="standard"), same names
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


def _accuracy(model, x, y) -> float:
    import torch
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train_one(spec: dict, data) -> tuple:
    """Train ``spec`` on ``data`` = (x_train, y_train, x_test, y_test) -> (model, stats).

    Label noise replaces that share of the training labels by uniform classes (fixed by
    the seed); ``train_acc`` is on the clean training labels, ``train_fit_acc`` on the
    labels trained on.  One torch thread is the caller's business.
    """
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
    steps_per_epoch = max(n // b, 1)
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
    stats = {"test_acc": _accuracy(model, x_te, y_te), "train_acc": _accuracy(model, x_tr, y_tr),
             "train_fit_acc": _accuracy(model, x_tr, y_fit), "train_s": seconds,
             "steps": cfg["epochs"] * steps_per_epoch,
             "finite": bool(all(torch.isfinite(p).all() for p in model.parameters()))}
    return model, stats


def ensure_zoo(specs: list[dict], model_dir: Path, *, retrain: bool = False,
               log=None) -> dict:
    """Train the models of ``specs`` that ``model_dir`` lacks; returns the manifest
    (name -> entry) restricted to ``specs``.  ``log(text)`` is called once per model."""
    import torch

    from htmp.demo_training import MiniAlexNet, load_data

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for spec in specs:
            name, file = spec["name"], model_dir / f"{spec['name']}.pt"
            entry = manifest.get(name)
            if (not retrain and entry and entry["spec"] == spec and file.exists()
                    and entry.get("torch") == torch.__version__):
                continue
            arch = spec["arch"]
            data = load_data(arch["dataset"])
            if arch["kind"] == "cnn":      # the demo's network, layer for layer
                ref = MiniAlexNet(data[0].shape[1:], channels=tuple(arch["channels"]),
                                  hidden=tuple(arch["hidden"]), parametrisation="standard")
                ours = build(arch)
                assert ({k: tuple(v.shape) for k, v in ref.state_dict().items()}
                        == {k: tuple(v.shape) for k, v in ours.state_dict().items()})
            model, stats = train_one(spec, data)
            torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, file)
            manifest[name] = {"spec": spec, "file": file.name, "torch": torch.__version__,
                              **stats}
            path.write_text(json.dumps(manifest, indent=1))
            if log is not None:
                log(f"trained {name:14s} test {stats['test_acc']:.3f} train "
                    f"{stats['train_acc']:.3f} {stats['steps']:6d} steps "
                    f"{stats['train_s']:5.1f} s")
    finally:
        torch.set_num_threads(old_threads)
    return {s["name"]: manifest[s["name"]] for s in specs}


# ------------------------------------------------------------------ WeightWatcher child
WW_LAYER_COLUMNS = ("N", "M", "alpha", "alpha_weighted", "log_alpha_norm", "log_norm",
                    "log_spectral_norm", "stable_rank", "entropy", "num_evals")


def _ww_child(model_dir: Path, out_json: Path, names: list[str]) -> None:
    """Run with WeightWatcher's interpreter: per model its layer table and get_summary."""
    import contextlib
    import logging
    import os

    import torch
    import weightwatcher as ww

    torch.set_num_threads(1)
    logging.getLogger().setLevel(logging.ERROR)        # ww calls basicConfig at import
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    out = {"weightwatcher": ww.__version__, "models": {}}
    with open(os.devnull, "w") as devnull:
        for name in names:
            entry = manifest[name]
            module = build(entry["spec"]["arch"])
            module.load_state_dict(torch.load(model_dir / entry["file"], weights_only=True))
            module.eval()
            t0 = time.perf_counter()
            try:
                with contextlib.redirect_stdout(devnull), contextlib.redirect_stderr(devnull):
                    watcher = ww.WeightWatcher(model=module)
                    df = watcher.analyze()
                    summary = watcher.get_summary(df)
            except Exception as err:                 # noqa: BLE001 - recorded, not hidden
                out["models"][name] = {"error": f"{type(err).__name__}: {err}"}
                continue
            key = "longname" if "longname" in df.columns else "name"
            layers = [{"name": f"{r[key]}.weight",
                       **{c: float(r[c]) for c in WW_LAYER_COLUMNS if c in df.columns}}
                      for _, r in df.iterrows()]
            out["models"][name] = {"summary": {k: float(v) for k, v in summary.items()},
                                   "layers": layers, "seconds": time.perf_counter() - t0}
    out_json.write_text(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--ww-child":
        _ww_child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4].split(","))
    else:
        sys.exit("usage: _model_quality_zoo.py --ww-child MODEL_DIR OUT_JSON NAME,NAME,...")
