"""``htmp analyze``: per-layer table of a model file or folder (results on stdout).

Names come from the model file and may hold anything: the table, markdown and CSV write
them through :func:`htmp.report.printable` and :func:`htmp.report.csv_frame` (control characters and lone surrogates escaped,
CSV formulas neutralised); JSON keeps them exact.  The table is printed before the
report is written, so a report that fails never costs the table.
"""
from __future__ import annotations

import contextlib
import math
import sys
import tempfile
import warnings
from enum import Enum
from pathlib import Path

import typer

from ..report import csv_frame, printable
from ._io import dumps, fail, flagged, out
from .app import app

# Columns of the human-readable table and markdown (csv/json carry every column).
_SHORT = ["name", "type", "shape", "gamma", "n_evals", "n_spikes", "kappa", "kappa_lo",
          "kappa_hi", "mp_ks", "htmp_ks", "loglik_ratio", "fit_quality", "alpha", "phase",
          "status"]


class OutFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


def _clean(v):
    import pandas as pd

    if v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def _summary_dict(summary) -> dict:
    return {k: (_clean(v) if not isinstance(v, dict) else v)
            for k, v in summary.to_dict().items()}


def to_json(df, summary) -> str:
    """``{"layers": [row, ...], "summary": {...}}`` with NaN and +-inf as null; names exact.

    Several checkpoints (``summary`` a list of ``(label, step, ModelSummary)``): rows carry
    ``model`` and ``step``, and ``"checkpoints": [{"model", "step", "summary"}, ...]``
    replaces ``"summary"``."""
    rows = [{k: _clean(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    if isinstance(summary, list):
        return dumps({"layers": rows, "checkpoints": [
            {"model": lab, "step": step, "summary": _summary_dict(s)}
            for lab, step, s in summary]})
    return dumps({"layers": rows, "summary": _summary_dict(summary)})


def to_csv(df) -> str:
    """Every column; text cells escaped and formula-safe (a leading ``'`` before ``= + - @``)."""
    return csv_frame(df).to_csv(index=False)


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return printable(v)


def to_markdown(df) -> str:
    cols = [c for c in ["model"] + _SHORT if c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in df[cols].itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in r) + " |")
    return "\n".join(lines)


def _summary_text(s) -> str:
    phases = ", ".join(f"{k}: {v}" for k, v in s.phase_counts.items()) or "none"
    kappa = (f"kappa median {s.kappa_median:.4g} (mean {s.kappa_mean:.4g}) over {s.n_kappa} "
             f"measured" if s.n_kappa else "no measured kappa")
    return (f"{s.n_layers} layers ({s.n_ok} ok, {s.n_partial} partial, {s.n_failed} failed, "
            f"{s.n_skipped} skipped); {kappa}, {s.n_mp_like} MP-like (kappa = inf), "
            f"{s.n_kappa_below} below the search range; {s.n_poor_fit} poor fit(s); "
            f"alpha median {s.alpha_median:.4g} (mean {s.alpha_mean:.4g}, {s.n_alpha} layers); "
            f"phases: {phases}")


def human_table(df) -> str:
    """The short columns as text; kappa written as a value, "MP-like (≥ lo)" or "≤ hi" (a
    bound is never printed as a value), "(weak)" after a weak verdict."""
    from ..analysis import kappa_text, weak_reasons

    t = df[[c for c in ["model"] + _SHORT if c in df.columns]].copy()
    for col in ("model", "name", "type", "shape", "fit_quality", "status"):
        if col not in t.columns:
            continue
        t[col] = [printable(v) if isinstance(v, str) else v for v in t[col]]
    t["kappa"] = [kappa_text(r, interval=False) for _, r in df.iterrows()]
    t["phase"] = [f"{r['phase']} (weak)" if weak_reasons(r) else r["phase"]
                  for _, r in df.iterrows()]
    return t.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


def _run(source, show_progress, *, every=1, **kw):
    """htmp.analysis.run (the table plus eigenvalues, for the report) with a progress bar.

    numpy RuntimeWarnings (overflow/underflow inside a fit on extreme-scale weights) are
    not printed: each layer's ``status`` and ``message`` already say which fit failed,
    and stderr stays for the progress bar and errors.
    """
    from ..analysis import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if not show_progress:
            return run(source, every=every, **kw)
        from ..analysis import checkpoint_sources
        from ..nn import weight_specs

        items = checkpoint_sources(source, every) or [("", None, source)]
        total = sum(len(weight_specs(src, layers=kw["layers"], base=kw.get("base")))
                    for _, _, src in items)
        with typer.progressbar(length=max(total, 1), label="analysing",
                               file=sys.stderr) as bar:
            def step(done, total, name):
                bar.update(1)
            return run(source, progress=step, every=every, **kw)


def _cluster(scheduler, dask_workers):
    """A Dask client for ``--scheduler``/``--dask-workers`` (connected before any work),
    else a context holding None."""
    if scheduler is None and dask_workers is None:
        return contextlib.nullcontext()
    from ..analysis import dask_client

    return dask_client(scheduler, dask_workers)


def check_report_dir(report: Path, option: str = "--report") -> None:
    """Create the DIR of ``option`` (--report, --plots) and check a file can be written
    there, before any analysis."""
    if report.exists() and not report.is_dir():
        fail(f"{option} must be a directory (created when missing), got an existing "
             f"file: {report}")
    try:
        report.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=report):
            pass
    except OSError as err:
        fail(f"{option} must be a directory that can be created and written, got "
             f"{report}: {err.strerror or err}")


# htmp.analyze's keywords -> this command's flags (errors the library raises name flags)
FLAGS = {"min_evals": "--min-evals", "max_evals": "--max-evals", "workers": "--workers",
         "every": "--every", "fits": "--fits", "conv": "--conv", "layers": "--layers",
         "device": "--device", "n_workers": "--dask-workers", "scheduler": "--scheduler",
         "base": "--base", "randomize": "--randomize"}


class Conv(str, Enum):
    flatten = "flatten"
    slices = "slices"


def parse_fits(text: str) -> tuple:
    """``"mp,htmp"`` -> ``("mp", "htmp")``; an unknown or empty list ends with an error
    naming ``--fits`` and the accepted values."""
    from ..analysis import FITS

    fits = tuple(w.strip() for w in text.split(",") if w.strip())
    bad = [f for f in fits if f not in FITS]
    if bad or not fits:
        fail(f"--fits must be a comma-separated, non-empty subset of {','.join(FITS)} "
             f"(phases need mp and htmp), got {text!r}"
             + (f" (unknown: {', '.join(bad)})" if bad else ""))
    return fits


def check_numbers(min_evals: int, max_evals: int, workers: int, every: int,
                  cluster: bool) -> None:
    """The numeric flags, checked before any work, each error naming its flag."""
    if min_evals < 1:
        fail(f"--min-evals must be an integer >= 1, got {min_evals}")
    if max_evals < 0 or 0 < max_evals < min_evals:
        fail(f"--max-evals must be 0 (no limit) or an integer >= --min-evals ({min_evals}), "
             f"got {max_evals}")
    if workers < 1:
        fail(f"--workers must be an integer >= 1, got {workers}")
    if cluster and workers != 1:
        fail(f"--workers must be 1 with --scheduler or --dask-workers (the Dask workers set "
             f"the parallelism), got {workers}")
    if every < 1:
        fail(f"--every must be an integer >= 1, got {every}")


def _summaries_text(summary) -> str:
    """One summary line, or one per checkpoint ("label: ...")."""
    if isinstance(summary, list):
        return "\n".join(f"{printable(lab)}: {_summary_text(s)}" for lab, _, s in summary)
    return _summary_text(summary)


def _print(df, summary, fmt: "OutFormat") -> None:
    if fmt is OutFormat.csv:
        out(to_csv(df), nl=False)
    elif fmt is OutFormat.json:
        out(to_json(df, summary))
    elif fmt is OutFormat.markdown:
        out(to_markdown(df) + "\n\n" + _summaries_text(summary))
    else:
        lines = [human_table(df), "", _summaries_text(summary)]
        bad = df[df["status"].isin(["failed", "partial", "missing"])]
        many = "model" in df.columns
        lines += [f"{r['status']}: {printable(r['model']) + ': ' if many else ''}"
                  f"{printable(r['name'])}: {printable(r['message'])}"
                  for _, r in bad.iterrows()]
        out("\n".join(lines))


def _write_report(analysis, report: Path, paths: list, title: str | None = None) -> None:
    from ..report import write_report

    name = paths[0].name if len(paths) == 1 else f"{len(paths)} checkpoints"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            where = write_report(analysis, report, title=title or f"htmp report: {name}")
    # the table is already printed; whatever stops the report ends in one clear line
    except Exception as err:  # noqa: BLE001
        fail(f"could not write the report to {report}: {type(err).__name__}: {err}")
    try:
        typer.echo(f"report: {printable(where)}", err=True)
    except OSError:
        pass


@app.command("analyze")
def analyze_command(
    paths: list[Path] = typer.Argument(
        ..., help="Model file or folder: .safetensors, .pt/.pth/.bin, .npy, .npz, a sharded "
                  "checkpoint's index JSON or its folder. Several paths, or a run folder of "
                  "checkpoint-<step> / step_<step> sub-folders: one table with a model "
                  "column (checkpoints in step order when every name carries a step)."),
    layers: str = typer.Option(None, "--layers", help="Regex searched in the weight names."),
    fmt: OutFormat = typer.Option(OutFormat.table, "--format",
                                  help="Output format (json: exact names, NaN/inf as null; "
                                       "table/markdown/csv: control characters escaped, "
                                       "csv text cells formula-safe)."),
    workers: int = typer.Option(1, "--workers", help="Threads (each holds one layer)."),
    min_evals: int = typer.Option(8, "--min-evals",
                                  help="Skip layers with fewer eigenvalues."),
    max_evals: int = typer.Option(15000, "--max-evals",
                                  help="Skip layers with more eigenvalues (0: no limit)."),
    progress: bool = typer.Option(None, "--progress/--no-progress",
                                  help="Progress bar on stderr (default: when stderr is a "
                                       "terminal)."),
    report: Path = typer.Option(None, "--report", file_okay=False,
                                help="Also write a self-contained HTML report to "
                                     "DIR/index.html (checked before the analysis, written "
                                     "after the table; its path is printed on stderr)."),
    device: Device = typer.Option(Device.cpu, "--device",
                                  help="Where the Gram eigenvalues are computed: cpu "
                                       "(numpy/LAPACK) or cuda (torch on the GPU)."),
    every: int = typer.Option(1, "--every", metavar="K",
                              help="Several checkpoints: keep every K-th in step order (the "
                                   "1st, the K+1-th, ...) and always the last."),
    scheduler: str = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                  help="Run one Dask task per layer on the cluster whose "
                                       "scheduler is at ADDRESS (tcp://host:8786); workers "
                                       "read the file by path (docs/dask.md)."),
    dask_workers: int = typer.Option(None, "--dask-workers", metavar="N",
                                     help="Start a local Dask cluster of N worker "
                                          "processes for this run (docs/dask.md)."),
    base: Path = typer.Option(None, "--base", metavar="BASE",
                              help="Base model: analyse W - W_base for every name both have "
                                   "(a LoRA adapter: W_base + dW per adapted module)."),
    fits: str = typer.Option("mp,htmp,powerlaw", "--fits", metavar="LIST",
                             help="Comma-separated fits to make: mp, htmp, powerlaw (a "
                                  "phase needs mp and htmp)."),
    conv: Conv = typer.Option(Conv.flatten, "--conv",
                              help="Conv kernels (out, in, kh, kw): flatten to one "
                                   "out x (in*kh*kw) matrix, or slices: one in x out matrix "
                                   "per kernel position, their eigenvalues pooled."),
    title: str = typer.Option(None, "--title",
                              help="Title of the --report page (default: \"htmp report: "
                                   "<model file name>\")."),
    plots: Path = typer.Option(None, "--plots", metavar="DIR", file_okay=False,
                               help="Also write one PNG per analysed layer to DIR (its ESD, "
                                    "linear and log-log, with the fits: htmp.plot_layer); "
                                    "one sub-folder per checkpoint for several."),
    randomize: bool = typer.Option(False, "--randomize",
                                   help="Also count correlation traps (WeightWatcher's "
                                        "randomize): each layer's entries shuffled (seed 0), "
                                        "its MP fit and num_traps, as extra columns."),
) -> None:
    """Per-layer MP / HTMP / power-law fits and phases of a model's weights."""
    if scheduler is not None and dask_workers is not None:
        fail(f"--scheduler and --dask-workers are exclusive (a cluster at an address, or a "
             f"local one started here), got --scheduler {scheduler} --dask-workers "
             f"{dask_workers}")
    if dask_workers is not None and dask_workers < 1:
        fail(f"--dask-workers must be >= 1, got {dask_workers}")
    check_numbers(min_evals, max_evals, workers, every,
                  cluster=scheduler is not None or dask_workers is not None)
    fit_list = parse_fits(fits)
    if report is not None:
        check_report_dir(report)
    if plots is not None:
        check_report_dir(plots, "--plots")
    show = sys.stderr.isatty() if progress is None else progress
    try:
        source = paths[0] if len(paths) == 1 else list(paths)
        with _cluster(scheduler, dask_workers) as client:
            analysis = _run(source, show, layers=layers, min_evals=min_evals, workers=workers,
                            device=device.value, max_evals=max_evals or None, every=every,
                            client=client, fits=fit_list, conv=conv.value, randomize=randomize,
                            **({"base": base} if base is not None else {}))
    except (ValueError, TypeError, ImportError, RuntimeError, OSError) as err:
        fail(flagged(str(err), FLAGS))
    summary = analysis.summary if hasattr(analysis, "summary") else [
        (lab, step, a.summary) for lab, step, a in zip(analysis.labels, analysis.steps,
                                                        analysis.checkpoints)]
    _print(analysis.table, summary, fmt)
    if report is not None:
        _write_report(analysis, report, paths, title)
    if plots is not None:
        from ._plots import write_layer_plots
        write_layer_plots(analysis, plots)
