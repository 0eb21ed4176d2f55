"""``analyze``: a model (or checkpoint path) -> one row per layer in a pandas DataFrame."""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

import numpy as np

from .._validation import check_positive_int
from ..nn import weight_specs
from ._device import check_device
from ._layer import COLUMNS, FITS, INT_COLUMNS, TRAP_COLUMNS, _blank, analyse_spec

__all__ = ["MAX_EVALS", "analyze", "analyse_model", "describe_source"]

MAX_EVALS = 15000     # WeightWatcher's default: larger layers are skipped unless asked

Progress = Callable[[int, int, str], None]


def _steps(fits) -> tuple:
    if isinstance(fits, str):
        fits = (fits,)
    fits = tuple(fits)
    bad = [f for f in fits if f not in FITS]
    if bad or not fits:
        raise ValueError(f"fits must be a non-empty subset of {FITS}, got {fits!r}")
    steps = tuple(f for f in FITS if f in fits)
    return steps + (("phase",) if {"mp", "htmp"} <= set(steps) else ())


def _sane(shape: tuple) -> bool:
    """A shape whose row numbers (N, M, n_evals) fit the table's int64 columns."""
    return len(shape) in (2, 3, 4) and all(s >= 1 for s in shape) and math.prod(shape) < 2**62


def _unread_row(spec, conv: str) -> tuple[dict, None]:
    """The row of a weight the reader listed but will not read: status "skipped"
    (``spec.skip``: dtype, element limit) or "failed" (``spec.error``: malformed entry)."""
    shape = tuple(spec.shape)
    row = _blank(replace(spec, shape=shape if _sane(shape) else (1, 1)), conv)
    if not _sane(shape):       # no row numbers from a shape that is absurd or unknown
        row.update(shape="x".join(map(str, shape)), N=math.nan, M=math.nan, gamma=math.nan,
                   n_evals=math.nan)
    if spec.skip:
        row.update(status="skipped", message=spec.skip)
    else:                      # worded like a read failure in analyse_spec
        row.update(status="failed", message=f"ValueError: {spec.error}")
    return row, None


def _analyse(spec, **kw):
    """A reader's refusal becomes the row; a weight whose header entry is bad but whose
    shape is known goes through analyse_spec, so min_evals/max_evals skip it first and
    otherwise its load() fails, as a truncated tensor always did."""
    if spec.skip or (spec.error and not _sane(tuple(spec.shape))):
        return _unread_row(spec, kw["conv"])
    return analyse_spec(spec, **kw)


def analyze(model_or_path, *, layers=None, min_evals: int = 8,
            max_evals: int | None = MAX_EVALS, fits=("mp", "htmp", "powerlaw"),
            conv: str = "flatten", workers: int = 1, device: str = "cpu",
            progress: Progress | None = None, every: int = 1, client=None, base=None,
            randomize: bool | int = False):
    """Per-layer heavy-tail diagnostics of a model, as a :class:`pandas.DataFrame`.

    ``model_or_path``: anything :func:`htmp.nn.weight_specs` reads (a torch module, a
    state dict, a safetensors/``.pt``/``.bin``/``.npz`` file, a sharded checkpoint folder).
    ``layers``: regex searched in the weight names.  ``min_evals``: layers with fewer
    eigenvalues get status "skipped" (WeightWatcher's default is 8).  ``max_evals``: so
    do layers with more (default 15000, WeightWatcher's: one eigen-decomposition of that
    size takes minutes on a CPU core; None analyses every layer).  ``fits``: a
    subset of ``("mp", "htmp", "powerlaw")``; the phase is computed when both "mp" and
    "htmp" are fitted.  ``conv``: the conv-kernel convention of :func:`htmp.esd`.
    ``workers``: threads (each holds one layer in memory).  ``device``: "cpu" (numpy /
    LAPACK) or "cuda" (Gram eigenvalues with torch on the GPU; RuntimeError when CUDA is
    not available).  ``progress``: called as ``progress(done, total, name)`` after each layer.
    ``client``: a ``distributed.Client``: one Dask task per layer, each worker reading its
    layer from the file by path (file sources only: .safetensors, .npy, .npz; ``workers``
    must stay 1); a task that dies gives its row status "failed" (docs/dask.md).
    ``base``: a base model (any source above): analyse W - W_base for every name both
    have; shape mismatches and names only one side has get "skipped" rows saying so.  For
    a LoRA adapter, W_base + dW per adapted module (docs/analysis.md, "Adapters and
    fine-tune deltas").
    ``randomize``: also the correlation traps of each layer (WeightWatcher's
    ``randomize=True``): W's entries shuffled, the MP fit of that ESD and ``num_traps``,
    in the columns ``htmp.analysis.TRAP_COLUMNS`` added at the end; True uses seed 0, an
    int is the seed (each layer's shuffle comes from the seed and the layer's name).

    Every row has a ``status``: "ok"; "partial" (a fit failed, ``message`` says which
    and why; the other columns are filled); "failed" (the layer could not be read or
    has NaN/Inf entries, or its file header entry is malformed); "skipped" (fewer than
    ``min_evals`` or more than ``max_evals`` eigenvalues, a dtype htmp does not analyse
    such as int8/float8/complex, or more values than ``htmp.nn.MAX_ELEMENTS``, see
    docs/security.md).  One bad
    layer never stops the others.  Columns: see ``htmp.analysis.COLUMNS`` and
    ``docs/analysis.md``.  :func:`htmp.analysis.run` returns the same table together with
    the eigenvalues.

    Several checkpoints (a list or tuple of sources, or a run folder holding
    ``checkpoint-<step>`` / ``step_<step>`` sub-folders) give one long table: ``model``
    (the checkpoint's name) and ``step`` columns in front, each checkpoint's rows equal to
    its own analysis, plus a "missing" row for each layer that only other checkpoints
    have.  ``every=K`` keeps every K-th checkpoint in step order and always the last
    (docs/analysis.md, "Training runs").
    """
    kw = per_source_kwargs(layers, min_evals, max_evals, fits, conv, workers, device, progress,
                           client, base, randomize)
    from ._checkpoints import analyse_checkpoints, checkpoint_sources

    items = checkpoint_sources(model_or_path, every)
    if items is not None:
        return analyse_checkpoints(items, keep_spectra=False, **kw)[0]
    table, _ = analyse_model(model_or_path, keep_spectra=False, **kw)
    return table


def per_source_kwargs(layers, min_evals, max_evals, fits, conv, workers, device, progress,
                      client, base, randomize) -> dict:
    """The keywords analyse_model takes, from analyze's / run's arguments (``base`` only
    when given)."""
    kw = dict(layers=layers, min_evals=min_evals, max_evals=max_evals, fits=fits, conv=conv,
              workers=workers, device=device, progress=progress, client=client,
              randomize=randomize)
    if base is not None:
        kw["base"] = base
    return kw


def analyse_model(model_or_path, *, layers, min_evals, fits, conv, workers, device, progress,
                  keep_spectra: bool, max_evals=MAX_EVALS, client=None, base=None,
                  randomize=False):
    """(table, {name: eigenvalues}) - the one per-layer loop behind analyze() and run()."""
    import pandas as pd

    randomize = randomize_seed(randomize)
    min_evals = check_positive_int("min_evals", min_evals)
    if max_evals is not None:
        max_evals = check_positive_int("max_evals", max_evals)
        if max_evals < min_evals:
            raise ValueError(f"max_evals must be >= min_evals={min_evals} (or None), got "
                             f"{max_evals}")
    workers = check_positive_int("workers", workers)
    if conv not in ("flatten", "slices"):
        raise ValueError(f"conv must be 'flatten' or 'slices', got {conv!r}")
    device = check_device(device)
    steps = _steps(fits)
    if client is not None:
        from ._dask import check_client
        check_client(client, workers)
        if base is not None:
            raise ValueError("base= cannot be combined with client= yet (each delta reads "
                             "two models in this process); analyse without client=")
    specs = weight_specs(model_or_path, layers=layers, base=base)
    if not specs:
        where = f" matching layers={layers!r}" if layers is not None else ""
        raise ValueError(f"no analysable layers{where} in {describe_source(model_or_path)} "
                         f"(2-D or 4-D floating-point weights)")
    if client is not None:       # checked before any task is submitted
        from ._dask import wire_specs
        specs = wire_specs(specs, describe_source(model_or_path))
    kw = dict(min_evals=min_evals, max_evals=max_evals, steps=steps, conv=conv, device=device)
    if randomize is not None:
        kw["randomize"] = randomize
    total, rows, spectra = len(specs), [], {}

    def collect(i, spec, result):
        row, eigs = result
        rows.append(row)
        if keep_spectra and eigs is not None:
            spectra[spec.name] = eigs
        if progress is not None:
            progress(i, total, spec.name)

    if client is not None:       # progress in completion order, rows in model order
        from ._dask import run_on_client
        results = run_on_client(client, specs, kw, keep_spectra=keep_spectra,
                                progress=progress)
        rows = [row for row, _ in results]
        spectra = {s.name: e for s, (_, e) in zip(specs, results) if e is not None}
    elif workers == 1:
        for i, spec in enumerate(specs, 1):
            collect(i, spec, _analyse(spec, **kw))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:   # eigvalsh releases the GIL
            futures = [pool.submit(_analyse, spec, **kw) for spec in specs]
            for i, (spec, fut) in enumerate(zip(specs, futures), 1):
                collect(i, spec, fut.result())
    names = COLUMNS + (TRAP_COLUMNS if randomize is not None else [])
    return pd.DataFrame(_columns(rows, names), columns=names), spectra


_INTS = frozenset(INT_COLUMNS)


def _columns(rows: list[dict], names: list[str]) -> dict:
    """The table's columns: nullable Int64 for the counts (<NA> where not computed), float64
    arrays where every value is a float, lists (pandas infers) for the rest."""
    import pandas as pd

    cols = {}
    for c in names:
        vals = [r.get(c, math.nan) for r in rows]
        if c in _INTS:
            ints = [_int64_or_na(v) for v in vals]
            cols[c] = pd.arrays.IntegerArray(
                np.array([0 if v is None else v for v in ints], dtype=np.int64),
                np.array([v is None for v in ints], dtype=bool))
        elif all(type(v) is float for v in vals):
            cols[c] = np.array(vals, dtype=np.float64)
        else:
            cols[c] = vals
    return cols


def randomize_seed(randomize) -> int | None:
    """The traps seed of ``randomize=``: None for False, 0 for True, an int >= 0 as it is."""
    if randomize is None or randomize is False:
        return None
    if randomize is True:
        return 0
    if isinstance(randomize, (int, np.integer)) and randomize >= 0:
        return int(randomize)
    raise ValueError(f"randomize must be True, False or a seed (an int >= 0), got "
                     f"{randomize!r}")


def _int64_or_na(v):
    """An Int64 cell: None (<NA>) for NaN or for a count beyond int64 (a header's absurd
    shape; its text stays in the "shape" column), so one layer never loses the table."""
    if v != v:
        return None
    v = int(v)
    return v if abs(v) < 2 ** 63 else None


def describe_source(source) -> str:
    """A path as its plain text (never ``PosixPath(...)``; ``repr`` only when it holds
    unprintable characters), else the type's name."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, bytes):
        source = os.fsdecode(source)
    if isinstance(source, str):
        text = source if source.isprintable() else repr(source)
    else:
        text = type(source).__name__
    return text if len(text) < 200 else text[:197] + "..."
