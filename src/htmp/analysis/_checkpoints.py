"""Many checkpoints, one table: a training run (a list of checkpoints or a run folder).

* :func:`checkpoint_sources` - what :func:`htmp.analyze` was given -> the checkpoints to
  analyse, as ``(label, step, source)`` in order, or None for a single model.
* :func:`analyse_checkpoints` - one :func:`analyse_model` per checkpoint (same keywords,
  passed through unchanged) -> the long table (``model`` and ``step`` columns in front)
  and each checkpoint's :class:`Analysis`.
* :class:`RunAnalysis` - what :func:`htmp.analysis.run` returns for several checkpoints.

A run folder is a folder that holds no model file of its own and has sub-folders named
``checkpoint-<int>``, ``checkpoint_<int>``, ``step_<int>`` or ``step-<int>`` (Hugging Face
Trainer, Lightning-style layouts); they are analysed in the order of that integer.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .._validation import check_positive_int
from ._layer import COLUMNS, INT_COLUMNS
from ._pipeline import analyse_model, describe_source
from ._summary import summarize

__all__ = ["RunAnalysis", "STEP_PATTERN", "checkpoint_sources", "analyse_checkpoints",
           "step_of", "is_run_folder"]

STEP_PATTERN = re.compile(r"^(?:checkpoint|step)[-_](\d+)$")
_MODEL_SUFFIXES = (".safetensors", ".index.json", ".pt", ".pth", ".bin", ".npz", ".npy")
_RUN_COLUMNS = ["model", "step"]


def step_of(name: str) -> int | None:
    """The step of a checkpoint named ``checkpoint-<int>`` / ``step_<int>`` ..., else None."""
    m = STEP_PATTERN.match(name)
    return int(m.group(1)) if m else None


def _entries(path: Path) -> list:
    try:
        return list(os.scandir(path))
    except OSError as err:
        raise ValueError(f"model_or_path: cannot list the folder {describe_source(path)}: "
                         f"{err.strerror or err}") from None


def _own_model_files(path: Path) -> bool:
    return any(e.name.lower().endswith(_MODEL_SUFFIXES) and not e.is_dir()
               for e in _entries(path))


def _step_folders(path: Path) -> list:
    """[(step, Path)] of ``path``'s checkpoint sub-folders, by step, or [] (not a run
    folder: not a folder, or it holds a model file of its own)."""
    if not path.is_dir() or _own_model_files(path):
        return []
    found = [(step_of(e.name), Path(e.path)) for e in _entries(path) if e.is_dir()]
    return sorted((s, p) for s, p in found if s is not None)


def is_run_folder(path) -> bool:
    """True for a folder without model files of its own that has checkpoint sub-folders."""
    return isinstance(path, (str, os.PathLike)) and bool(_step_folders(Path(path)))


def _label(source, i: int) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(os.fsdecode(source)).name or describe_source(source)
    return f"{type(source).__name__}-{i}"


def checkpoint_sources(model_or_path, every: int = 1):
    """``[(label, step, source)]`` of the checkpoints in ``model_or_path``, or None when it
    is one model.

    A list or tuple: one checkpoint per item, labelled by its file or folder name (an object
    by its type name and position); sorted by step when every label carries a distinct step
    (``htmp analyze run/checkpoint-*`` then runs in step order, not the shell's), else kept
    in the given order.  A run folder: its checkpoint sub-folders by step.  ``every=K``
    keeps every K-th checkpoint in that order (the 1st, the K+1-th, ...) and always the
    last one.
    """
    every = check_positive_int("every", every)
    if isinstance(model_or_path, (list, tuple)):
        if not model_or_path:
            raise ValueError("model_or_path must hold at least one checkpoint, got an empty "
                             f"{type(model_or_path).__name__}")
        items = []
        for i, src in enumerate(model_or_path):
            if is_run_folder(src):
                raise ValueError(f"model_or_path[{i}] is a run folder "
                                 f"({describe_source(src)}); pass a run folder alone, or "
                                 f"list its checkpoints")
            label = _label(src, i)
            items.append((label, step_of(label), src))
        labels = [lab for lab, _, _ in items]
        if len(set(labels)) < len(labels):         # same names from different runs
            items = [(describe_source(src) if isinstance(src, (str, os.PathLike)) else lab,
                      step, src) for lab, step, src in items]
            labels = [lab for lab, _, _ in items]
            twice = sorted({lab for lab in labels if labels.count(lab) > 1})
            if twice:
                raise ValueError(f"model_or_path must list each checkpoint once, got "
                                 f"{', '.join(twice)} more than once")
        steps = [s for _, s, _ in items]
        if None not in steps and len(set(steps)) == len(steps):
            items.sort(key=lambda it: it[1])
    elif is_run_folder(model_or_path):
        items = [(p.name, s, p) for s, p in _step_folders(Path(model_or_path))]
    else:
        if isinstance(model_or_path, (str, os.PathLike)) and Path(model_or_path).is_dir() \
                and not _own_model_files(Path(model_or_path)):
            raise ValueError(f"model_or_path: the folder {describe_source(model_or_path)} "
                             "holds no model file and no checkpoint sub-folders "
                             "(checkpoint-<step>, step_<step>, step-<step>)")
        return None
    keep = [it for i, it in enumerate(items) if i % every == 0 or i == len(items) - 1]
    return keep


@dataclass(frozen=True)
class RunAnalysis:
    """Several checkpoints of one training run: what :func:`htmp.report.write_report` draws
    as a run.

    ``table``: the long table (:func:`htmp.analyze` of the list): ``model`` (the checkpoint's
    label) and ``step`` (Int64, <NA> when the label has no step) in front of the per-layer
    columns; rows with status "missing" stand for layers other checkpoints have.
    ``checkpoints``: each checkpoint's :class:`Analysis` (its own rows only), in order.
    ``labels``, ``steps``: per checkpoint.  ``source``: what was analysed, as text.
    """

    table: object
    checkpoints: tuple
    labels: tuple
    steps: tuple
    source: str
    options: dict = field(default_factory=dict)

    @property
    def pairs(self) -> list:
        """``[(label, Analysis)]`` per checkpoint."""
        return list(zip(self.labels, self.checkpoints))


def _missing_rows(label, step, names, have, counts, n) -> list:
    rows = []
    for name in names:
        if name in have:
            continue
        row = dict.fromkeys(COLUMNS, math.nan)
        row.update(dict.fromkeys(_TEXT_COLUMNS, ""))
        row.update(name=name, status="missing",
                   message=f"no weight named {name} in this checkpoint ({counts[name]} of "
                           f"{n} checkpoints have it)")
        rows.append(dict(row, model=label, step=step))
    return rows


_TEXT_COLUMNS = ("type", "shape", "fit_quality", "phase", "status", "message", "mp_status",
                 "htmp_status", "powerlaw_status", "phase_reason", "rand_mp_status")


def _progress(progress, totals, i, label):
    if progress is None:
        return None
    offset, total = sum(totals[:i]), sum(totals)
    return lambda done, _, name: progress(offset + done, total, f"{label}: {name}")


def analyse_checkpoints(items, *, keep_spectra: bool, progress=None, **kw):
    """(long table, [Analysis per checkpoint]) of ``checkpoint_sources``' items; ``kw`` go
    to :func:`analyse_model` unchanged.  Rows of a checkpoint are its own analysis (same
    order), then one "missing" row per layer that only other checkpoints have."""
    import pandas as pd

    from ..nn import depth_key, weight_specs
    from ._run import Analysis

    totals = ([len(weight_specs(src, layers=kw.get("layers"), base=kw.get("base")))
               for _, _, src in items]
              if progress is not None else [])
    analyses = []
    for i, (label, step, src) in enumerate(items):
        table, spectra = analyse_model(src, keep_spectra=keep_spectra,
                                       progress=_progress(progress, totals, i, label), **kw)
        analyses.append(Analysis(table=table, spectra=MappingProxyType(dict(spectra)),
                                 summary=summarize(table), source=describe_source(src),
                                 options=dict(kw)))
    counts = {}
    for a in analyses:
        for name in a.table["name"]:
            counts[name] = counts.get(name, 0) + 1
    names = sorted(counts, key=lambda n: depth_key(str(n)))
    parts = []
    for (label, step, _), a in zip(items, analyses):
        t = a.table.copy()
        t.insert(0, "step", step)
        t.insert(0, "model", label)
        extra = _missing_rows(label, step, names, set(t["name"]), counts, len(items))
        if extra:
            t = pd.concat([t, pd.DataFrame(extra, columns=list(t.columns))],
                          ignore_index=True)
        parts.append(t)
    long = pd.concat(parts, ignore_index=True)
    long["step"] = pd.array([None if pd.isna(s) else int(s) for s in long["step"]],
                            dtype="Int64")
    for c in INT_COLUMNS:
        if c in long.columns:        # num_traps only with randomize=
            long[c] = long[c].astype("Int64")
    return long, analyses
