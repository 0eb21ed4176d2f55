"""``htmp analyze --plots DIR``: one PNG per analysed layer (:func:`htmp.plot_layer`)."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import typer

from ..report import printable
from ._io import fail

__all__ = ["write_layer_plots", "file_stem"]


def file_stem(name: str, taken: set) -> str:
    """A file name for layer ``name``: characters other than letters, digits, ``_ . -``
    become ``_``; a clash (two names alike after that) gets ``-2``, ``-3``..."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "layer"
    stem = stem[:150]
    out, k = stem, 1
    while out.lower() in taken:
        k += 1
        out = f"{stem}-{k}"
    taken.add(out.lower())
    return out


def _write(analysis, folder: Path, dpi: int) -> int:
    from ..plotting import plot_layer
    from ..report.figures import new_figure

    folder.mkdir(parents=True, exist_ok=True)
    taken: set = set()
    n = 0
    for name in analysis.names:
        if name not in analysis.spectra:          # skipped or failed: no ESD to draw
            continue
        fig, axes = new_figure(10.0, 3.4, ncols=2,
                               margins=dict(left=0.065, right=0.99, bottom=0.15, top=0.86,
                                            wspace=0.2))
        plot_layer(analysis, name, ax=axes)
        fig.suptitle(printable(name).replace("$", r"\$"), fontsize=10, x=0.01, ha="left")
        fig.savefig(folder / f"{file_stem(name, taken)}.png", dpi=dpi, facecolor="white")
        n += 1
    return n


def write_layer_plots(analysis, plots: Path, *, dpi: int = 96) -> None:
    """``plots/<layer>.png`` for each layer with eigenvalues; several checkpoints: one
    sub-folder per checkpoint.  The count and the folder are printed on stderr."""
    pairs = ([(None, analysis)] if not hasattr(analysis, "checkpoints") else
             list(zip(analysis.labels, analysis.checkpoints)))
    taken: set = set()
    total = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for label, a in pairs:
                folder = plots if label is None else plots / file_stem(str(label), taken)
                total += _write(a, folder, dpi)
    except Exception as err:  # noqa: BLE001 - the table is printed; one line says why
        fail(f"could not write the plots to --plots {plots}: {type(err).__name__}: {err}")
    try:
        typer.echo(f"plots: {total} PNG file(s) in {printable(plots)}", err=True)
    except OSError:
        pass
