"""Self-contained HTML reports of :func:`htmp.analysis.run` results.

* :func:`write_report` - one or several analyses -> ``out_dir/index.html`` (inline CSS,
  figures as base64 PNG data URIs, no JavaScript; opens offline).
* :mod:`htmp.report.figures` - the figures (``ax=`` in, ``ax`` out), matplotlib object API.
* :func:`printable`, :func:`csv_text`, :func:`csv_frame` - names from a model file made safe
  to print, to put in a CSV cell and to encode (control characters escaped, formulas
  neutralised; docs/security.md).

Needs matplotlib (``pip install htmp[plot]``), imported when a report is written, so
``import htmp`` (which imports this package) does not import it.
"""
from __future__ import annotations

from pathlib import Path

from ._safe import csv_frame, csv_text, printable

__all__ = ["write_report", "printable", "csv_text", "csv_frame"]


def write_report(analyses, out_dir, *, title: str = "htmp report", dpi: int = 96) -> Path:
    """Write ``out_dir/index.html`` and return its path (see :func:`htmp.report.html.write_report`).

    ``analyses``: one :class:`htmp.analysis.Analysis` or a sequence of ``(label, Analysis)``
    pairs (several models in one report, drawn in that order).  ``dpi``: of the PNG figures.
    """
    try:
        from .html import write_report as _write
    except ImportError as err:   # pragma: no cover - matplotlib is in the test extra
        raise ImportError("htmp.report needs matplotlib: pip install 'htmp[plot]'") from err
    return _write(analyses, out_dir, title=title, dpi=dpi)
