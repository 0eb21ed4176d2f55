"""``htmp analyze``: per-layer table of a model file or folder (results on stdout)."""
from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path

import typer

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


def to_json(df, summary) -> str:
    """``{"layers": [row, ...], "summary": {...}}`` with NaN as null."""
    rows = [{k: _clean(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    summ = {k: (_clean(v) if not isinstance(v, dict) else v)
            for k, v in summary.to_dict().items()}
    return json.dumps({"layers": rows, "summary": summ})


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def to_markdown(df) -> str:
    cols = [c for c in _SHORT if c in df.columns]
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
    from ..analysis._format import kappa_text, weak_reasons

    t = df[_SHORT].copy()
    t["kappa"] = [kappa_text(r, interval=False) for _, r in df.iterrows()]
    t["phase"] = [f"{r['phase']} (weak)" if weak_reasons(r) else r["phase"]
                  for _, r in df.iterrows()]
    return t.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


def _run(path, show_progress, **kw):
    """htmp.analysis.run (the table plus eigenvalues, for the report) with a progress bar."""
    from ..analysis import run

    if not show_progress:
        return run(path, **kw)
    from ..nn import weight_specs

    total = len(weight_specs(path, layers=kw["layers"]))
    with typer.progressbar(length=max(total, 1), label="analysing", file=sys.stderr) as bar:
        def step(done, total, name):
            bar.update(1)
        return run(path, progress=step, **kw)


@app.command("analyze")
def analyze_command(
    path: Path = typer.Argument(..., help="Model file or folder: .safetensors, .pt/.pth/.bin, "
                                          ".npy, .npz, a sharded checkpoint's index JSON or "
                                          "its folder."),
    layers: str = typer.Option(None, "--layers", help="Regex searched in the weight names."),
    fmt: OutFormat = typer.Option(OutFormat.table, "--format", help="Output format."),
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
                                     "DIR/index.html (its path is printed on stderr)."),
    device: Device = typer.Option(Device.cpu, "--device",
                                  help="Where the Gram eigenvalues are computed: cpu "
                                       "(numpy/LAPACK) or cuda (torch on the GPU)."),
) -> None:
    """Per-layer MP / HTMP / power-law fits and phases of a model's weights."""
    show = sys.stderr.isatty() if progress is None else progress
    try:
        analysis = _run(path, show, layers=layers, min_evals=min_evals, workers=workers,
                        device=device.value, max_evals=max_evals or None)
    except (ValueError, TypeError, ImportError, RuntimeError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    df, summary = analysis.table, analysis.summary
    if report is not None:
        from ..report import write_report

        try:
            where = write_report(analysis, report, title=f"htmp report: {path.name}")
        except (OSError, ImportError) as err:
            typer.echo(f"error: could not write the report to {report}: {err}", err=True)
            raise typer.Exit(code=2) from None
        typer.echo(f"report: {where}", err=True)
    if fmt is OutFormat.csv:
        typer.echo(df.to_csv(index=False), nl=False)
    elif fmt is OutFormat.json:
        typer.echo(to_json(df, summary))
    elif fmt is OutFormat.markdown:
        typer.echo(to_markdown(df))
        typer.echo("\n" + _summary_text(summary))
    else:
        typer.echo(human_table(df))
        typer.echo("\n" + _summary_text(summary))
        bad = df[df["status"].isin(["failed", "partial"])]
        for r in bad.itertuples(index=False):
            typer.echo(f"{r.status}: {r.name}: {r.message}")
