"""Self-contained HTML reports of :func:`htmp.analysis.run` results.

* :func:`write_report` - one or several analyses -> ``out_dir/index.html`` (inline CSS,
  figures as base64 PNG data URIs, no JavaScript; opens offline).
* :func:`feature_section` - fits of feature spectra (NTK, activations) as an HTML fragment
  for ``write_report(..., extra_sections=[(heading, html)])``.
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

__all__ = ["write_report", "feature_section", "printable", "csv_text", "csv_frame"]


def feature_section(items, *, dpi: int = 96, intro: str = "") -> str:
    """HTML fragment of feature-spectrum fits (see :func:`htmp.report.features.feature_section`)."""
    from .features import feature_section as _section

    return _section(items, dpi=dpi, intro=intro)


def write_report(analyses, out_dir, *, title: str = "htmp report", dpi: int = 96,
                 extra_sections=None) -> Path:
    """Write ``out_dir/index.html`` and return its path (see :func:`htmp.report.html.write_report`).

    ``analyses``: one :class:`htmp.analysis.Analysis` or a sequence of ``(label, Analysis)``
    pairs (several models in one report, drawn in that order).  ``dpi``: of the PNG figures.
    ``extra_sections``: ``(heading, html)`` pairs appended after the models (e.g. from
    :func:`feature_section`).
    """
    try:
        from .html import write_report as _write
    except ImportError as err:   # pragma: no cover - matplotlib is in the test extra
        raise ImportError("htmp.report needs matplotlib: pip install 'htmp[plot]'") from err
    return _write(analyses, out_dir, title=title, dpi=dpi, extra_sections=extra_sections)
