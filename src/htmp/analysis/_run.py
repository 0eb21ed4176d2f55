"""``run``: the table of :func:`htmp.analyze` plus each layer's eigenvalues, for reports."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

from ._checkpoints import RunAnalysis, analyse_checkpoints, checkpoint_sources
from ._pipeline import (
    MAX_EVALS,
    Progress,
    analyse_model,
    describe_source,
    per_source_kwargs,
)
from ._summary import ModelSummary, summarize

__all__ = ["Analysis", "run"]


@dataclass(frozen=True)
class Analysis:
    """One model's analysis: everything :func:`htmp.report.write_report` draws.

    ``table``: the DataFrame :func:`htmp.analyze` returns (one row per layer; the fitted
    ``gamma_eff``, ``mp_limit_scale``, ``kappa``, ``htmp_scale`` needed to overlay the densities are
    its columns, see :meth:`fits`).  ``spectra``: read-only mapping layer name -> ascending
    eigenvalues (read-only array) for each layer whose ESD was computed (not for
    "skipped"/"failed" layers).  ``summary``: ``summarize(table)``.  ``source``: what was
    analysed, as text.
    """

    table: object
    spectra: MappingProxyType
    summary: ModelSummary
    source: str
    options: dict = field(default_factory=dict)

    @property
    def names(self) -> list:
        """Layer names in the table's order."""
        return self.table["name"].tolist()

    def fits(self, name: str) -> dict:
        """Fitted parameters of one layer (NaN where a fit was not made or failed)."""
        rows = self.table.index[self.table["name"] == name]
        if len(rows) == 0:
            raise KeyError(f"name must be a layer of this analysis, got {name!r}")
        r = self.table.loc[rows[0]]

        def num(col):
            v = r[col]
            try:
                return float(v)
            except (TypeError, ValueError):
                return math.nan
        return {"gamma": num("gamma"), "gamma_eff": num("gamma_eff"),
                "mp_scale": num("mp_scale"), "mp_limit_scale": num("mp_limit_scale"),
                "mp_bulk_max": num("mp_bulk_max"), "mp_threshold": num("mp_threshold"),
                "kappa": num("kappa"), "kappa_lo": num("kappa_lo"), "kappa_hi": num("kappa_hi"),
                "htmp_scale": num("htmp_scale"), "alpha": num("alpha"), "xmin": num("xmin")}


def run(model_or_path, *, layers=None, min_evals: int = 8,
        max_evals: int | None = MAX_EVALS, fits=("mp", "htmp", "powerlaw"),
        conv: str = "flatten", workers: int = 1, device: str = "cpu",
        progress: Progress | None = None, every: int = 1, client=None, base=None,
        randomize: bool | int = False):
    """Analyse a model like :func:`htmp.analyze` (same arguments, same per-layer code;
    ``run(m).table`` equals ``analyze(m)``) and keep each layer's eigenvalues, which cost
    8 bytes each (N per layer), far less than the weights.

    Several checkpoints (a list or tuple, or a run folder; ``every=`` as in
    :func:`htmp.analyze`) give a :class:`RunAnalysis`: the long table and one
    :class:`Analysis` per checkpoint.
    """
    kw = per_source_kwargs(layers, min_evals, max_evals, fits, conv, workers, device, progress,
                           client, base, randomize)
    items = checkpoint_sources(model_or_path, every)
    if items is not None:
        table, analyses = analyse_checkpoints(items, keep_spectra=True, **kw)
        return RunAnalysis(table=table, checkpoints=tuple(analyses),
                           labels=tuple(lab for lab, _, _ in items),
                           steps=tuple(s for _, s, _ in items),
                           source=_source_text(model_or_path),
                           options=dict(_options(kw), every=every))
    table, spectra = analyse_model(model_or_path, keep_spectra=True, **kw)
    return Analysis(table=table, spectra=MappingProxyType(dict(spectra)),
                    summary=summarize(table), source=_source_text(model_or_path),
                    options=_options(kw))


def _options(kw) -> dict:
    out = {k: v for k, v in kw.items() if k not in ("progress", "client")}
    if "base" in out:
        out["base"] = _source_text(out["base"])
    return out


def _source_text(source) -> str:
    if isinstance(source, (list, tuple)):
        return ", ".join(_source_text(s) for s in source)
    return str(source) if isinstance(source, (str, bytes)) or \
        hasattr(source, "__fspath__") else describe_source(source)
