"""Data for experiments/fig21_feature_spectra.py: the offline sets and a CIFAR-10 reader.

* ``digits`` - scikit-learn's bundled 8x8 digits (``htmp.demo_training.load_data``),
  upsampled to 16x16 by bilinear interpolation (room for three 2x poolings); needs
  scikit-learn.
* ``mnist1d`` - the ``mnist1d`` package's sequences of length 40, generated locally.
* ``cifar10`` - a CIFAR-10 folder you supply in the python pickle format
  (``data_batch_1`` ... ``data_batch_5``, ``test_batch``: dicts with ``data``, uint8
  (N, 3072), and ``labels``, N integers in [0, 9]).  The pickles are read by an unpickler
  that builds only dicts, lists, strings, numbers and numpy arrays: a pickle that would
  call anything else (``os.system`` in a ``__reduce__``) is refused, never run.  Keys may be
  str or bytes (the files were written by Python 2; they are read with ``encoding="latin1"``).
"""
from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np

__all__ = ["OFFLINE", "CIFAR_FILES", "available", "load_dataset", "load_cifar10",
           "read_cifar_batch", "balanced_subset"]

OFFLINE = ("digits", "mnist1d")
N_CLASSES = 10
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_NEEDS = {"digits": "sklearn", "mnist1d": "mnist1d"}


def available() -> tuple:
    """The offline data sets whose package is installed."""
    return tuple(d for d in OFFLINE if importlib.util.find_spec(_NEEDS[d]) is not None)


def _allowed_globals() -> dict:
    """The globals a pickled numpy array needs (numpy 1 wrote ``numpy.core``, numpy 2
    writes ``numpy._core``; both resolve here without importing the deprecated name)."""
    import codecs

    core = getattr(np, "_core", None) or np.core
    return {(mod, name): obj
            for prefix in ("numpy.core", "numpy._core")
            for mod, name, obj in ((f"{prefix}.multiarray", "_reconstruct",
                                    core.multiarray._reconstruct),
                                   (f"{prefix}.numeric", "_frombuffer", core.numeric._frombuffer))
            } | {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                 ("_codecs", "encode"): codecs.encode}


class _CifarUnpickler(pickle.Unpickler):
    """Builds only what a CIFAR-10 batch holds: dicts, lists, bytes/str, numbers and numpy
    arrays; any other global (a ``__reduce__`` calling ``os.system``) is refused."""

    def find_class(self, module, name):
        obj = _allowed_globals().get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 "
                                         f"batch (only numpy arrays, lists, dicts, bytes)")
        return obj


def read_cifar_batch(path: Path) -> tuple:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) from one python-pickle batch."""
    try:
        with open(path, "rb") as f:
            d = _CifarUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, IndexError) as err:
        raise ValueError(f"{path.name} is not a CIFAR-10 python batch: {err}") from err
    if not isinstance(d, dict):
        raise ValueError(f"{path.name} must hold a dict, got {type(d).__name__}")
    d = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}
    missing = [k for k in ("data", "labels") if k not in d]
    if missing:
        raise ValueError(f"{path.name} must have keys 'data' and 'labels', missing {missing}")
    x, y = d["data"], np.asarray(d["labels"])
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 \
            or x.shape[1] != 3072:
        shape = getattr(x, "shape", None)
        raise ValueError(f"{path.name}: 'data' must be a uint8 array of shape (N, 3072), got "
                         f"{type(x).__name__} {getattr(x, 'dtype', '')} {shape}")
    if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "iu" or \
            (len(y) and (y.min() < 0 or y.max() >= N_CLASSES)):
        raise ValueError(f"{path.name}: 'labels' must be {len(x)} integers in [0, 9], got "
                         f"{len(y)} of dtype {y.dtype}"
                         + (f" in [{y.min()}, {y.max()}]" if y.size and y.dtype.kind in "iu"
                            else ""))
    return x.reshape(-1, 3, 32, 32), y.astype(np.int64)


def load_cifar10(folder) -> tuple:
    """(x_train, y_train, x_test, y_test) from a CIFAR-10 python folder (data_batch_1..5,
    test_batch); images float32, standardised per channel with the training mean/std."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"cifar must be a folder holding {', '.join(CIFAR_FILES)}, "
                         f"got {str(folder)!r} (not a folder)")
    missing = [f for f in CIFAR_FILES if not (folder / f).is_file()]
    if missing:
        raise ValueError(f"cifar folder {str(folder)!r} lacks {missing} (expected "
                         f"{', '.join(CIFAR_FILES)}, the python version of CIFAR-10)")
    parts = [read_cifar_batch(folder / f) for f in CIFAR_FILES]
    xtr = np.concatenate([p[0] for p in parts[:5]]).astype(np.float32)
    ytr = np.concatenate([p[1] for p in parts[:5]])
    xte, yte = parts[5][0].astype(np.float32), parts[5][1]
    mean = xtr.mean((0, 2, 3), keepdims=True)
    std = xtr.std((0, 2, 3), keepdims=True) + 1e-8
    return (xtr - mean) / std, ytr, (xte - mean) / std, yte


def load_dataset(name: str, cifar=None, *, mnist1d_samples: int | None = None) -> tuple:
    """(x_train, y_train, x_test, y_test), float32 / int64.  ``mnist1d_samples``: generate
    that many mnist1d sequences (80 % train) instead of the package's 5000 (--quick)."""
    if name == "cifar10":
        return load_cifar10(cifar)
    if name == "mnist1d" and mnist1d_samples is not None:
        from mnist1d.data import get_dataset_args, make_dataset
        args = get_dataset_args()
        args.num_samples = int(mnist1d_samples)
        d = make_dataset(args)             # generated locally, as load_data does
        return tuple(np.ascontiguousarray(a, dtype=np.float32 if i % 2 == 0 else np.int64)
                     for i, a in enumerate((d["x"][:, None, :], d["y"],
                                            d["x_test"][:, None, :], d["y_test"])))
    from htmp.demo_training import load_data
    xtr, ytr, xte, yte = load_data(name)
    if name == "digits":       # 8x8 -> 16x16, room for three 2x poolings
        import torch
        up = [torch.nn.functional.interpolate(torch.from_numpy(x), size=(16, 16),
                                              mode="bilinear", align_corners=False).numpy()
              for x in (xtr, xte)]
        xtr, xte = up
    return xtr, ytr, xte, yte


def balanced_subset(y: np.ndarray, n: int, rng) -> np.ndarray:
    """Indices of n inputs, as equal a share of each class as n allows, in random order."""
    rng = np.random.default_rng(rng)
    classes = np.unique(y)
    per = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    take = [n // len(classes) + (i < n % len(classes)) for i in range(len(classes))]
    short = [c for c, p, t in zip(classes, per, take, strict=True) if len(p) < t]
    if short:
        raise ValueError(f"n must leave at least n/{len(classes)} inputs per class, got "
                         f"n={n} and classes {short} with too few")
    return rng.permutation(np.concatenate([p[:t] for p, t in zip(per, take, strict=True)]))


